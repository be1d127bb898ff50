/**
 * What handlers see is typed as certain as it is: the `@ts-expect-error` lines fail
 * `npm run typecheck` when the mistake they mark compiles, and the runtime checks show the values
 * are there.
 */
import { createBot, extra, type HearsContext } from '../../src/index.js';
import { closeHarnesses, harness } from '../helpers/harnesses.js';

afterEach(closeHarnesses);

describe('typed handler contexts', () => {
  it('bot.hears(RegExp) gives its handlers a certain match; other triggers do not', async () => {
    const bot = createBot({ name: 'T' });
    bot.hears(/^book (\w+)/i, (ctx) => {
      const match: RegExpExecArray = ctx.match;
      return ctx.reply(`booking ${match[1]}`);
    });
    bot.hears('menu', (ctx) => {
      // @ts-expect-error a string trigger sets no match
      const match: RegExpExecArray = ctx.match;
      return ctx.reply(`menu ${String(match)}`);
    });
    bot.hears(
      (text) => text.startsWith('?'),
      (ctx) => {
        // @ts-expect-error nor does a predicate
        const match: RegExpExecArray = ctx.match;
        return ctx.reply(`question ${String(match)}`);
      },
    );
    // A handler declared on its own names its context with HearsContext.
    const onCancel = (ctx: HearsContext<undefined>) => ctx.reply(`cancel ${ctx.match[1]}`);
    bot.hears(/^cancel (\d+)/, onCancel);
    const h = await harness(bot);
    await h.userSays('Book Rome');
    await h.userSays('menu');
    await h.userSays('?');
    await h.userSays('cancel 42');
    h.expectReply('booking Rome');
    h.expectReply('menu undefined');
    h.expectReply('question undefined');
    h.expectReply('cancel 42');
  });

  it('a misspelt message property does not compile; what BBM sent beyond the spec is in extra()', async () => {
    const bot = createBot({ name: 'T' });
    bot.on('text', (ctx) => {
      // @ts-expect-error `txet` is not a property of a text message
      const typo: unknown = ctx.message.txet;
      return ctx.reply(`you said ${ctx.message.text} (${String(typo)}, lang ${String(extra(ctx.message).lang)})`);
    });
    bot.on('unknown', (ctx) => {
      // @ts-expect-error an unknown message type's own properties are not typed names either
      const direct: unknown = ctx.message.audio;
      const audio = extra(ctx.message).audio as { url: string };
      return ctx.reply(`${ctx.message.type} at ${audio.url} (${String(direct !== undefined)})`);
    });
    const h = await harness(bot);
    await h.post({ messages: [{ type: 'text', mid: 'm1', text: 'hi', lang: 'fr' }] });
    await h.post({ messages: [{ type: 'audio', mid: 'm2', audio: { url: 'https://x/a.ogg' } }] });
    h.expectReply('you said hi (undefined, lang fr)');
    h.expectReply('audio at https://x/a.ogg (true)');
  });
});
