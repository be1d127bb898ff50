import {
  FakeClock,
  TypingRelay,
  TypingTracker,
  createBot,
} from '../../src/index.js';
import { closeHarnesses, harness } from '../helpers/harnesses.js';

afterEach(closeHarnesses);

const text = (mid: string, t: string) => ({ type: 'text', mid, ts: 1, text: t });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sessions', () => {
  it('keeps typed per-chat state across callbacks, separately per chat', async () => {
    const bot = createBot({ name: 'T', session: { initial: () => ({ count: 0, words: [] as string[] }) } });
    bot.on('text', async (ctx) => {
      ctx.session.count++;
      ctx.session.words.push(ctx.message.text);
      await ctx.reply(`${ctx.session.count}: ${ctx.session.words.join(' ')}`);
    });
    const h = await harness(bot);
    await h.userSays('a');
    await h.userSays('b');
    await h.post({ chatId: 'other', messages: [text('o1', 'z')] });
    await h.userSays('c');
    // Expectations follow the harness's chat; the other chat's reply is among all replies.
    h.expectReply('1: a');
    h.expectReply('2: a b');
    h.expectReply('3: a b c');
    expect(h.replies).toContainEqual(expect.objectContaining({ type: 'text', text: '1: z' }));
  });

  it('leaves the session as it was when a handler throws, and the next turn starts from there', async () => {
    const bot = createBot({ name: 'T', session: { initial: () => ({ step: 'start', n: 0 }) } });
    bot.on('text', async (ctx) => {
      ctx.session.n++;
      ctx.session.step = ctx.message.text;
      if (ctx.message.text === 'fail') throw new Error('no');
      await ctx.reply(`${ctx.session.step} ${ctx.session.n}`);
    });
    const h = await harness(bot);
    await h.userSays('one');
    await h.post({ messages: [{ ...text('x1', 'fail'), index: 1 }, { ...text('x2', 'two'), index: 2 }] });
    await h.userSays('three');
    h.expectReply('one 1');
    // 'two' got 409 (stop on error) and was not handled; 'fail' changed nothing.
    h.expectReply('three 2');
    h.expectNoReply();
  });

  it('never loses an update when two callbacks for one chat race and the handler is slow', async () => {
    const bot = createBot({ name: 'T', session: { initial: () => ({ n: 0 }) } });
    bot.on('text', async (ctx) => {
      const seen = ctx.session.n;
      await sleep(30);
      ctx.session.n = seen + 1;
      await ctx.reply(String(ctx.session.n));
    });
    const h = await harness(bot);
    await Promise.all([h.userSays('a'), h.userSays('b'), h.userSays('c')]);
    expect(h.api.textsSent()).toEqual(['1', '2', '3']);
  });

  it('clearSession() starts the chat over from the initial value', async () => {
    const bot = createBot({ name: 'T', session: { initial: () => ({ n: 0 }) } });
    bot.hears('reset', (ctx) => ctx.clearSession());
    bot.on('text', (ctx) => {
      ctx.session.n++;
      return ctx.reply(String(ctx.session.n));
    });
    const h = await harness(bot);
    await h.userSays('a');
    await h.userSays('b');
    await h.userSays('reset');
    await h.userSays('c');
    expect(h.api.textsSent()).toEqual(['1', '2', '1']);
  });
});

describe('incoming typing', () => {
  it('marks the user typing on a typing action, clears it on a message, and fires start and stop', async () => {
    const events: string[] = [];
    const bot = createBot({ name: 'T' });
    bot.on('typingStart', (ctx) => {
      events.push(`start ${ctx.chat.id}`);
    });
    bot.on('typingStop', (ctx) => {
      events.push(`stop ${ctx.typingStop.reason}`);
    });
    const h = await harness(bot);
    expect(await bot.isTyping(h.chatId)).toBe(false);
    await h.userTypes();
    expect(await bot.isTyping(h.chatId)).toBe(true);
    await h.userTypes(); // still typing: no second start
    await h.userSays('done typing');
    expect(await bot.isTyping(h.chatId)).toBe(false);
    await bot.idle(1000);
    expect(events).toEqual([`start ${h.chatId}`, 'stop message']);
  });

  it('clears typing after 30 s without another typing action, exactly at 30 s', () => {
    const clock = new FakeClock();
    const stops: string[] = [];
    const tracker = new TypingTracker((chatId, reason) => stops.push(`${chatId}:${reason}`), clock);
    tracker.typing('a');
    clock.advance(29_999);
    expect(tracker.isTyping('a')).toBe(true);
    expect(stops).toEqual([]);
    clock.advance(1);
    expect(tracker.isTyping('a')).toBe(false);
    expect(stops).toEqual(['a:timeout']);
  });

  it('a new typing action restarts the 30 s', () => {
    const clock = new FakeClock();
    const stops: string[] = [];
    const tracker = new TypingTracker((chatId, reason) => stops.push(`${chatId}:${reason}`), clock);
    tracker.typing('a');
    clock.advance(20_000);
    expect(tracker.typing('a')).toBe(false);
    clock.advance(20_000);
    expect(tracker.isTyping('a')).toBe(true);
    expect(stops).toEqual([]);
    clock.advance(10_000);
    expect(stops).toEqual(['a:timeout']);
  });

  it('keeps one timer for 100,000 typing chats, and nothing once they time out', () => {
    const clock = new FakeClock();
    let stopped = 0;
    const tracker = new TypingTracker(() => stopped++, clock);
    for (let i = 0; i < 100_000; i++) {
      tracker.typing(`chat-${i}`);
      if (i % 1000 === 0) clock.advance(1);
    }
    expect(clock.pendingTimers).toBe(1);
    expect(tracker.size).toBe(100_000);
    clock.advance(31_000);
    expect(stopped).toBe(100_000);
    expect(tracker.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a typing stop from the timeout reaches the bot with the chat', async () => {
    const clock = new FakeClock();
    const events: string[] = [];
    const bot = createBot({ name: 'T', clock });
    bot.on('typingStop', (ctx) => {
      events.push(`${ctx.chat.id} ${ctx.typingStop.reason}`);
    });
    const h = await harness(bot);
    await h.userTypes();
    clock.advance(30_000);
    await bot.idle(1000);
    expect(events).toEqual([`${h.chatId} timeout`]);
    expect(await bot.isTyping(h.chatId)).toBe(false);
  });
});

describe('outgoing typing for operators (TypingRelay)', () => {
  function relay() {
    const clock = new FakeClock();
    const sent: number[] = [];
    const start = clock.now();
    const r = new TypingRelay({ clock, send: () => sent.push(clock.now() - start) });
    return { clock, sent, r };
  }

  it('rule 1 and 3: sends typing 5 s after the operator starts, exactly at 5 s', () => {
    const { clock, sent, r } = relay();
    r.operatorTyping();
    clock.advance(4_999);
    expect(sent).toEqual([]);
    clock.advance(1);
    expect(sent).toEqual([5_000]);
  });

  it('rule 2: a message sent before the 5 s cancels the typing action', () => {
    const { clock, sent, r } = relay();
    r.operatorTyping();
    clock.advance(4_999);
    r.messageSent();
    clock.advance(60_000);
    expect(sent).toEqual([]);
  });

  it('rule 1: no new typing action within 30 s of the last one, while the operator is idle', () => {
    const { clock, sent, r } = relay();
    r.operatorTyping();
    clock.advance(5_000); // sent at 5 s
    r.operatorIdle();
    clock.advance(10_000);
    r.operatorTyping(); // at 15 s: the last one went out 10 s ago
    r.operatorIdle();
    clock.advance(60_000);
    expect(sent).toEqual([5_000]);
  });

  it('rule 4: 30 s after the last action, schedules again (5 s) only while the operator is still typing', () => {
    const { clock, sent, r } = relay();
    r.operatorTyping();
    clock.advance(5_000); // first at 5 s
    // Keep typing: a keystroke every 2 s.
    for (let t = 0; t < 34_000; t += 2_000) {
      clock.advance(2_000);
      r.operatorTyping();
    }
    // now at 39 s: the window ended at 35 s with the operator typing, so the next is due at 40 s
    expect(sent).toEqual([5_000]);
    clock.advance(1_000);
    expect(sent).toEqual([5_000, 40_000]);
    r.operatorIdle();
    clock.advance(60_000);
    expect(sent).toEqual([5_000, 40_000]);
  });

  it('rule 4: typing at the end of the window schedules the next action 5 s later, at exactly 40 s', () => {
    const { clock, sent, r } = relay();
    r.operatorTyping();
    clock.advance(5_000);
    clock.advance(29_998);
    r.operatorTyping();
    clock.advance(2); // 35 s: the window ends, the operator is typing: scheduled, not sent
    expect(sent).toEqual([5_000]);
    clock.advance(4_999);
    expect(sent).toEqual([5_000]);
    clock.advance(1);
    expect(sent).toEqual([5_000, 40_000]);
  });

  it('rule 5: a sent message resets the 30 s, so the next typing goes out 5 s after it starts', () => {
    const { clock, sent, r } = relay();
    r.operatorTyping();
    clock.advance(5_000); // 5 s
    clock.advance(3_000);
    r.messageSent(); // 8 s
    r.operatorTyping(); // 8 s: would be inside the 30 s window without rule 5
    clock.advance(5_000);
    expect(sent).toEqual([5_000, 13_000]);
  });
});

describe('delivery tracking', () => {
  it('follows a message from accepted to delivered to read, firing each event once with the original', async () => {
    const events: string[] = [];
    const bot = createBot({ name: 'T' });
    bot.hears('hi', (ctx) => ctx.reply('hello'));
    bot.on('delivered', (ctx) => {
      events.push(`delivered ${ctx.delivery.mid} ${JSON.stringify(ctx.delivery.message)}`);
    });
    bot.on('read', (ctx) => {
      events.push(`read ${ctx.delivery.mid} ${ctx.delivery.message?.type ?? 'unknown'}`);
    });
    const h = await harness(bot, { deliveryNotifications: true });
    await h.userSays('hi');
    const mid = h.sends.find((s) => s.body.messages)!.mids[0]!;
    expect(await bot.deliveryState(h.chatId, mid)).toBe('accepted');

    await h.post({ mTok: undefined, actions: [{ type: 'dlv', mids: [mid] }] });
    expect(await bot.deliveryState(h.chatId, mid)).toBe('delivered');
    await h.post({ mTok: undefined, actions: [{ type: 'dlv', mids: [mid] }] }); // again: no second event
    await h.post({ mTok: undefined, actions: [{ type: 'read', mids: [mid] }] });
    expect(await bot.deliveryState(h.chatId, mid)).toBe('read');
    await bot.idle(1000);
    expect(events).toEqual([`delivered ${mid} {"type":"text","text":"hello"}`, `read ${mid} text`]);
  });

  it('a read that overtakes its dlv fires delivered then read; a read action moves all its mids', async () => {
    const events: string[] = [];
    const bot = createBot({ name: 'T' });
    bot.hears('two', (ctx) => ctx.reply('a', 'b'));
    bot.on('delivered', (ctx) => {
      events.push(`delivered ${ctx.delivery.message?.type === 'text' ? ctx.delivery.message.text : '?'}`);
    });
    bot.on('read', (ctx) => {
      events.push(`read ${ctx.delivery.message?.type === 'text' ? ctx.delivery.message.text : '?'}`);
    });
    const h = await harness(bot, { deliveryNotifications: true });
    await h.userSays('two');
    const mids = h.sends.find((s) => s.body.messages)!.mids as string[];
    await h.post({ mTok: undefined, actions: [{ type: 'read', mids }] });
    expect(events).toEqual(['delivered a', 'read a', 'delivered b', 'read b']);
  });

  it('a dlv or read for an unknown mid is a plain action, never an error', async () => {
    const actions: string[] = [];
    const reads: string[] = [];
    const bot = createBot({ name: 'T' });
    bot.on('dlv', (ctx) => {
      actions.push(ctx.action.mids.join(','));
    });
    bot.on('read', (ctx) => {
      reads.push(`${ctx.delivery.mid} ${String(ctx.delivery.message)}`);
    });
    const h = await harness(bot);
    const answer = await h.post({ actions: [{ type: 'dlv', mids: ['nope'] }, { type: 'read', mids: ['nope'] }] });
    expect(answer.status).toBe(200);
    expect(actions).toEqual(['nope']);
    expect(reads).toEqual(['nope undefined']);
  });

  it('a message answered 200 at send time is delivered at once', async () => {
    const events: string[] = [];
    const bot = createBot({ name: 'T' });
    bot.on('text', (ctx) => ctx.reply('x'));
    bot.on('delivered', (ctx) => {
      events.push(ctx.delivery.state);
    });
    const h = await harness(bot);
    await h.userSays('hi');
    await bot.idle(1000);
    expect(events).toEqual(['delivered']);
    expect(await bot.deliveryState(h.chatId, h.sends[0]!.mids[0]!)).toBe('delivered');
  });
});

describe('slow handlers', () => {
  it('answers 503 at the deadline (never 200 for an unfinished message) and lets the running handler finish', async () => {
    const bot = createBot({ name: 'T', deadlineMs: 100 });
    bot.on('text', async (ctx) => {
      if (ctx.message.text === 'slow') await sleep(400);
      await ctx.reply(`done ${ctx.message.text}`);
    });
    const h = await harness(bot);
    const started = Date.now();
    const answer = await h.userSays('slow');
    const elapsed = Date.now() - started;
    expect(answer.status).toBe(207);
    expect(answer.body.messages![0]!.result.code).toBe(503);
    expect(elapsed).toBeLessThan(350);
    expect(h.replies).toHaveLength(0);

    // The handler finishes in the background; the chat's next message comes after it.
    expect(await bot.idle(3000)).toBe(true);
    expect((await h.userSays('quick')).status).toBe(200);
    await h.waitForReplies(2, 3000);
    expect(h.api.textsSent()).toEqual(['done slow', 'done quick']);
  });

  it('a failure after the deadline is logged and reaches bot.catch', async () => {
    const caught: string[] = [];
    const bot = createBot({ name: 'T', deadlineMs: 50 });
    bot.on('text', async () => {
      await sleep(150);
      throw new Error('late failure');
    });
    bot.catch((err) => {
      caught.push((err as Error).message);
    });
    const h = await harness(bot);
    const answer = await h.userSays('x');
    expect(answer.status).toBe(207);
    expect(answer.body.messages![0]!.result.code).toBe(503);
    expect(await bot.idle(2000)).toBe(true);
    expect(caught).toEqual(['late failure']);
  });
});
