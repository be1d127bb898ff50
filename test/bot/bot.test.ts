import { Writable } from 'node:stream';
import { pino } from 'pino';
import {
  ChatClosedError,
  FakeClock,
  HandlerError,
  buttons,
  createBot,
  postback,
} from '../../src/index.js';
import { closeHarnesses, harness } from '../helpers/harnesses.js';
import { until } from '../helpers/until.js';

afterEach(closeHarnesses);

const text = (mid: string, t: string, index?: number | string) => ({ type: 'text', mid, ts: 1, text: t, ...(index === undefined ? {} : { index }) });
const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('routing', () => {
  it('runs actions before messages, and messages in index order, each in its own turn', async () => {
    const seen: string[] = [];
    const bot = createBot({ name: 'T' });
    bot.use(async (ctx, next) => {
      seen.push(ctx.message ? `message:${ctx.text}` : `action:${ctx.action!.type}`);
      await next();
    });
    const h = await harness(bot);
    const answer = await h.post({
      messages: [text('m2', 'second', '2'), text('m1', 'first', '1')],
      actions: [{ type: 'typing', ts: 1 }],
    });
    expect(seen).toEqual(['action:typing', 'message:first', 'message:second']);
    expect(answer.status).toBe(200);
    // Results follow the order the messages came in.
    expect(answer.body.messages).toEqual([
      { mid: 'm2', result: { code: 200 } },
      { mid: 'm1', result: { code: 200 } },
    ]);
  });

  it('matches text with strings, regular expressions and predicates', async () => {
    const bot = createBot({ name: 'T' });
    bot.hears('exact', (ctx) => ctx.reply('string'));
    bot.hears(/^hi (\w+)/i, (ctx) => ctx.reply(`regexp ${ctx.match![1]}`));
    bot.hears((t) => t.length > 10, (ctx) => ctx.reply('predicate'));
    bot.on('text', (ctx) => ctx.reply('fallback'));
    const h = await harness(bot);
    await h.userSays('exact');
    await h.userSays('Hi Bob');
    await h.userSays('a long enough text');
    await h.userSays('other');
    h.expectReply('string');
    h.expectReply('regexp Bob');
    h.expectReply('predicate');
    h.expectReply('fallback');
    h.expectNoReply();
  });

  it('matches postbacks by exact data, query parameters, an object, a RegExp and a predicate', async () => {
    const bot = createBot({ name: 'T' });
    bot.postback('menu', (ctx) => ctx.reply('exact'));
    bot.postback('action=book', (ctx) => ctx.reply(`book ${ctx.postback.params.offer}`));
    bot.postback({ season: 'summer' }, (ctx) => ctx.reply('object'));
    bot.postback(/^page-\d+$/, (ctx) => ctx.reply('regexp'));
    bot.postback((p) => p.data.startsWith('x:'), (ctx) => ctx.reply('predicate'));
    bot.on('postback', (ctx) => ctx.reply(`unmatched ${ctx.postback.data}`));
    const h = await harness(bot);
    for (const data of ['menu', 'action=book&location=rome&offer=123', 'season=summer&location=rome', 'page-7', 'x:1', 'action=cancel', 'menus']) {
      await h.userTaps(data);
    }
    for (const r of ['exact', 'book 123', 'object', 'regexp', 'predicate', 'unmatched action=cancel', 'unmatched menus']) h.expectReply(r);
    h.expectNoReply();
  });

  it('fires an event for each action and message type, unknown ones included', async () => {
    const seen: string[] = [];
    const bot = createBot({ name: 'T' });
    for (const e of ['leave', 'typing', 'dlv', 'read', 'postback', 'tap:text', 'tap:link', 'action:unknown', 'text', 'image', 'unknown'] as const) {
      bot.on(e, async (ctx, next) => {
        seen.push(e);
        await next();
      });
    }
    bot.on('message', (ctx) => {
      seen.push(`message(${ctx.message.type})`);
    });
    const h = await harness(bot);
    await h.post({
      actions: [
        { type: 'typing' },
        { type: 'dlv', mids: ['a'] },
        { type: 'read', mids: ['a'] },
        { type: 'postback', postback: { data: 'd' } },
        { type: 'text', text: { label: 'L', text: 'T' } },
        { type: 'link', link: { label: 'L', url: 'https://example.com' } },
        { type: 'sparkle', glitter: true },
      ],
      messages: [
        text('t1', 'hi'),
        { type: 'image', mid: 'i1', image: { url: 'https://example.com/a.png' } },
        { type: 'audio', mid: 'a1', audio: { url: 'https://example.com/a.mp3' } },
      ],
    });
    await h.userLeaves();
    expect(seen).toEqual([
      'typing', 'dlv', 'read', 'postback', 'tap:text', 'tap:link', 'action:unknown',
      'text', 'message(text)', 'image', 'message(image)', 'unknown', 'message(audio)',
      'leave',
    ]);
  });

  it('composes middleware like Koa: code after next() runs after the handlers', async () => {
    const order: string[] = [];
    const bot = createBot({ name: 'T' });
    bot.use(async (_ctx, next) => {
      order.push('a:before');
      await next();
      order.push('a:after');
    });
    bot.use(async (_ctx, next) => {
      order.push('b:before');
      await next();
      order.push('b:after');
    });
    bot.on('text', () => {
      order.push('handler');
    });
    const h = await harness(bot);
    await h.userSays('x');
    expect(order).toEqual(['a:before', 'b:before', 'handler', 'b:after', 'a:after']);
  });

  it('gives handlers the chat, the user and a logger bound to chatId and mid', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }));
    const bot = createBot({ name: 'T' });
    let seen: unknown;
    bot.on('text', (ctx) => {
      seen = { chat: ctx.chat, user: { id: ctx.user.id, name: ctx.user.name } };
      ctx.log.info('inside');
    });
    const h = await harness(bot, { logger });
    await h.post({ messages: [text('mid-77', 'x')] });
    expect(seen).toEqual({
      chat: { id: h.chatId, mTok: h.mTok, channel: 'C00012B1E', botId: '31045128202' },
      user: { id: '100006006205', name: 'Alice' },
    });
    const inside = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'inside');
    expect(inside).toMatchObject({ chatId: h.chatId, mid: 'mid-77' });
  });
});

describe('failures', () => {
  it('answers 500 for a failed message and 409 for the ones after it, then 207', async () => {
    const handled: string[] = [];
    const bot = createBot({ name: 'T' });
    bot.on('text', (ctx) => {
      handled.push(ctx.text!);
      if (ctx.text === 'boom') throw new Error('kaboom');
    });
    const h = await harness(bot);
    const answer = await h.post({ messages: [text('a', 'ok', 1), text('b', 'boom', 2), text('c', 'later', 3)] });
    expect(answer.status).toBe(207);
    expect(answer.body.messages).toEqual([
      { mid: 'a', result: { code: 200 } },
      { mid: 'b', result: { code: 500, error: 'kaboom' } },
      { mid: 'c', result: { code: 409, error: expect.stringContaining('earlier message') } },
    ]);
    expect(handled).toEqual(['ok', 'boom']);
  });

  it('uses the code a typed error carries, and can continue after a failure when configured', async () => {
    const bot = createBot({ name: 'T', continueOnError: true });
    bot.on('text', (ctx) => {
      if (ctx.text === 'busy') throw new HandlerError(503, 'try again later');
    });
    const h = await harness(bot);
    const answer = await h.post({ messages: [text('a', 'busy', 1), text('b', 'fine', 2)] });
    expect(answer.status).toBe(207);
    expect(answer.body.messages).toEqual([
      { mid: 'a', result: { code: 503, error: 'try again later' } },
      { mid: 'b', result: { code: 200 } },
    ]);
  });

  it('hands every handler error to bot.catch with its context, actions included', async () => {
    const caught: string[] = [];
    const bot = createBot({ name: 'T' });
    bot.on('typing', () => {
      throw new Error('typing broke');
    });
    bot.on('text', () => {
      throw new Error('text broke');
    });
    bot.catch((err, ctx) => {
      caught.push(`${(err as Error).message} in ${ctx.chat.id}`);
    });
    const h = await harness(bot);
    const answer = await h.post({ actions: [{ type: 'typing' }], messages: [text('a', 'x')] });
    expect(caught).toEqual([`typing broke in ${h.chatId}`, `text broke in ${h.chatId}`]);
    expect(answer.body.messages![0]!.result.code).toBe(500);
  });

  it('logs the error with chatId and mid when there is no error handler', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c)) as Record<string, unknown>); cb(); } }));
    const bot = createBot({ name: 'T' });
    bot.on('text', () => {
      throw new Error('unhandled');
    });
    const h = await harness(bot, { logger });
    await h.post({ messages: [text('mid-9', 'x')] });
    const line = lines.find((l) => l.msg === 'handler failed');
    expect(line).toMatchObject({ level: 50, chatId: h.chatId, mid: 'mid-9', err: { message: 'unhandled' } });
  });

  it('survives a throwing bot.catch', async () => {
    const bot = createBot({ name: 'T' });
    bot.on('text', () => {
      throw new Error('first');
    });
    bot.catch(() => {
      throw new Error('second');
    });
    const h = await harness(bot);
    const answer = await h.userSays('x');
    expect(answer.status).toBe(207);
    expect(answer.body.messages![0]!.result).toEqual({ code: 500, error: 'first' });
  });
});

describe('ordering', () => {
  it('handles one chat one callback at a time, in arrival order; other chats run meanwhile', async () => {
    const gate = deferred();
    const events: string[] = [];
    const bot = createBot({ name: 'T' });
    bot.on('text', async (ctx) => {
      events.push(`start ${ctx.chat.id}:${ctx.text}`);
      if (ctx.text === 'slow') await gate.promise;
      await ctx.reply(`done ${ctx.text}`);
      events.push(`end ${ctx.chat.id}:${ctx.text}`);
    });
    const h = await harness(bot);
    const first = h.post({ messages: [text('s1', 'slow')] });
    await new Promise((r) => setTimeout(r, 30));
    const second = h.post({ messages: [text('s2', 'quick')] });
    const other = h.post({ chatId: 'other-chat', messages: [text('o1', 'elsewhere')] });
    await other;
    expect(events).toEqual(['start ' + h.chatId + ':slow', 'start other-chat:elsewhere', 'end other-chat:elsewhere']);
    gate.resolve();
    await Promise.all([first, second]);
    expect(h.api.textsSent(h.chatId)).toEqual(['done slow', 'done quick']);
  });
});

describe('redelivery', () => {
  it('handles a message once and answers a redelivery with the earlier result', async () => {
    let calls = 0;
    const bot = createBot({ name: 'T' });
    bot.on('text', (ctx) => {
      calls++;
      if (ctx.text === 'bad') throw new HandlerError(400, 'nope');
    });
    const h = await harness(bot);
    const a = await h.post({ messages: [text('dup', 'bad')] });
    const b = await h.post({ messages: [text('dup', 'bad')] });
    expect(calls).toBe(1);
    expect(b.body).toEqual(a.body);
    expect(b.body.messages![0]!.result).toEqual({ code: 400, error: 'nope' });
  });

  it('handles a message once when two deliveries arrive at the same time', async () => {
    let calls = 0;
    const bot = createBot({ name: 'T' });
    bot.on('text', async (ctx) => {
      calls++;
      await new Promise((r) => setTimeout(r, 50));
      await ctx.reply('once');
    });
    const h = await harness(bot);
    const [a, b] = await Promise.all([h.post({ messages: [text('same', 'x')] }), h.post({ messages: [text('same', 'x')] })]);
    expect(calls).toBe(1);
    expect(a.body).toEqual(b.body);
    expect(h.api.textsSent()).toEqual(['once']);
  });
});

describe('read receipts', () => {
  it('with delivery notifications on, sends the read in the same request as the first reply', async () => {
    const bot = createBot({ name: 'T' });
    bot.on('text', async (ctx) => {
      await ctx.reply('one');
      await ctx.reply('two');
    });
    const h = await harness(bot, { deliveryNotifications: true });
    await h.post({ messages: [text('r1', 'x')] });
    expect(h.sends).toHaveLength(2);
    expect(h.sends[0]!.body.actions).toEqual([{ type: 'read', mids: ['r1'] }]);
    expect(h.sends[0]!.body.messages).toEqual([{ index: 1, type: 'text', text: 'one' }]);
    expect(h.sends[1]!.body.actions).toBeUndefined();
  });

  it('with delivery notifications on, sends the read alone when the handler said nothing', async () => {
    const bot = createBot({ name: 'T' });
    bot.on('text', () => undefined);
    const h = await harness(bot, { deliveryNotifications: true });
    await h.post({ messages: [text('r2', 'x')] });
    expect(h.sends).toHaveLength(1);
    expect(h.sends[0]!.body).toMatchObject({ actions: [{ type: 'read', mids: ['r2'] }] });
    expect(h.sends[0]!.body.messages).toBeUndefined();
  });

  it('with delivery notifications on, sends no read for a message whose handler failed', async () => {
    const bot = createBot({ name: 'T' });
    bot.on('text', () => {
      throw new Error('x');
    });
    const h = await harness(bot, { deliveryNotifications: true });
    await h.post({ messages: [text('r3', 'x')] });
    expect(h.sends).toHaveLength(0);
  });

  it('with delivery notifications off, never sends a read', async () => {
    const bot = createBot({ name: 'T' });
    bot.on('text', async (ctx) => {
      await ctx.markRead();
      await ctx.reply('hi');
    });
    const h = await harness(bot);
    await h.post({ messages: [text('r4', 'x')] });
    expect(h.sends).toHaveLength(1);
    expect(h.sends[0]!.body.actions).toBeUndefined();
  });
});

describe('leave', () => {
  it('runs the leave handlers, then refuses to send to the chat until a new token arrives', async () => {
    const left: string[] = [];
    const bot = createBot({ name: 'T' });
    bot.on('leave', (ctx) => {
      left.push(ctx.chat.id);
    });
    bot.on('text', (ctx) => ctx.reply('hi'));
    const h = await harness(bot);
    await h.userSays('hello');
    await h.post({ mTok: undefined, actions: [{ type: 'leave' }] });
    expect(left).toEqual([h.chatId]);
    const before = h.sends.length;
    await expect(bot.send(h.chatId, 'are you there?')).rejects.toBeInstanceOf(ChatClosedError);
    expect(h.sends.length).toBe(before);

    // The user comes back: a new message brings a new token and the chat opens again.
    await h.post({ mTok: 'a-fresh-token', messages: [text('back', 'back again')] });
    await bot.send(h.chatId, 'welcome back');
    expect(h.api.textsSent(h.chatId).slice(-2)).toEqual(['hi', 'welcome back']);
    expect(h.sends.at(-1)!.mTok).toBe('a-fresh-token');
  });
});

describe('the context helpers', () => {
  it('replies with text, built messages, images and several at once', async () => {
    const bot = createBot({ name: 'T' });
    bot.on('text', (ctx) =>
      ctx.reply('a', [{ type: 'text', text: 'b' }, { url: 'https://example.com/i.png' }], buttons({ desc: 'pick', actions: [postback({ label: 'One', data: 'n=1' })] })),
    );
    const h = await harness(bot);
    await h.userSays('x');
    expect(h.sends).toHaveLength(1);
    expect(h.sends[0]!.body.messages).toEqual([
      { index: 1, type: 'text', text: 'a' },
      { index: 2, type: 'text', text: 'b' },
      { index: 3, type: 'image', image: { url: 'https://example.com/i.png' } },
      { index: 4, type: 'buttons', buttons: { desc: 'pick', actions: [{ type: 'postback', postback: { label: 'One', data: 'n=1' } }] } },
    ]);
    expect(h.sends[0]!.body).toMatchObject({ mType: 'bot', from: '31045128202', to: '100006006205', userInfos: { '31045128202': { name: 'T' } } });
  });

  it('withTyping follows the spec: no typing for work under 5 s; slow work types at 5 s and 40 s, and not after the reply', async () => {
    const clock = new FakeClock();
    const started = deferred();
    const release = deferred();
    // The slow work runs 75 s of clock time: past the default handler timeout (60 s).
    const bot = createBot({ name: 'T', clock, handlerTimeoutMs: 120_000 });
    bot.hears('quick', (ctx) => ctx.withTyping(() => ctx.reply('quick done')));
    bot.hears('slow please', (ctx) =>
      ctx.withTyping(async () => {
        started.resolve();
        await release.promise;
        await ctx.reply('done');
      }),
    );
    const h = await harness(bot);
    const kinds = () => h.sends.map((s) => (s.body.messages ? 'message' : (s.body.actions ?? []).map((a) => a.type).join('+')));
    const sent = (count: number) => until(() => kinds().length >= count, `${count} sends`);

    await h.userSays('quick');
    expect(kinds()).toEqual(['message']);

    const answer = h.userSays('slow please');
    await started.promise;
    clock.advance(5_000); // rule 1: the first typing action, 5 s after the work started
    await sent(2);
    clock.advance(35_000); // rule 4: 30 s later, scheduled again with the 5 s delay: at 40 s
    await sent(3);
    clock.advance(34_999); // the next would be at 75 s
    release.resolve();
    await answer;
    await sent(4);
    clock.advance(300_000);
    await bot.idle(1000);
    expect(kinds()).toEqual(['message', 'typing', 'typing', 'message']);
  });

  it('bot.send writes later into a known chat with its latest token', async () => {
    const bot = createBot({ name: 'T' });
    const h = await harness(bot);
    await h.userSays('remember me');
    await bot.send(h.chatId, 'later');
    expect(h.sends.at(-1)).toMatchObject({ chatId: h.chatId, mTok: h.mTok });
    await expect(bot.send('never-seen', 'x')).rejects.toMatchObject({ code: 'CHAT_UNKNOWN' });
  });
});
