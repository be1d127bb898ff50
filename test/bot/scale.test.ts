/**
 * Cross-instance pieces on one shared store: two ChatOrder or Outbox objects stand for two
 * instances. The same code runs against Redis in test/e2e/scale-out.test.ts.
 */
import { ChatOrder } from '../../src/bot/chat-order.js';
import { Outbox } from '../../src/bot/outbox.js';
import type { Sender } from '../../src/bot/bot.js';
import { createBot, MemoryStore, type SendRequest, type SendResult } from '../../src/index.js';
import { chatKey } from '../../src/state/keys.js';
import { closeHarnesses, harness } from '../helpers/harnesses.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ChatOrder: one chat at a time across instances, in arrival order', () => {
  it('runs a chat’s work in ticket order whichever instance it arrived on', async () => {
    const store = new MemoryStore();
    const a = new ChatOrder(store, { pollMs: 2 });
    const b = new ChatOrder(store, { pollMs: 2 });
    const log: string[] = [];
    let running = 0;
    const task = (name: string, ms: number) => async () => {
      running++;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await sleep(ms);
      log.push(`end ${name}`);
      running--;
    };
    const runs: Promise<void>[] = [];
    for (let i = 0; i < 6; i++) {
      const instance = i % 2 === 0 ? a : b;
      runs.push(instance.run('chat', task(String(i), 10 - i)));
      await sleep(1); // arrival order
    }
    await Promise.all(runs);
    expect(log.filter((l) => l.startsWith('start'))).toEqual(['0', '1', '2', '3', '4', '5'].map((n) => `start ${n}`));
  });

  it('lets different chats run at the same time', async () => {
    const store = new MemoryStore();
    const a = new ChatOrder(store, { pollMs: 2 });
    const b = new ChatOrder(store, { pollMs: 2 });
    let concurrent = 0;
    let peak = 0;
    const work = async () => {
      peak = Math.max(peak, ++concurrent);
      await sleep(30);
      concurrent--;
    };
    await Promise.all([a.run('x', work), b.run('y', work)]);
    expect(peak).toBe(2);
  });

  it('hands the work the values read with the ticket only when the turn began at once, and writes at its end', async () => {
    const store = new MemoryStore();
    const order = new ChatOrder(store, { pollMs: 2 });
    await store.set('rec', { n: 1 }, 60_000);
    const seen: unknown[] = [];
    const first = order.run(
      'c',
      async (turn) => {
        seen.push(turn.read('rec'));
        turn.writeAtEnd('rec', { n: 2 }, 60_000);
        // A later step of the same turn sees the deferred write; the store does not, yet.
        seen.push(turn.read('rec'));
        expect(await store.get('rec')).toEqual({ n: 1 });
        await sleep(20);
      },
      ['rec'],
    );
    // Queued behind the first: what it read with its ticket may be stale, so it is not offered.
    const second = order.run('c', async (turn) => void seen.push(turn.read('rec'), await store.get('rec')), ['rec']);
    await Promise.all([first, second]);
    expect(seen).toEqual([{ known: true, value: { n: 1 } }, { known: true, value: { n: 2 } }, { known: false }, { n: 2 }]);
  });

  it('a ticket skipped while it waited runs its work without taking the running turn’s lease', async () => {
    const store = new MemoryStore();
    const order = new ChatOrder(store, { leaseMs: 60_000, pollMs: 2 });
    const lost: Error[] = [];
    order.onLeaseLost = (e) => lost.push(e);
    // Tickets 1 and 2 are taken elsewhere; this arrival gets ticket 3 and waits.
    await store.increment(chatKey('order', 'c', 'tickets'), 60_000);
    await store.increment(chatKey('order', 'c', 'tickets'), 60_000);
    let leaseSeen: unknown;
    const waiting = order.run('c', async () => {
      leaseSeen = await store.get(chatKey('order', 'c', 'lease'));
    });
    await sleep(10);
    // Meanwhile ticket 3 is skipped as stalled and ticket 4 runs, holding the lease.
    await store.set(chatKey('order', 'c', 'done'), 3, 60_000);
    await store.set(chatKey('order', 'c', 'lease'), { ticket: 4, owner: 'other' }, 60_000);
    await waiting;
    expect(leaseSeen).toEqual({ ticket: 4, owner: 'other' });
    expect(await store.get(chatKey('order', 'c', 'lease'))).toEqual({ ticket: 4, owner: 'other' });
    expect(lost).toHaveLength(1);
  });

  it('keeps renewing the lease of a turn that runs for many lease periods, so nobody skips it', async () => {
    const store = new MemoryStore();
    // Leases of 300 ms renewed every 100 ms: a loaded CI machine stalls timers by tens of ms, and
    // a 60 ms lease (renewed every 20) lapsed there now and then.
    const a = new ChatOrder(store, { leaseMs: 300, pollMs: 5 });
    const b = new ChatOrder(store, { leaseMs: 300, pollMs: 5 });
    const lost: Error[] = [];
    a.onLeaseLost = (e) => lost.push(e);
    b.onLeaseLost = (e) => lost.push(e);
    const log: string[] = [];
    const long = a.run('c', async () => {
      log.push('long start');
      await sleep(1_500);
      log.push('long end');
    });
    await sleep(5);
    // Arrives on another instance and two more chats on the first, so both timers stay busy.
    const other = Promise.all([a.run('d', () => sleep(200)), b.run('c', async () => void log.push('next'))]);
    await Promise.all([long, other]);
    expect(log).toEqual(['long start', 'long end', 'next']);
    expect(lost).toEqual([]);
  });

  it('skips the turn of an instance that took a ticket and died, after one lease period', async () => {
    const store = new MemoryStore();
    const order = new ChatOrder(store, { leaseMs: 100, pollMs: 5 });
    // A dead instance: took ticket 1, never started.
    await store.setIfAbsent(chatKey('order', 'c', 'done'), 0, 60_000);
    await store.increment(chatKey('order', 'c', 'tickets'), 60_000);
    const started = Date.now();
    let ran = false;
    await order.run('c', async () => {
      ran = true;
    });
    expect(ran).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    // Bounded, with room for a loaded machine (seen at 3 s under a full parallel run).
    expect(Date.now() - started).toBeLessThan(6000);
  });

  it('moves on when a holder’s lease lapses (killed mid-turn)', async () => {
    const store = new MemoryStore();
    const order = new ChatOrder(store, { leaseMs: 80, pollMs: 5 });
    await store.setIfAbsent(chatKey('order', 'c', 'done'), 0, 60_000);
    await store.increment(chatKey('order', 'c', 'tickets'), 60_000);
    await store.set(chatKey('order', 'c', 'lease'), { ticket: 1, owner: 'dead' }, 80); // expires, never renewed
    let ran = false;
    await order.run('c', async () => {
      ran = true;
    });
    expect(ran).toBe(true);
  });
});

function fakeSender() {
  const sent: string[] = [];
  let hang = false;
  let mid = 0;
  const sender: Sender & { sent: string[]; hangForever(): void } = {
    sent,
    hangForever: () => {
      hang = true;
    },
    async send(request: SendRequest): Promise<SendResult> {
      if (hang) return new Promise<SendResult>(() => undefined);
      const texts = (request.messages ?? []).map((m) => (m.type === 'text' ? m.text : m.type));
      sent.push(...texts);
      return {
        ok: true,
        attempts: 1,
        messages: texts.map((_, i) => ({ index: i + 1, code: 200, mid: `m${++mid}`, state: 'delivered' as const })),
      };
    },
    async closeChat() {},
  };
  return sender;
}

const req = (chatId: string, text: string): SendRequest => ({
  chatId,
  mTok: 't',
  from: 'bot',
  to: 'user',
  messages: [{ type: 'text', text }],
});

describe('Outbox: durable replies', () => {
  const boxes: Outbox[] = [];
  afterEach(async () => {
    await Promise.all(boxes.splice(0).map((b) => b.close()));
  });

  it('sends in order and returns each send’s own result', async () => {
    const store = new MemoryStore();
    const sender = fakeSender();
    const box = new Outbox(store, sender, { sweepMs: 20 });
    boxes.push(box);
    const results = await Promise.all([box.send(req('c', 'a')), box.send(req('c', 'b')), box.send(req('c', 'c'))]);
    expect(sender.sent).toEqual(['a', 'b', 'c']);
    expect(results.map((r) => r.messages[0]!.mid)).toEqual(['m1', 'm2', 'm3']);
    expect(await box.depth()).toBe(0);
  });

  it('a reply held by an instance that died is sent by another, in order, none lost', async () => {
    const store = new MemoryStore();
    const deadSender = fakeSender();
    deadSender.hangForever();
    const dying = new Outbox(store, deadSender, { leaseMs: 100, sweepMs: 20 });
    const survivorSender = fakeSender();
    const survivor = new Outbox(store, survivorSender, { leaseMs: 100, sweepMs: 20 });
    boxes.push(survivor);

    const dyingSends = [dying.send(req('c', 'first')), dying.send(req('c', 'second'))];
    await sleep(30);
    await dying.close(0); // the instance is gone (its send hangs: no wait): no sweeps, its lease is no longer renewed...
    // ...but a renewal timer might still be running in this process; the store is what matters:
    await store.delete(chatKey('outbox', 'c', 'lease'));
    const third = survivor.send(req('c', 'third'));
    await third;
    expect(survivorSender.sent).toEqual(['first', 'second', 'third']);
    expect(await survivor.depth()).toBe(0);
    // The closed instance's callers still get their replies' results, from the survivor's records.
    await expect(Promise.all(dyingSends)).resolves.toMatchObject([{ ok: true }, { ok: true }]);
  });

  it('a failed send is removed from the queue and its error reaches the caller', async () => {
    const store = new MemoryStore();
    const sender = fakeSender();
    const failing: Sender = {
      async send() {
        throw Object.assign(new Error('chat gone'), { code: 'CHAT_CLOSED' });
      },
      closeChat: sender.closeChat,
    };
    const box = new Outbox(store, failing, { sweepMs: 20 });
    boxes.push(box);
    await expect(box.send(req('c', 'x'))).rejects.toMatchObject({ message: 'chat gone', code: 'CHAT_CLOSED' });
    expect(await box.depth('c')).toBe(0);
  });
});

describe('a bot on a shared store (one instance of several)', () => {
  afterEach(closeHarnesses);

  /** A bot that records typingStart / typingStop, on a shared store behind a harness. */
  async function typingWatcher() {
    const bot = createBot({ name: 'Watcher' });
    const events: string[] = [];
    bot.on('typingStart', () => void events.push('start'));
    bot.on('typingStop', (ctx) => void events.push(`stop:${ctx.typingStop.reason}`));
    bot.on('text', () => undefined);
    return { bot, events, h: await harness(bot, { shared: true }) };
  }

  it('knows a new chat during its first turn: bot.send from the handler reaches the user', async () => {
    const bot = createBot({ name: 'Pusher' });
    bot.on('text', async (ctx) => {
      await bot.send(ctx.chat.id, 'pushed');
      await ctx.reply(`echo ${ctx.message.text}`);
    });
    const h = await harness(bot, { shared: true });
    expect((await h.userSays('hi')).status).toBe(200);
    expect((await h.waitForReplies(2)).map((m) => (m as { text?: string }).text)).toEqual(['pushed', 'echo hi']);
  });

  it('keeps typing state through the turn: typingStart once, isTyping, cleared by a message', async () => {
    const { bot, events, h } = await typingWatcher();
    await h.userTypes();
    await h.userTypes();
    expect(await bot.isTyping(h.chatId)).toBe(true);
    await h.userSays('done');
    expect(await bot.isTyping(h.chatId)).toBe(false);
    expect(events).toEqual(['start', 'stop:message']);
  });

  it('a typing action and a message in one callback: typingStart, then typingStop, and not typing after', async () => {
    const { bot, events, h } = await typingWatcher();
    for (const round of [1, 2]) {
      const ts = Date.now();
      const answer = await h.post({
        actions: [{ type: 'typing', ts }],
        messages: [{ index: 1, type: 'text', mid: `m-${round}`, ts: ts + 1, text: 'typed and sent' }],
      });
      expect(answer.status).toBe(200);
      expect(await bot.isTyping(h.chatId)).toBe(false);
    }
    // Each round starts anew: the stop of the first was not undone by its own typing write.
    expect(events).toEqual(['start', 'stop:message', 'start', 'stop:message']);
  });

  it('two typing actions in one callback make one typingStart', async () => {
    const bot = createBot({ name: 'Watcher' });
    let starts = 0;
    bot.on('typingStart', () => void starts++);
    const h = await harness(bot, { shared: true });
    const ts = Date.now();
    const answer = await h.post({ actions: [{ type: 'typing', ts }, { type: 'typing', ts: ts + 1 }] });
    expect(answer.status).toBe(200);
    expect(starts).toBe(1);
  });
});
