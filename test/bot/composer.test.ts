/**
 * The routing tree: sub-composers returned by on/hears/postback/filter/errorBoundary, mounting,
 * branch, error boundaries, ctx.match, and plugins and listened events found through the tree.
 * Everything runs through the real bot and the test kit.
 */
import { Composer, conversation, createBot, type ContextFor } from '../../src/index.js';
import { closeHarnesses, harness } from '../helpers/harnesses.js';

afterEach(closeHarnesses);

type Session = { admin: boolean; premium: boolean };
const session = { initial: (): Session => ({ admin: false, premium: false }) };

describe('Composer', () => {
  it('runs a mounted composer in place, in registration order, and a later addition to it too', async () => {
    const seen: string[] = [];
    const bot = createBot({ name: 'C' });
    const menu = new Composer(async (_ctx, next) => {
      seen.push('menu mw');
      await next();
    });
    bot.use(async (_ctx, next) => {
      seen.push('before');
      await next();
    });
    bot.use(menu);
    bot.on('text', (ctx) => ctx.reply(`fallback ${ctx.message.text}`));
    // Added after mounting: the tree is live.
    menu.hears('menu', (ctx) => ctx.reply('the menu'));
    const h = await harness(bot);
    await h.userSays('menu');
    await h.userSays('other');
    h.expectReply('the menu');
    h.expectReply('fallback other');
    expect(seen).toEqual(['before', 'menu mw', 'before', 'menu mw']);
  });

  it('on/hears/postback return sub-composers: what is used on them runs for their turns only', async () => {
    const bot = createBot({ name: 'C' });
    const texts = bot.on('text');
    texts.use((ctx, next) => (ctx.message.text.startsWith('!') ? ctx.reply(`command ${ctx.message.text}`) : next()));
    bot.hears('hi').use((ctx) => ctx.reply(`hello (${ctx.message.text})`));
    bot.postback('action=book').use((ctx) => ctx.reply(`book ${ctx.postback.params.offer ?? '-'}`));
    bot.use((ctx) => ctx.reply(`rest ${[...ctx.events].join(',')}`));
    const h = await harness(bot);
    await h.userSays('!go');
    await h.userSays('hi');
    await h.userTaps('action=book&offer=3');
    await h.userTaps('other');
    h.expectReply('command !go');
    h.expectReply('hello (hi)');
    h.expectReply('book 3');
    h.expectReply('rest postback,action');
    h.expectNoReply();
  });

  it('mounts a composer for any turn inside a narrowed sub-composer', async () => {
    const bot = createBot({ name: 'C', session });
    const shared = new Composer<Session>();
    shared.use((ctx) => ctx.reply(`shared saw ${ctx.text}`));
    bot.on('text').use(shared);
    const h = await harness(bot);
    await h.userSays('x');
    await h.userTaps('y');
    h.expectReply('shared saw x');
    h.expectNoReply();
  });

  it('filter groups handlers behind a predicate (async or a type guard); the rest go on past them', async () => {
    const bot = createBot({ name: 'C', session });
    bot.hears('promote', (ctx) => {
      ctx.session.admin = true;
      return ctx.reply('promoted');
    });
    const admin = bot.filter(async (ctx) => ctx.session.admin);
    admin.hears('stats', (ctx) => ctx.reply('42 users'));
    const isImage = (ctx: ContextFor<'message', Session>): ctx is ContextFor<'image', Session> => ctx.message.type === 'image';
    bot.on('message').filter(isImage, (ctx) => ctx.reply(`image ${ctx.message.image.url}`));
    bot.on('message', (ctx) => ctx.reply(`not for you: ${ctx.text ?? ctx.message.type}`));
    const h = await harness(bot);
    await h.userSays('stats');
    await h.userSays('promote');
    await h.userSays('stats');
    await h.userSendsImage({ url: 'https://example.com/a.png' });
    h.expectReply('not for you: stats');
    h.expectReply('promoted');
    h.expectReply('42 users');
    h.expectReply('image https://example.com/a.png');
    h.expectNoReply();
  });

  it('branch runs one side by the predicate, and either side continues with next', async () => {
    const bot = createBot({ name: 'C', session });
    bot.hears('upgrade', (ctx) => {
      ctx.session.premium = true;
      return ctx.reply('upgraded');
    });
    const premium = new Composer<Session>();
    premium.hears('menu', (ctx) => ctx.reply('premium menu'));
    bot.branch((ctx) => ctx.session.premium, premium, (ctx, next) => (ctx.text === 'menu' ? ctx.reply('free menu') : next()));
    bot.on('text', (ctx) => ctx.reply(`after ${ctx.message.text}`));
    const h = await harness(bot);
    await h.userSays('menu');
    await h.userSays('other');
    await h.userSays('upgrade');
    await h.userSays('menu');
    await h.userSays('other');
    for (const r of ['free menu', 'after other', 'upgraded', 'premium menu', 'after other']) h.expectReply(r);
    h.expectNoReply();
  });

  it('errorBoundary: its subtree’s errors go to its handler with ctx; next there continues the chain; bot.catch sees none', async () => {
    const caught: unknown[] = [];
    const bot = createBot({ name: 'C' });
    bot.catch((e) => void caught.push(e));
    const guarded = bot.errorBoundary(async (err, ctx, next) => {
      await ctx.reply(`boundary: ${(err as Error).message}`);
      if (ctx.text === 'fail and go on') await next();
    });
    guarded.hears(/^fail/, () => {
      throw new Error('broken');
    });
    bot.on('text', (ctx) => ctx.reply(`after ${ctx.message.text}`));
    const h = await harness(bot);
    const stopped = await h.userSays('fail');
    await h.userSays('fail and go on');
    await h.userSays('fine');
    expect(stopped.body.messages).toEqual([{ mid: expect.any(String), result: { code: 200 } }]);
    h.expectReply('boundary: broken');
    h.expectReply('boundary: broken');
    h.expectReply('after fail and go on');
    h.expectReply('after fine');
    h.expectNoReply();
    expect(caught).toEqual([]);
  });

  it('errorBoundary: errors after it, and its handler’s own error, are not its own: they reach bot.catch', async () => {
    const caught: string[] = [];
    const bot = createBot({ name: 'C' });
    bot.catch((e) => void caught.push((e as Error).message));
    bot.errorBoundary(
      (err) => {
        throw new Error(`handler failed on ${(err as Error).message}`);
      },
      (ctx, next) => {
        if (ctx.text === 'inside') throw new Error('inside');
        return next();
      },
    );
    bot.hears('outside', () => {
      throw new Error('outside');
    });
    const h = await harness(bot);
    const inside = await h.userSays('inside');
    const outside = await h.userSays('outside');
    expect(caught).toEqual(['handler failed on inside', 'outside']);
    expect(inside.body.messages?.[0]?.result.code).toBe(500);
    expect(outside.body.messages?.[0]?.result.code).toBe(500);
  });

  it('sets ctx.match for hears and postback with a RegExp, typed as certain', async () => {
    const bot = createBot({ name: 'C' });
    bot.hears(/^book (\w+)/i, (ctx) => {
      const match: RegExpExecArray = ctx.match;
      return ctx.reply(`hears ${match[1]}`);
    });
    bot.postback(/^page-(\d+)$/, (ctx) => {
      const match: RegExpExecArray = ctx.match;
      return ctx.reply(`page ${match[1]} of ${ctx.postback.data}`);
    });
    bot.postback('action=book', (ctx) => {
      // @ts-expect-error a query-string trigger sets no match
      const match: RegExpExecArray = ctx.match;
      return ctx.reply(`book ${String(match)}`);
    });
    const h = await harness(bot);
    await h.userSays('Book Rome');
    await h.userTaps('page-7');
    await h.userTaps('action=book');
    h.expectReply('hears Rome');
    h.expectReply('page 7 of page-7');
    h.expectReply('book undefined');
  });

  it('a RegExp with the g flag matches every turn from the start', async () => {
    const bot = createBot({ name: 'C' });
    bot.postback(/p(\d)/g, (ctx) => ctx.reply(`p${ctx.match[1]}`));
    const h = await harness(bot);
    await h.userTaps('p1');
    await h.userTaps('p2');
    h.expectReply('p1');
    h.expectReply('p2');
  });

  it('starts a plugin found inside a composer mounted on the bot (a conversation), also one added after mounting', async () => {
    const bot = createBot({ name: 'C' });
    const dialogs = new Composer();
    bot.use(new Composer(dialogs.middleware()));
    bot.postback('action=book', (ctx) => ctx.enter('booking'));
    bot.on('text', (ctx) => ctx.reply(`echo ${ctx.message.text}`));
    dialogs.use(
      conversation('booking', async (conv) => {
        const name = await conv.ask('Name?');
        await conv.reply(`Booked for ${name}.`);
      }),
    );
    const h = await harness(bot);
    await h.userTaps('action=book');
    h.expectReply('Name?');
    await h.userSays('Ada');
    h.expectReply('Booked for Ada.');
    await h.userSays('hello');
    h.expectReply('echo hello');
  });

  it('an `on` inside a sub-composer counts as listening: typingStart and delivered turns run for it', async () => {
    const bot = createBot({ name: 'C' });
    const events = new Composer();
    events.on('typingStart', (ctx) => ctx.reply('you are typing'));
    events.on('delivered', (ctx) => void delivered.push(ctx.delivery.mid));
    const delivered: string[] = [];
    bot.filter(() => true).use(events);
    bot.hears('hi', (ctx) => ctx.reply('hello'));
    const h = await harness(bot);
    await h.userTypes();
    h.expectReply('you are typing');
    await h.userSays('hi');
    h.expectReply('hello');
    expect(await bot.idle(2000)).toBe(true);
    expect(delivered).toHaveLength(2);
  });
});
