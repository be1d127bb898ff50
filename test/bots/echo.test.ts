import echo from '../../bots/echo/index.js';
import { createTestHarness, type TestHarness } from '../../src/index.js';

describe('the echo bot', () => {
  let h: TestHarness<undefined>;
  beforeAll(async () => {
    h = await createTestHarness(echo);
  });
  afterAll(() => h.close());

  it('answers a text with exactly that text', async () => {
    const answer = await h.userSays('hello there');
    expect(answer.status).toBe(200);
    expect(answer.body.messages).toHaveLength(1);
    expect(answer.body.messages![0]!.result.code).toBe(200);
    h.expectReply('hello there');
    h.expectNoReply();
  });

  it('keeps text exactly, whitespace and unicode included', async () => {
    await h.userSays('  é 😀\nsecond line  ');
    h.expectReply('  é 😀\nsecond line  ');
    h.expectNoReply();
  });

  it('sends an image back with its url and preview', async () => {
    await h.userSendsImage({ url: 'https://example.com/full.png', preview: 'https://example.com/small.png' });
    h.expectReply({ type: 'image', image: { url: 'https://example.com/full.png', preview: 'https://example.com/small.png' } });
    h.expectNoReply();
  });

  it('names the data of a postback', async () => {
    await h.userTaps('action=book&offer=123');
    h.expectReply('postback: action=book&offer=123');
    h.expectNoReply();
  });

  it('says nothing to typing', async () => {
    const answer = await h.userTypes();
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({});
    h.expectNoReply();
  });

  it('reports what was actually sent when an expectation fails', async () => {
    await h.userSays('ping');
    expect(() => h.expectReply('pong')).toThrow(/expected the bot's next reply in chat \d+ to be the text "pong"[\s\S]*- {3}"text": "pong",\n\+ {3}"text": "ping",/);
    h.expectReply('ping');
  });
});
