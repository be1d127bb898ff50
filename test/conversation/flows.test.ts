/**
 * What dialog code can do and what the engine guarantees about it: loops and validation with a
 * constant journal, sub-flows returning values, steps run once, journaled clock and randomness,
 * the typed errors for a diverging replay and an exceeded bound.
 */
import { chatKey, conversation, createBot, MemoryStore, type DialogRecord } from '../../src/index.js';
import { closeHarnesses, harness } from '../helpers/harnesses.js';

afterEach(closeHarnesses);

const recordOf = (store: MemoryStore, chatId: string) => store.get<DialogRecord>(chatKey('conv', chatId));
const bytesOf = (r: unknown) => Buffer.byteLength(JSON.stringify(r));

function withErrors<S>(bot: ReturnType<typeof createBot<S>>): unknown[] {
  const errors: unknown[] = [];
  bot.catch((e) => void errors.push(e));
  return errors;
}

describe('conversation flows', () => {
  it('conv.loop keeps the stored record the same size however many iterations run', async () => {
    const store = new MemoryStore();
    const bot = createBot({ name: 'L' });
    bot.use(
      conversation('sum', async (conv) => {
        const total = await conv.loop(0, async (sum, { done }) => {
          const t = await conv.ask('Number?');
          return t === 'done' ? done(sum) : sum + Number(t);
        });
        await conv.reply(`total ${total}`);
      }),
    );
    bot.hears('go', (ctx) => ctx.enter('sum'));
    const h = await harness(bot, { store });
    await h.userSays('go');
    const sizes: number[] = [];
    const lengths: number[] = [];
    for (let i = 1; i <= 50; i++) {
      await h.userSays('1');
      const r = (await recordOf(store, h.chatId))!;
      lengths.push(r.journal.length);
      if (i === 5 || i === 50) sizes.push(bytesOf(r.journal));
    }
    // The loop's open entry and the iteration's prompt; the wait it stands at is not an entry yet.
    expect(new Set(lengths)).toEqual(new Set([2]));
    // Only the carried sum and the iteration count gain a digit each (5 → 50, 4 → 49).
    expect(sizes[1]! - sizes[0]!).toBe(2);
    await h.userSays('done');
    h.skipReplies(51);
    h.expectReply('total 50');
    expect(await recordOf(store, h.chatId)).toBeUndefined();
  });

  it("ask's validate re-asks with the objection, in a loop whose journal stays constant", async () => {
    const store = new MemoryStore();
    const bot = createBot({ name: 'V' });
    bot.use(
      conversation('age', async (conv) => {
        const age = await conv.ask('Your age?', { validate: (t) => (/^\d+$/.test(t) ? undefined : `"${t}" is not a number, try again.`) });
        await conv.reply(`age ${age}`);
      }),
    );
    bot.hears('go', (ctx) => ctx.enter('age'));
    const h = await harness(bot, { store });
    await h.userSays('go');
    h.expectReply('Your age?');
    const lengths: number[] = [];
    for (const bad of ['ten', 'eleven', 'twelve']) {
      await h.userSays(bad);
      h.expectReply(`"${bad}" is not a number, try again.`);
      lengths.push((await recordOf(store, h.chatId))!.journal.length);
    }
    expect(new Set(lengths).size).toBe(1);
    await h.userSays('42');
    h.expectReply('age 42');
  });

  it('conv.call runs a sub-flow that returns a value; a finished one collapses to its result', async () => {
    const store = new MemoryStore();
    const bot = createBot({ name: 'S', session: { initial: () => ({ last: '' }) } });
    bot.use(
      conversation<{ last: string }>('order', async (conv) => {
        const address = await conv.call<{ street: string; city: string }>('address', { country: 'NO' });
        const when = await conv.ask('When?');
        conv.session.last = `${address.street}, ${address.city} at ${when}`;
        await conv.reply(`Delivering to ${address.street}, ${address.city} (${conv.arg as string}) at ${when}`);
      }),
    );
    bot.use(
      conversation<{ last: string }, { country: string }>('address', async (conv) => {
        const street = await conv.ask(`Street in ${conv.arg.country}?`);
        const city = await conv.ask('City?');
        return { street, city };
      }),
    );
    bot.hears('go', (ctx) => ctx.enter('order', 'express'));
    bot.hears('last', (ctx) => ctx.reply(`last: ${ctx.session.last}`));
    const h = await harness(bot, { store });
    await h.userSays('go');
    h.expectReply('Street in NO?');
    await h.userSays('Karl Johans gate 1');
    h.expectReply('City?');
    await h.userSays('Oslo');
    h.expectReply('When?');
    const r = (await recordOf(store, h.chatId))!;
    expect(r.name).toBe('order');
    expect(r.journal[0]).toEqual({ k: 'done', t: 'call:address', r: { street: 'Karl Johans gate 1', city: 'Oslo' } });
    await h.userSays('noon');
    h.expectReply('Delivering to Karl Johans gate 1, Oslo (express) at noon');
    await h.userSays('last');
    h.expectReply('last: Karl Johans gate 1, Oslo at noon');
  });

  it('steps, conv.now and conv.random run once across turns; replays return what they returned', async () => {
    const bot = createBot({ name: 'E' });
    const calls: string[] = [];
    bot.use(
      conversation('effects', async (conv) => {
        const order = await conv.step((key) => {
          calls.push(key);
          return { id: `order-${calls.length}` };
        });
        const at = await conv.now();
        const r = await conv.random();
        for (let i = 0; i < 3; i++) await conv.ask(`${order.id} ${at} ${r} #${i}`);
        await conv.reply('end');
      }),
    );
    bot.hears('go', (ctx) => ctx.enter('effects'));
    const h = await harness(bot);
    await h.userSays('go');
    const first = h.expectReply(/^order-1 \d+ [\d.]+ #0$/) as { text: string };
    const prefix = first.text.slice(0, -3);
    await h.userSays('a');
    h.expectReply(`${prefix} #1`);
    await h.userSays('b');
    h.expectReply(`${prefix} #2`);
    await h.userSays('c');
    h.expectReply('end');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/^[\w-]+\.1$/);
  });

  it('a replay that takes another path is a ConversationReplayError: the dialog ends, bot.catch hears it', async () => {
    const bot = createBot({ name: 'R' });
    const errors = withErrors(bot);
    let greet = true;
    bot.use(
      conversation('fragile', async (conv) => {
        // Reads a variable outside the dialog instead of a step: without the greeting, the replay's
        // ask sends at position 0 (a send, as recorded) and waits at 1, where the journal holds a send.
        if (greet) await conv.reply('hello');
        await conv.ask('name?');
        await conv.reply('thanks');
      }),
    );
    bot.hears('go', (ctx) => ctx.enter('fragile'));
    bot.on('text', (ctx) => ctx.reply(`plain ${ctx.text}`));
    const h = await harness(bot);
    await h.userSays('go');
    h.skipReplies(2);
    greet = false;
    await h.userSays('Ada');
    h.expectNoReply();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ name: 'ConversationReplayError', code: 'CONVERSATION_REPLAY', field: 'journal', position: 1, recorded: 'send', replayed: 'wait' });
    await h.userSays('again');
    h.expectReply('plain again');
  });

  it('a journal past maxEntries is a ConversationLimitError, and so is a record past maxBytes', async () => {
    const bot = createBot({ name: 'X' });
    const errors = withErrors(bot);
    bot.use(
      conversation(
        'unbounded',
        async (conv) => {
          // A plain for-loop of waits grows the journal (conv.loop would not).
          for (;;) await conv.ask('more?');
        },
        { maxEntries: 6 },
      ),
    );
    bot.use(
      conversation(
        'fat',
        async (conv) => {
          const blob = await conv.step(() => 'x'.repeat(2000));
          await conv.ask(`size ${blob.length}`);
        },
        { maxBytes: 1024 },
      ),
    );
    bot.hears('go', (ctx) => ctx.enter('unbounded'));
    bot.hears('fat', (ctx) => ctx.enter('fat'));
    bot.on('text', (ctx) => ctx.reply(`plain ${ctx.text}`));
    const h = await harness(bot);
    await h.userSays('go');
    await h.userSays('1');
    await h.userSays('2');
    expect(errors).toEqual([]);
    await h.userSays('3');
    expect(errors[0]).toMatchObject({ name: 'ConversationLimitError', code: 'CONVERSATION_TOO_LONG', field: 'journal', limit: 'maxEntries', max: 6 });
    h.skipReplies();
    await h.userSays('4');
    h.expectReply('plain 4');
    await h.userSays('fat');
    expect(errors[1]).toMatchObject({ code: 'CONVERSATION_TOO_LONG', limit: 'maxBytes', max: 1024 });
  });

  it('wait with a filter and otherwise: what it does not accept goes to otherwise, not to later handlers', async () => {
    const bot = createBot({ name: 'W' });
    bot.use(
      conversation('photo', async (conv) => {
        await conv.reply('Send a photo.');
        const e = await conv.wait({ for: (ev) => ev.type === 'image', otherwise: (ctx) => ctx.reply('A photo, please.') });
        await conv.reply(`got ${(e.message as { image: { url: string } }).image.url}`);
        const code = await conv.wait({ for: (ev) => /^\d{4}$/.test(ev.text ?? '') });
        await conv.reply(`code ${code.text}`);
      }),
    );
    bot.hears('go', (ctx) => ctx.enter('photo'));
    bot.on('message', (ctx) => ctx.reply(`plain ${ctx.text ?? ''}`));
    const h = await harness(bot);
    await h.userSays('go');
    h.expectReply('Send a photo.');
    await h.userSays('hi');
    h.expectReply('A photo, please.');
    await h.userSendsImage({ url: 'https://example.com/p.png' });
    h.expectReply('got https://example.com/p.png');
    await h.userSays('12');
    h.expectReply('plain 12');
    await h.userSays('1234');
    h.expectReply('code 1234');
  });

  it('conv.exit ends from inside; a dialog that never waits stores nothing; unknown names are typed errors', async () => {
    const store = new MemoryStore();
    const bot = createBot({ name: 'Q' });
    const errors = withErrors(bot);
    bot.use(
      conversation('quick', async (conv) => {
        const t = await conv.ask('stop?');
        if (t === 'yes') await conv.exit();
        await conv.reply('not stopped');
      }),
    );
    bot.use(conversation('instant', async (conv) => void (await conv.reply('instant'))));
    bot.use(conversation('caller', async (conv) => void (await conv.call('nowhere'))));
    bot.hears(/^enter (\w+)$/, (ctx) => ctx.enter(ctx.match[1]!));
    bot.on('text', (ctx) => ctx.reply(`plain ${ctx.text}`));
    const h = await harness(bot, { store });
    await h.userSays('enter quick');
    h.skipReplies();
    await h.userSays('yes');
    h.expectNoReply();
    expect(await recordOf(store, h.chatId)).toBeUndefined();
    await h.userSays('enter instant');
    h.expectReply('instant');
    expect(await recordOf(store, h.chatId)).toBeUndefined();
    await h.userSays('enter nope');
    expect(errors[0]).toMatchObject({ code: 'NO_CONVERSATIONS', field: 'name' });
    await h.userSays('enter caller');
    expect(errors[1]).toMatchObject({ code: 'NO_CONVERSATIONS', field: 'name' });
    expect(await recordOf(store, h.chatId)).toBeUndefined();
  });
});
