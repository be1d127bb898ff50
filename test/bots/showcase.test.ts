import showcase, { settings } from '../../bots/showcase/index.js';
import { FakeClock, createTestHarness, type TestHarness } from '../../src/index.js';
import { until } from '../helpers/until.js';

describe('the showcase bot', () => {
  let h: TestHarness<typeof showcase>;
  beforeAll(async () => {
    settings.slowWorkMs = 60;
    h = await createTestHarness(showcase, { deliveryNotifications: true });
  });
  afterAll(() => h.close());
  beforeEach(() => h.newChat());

  it('greets by name with a buttons menu', async () => {
    await h.userSays('hi');
    h.expectReply('Hi Alice!');
    const menu = h.expectReply({ type: 'buttons' });
    expect(menu).toMatchObject({
      buttons: {
        title: 'BBM bot showcase',
        actions: [
          { type: 'postback', postback: { data: 'action=book' } },
          { type: 'postback', postback: { data: 'action=slow' } },
          { type: 'text', text: { text: 'joke' } },
          { type: 'link' },
        ],
      },
    });
    // The read receipt for "hi" went out with the first reply.
    expect(h.sends[0]!.body.actions).toEqual([{ type: 'read', mids: [expect.any(String)] }]);
  });

  it('books a table through a flow kept in the session, and answers when the confirmation is read', async () => {
    await h.userTaps('action=book');
    h.expectReply(/What name/);
    await h.userSays('Alice');
    h.expectReply('Thanks Alice. Which city?');
    await h.userSays('Rome');
    const confirmation = h.expectReply(/^Booked: a table for Alice in Rome\. That is booking #1\.$/);
    expect(confirmation.type).toBe('text');
    // The confirming took under 5 s: withTyping sent no typing action (the spec's 5 s delay).
    expect(h.sends.filter((s) => s.chatId === h.chatId).some((s) => s.body.actions?.some((a) => a.type === 'typing'))).toBe(false);

    const mid = h.sends.at(-1)!.mids[0]!;
    await h.post({ mTok: undefined, actions: [{ type: 'read', mids: [mid] }] });
    h.expectReply('I see you read your confirmation. Enjoy your meal!');
    h.expectNoReply();
  });

  it('types during slow work, 5 s into it, then reports', async () => {
    const clock = new FakeClock();
    const [realClock, realMs] = [settings.clock, settings.slowWorkMs];
    Object.assign(settings, { clock, slowWorkMs: 8_000 });
    const typings = () => h.sends.filter((s) => s.chatId === h.chatId && s.body.actions?.some((a) => a.type === 'typing')).length;
    try {
      const answer = h.userTaps('action=slow');
      // The work and withTyping's timer both wait on the fake clock: then move it.
      await until(() => clock.pendingTimers >= 2, 'the slow work to start');
      clock.advance(4_999);
      expect(typings()).toBe(0);
      clock.advance(1); // 5 s into the work: typing
      await until(() => typings() === 1, 'the typing action');
      clock.advance(3_000);
      await answer;
    } finally {
      Object.assign(settings, { clock: realClock, slowWorkMs: realMs });
    }
    h.expectReply(/^Done: that took 8\.0 s\./);
    const kinds = h.sends.filter((s) => s.chatId === h.chatId).map((s) => [...(s.body.actions ?? []).map((a) => a.type), ...(s.body.messages ?? []).map((m) => m.type)].join('+'));
    expect(kinds.indexOf('typing')).toBeGreaterThanOrEqual(0);
    expect(kinds.indexOf('typing')).toBeLessThan(kinds.indexOf('text'));
  });

  it('tells a joke from the text button', async () => {
    await h.post({ actions: [{ type: 'text', text: { label: 'Tell me a joke', text: 'joke' } }] });
    h.expectReply(/^Why did the bot cross the chat/);
  });

  it('clears the session on leave and sends nothing', async () => {
    await h.userTaps('action=book');
    h.expectReply(/What name/);
    const sendsBefore = h.sends.length;
    await h.userLeaves();
    expect(h.sends.length).toBe(sendsBefore);
    // Back again with a new token: the flow starts over (the session was cleared).
    await h.post({ mTok: 'new-token', messages: [{ index: 1, type: 'text', mid: 'back-1', ts: 1, text: 'Bob' }] });
    h.expectReply('You said "Bob". Say "menu" to see what I can do.');
  });
});
