/**
 * Conversations through the real bot and test kit: waits, choices, escape, fall-through, enter and
 * leave, a dialog that throws, and redelivery.
 */
import { conversation, createBot, type Bot } from '../../src/index.js';
import { closeHarnesses, harness } from '../helpers/harnesses.js';

afterEach(closeHarnesses);

function bookingBot(): { bot: Bot<{ booked: number }>; errors: unknown[] } {
  const bot = createBot({ name: 'B', session: { initial: () => ({ booked: 0 }) } });
  const errors: unknown[] = [];
  bot.catch((e) => void errors.push(e));
  bot.hears(/^cancel$/i, async (ctx) => {
    const was = await ctx.conversation.active();
    await ctx.conversation.exit();
    await ctx.reply(was ? `Cancelled ${was}.` : 'Nothing to cancel.');
  });
  bot.use(
    conversation<{ booked: number }>('booking', async (conv) => {
      const name = await conv.ask('What name should I put it under?');
      const city = await conv.choose('Which city?', ['Paris', 'Oslo', 'Lima']);
      conv.session.booked++;
      await conv.reply(`Booked: a table for ${name} in ${city}.`);
    }),
  );
  bot.postback('action=book', (ctx) => ctx.enter('booking'));
  bot.hears('count', (ctx) => ctx.reply(`booked ${ctx.session.booked}`));
  bot.on('message', (ctx) => ctx.reply(`echo ${ctx.text ?? ''}`));
  return { bot, errors };
}

const choiceData = (msg: unknown, i: number): string =>
  (msg as { buttons: { actions: { postback: { data: string } }[] } }).buttons.actions[i]!.postback.data;

describe('conversations', () => {
  it('asks, takes a button tap, replies once, and the session sees it', async () => {
    const { bot, errors } = bookingBot();
    const h = await harness(bot);
    await h.userTaps('action=book');
    h.expectReply('What name should I put it under?');
    await h.userSays('Ada Lovelace');
    const buttons = h.expectReply({ type: 'buttons', buttons: { desc: 'Which city?' } });
    await h.userTaps(choiceData(buttons, 1));
    h.expectReply('Booked: a table for Ada Lovelace in Oslo.');
    h.expectNoReply();
    await h.userSays('count');
    h.expectReply('booked 1');
    expect(errors).toEqual([]);
  });

  it('takes a typed option (trimmed, any case) instead of a tap', async () => {
    const { bot } = bookingBot();
    const h = await harness(bot);
    await h.userTaps('action=book');
    await h.userSays('Bo');
    h.skipReplies();
    await h.userSays('  lima ');
    h.expectReply('Booked: a table for Bo in Lima.');
  });

  it('lets events the wait does not take fall through to later handlers, and stale buttons too', async () => {
    const { bot } = bookingBot();
    const h = await harness(bot);
    await h.userTaps('action=book');
    await h.userSays('Cy');
    h.skipReplies();
    await h.userSays('Berlin');
    h.expectReply('echo Berlin');
    await h.userSendsImage({ url: 'https://example.com/a.png' });
    h.expectReply('echo ');
    // Buttons of an earlier run (enter again) no longer answer.
    const first = h.replies.find((m) => m.type === 'buttons');
    await h.userTaps('action=book');
    h.expectReply('What name should I put it under?');
    await h.userSays('Di');
    h.skipReplies(1);
    await h.userTaps(choiceData(first, 0));
    h.expectNoReply();
    await h.userSays('Paris');
    h.expectReply('Booked: a table for Di in Paris.');
  });

  it('a cancel before the conversation ends it; the next text reaches the normal handlers', async () => {
    const { bot } = bookingBot();
    const h = await harness(bot);
    await h.userTaps('action=book');
    h.skipReplies();
    await h.userSays('cancel');
    h.expectReply('Cancelled booking.');
    await h.userSays('Ada');
    h.expectReply('echo Ada');
    await h.userSays('cancel');
    h.expectReply('Nothing to cancel.');
  });

  it('enter while one runs replaces it', async () => {
    const { bot } = bookingBot();
    const h = await harness(bot);
    await h.userTaps('action=book');
    await h.userSays('First');
    h.skipReplies();
    await h.userTaps('action=book');
    h.expectReply('What name should I put it under?');
    await h.userSays('Second');
    h.skipReplies(1);
    await h.userSays('oslo');
    h.expectReply('Booked: a table for Second in Oslo.');
  });

  it('a leave ends the dialog: nothing is sent after, and the chat starts clean when reopened', async () => {
    const { bot, errors } = bookingBot();
    const h = await harness(bot);
    await h.userTaps('action=book');
    h.skipReplies();
    await h.userLeaves();
    h.userReopens();
    await h.userSays('Ada');
    h.expectReply('echo Ada');
    expect(errors).toEqual([]);
  });

  it('a dialog that throws ends, and bot.catch hears it', async () => {
    const bot = createBot({ name: 'T' });
    const errors: unknown[] = [];
    bot.catch((e) => void errors.push(e));
    bot.use(
      conversation('boom', async (conv) => {
        const t = await conv.ask('Say something');
        throw new Error(`no ${t}`);
      }),
    );
    bot.hears('go', (ctx) => ctx.enter('boom'));
    bot.on('text', (ctx) => ctx.reply(`plain ${ctx.text}`));
    const h = await harness(bot);
    await h.userSays('go');
    h.expectReply('Say something');
    const answer = await h.userSays('x');
    expect(answer.status).toBe(207); // the message failed, as a handler error would
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('no x');
    await h.userSays('y');
    h.expectReply('plain y');
  });

  it('a redelivered message (its first turn failed after the dialog moved on) does not advance it twice', async () => {
    const bot = createBot({ name: 'T' });
    let failOnce = true;
    // Fails the turn on the way out, after the conversation committed: BBM sends the same mid again.
    bot.use(async (_ctx, next) => {
      await next();
      if (failOnce) {
        failOnce = false;
        throw new Error('flaky after');
      }
    });
    bot.use(
      conversation('two', async (conv) => {
        await conv.reply('first?');
        const a = await conv.waitForText();
        const b = await conv.ask(`got ${a}; second?`);
        await conv.reply(`done ${a} ${b}`);
      }),
    );
    bot.hears('go', (ctx) => ctx.enter('two'));
    const h = await harness(bot);
    failOnce = false;
    await h.userSays('go');
    h.expectReply('first?');
    failOnce = true;
    const msg = { type: 'text', mid: 'mid-redelivered', ts: 1, index: 1, text: 'A' };
    const first = await h.post({ messages: [msg] });
    expect(first.status).not.toBe(200);
    h.expectReply('got A; second?');
    await h.post({ messages: [msg] });
    h.expectNoReply();
    await h.userSays('B');
    h.expectReply('done A B');
  });

  it('a redelivered postback action does not advance the dialog twice', async () => {
    const bot = createBot({ name: 'T' });
    bot.use(
      conversation('pick', async (conv) => {
        const a = await conv.choose('One?', ['x', 'y']);
        const b = await conv.wait({ for: 'postback' });
        await conv.reply(`${a} then ${b.postback!.data}`);
      }),
    );
    bot.hears('go', (ctx) => ctx.enter('pick'));
    bot.postback(() => true, (ctx) => ctx.reply(`unhandled ${ctx.postback!.data}`));
    const h = await harness(bot);
    await h.userSays('go');
    const buttons = h.expectReply({ type: 'buttons' });
    const tap = { type: 'postback', ts: 1234, postback: { label: 'x', data: choiceData(buttons, 0) } };
    await h.post({ actions: [tap] });
    h.expectNoReply();
    await h.post({ actions: [tap] });
    h.expectNoReply();
    await h.userTaps('free=1');
    h.expectReply('x then free=1');
  });
});
