/**
 * "The user is gone" inside a bot: one error (UserGoneError, with its reason) whatever told the bot,
 * and a turn that fails with it keeps its session changes: an order placed while the user left
 * stays in the history. Any other error still rolls the turn's session back.
 */
import { ChatClosedError, UserGoneError, createBot, startBotServer, startEmulator } from '../../src/index.js';
import { localBotConfig } from '../helpers/config.js';
import { closeHarnesses, harness } from '../helpers/harnesses.js';
import { until } from '../helpers/until.js';

afterEach(closeHarnesses);

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

/** A pizza bot: an order goes into the history, then (after `placing`) the confirmation. */
function pizzaBot(placing: Promise<void> = Promise.resolve()) {
  const errors: unknown[] = [];
  let waiting = 0;
  const bot = createBot({ name: 'Pizza', session: { initial: () => ({ orders: [] as string[], left: false }) } });
  bot.hears(/^order (.+)/, async (ctx) => {
    ctx.session.orders.push(ctx.match[1]!);
    waiting++;
    await placing;
    await ctx.reply(`Order ${ctx.session.orders.length} placed`);
  });
  bot.hears(/^fail (.+)/, (ctx) => {
    ctx.session.orders.push(ctx.match[1]!);
    throw new Error('the oven is broken');
  });
  bot.hears('history', (ctx) => ctx.reply(`orders: ${ctx.session.orders.join(', ') || 'none'}; left: ${ctx.session.left}`));
  bot.on('leave', async (ctx) => {
    ctx.session.left = true;
    await ctx.reply('Bye!');
  });
  bot.catch((err) => {
    errors.push(err);
  });
  return { bot, errors, waiting: () => waiting };
}

describe('UserGoneError in a bot', () => {
  it('an order placed while the user left stays in the history; its message counts as handled', async () => {
    const placing = deferred();
    const { bot, errors, waiting } = pizzaBot(placing.promise);
    const h = await harness(bot);
    const ordered = h.userSays('order margherita');
    await until(() => waiting() === 1, 'the order handler to start placing');
    // The user leaves while the order is being placed: the platform closes the chat at once, the
    // leave callback waits behind the running turn.
    const left = h.userLeaves();
    placing.resolve();
    const answer = await ordered;
    await left;

    expect(errors[0]).toBeInstanceOf(UserGoneError);
    expect(errors[0]).toMatchObject({ reason: 'closed_by_platform', code: 'USER_GONE', chatId: h.chatId });
    // Final, so BBM does not run the order again.
    expect(answer.body.messages?.[0]?.result).toEqual({ code: 200 });
    // The leave handler's goodbye is refused before sending (the chat was closed by the 404 and by the leave).
    expect(errors[1]).toMatchObject({ name: 'UserGoneError' });

    h.userReopens();
    await h.userSays('history');
    // The fake records the refused confirmation too; the goodbye never went out.
    expect(h.api.textsSent(h.chatId)).toEqual(['Order 1 placed', 'orders: margherita; left: true']);
  });

  it("another chat's gone user is an ordinary failure of this turn: its session rolls back, its message is not handled", async () => {
    const errors: unknown[] = [];
    const bot = createBot({ name: 'Pizza', session: { initial: () => ({ orders: [] as string[] }) } });
    let kitchenChat = '';
    bot.hears('kitchen', (ctx) => ctx.reply('kitchen here'));
    bot.hears(/^order (.+)/, async (ctx) => {
      ctx.session.orders.push(ctx.match[1]!);
      await bot.send(kitchenChat, `new order: ${ctx.match[1]}`);
      await ctx.reply('placed');
    });
    bot.hears('history', (ctx) => ctx.reply(`orders: ${ctx.session.orders.join(', ') || 'none'}`));
    bot.catch((err) => {
      errors.push(err);
    });
    const h = await harness(bot);
    // The kitchen's chat: known to the bot, then left.
    await h.userSays('kitchen');
    kitchenChat = h.chatId;
    await h.userLeaves();
    h.newChat();
    const answer = await h.userSays('order calzone');
    expect(errors[0]).toMatchObject({ name: 'UserGoneError', chatId: kitchenChat });
    // Not this chat's user: the turn failed, BBM retries it, and nothing of it was kept.
    expect(answer.body.messages?.[0]?.result.code).toBe(500);
    await h.userSays('history');
    expect(h.api.textsSent(h.chatId)).toEqual(['orders: none']);
  });

  it('any other error still leaves the session as it was', async () => {
    const { bot, errors } = pizzaBot();
    const h = await harness(bot);
    const answer = await h.userSays('fail quattro');
    expect(answer.body.messages?.[0]?.result.code).toBe(500);
    expect(errors[0]).toMatchObject({ message: 'the oven is broken' });
    await h.userSays('history');
    expect(h.api.textsSent(h.chatId)).toEqual(['orders: none; left: false']);
  });

  it('after the bot got the leave: reason left, from a handler and from bot.send; still a ChatClosedError', async () => {
    const { bot, errors } = pizzaBot();
    const h = await harness(bot);
    await h.userSays('order diavola');
    await h.userLeaves();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ reason: 'left', field: 'chatId' });
    const err = await bot.send(h.chatId, 'your pizza is cold').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserGoneError);
    expect(err).toBeInstanceOf(ChatClosedError);
    expect(err).toMatchObject({ reason: 'left' });
    expect(h.api.textsSent(h.chatId)).toEqual(['Order 1 placed']);
  });

  it('without a message token (the bot only heard a leave): reason no_token, the session still saved', async () => {
    const { bot, errors } = pizzaBot();
    const h = await harness(bot);
    // As after a reload on the memory store: the leave, which carries no mTok, is all the bot knows.
    await h.post({ mTok: undefined, actions: [{ type: 'leave' }] });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ name: 'UserGoneError', reason: 'no_token', field: 'mTok', chatId: h.chatId });
    await expect(bot.send(h.chatId, 'hello?')).rejects.toMatchObject({ reason: 'no_token' });

    h.userReopens();
    await h.userSays('history');
    expect(h.api.textsSent(h.chatId)).toEqual(['orders: none; left: true']);
  });
});

describe('UserGoneError against the emulator (the platform answers 404 chat_closed)', () => {
  it('the user leaves while an order is placed: the order stays in the history after they come back', async () => {
    const placing = deferred();
    const { bot, errors, waiting } = pizzaBot(placing.promise);
    const emu = await startEmulator({ port: 0, callbackRetry: { attempts: 3, backoffMs: 20 } });
    const server = await startBotServer({ config: localBotConfig(emu), bot });
    emu.setBotUrl(`${server.url}/v1/chats`);
    const botTexts = (chatId: string) => emu.chat(chatId).items.flatMap((i) => (i.from === 'bot' && i.message.type === 'text' ? [i.message.text] : []));
    try {
      const chatId = emu.chats()[0]!.chatId;
      const ordered = emu.userSends(chatId, { text: 'order funghi' }).done;
      await until(() => waiting() === 1, 'the order handler to start placing');
      const left = emu.userLeaves(chatId);
      placing.resolve();
      await Promise.all([ordered, left]);
      expect(errors[0]).toMatchObject({ name: 'UserGoneError', reason: 'closed_by_platform' });

      emu.userReopens(chatId);
      await emu.userSends(chatId, { text: 'history' }).done;
      await emu.waitFor(() => botTexts(chatId).length > 0, 3000, 'the history');
      expect(botTexts(chatId)).toEqual(['orders: funghi; left: true']);
    } finally {
      await server.shutdown();
      await emu.close();
    }
  });
});
