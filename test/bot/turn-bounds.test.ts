/**
 * Bounds on a chat's turns, end to end over real HTTP (issue 14, item 4 and "a bound on each
 * turn"): a handler that never settles is abandoned after handlerTimeoutMs and fenced, a chat's
 * queue is bounded (503 + Retry-After beyond it), and at the deadline a message without a final
 * result is answered 503, never 200.
 */
import { createServer, type Server } from 'node:http';
import request from 'supertest';
import { createBot, FakeClock, type Bot, type BotOptions } from '../../src/index.js';
import { HandlerTimeoutError } from '../../src/bot/turn-bounds.js';
import { RedeliveryGuard } from '../../src/bot/redelivery.js';
import { MemoryStore } from '../../src/state/memory.js';
import { createWebhookHandler } from '../../src/webhook/handler.js';
import type { SendRequest, SendResult } from '../../src/client/index.js';
import { until } from '../helpers/until.js';
import { bytes, deferred, KEY, sendBytes, signedHeaders, textCallback } from '../webhook/helpers.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A bot behind the real webhook, sending into a list. */
function mount(bot: Bot, shared = false) {
  const sent: string[] = [];
  const sender = {
    async send(req: SendRequest): Promise<SendResult> {
      for (const m of req.messages ?? []) if (m.type === 'text') sent.push(m.text);
      return { messages: (req.messages ?? []).map((_, i) => ({ mid: `out${sent.length}-${i}`, code: 200 })) } as unknown as SendResult;
    },
    async closeChat() {},
  };
  bot.init({ sender, store: new MemoryStore(), shared, errorDetail: true });
  const server = createServer(createWebhookHandler({ keys: [KEY], dispatcher: bot }));
  servers.push(server);
  const post = (texts: string[], mids: string[], chatId = '837680') => {
    const value = textCallback(texts, { chatId });
    (value.messages as { mid: string }[]).forEach((m, i) => (m.mid = mids[i]!));
    const body = bytes(value);
    return sendBytes(request(server).post('/v1/chats').set(signedHeaders(body, KEY)), body);
  };
  return { sent, post };
}

function botWith(options: Partial<BotOptions>) {
  return createBot({ name: 'T', ...options });
}

describe.each([false, true])('a handler that never settles (shared store: %s)', (shared) => {
  it('is abandoned after handlerTimeoutMs: 503, bot.catch gets HANDLER_TIMEOUT, the chat moves on, its sends are fenced', async () => {
    const clock = new FakeClock();
    const bot = botWith({ handlerTimeoutMs: 1000, deadlineMs: 0, clock });
    const started = deferred();
    const release = deferred();
    let late: unknown;
    bot.on('text', async (ctx) => {
      if (ctx.message.text !== 'hang') return void (await ctx.reply(`got ${ctx.message.text}`));
      started.resolve();
      await release.promise;
      try {
        await ctx.reply('late');
      } catch (err) {
        late = err;
      }
    });
    const caught: unknown[] = [];
    bot.catch((err) => void caught.push(err));
    const { sent, post } = mount(bot, shared);

    const hung = post(['hang'], ['h1']).then((r) => r);
    await started.promise;
    clock.advance(1000);
    const answer = await hung;
    expect(answer.status).toBe(207);
    expect(answer.body.messages).toEqual([{ mid: 'h1', result: { code: 503, error: expect.stringContaining('1000 ms') } }]);
    expect(answer.headers['retry-after']).toMatch(/^\d+$/);
    expect(caught).toHaveLength(1);
    expect(caught[0]).toBeInstanceOf(HandlerTimeoutError);
    expect(caught[0]).toMatchObject({ code: 'HANDLER_TIMEOUT', chatId: '837680', mid: 'h1' });

    // The chat is free: the next callback runs at once.
    const next = await post(['next'], ['n1']);
    expect(next.status).toBe(200);
    expect(sent).toEqual(['got next']);

    // The abandoned handler wakes up: it can no longer write to the chat.
    release.resolve();
    await until(() => late !== undefined, 'the late send to fail');
    expect(late).toMatchObject({ code: 'TURN_ABANDONED' });
    expect(sent).toEqual(['got next']);
  });
});

describe('a bounded queue per chat', () => {
  it('beyond maxChatQueue waiting callbacks the webhook answers 503 with Retry-After and a reason; other chats are unaffected', async () => {
    const bot = botWith({ maxChatQueue: 2, deadlineMs: 0 });
    const gate = deferred();
    const blocking = deferred();
    bot.on('text', async (ctx) => {
      if (ctx.message.text === 'block') {
        blocking.resolve();
        await gate.promise;
      }
      await ctx.reply(`got ${ctx.message.text}`);
    });
    const { sent, post } = mount(bot);
    const running = post(['block'], ['b1']).then((r) => r);
    await blocking.promise;
    const waiting = [post(['w1'], ['w1']).then((r) => r), post(['w2'], ['w2']).then((r) => r)];
    await new Promise((r) => setTimeout(r, 50));
    const refused = await post(['w3'], ['w3']);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.body).toEqual({ error: 'chat_busy', message: expect.stringContaining('837680') });
    // Another chat is not held up by this one's queue.
    expect((await post(['other'], ['o1'], '999')).status).toBe(200);

    gate.resolve();
    for (const r of [await running, ...(await Promise.all(waiting))]) expect(r.status).toBe(200);
    expect(sent).toEqual(['got other', 'got block', 'got w1', 'got w2']);
    // Room again once the queue drained.
    expect((await post(['w3'], ['w3'])).status).toBe(200);
  });
});

describe('at the deadline', () => {
  it('answers 503 for what is not finished; a running handler finishes and its result answers the retry; a waiting one is left to the retry', async () => {
    const bot = botWith({ deadlineMs: 150 });
    const gate = deferred();
    let slowRuns = 0;
    bot.on('text', async (ctx) => {
      if (ctx.message.text === 'slow') {
        slowRuns++;
        await gate.promise;
      }
      await ctx.reply(`done ${ctx.message.text}`);
    });
    const { sent, post } = mount(bot);

    const first = await post(['slow', 'quick'], ['s1', 'q1']);
    expect(first.status).toBe(207);
    expect(first.headers['retry-after']).toMatch(/^\d+$/);
    expect(first.body.messages.map((m: { result: { code: number } }) => m.result.code)).toEqual([503, 503]);

    // BBM's retry while the slow handler still runs: again 503 at its deadline, and no second run.
    const early = await post(['slow', 'quick'], ['s1', 'q1']);
    expect(early.body.messages.map((m: { result: { code: number } }) => m.result.code)).toEqual([503, 503]);

    gate.resolve();
    expect(await bot.idle(2000)).toBe(true);
    // The message that had not started was not handled by that delivery.
    expect(sent).toEqual(['done slow']);

    const retry = await post(['slow', 'quick'], ['s1', 'q1']);
    expect(retry.status).toBe(200);
    expect(sent).toEqual(['done slow', 'done quick']);
    expect(slowRuns).toBe(1);
  });
});

describe('RedeliveryGuard.claim with a bound', () => {
  it('answers pending when the delivery that holds the message has not finished within waitMs', async () => {
    const store = new MemoryStore();
    const guard = new RedeliveryGuard(store, { pollMs: 5 });
    expect(await guard.claim('c', 'm')).toEqual({ kind: 'claimed' });
    const asked = Date.now();
    expect(await guard.claim('c', 'm', { waitMs: 40 })).toEqual({ kind: 'pending' });
    expect(Date.now() - asked).toBeLessThan(1000);
    await guard.complete('c', 'm', { code: 200 });
    expect(await guard.claim('c', 'm', { waitMs: 40 })).toEqual({ kind: 'done', outcome: { code: 200 } });
  });
});
