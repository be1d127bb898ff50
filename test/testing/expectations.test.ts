/**
 * The harness's reply expectations: kept per chat (no leaks between tests or chats), skipped or
 * cleared on purpose, and failing at the test's own line with one diff of expected against actual.
 */
import { createBot, createTestHarness, ReplyMismatchError, type TestHarness } from '../../src/index.js';

const bot = createBot({ name: 'Greeter' });
bot.hears('hi', (ctx) => ctx.reply('Hello', 'How can I help?'));
bot.hears('bye', (ctx) => ctx.reply('Goodbye'));
bot.hears('menu', (ctx) => ctx.reply({ type: 'buttons', buttons: { title: 'Pizza menu', desc: 'Pick one', actions: [{ type: 'postback', postback: { label: 'Large', data: 'size=l' } }] } }));

/** The error `work` throws (the test fails if it throws none). */
function caught(work: () => unknown): Error {
  try {
    work();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure, but none was thrown');
}

describe('reply expectations', () => {
  let h: TestHarness<typeof bot>;
  beforeAll(async () => {
    h = await createTestHarness(bot);
  });
  afterAll(() => h.close());

  describe('a harness shared by several tests', () => {
    it('leaves a reply unchecked (the next test must not see it)', async () => {
      await h.userSays('hi');
      h.expectReply('Hello');
    });

    it('starts each newChat() from an empty queue', async () => {
      h.newChat();
      h.expectNoReply();
      await h.userSays('bye');
      h.expectReply('Goodbye');
      h.expectNoReply();
    });
  });

  it('keeps a late reply to an earlier chat with that chat, out of the new chat\'s queue', async () => {
    const first = h.newChat();
    await h.userSays('bye');
    const second = h.newChat();
    expect(second).not.toBe(first);
    await h.bot.send(first, 'late, for the first chat');
    await h.userSays('bye');
    h.expectReply('Goodbye');
    h.expectNoReply();
    expect(h.replies.slice(-3).map((m) => (m.type === 'text' ? m.text : m.type))).toEqual(['Goodbye', 'late, for the first chat', 'Goodbye']);
  });

  it('skips replies on purpose: a count, or all of them', async () => {
    h.newChat();
    await h.userSays('hi');
    expect(h.skipReplies(1)).toEqual([expect.objectContaining({ text: 'Hello' })]);
    h.expectReply('How can I help?');
    await h.userSays('hi');
    expect(h.skipReplies()).toHaveLength(2);
    h.expectNoReply();
    expect(caught(() => h.skipReplies(1))).toBeInstanceOf(ReplyMismatchError);
    expect(() => h.skipReplies(-1)).toThrow(RangeError);
  });

  it('clear() forgets every send and reply so far, in every chat', async () => {
    h.newChat();
    await h.userSays('hi');
    const other = h.chatId;
    h.newChat();
    await h.userSays('hi');
    h.clear();
    expect(h.replies).toEqual([]);
    expect(h.sends).toEqual([]);
    h.expectNoReply();
    await h.bot.send(other, 'after the clear');
    await h.userSays('bye');
    h.expectReply('Goodbye');
    expect(h.replies.map((m) => (m.type === 'text' ? m.text : m.type))).toEqual(['after the clear', 'Goodbye']);
  });

  describe('a failure', () => {
    it('points at the test\'s own line, not into the test kit', async () => {
      h.newChat();
      await h.userSays('bye');
      const here = new Error().stack!.split('\n')[1]!;
      const error = caught(() => h.expectReply('Good night'));
      const frames = error.stack!.split('\n').filter((l) => l.trimStart().startsWith('at '));
      // The first frame is the arrow function on the line after `here`, in this file.
      const line = (frame: string) => Number(/:(\d+):\d+\)?$/.exec(frame)![1]);
      expect(frames[0]).toContain('test/testing/expectations.test.ts');
      expect(line(frames[0]!)).toBe(line(here) + 1);
      expect(error.stack).not.toContain('src/testing/');
    });

    it('shows expected against actual once, as a diff', async () => {
      h.newChat();
      await h.userSays('hi');
      const error = caught(() => h.expectReply('Hello!')) as ReplyMismatchError;
      expect(error.code).toBe('REPLY_MISMATCH');
      expect(error.actual).toEqual(expect.objectContaining({ text: 'Hello' }));
      expect(error.message).toContain(`- Expected\n+ Received`);
      expect(error.message).toContain(`-   "text": "Hello!",\n+   "text": "Hello",`);
      // The actual reply is printed once: in the diff, not again in a list of unchecked replies.
      expect(error.message.split('"Hello"')).toHaveLength(2);
      expect(error.message).toContain('1 more unchecked after it: "How can I help?"');
    });

    it('of a deep pattern shows only the fields the pattern names, and only what differs as +/-', async () => {
      h.newChat();
      await h.userSays('menu');
      const error = caught(() => h.expectReply({ type: 'buttons', buttons: { title: 'Pizza Menu', actions: [{ postback: { data: /^size=/ } }] } }));
      expect(error.message).toContain(
        [
          '  {',
          '    "type": "buttons",',
          '    "buttons": {',
          '-     "title": "Pizza Menu",',
          '+     "title": "Pizza menu",',
          '      "actions": [',
          '        {',
          '          "postback": {',
          '            "data": /^size=/,',
        ].join('\n'),
      );
      // Fields the pattern does not name (desc, label) are not shown.
      expect(error.message).not.toContain('desc');
      expect(error.message).not.toContain('Large');
    });

    it('says so when the bot sent nothing more', async () => {
      h.newChat();
      const error = caught(() => h.expectReply(/anything/));
      expect(error.message).toMatch(/expected the bot to reply a text matching \/anything\/ in chat \d+, but it sent nothing more there/);
    });
  });
});
