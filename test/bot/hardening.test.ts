/**
 * Defects found by hostile testing and a spec audit (issue 13), one test each: every one of these
 * failed before its fix.
 */
import { assertDelivered, ChatClosedError, HandlerError, createBot, text } from '../../src/index.js';
import { closeHarnesses, harness } from '../helpers/harnesses.js';

afterEach(closeHarnesses);

const message = (mid: string, t: string) => ({ type: 'text', mid, ts: 1, index: 1, text: t });
const SPEC_CALLBACK_CODES = new Set([200, 400, 409, 500, 503]);

describe('which results are remembered for a redelivered message', () => {
  it.each([
    ['HandlerError(503)', () => new HandlerError(503, 'busy'), 503],
    ['a plain error (500)', () => new Error('bug'), 500],
  ])('%s is not final: BBM\'s retry of that mid runs the handler again', async (_name, makeError, code) => {
    let runs = 0;
    const bot = createBot({ name: 'T' });
    bot.on('text', async (ctx) => {
      runs++;
      if (runs === 1) throw makeError();
      await ctx.reply('handled');
    });
    const h = await harness(bot);
    const first = await h.post({ messages: [message('retry-me', 'hi')] });
    expect(first.body.messages![0]!.result.code).toBe(code);
    const retry = await h.post({ messages: [message('retry-me', 'hi')] });
    expect(retry.body.messages![0]!.result).toEqual({ code: 200 });
    expect(runs).toBe(2);
    h.expectReply('handled');
  });

  it('a 400 is final: the retry gets the same answer and the handler does not run again', async () => {
    let runs = 0;
    const bot = createBot({ name: 'T' });
    bot.on('text', () => {
      runs++;
      throw new HandlerError(400, 'not a date');
    });
    const h = await harness(bot);
    await h.post({ messages: [message('bad', 'x')] });
    const retry = await h.post({ messages: [message('bad', 'x')] });
    expect(retry.body.messages![0]!.result).toEqual({ code: 400, error: 'not a date' });
    expect(runs).toBe(1);
  });
});

describe('leave', () => {
  it('closes the chat before the leave handlers run: their sends fail with ChatClosedError', async () => {
    const errors: unknown[] = [];
    const bot = createBot({ name: 'T' });
    bot.on('text', (ctx) => ctx.reply('hi'));
    bot.on('leave', async (ctx) => {
      await ctx.reply('bye').catch((e: unknown) => errors.push(e));
    });
    const h = await harness(bot);
    await h.userSays('hello');
    await h.userLeaves();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ChatClosedError);
    h.expectReply('hi');
    h.expectNoReply();
  });

  it('a leave for a chat whose token the bot does not know closes nothing: a new token is a new conversation', async () => {
    const bot = createBot({ name: 'T' });
    bot.on('text', (ctx) => ctx.reply(`got ${ctx.text}`));
    const h = await harness(bot);
    // As after a restart on the memory store: the leave is the first the bot hears of the chat.
    await h.post({ mTok: undefined, actions: [{ type: 'leave' }] });
    const answer = await h.post({ mTok: 'a-fresh-token', messages: [message('m-new', 'again')] });
    expect(answer.body.messages![0]!.result).toEqual({ code: 200 });
    h.expectReply('got again');
  });
});

describe('per-message result codes are the spec\'s own', () => {
  it.each([
    [401, 500],
    [403, 500],
    // The user is gone (UserGoneError): the message counts as handled, so BBM does not run it again.
    [404, 200],
    [429, 503],
    [503, 503],
  ])('a reply the Chat API refused with %i answers the user\'s message %i', async (apiStatus, expected) => {
    const bot = createBot({ name: 'T' });
    bot.on('text', (ctx) => ctx.reply('x'));
    const h = await harness(bot);
    // Enough refusals to outlast the client's retries and its token refresh.
    h.api.script(...Array.from({ length: 6 }, () => () => ({ status: apiStatus, body: { error: 'no' } })));
    const answer = await h.userSays('hi');
    const code = answer.body.messages![0]!.result.code;
    expect(code).toBe(expected);
    expect(SPEC_CALLBACK_CODES.has(code)).toBe(true);
  });

  it('a per-message 503 turned into an error by assertDelivered answers 503', async () => {
    const bot = createBot({ name: 'T' });
    bot.on('text', async (ctx) => {
      assertDelivered(await ctx.reply('x'));
    });
    const h = await harness(bot);
    // More refusals than the client's own resends of a failed message.
    h.api.script(...Array.from({ length: 6 }, () => () => ({ status: 207, body: { messages: [{ index: 1, result: { code: 503, error: 'later' } }] } })));
    expect((await h.userSays('hi')).body.messages![0]!.result.code).toBe(503);
  });

  it('a HandlerError(409) stays 409, one of the spec\'s codes', async () => {
    const bot = createBot({ name: 'T' });
    bot.on('text', () => {
      throw new HandlerError(409, 'out of order');
    });
    const h = await harness(bot);
    expect((await h.userSays('hi')).body.messages![0]!.result).toEqual({ code: 409, error: 'out of order' });
  });

  it('a HandlerError with another 4xx is answered 400; with 429, 503', async () => {
    const bot = createBot({ name: 'T' });
    bot.hears('a', () => {
      throw new HandlerError(404, 'no such order');
    });
    bot.hears('b', () => {
      throw new HandlerError(429, 'slow down');
    });
    const h = await harness(bot);
    expect((await h.userSays('a')).body.messages![0]!.result).toEqual({ code: 400, error: 'no such order' });
    expect((await h.userSays('b')).body.messages![0]!.result.code).toBe(503);
  });
});

describe('error texts stay in the process', () => {
  const failing = () => {
    const bot = createBot({ name: 'T' });
    bot.on('text', () => {
      throw new TypeError('ctx.replly is not a function');
    });
    return bot;
  };

  it('outside dev, BBM gets a generic text', async () => {
    const h = await harness(failing(), { errorDetail: false });
    const result = (await h.userSays('hi')).body.messages![0]!.result;
    expect(result.code).toBe(500);
    expect(result.error).toBe('the message could not be handled');
  });

  it('with errorDetail (npm run dev, the test kit), the detail goes on', async () => {
    const h = await harness(failing());
    expect((await h.userSays('hi')).body.messages![0]!.result.error).toBe('ctx.replly is not a function');
  });
});

describe('wire maps are read by their own properties only', () => {
  it.each(['constructor', 'toString', '__proto__x', 'hasOwnProperty'])('a user id %j not in userInfos has no name', async (id) => {
    const names: string[] = [];
    const bot = createBot({ name: 'T' });
    bot.on('text', (ctx) => {
      names.push(ctx.user.name);
    });
    const h = await harness(bot);
    await h.post({ from: id, userInfos: { someoneElse: { name: 'B' } }, messages: [message('m1', 'hi')] });
    expect(names).toEqual(['']);
  });

  it.each(['constructor', 'toString', 'valueOf'])('a message of type %j is an unknown message', async (type) => {
    const events: string[][] = [];
    const bot = createBot({ name: 'T' });
    bot.use((ctx, next) => {
      events.push([...ctx.events].map(String));
      return next();
    });
    const h = await harness(bot);
    const answer = await h.post({ messages: [{ type, mid: 'm1' }], actions: [{ type }] });
    expect(answer.status).toBe(200);
    expect(events).toEqual([
      ['action:unknown', 'action'],
      ['unknown', 'message'],
    ]);
  });
});

describe('delivery records belong to their chat', () => {
  it('a read in chat X naming a mid sent in chat Y is no read of Y\'s message', async () => {
    const reads: { chatId: string; message: unknown }[] = [];
    const bot = createBot({ name: 'T' });
    bot.on('text', (ctx) => ctx.reply('from the bot'));
    bot.on('read', (ctx) => {
      reads.push({ chatId: ctx.chat.id, message: ctx.delivery.message });
    });
    const h = await harness(bot, { deliveryNotifications: true });
    await h.userSays('hi');
    const chatY = h.chatId;
    const midInY = h.sends.find((s) => s.body.messages)!.mids[0]!;
    h.newChat();
    await h.post({ mTok: undefined, actions: [{ type: 'read', mids: [midInY] }] });
    await bot.idle(1000);
    expect(reads).toEqual([{ chatId: h.chatId, message: undefined }]);
    expect(await bot.deliveryState(chatY, midInY)).toBe('accepted');
    expect(await bot.deliveryState(h.chatId, midInY)).toBeUndefined();
  });
});

describe('a read receipt survives the reply that carried it', () => {
  const readsSent = (h: { sends: { body: { actions?: { type: string; mids?: unknown }[] } }[] }) =>
    h.sends.flatMap((s) => (s.body.actions ?? []).filter((a) => a.type === 'read').map((a) => a.mids));

  it('when validation refuses the reply (nothing sent), the receipt goes out alone', async () => {
    const bot = createBot({ name: 'T' });
    bot.on('text', async (ctx) => {
      await ctx.reply(text('x'.repeat(2001))).catch(() => undefined);
    });
    const h = await harness(bot, { deliveryNotifications: true });
    await h.post({ messages: [message('m-read', 'hi')] });
    expect(readsSent(h)).toEqual([['m-read']]);
  });

  it('when the send gives up and the handler goes on, the receipt goes out alone at the turn\'s end', async () => {
    const bot = createBot({ name: 'T' });
    bot.on('text', async (ctx) => {
      await ctx.reply('x').catch(() => undefined);
    });
    const h = await harness(bot, { deliveryNotifications: true });
    h.api.script(...Array.from({ length: 3 }, () => () => ({ status: 500, body: { error: 'down' } })));
    const answer = await h.post({ messages: [message('m-read2', 'hi')] });
    expect(answer.body.messages![0]!.result).toEqual({ code: 200 });
    expect(h.sends.at(-1)!.body).toMatchObject({ actions: [{ type: 'read', mids: ['m-read2'] }] });
    expect(h.sends.at(-1)!.body.messages).toBeUndefined();
  });

  it('a message whose handler failed is not marked read: BBM sends it again', async () => {
    const bot = createBot({ name: 'T' });
    bot.on('text', (ctx) => ctx.reply('x'));
    const h = await harness(bot, { deliveryNotifications: true });
    h.api.script(...Array.from({ length: 3 }, () => () => ({ status: 500, body: { error: 'down' } })));
    const answer = await h.post({ messages: [message('m-read3', 'hi')] });
    expect(answer.body.messages![0]!.result.code).toBe(503);
    expect(h.sends.filter((s) => !s.body.messages)).toHaveLength(0);
  });
});
