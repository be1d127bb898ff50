import { createBot, type Middleware, type Context } from '../../src/index.js';
import { PLUGIN, type BotPlugin, type PluginHost } from '../../src/bot/plugin.js';
import { closeHarnesses, harness } from '../helpers/harnesses.js';

afterEach(closeHarnesses);

/** A plugin on a middleware: records its host, offers ctx.enter, closes with the bot. */
function probe() {
  const seen: { host?: PluginHost; closed: number; entered: string[] } = { closed: 0, entered: [] };
  const plugin: BotPlugin = {
    name: 'probe',
    start: (host) => (seen.host = host),
    beforeTurn: (ctx) => void (ctx.events.has('leave') && seen.entered.push('leave seen')),
    close: async () => void seen.closed++,
    dialogs: {
      enter: async (ctx, name) => void seen.entered.push(`${ctx.chat.id}:${name}`),
      active: async () => 'probe-dialog',
      exit: async () => undefined,
    },
  };
  const mw: Middleware<Context<{ n: number }>> = (_ctx, next) => next();
  return { seen, mw: Object.assign(mw, { [PLUGIN]: plugin }) };
}

describe('bot plugins', () => {
  it('starts a plugin found on a used middleware, offers its dialogs on every context, closes it with the bot', async () => {
    const { seen, mw } = probe();
    const bot = createBot({ name: 'P', session: { initial: () => ({ n: 0 }) } });
    bot.hears('go', async (ctx) => {
      await ctx.enter('booking');
      await ctx.reply(`active ${await ctx.conversation.active()}`);
    });
    bot.use(mw);
    const h = await harness(bot);
    expect(seen.host).toBeDefined();
    await h.userSays('go');
    h.expectReply('active probe-dialog');
    expect(seen.entered).toEqual([`${h.chatId}:booking`]);
    await h.userLeaves();
    expect(seen.entered).toContain('leave seen');
    await bot.close();
    expect(seen.closed).toBe(1);
  });

  it('ownTurn runs work in a known chat with its session saved, and refuses an unknown chat', async () => {
    const { seen, mw } = probe();
    const bot = createBot({ name: 'P', session: { initial: () => ({ n: 0 }) } });
    bot.use(mw);
    bot.hears('count', (ctx) => ctx.reply(`n=${ctx.session.n}`));
    const h = await harness(bot);
    await h.userSays('hello');
    expect(await seen.host!.ownTurn('nobody', async () => undefined)).toBe(false);
    const ran = await seen.host!.ownTurn(h.chatId, async (ctx) => {
      (ctx.session as { n: number }).n = 5;
      await ctx.reply('on my own');
    });
    expect(ran).toBe(true);
    h.expectReply('on my own');
    await h.userSays('count');
    h.expectReply('n=5');
  });

  it('ctx.enter without a conversations plugin is a typed error naming the dialog', async () => {
    const bot = createBot({ name: 'P' });
    bot.hears('go', (ctx) => ctx.enter('booking'));
    const errors: unknown[] = [];
    bot.catch((e) => void errors.push(e));
    const h = await harness(bot);
    await h.userSays('go');
    expect(errors[0]).toMatchObject({ code: 'NO_CONVERSATIONS', field: 'name' });
    expect(String((errors[0] as Error).message)).toContain('"booking"');
  });
});
