/**
 * Dialog timeouts on durable timers, driven by a FakeClock through the test kit (h.advance): they
 * fire with the user silent, never after an answer, a leave or an escape, and once across two
 * instances sharing a store, also when the instance that set them is gone.
 */
import { chatKey, conversation, createBot, FakeClock, MemoryStore, type Bot } from '../../src/index.js';
import { TIMERS_KEY } from '../../src/conversation/timers.js';
import { closeHarnesses, harness } from '../helpers/harnesses.js';

afterEach(closeHarnesses);

const texts = (ms: readonly { type: string; text?: unknown }[]) => ms.map((m) => (m.type === 'text' ? String(m.text) : m.type));

function reminderBot(name = 'R'): { bot: Bot<undefined>; errors: unknown[] } {
  const bot = createBot({ name });
  const errors: unknown[] = [];
  bot.catch((e) => void errors.push(e));
  bot.hears('cancel', async (ctx) => {
    await ctx.conversation.exit();
    await ctx.reply('Cancelled.');
  });
  bot.use(
    conversation('booking', async (conv) => {
      let who = await conv.ask('Name?', { timeoutMs: 60_000 });
      if (who === undefined) {
        await conv.reply('Still there? Name?');
        who = await conv.waitForText({ timeoutMs: 60_000 });
      }
      if (who === undefined) {
        await conv.reply('Booking ended: no answer.');
        return;
      }
      await conv.reply(`Thanks ${who}`);
    }),
  );
  bot.hears('book', (ctx) => ctx.enter('booking'));
  bot.on('text', (ctx) => ctx.reply(`plain ${ctx.text}`));
  return { bot, errors };
}

describe('dialog timers', () => {
  it('a timeout fires with the user never writing again, on time, and the dialog goes on', async () => {
    const clock = new FakeClock();
    const store = new MemoryStore();
    const { bot, errors } = reminderBot();
    const h = await harness(bot, { clock, store });
    await h.userSays('book');
    h.expectReply('Name?');
    await h.advance(59_999);
    h.expectNoReply();
    await h.advance(1);
    h.expectReply('Still there? Name?');
    await h.advance(60_000);
    h.expectReply('Booking ended: no answer.');
    expect(await store.get(chatKey('conv', h.chatId))).toBeUndefined();
    await h.advance(600_000);
    h.expectNoReply();
    expect(errors).toEqual([]);
  });

  it('an answer before the timeout cancels it: nothing fires later', async () => {
    const clock = new FakeClock();
    const { bot } = reminderBot();
    const h = await harness(bot, { clock });
    await h.userSays('book');
    h.skipReplies();
    await h.advance(30_000);
    await h.userSays('Ada');
    h.expectReply('Thanks Ada');
    await h.advance(120_000);
    h.expectNoReply();
  });

  it('no timer fires after a leave or an escape', async () => {
    const clock = new FakeClock();
    const { bot } = reminderBot();
    const h = await harness(bot, { clock });
    await h.userSays('book');
    h.skipReplies();
    await h.userLeaves();
    await h.advance(120_000);
    h.expectNoReply();
    h.newChat();
    await h.userSays('book');
    h.skipReplies();
    await h.userSays('cancel');
    h.expectReply('Cancelled.');
    await h.advance(120_000);
    h.expectNoReply();
  });

  it('conv.sleep waits on a durable timer; events meanwhile fall through', async () => {
    const clock = new FakeClock();
    const bot = createBot({ name: 'S' });
    bot.use(
      conversation('later', async (conv) => {
        await conv.reply('See you in 10 s.');
        await conv.sleep(10_000);
        const at = await conv.now();
        await conv.reply(`Back at +${at - 1_700_000_000_000}`);
      }),
    );
    bot.hears('go', (ctx) => ctx.enter('later'));
    bot.on('text', (ctx) => ctx.reply(`plain ${ctx.text}`));
    const h = await harness(bot, { clock });
    await h.userSays('go');
    h.expectReply('See you in 10 s.');
    await h.userSays('hi');
    h.expectReply('plain hi');
    await h.advance(10_000);
    h.expectReply('Back at +10000');
  });

  it('fires once with two instances polling one store, and from the other instance when the first is gone', async () => {
    const clock = new FakeClock();
    const store = new MemoryStore();
    const a = reminderBot('A');
    const b = reminderBot('B');
    const ha = await harness(a.bot, { clock, store, shared: true });
    const hb = await harness(b.bot, { clock, store, shared: true });
    const chatId = ha.chatId;
    hb.api.chatIssued(chatId, ha.mTok);
    const inChat = () => 
      [...ha.sends, ...hb.sends].filter((s) => s.chatId === chatId && s.status < 300).flatMap((s) => texts(s.body.messages ?? []));
    await ha.userSays('book');
    // Both instances poll the schedule, A also has its exact timer: one reminder.
    await hb.advance(60_000);
    expect(inChat()).toEqual(['Name?', 'Still there? Name?']);
    // A dies (closed: no polling, no exact timer). B's poll fires A's second timeout.
    await ha.close();
    await hb.advance(60_000);
    await hb.advance(500);
    expect(inChat()).toEqual(['Name?', 'Still there? Name?', 'Booking ended: no answer.']);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('many chats on two polling instances: each timeout fires exactly once', async () => {
    const clock = new FakeClock();
    const store = new MemoryStore();
    const a = reminderBot('A');
    const b = reminderBot('B');
    const ha = await harness(a.bot, { clock, store, shared: true });
    const hb = await harness(b.bot, { clock, store, shared: true });
    const chats: string[] = [];
    for (let i = 0; i < 10; i++) {
      // Half the dialogs start on each instance; both poll and fire.
      const h = i % 2 ? ha : hb;
      chats.push(h.newChat());
      await h.userSays('book');
    }
    await ha.advance(60_000);
    await ha.advance(500);
    console.log([...ha.sends, ...hb.sends].map((s) => [s.chatId, s.status, texts(s.body.messages ?? []).join()].join(' ')).join('\n'));
    const reminders = [...ha.sends, ...hb.sends].filter((s) => s.status < 300 && texts(s.body.messages ?? []).includes('Still there? Name?'));
    expect(reminders.map((s) => s.chatId).sort()).toEqual([...chats].sort());
  });

  it('a timer claimed by an instance that died before firing it falls due again after the lease', async () => {
    const clock = new FakeClock();
    const store = new MemoryStore();
    const { bot } = reminderBot();
    const h = await harness(bot, { clock, store, shared: true });
    await h.userSays('book');
    h.skipReplies();
    // Another instance claims the due timer (30 s lease) and dies without firing or removing it.
    clock.advance(59_000);
    const claimed = await store.scheduleClaim(TIMERS_KEY, clock.now() + 1000, 30_000, 20);
    expect(claimed).toHaveLength(1);
    await h.advance(1000);
    h.expectNoReply();
    await h.advance(30_000);
    await h.advance(500);
    h.expectReply('Still there? Name?');
  });
});
