/**
 * The test kit's fake Chat API follows the platform's chat rules, the same module the emulator
 * uses: after a leave a send gets 404 `chat_closed`; once reopened, the old token gets 403. Each
 * step is checked against the emulator answering the same request, status, code and message.
 */
import { createBot, createTestHarness, ChatRefusedError, type TestHarness } from '../../src/index.js';
import { http, send, sendBody, setup, text, type HttpAnswer, type Setup } from '../emulator/helpers.js';

const bot = createBot({ name: 'Pizza' });
bot.hears('hi', (ctx) => ctx.reply('Hello'));

/** What a refusal looks like to the bot, with chat ids taken out (the two platforms have their own). */
const refusal = (answer: HttpAnswer, chatId: string) => ({
  status: answer.status,
  error: answer.json.error,
  message: String(answer.json.message).replaceAll(chatId, '<chat>'),
});

describe('the fake Chat API, by the platform\'s chat rules', () => {
  let h: TestHarness<typeof bot>;
  let emu: Setup;
  beforeAll(async () => {
    h = await createTestHarness(bot);
    emu = await setup();
  });
  afterAll(async () => {
    await h.close();
    await emu.close();
  });
  beforeEach(() => h.newChat());

  /** A send straight to the fake, as the bot's client would make it. */
  async function sendToFake(mTok: string): Promise<HttpAnswer> {
    const tokenAnswer = await http('POST', h.api.tokenUrl, {
      headers: { authorization: `Basic ${h.api.clientCredentials}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const body = { mType: 'bot', chatId: h.chatId, from: '31045128202', to: '100006006205', messages: [text('are you there?')], userInfos: { '31045128202': { name: 'Pizza' } } };
    return http('POST', `${h.api.apiUrl}/v1/chats/${h.chatId}?mTok=${encodeURIComponent(mTok)}`, {
      headers: { authorization: `Bearer ${String(tokenAnswer.json.access_token)}`, 'content-type': 'application/json' },
      body,
    });
  }

  it('answers a send after the leave 404 chat_closed, as the emulator does', async () => {
    await h.userSays('hi');
    h.expectReply('Hello');
    await h.userLeaves();
    const fake = await sendToFake(h.mTok);

    const emuBody = sendBody(emu, { messages: [text('are you there?')] });
    await emu.emu.userLeaves(emu.chatId);
    const real = await send(emu, emuBody);

    expect(refusal(fake, h.chatId)).toEqual({ status: 404, error: 'chat_closed', message: 'the user left chat <chat>: nothing more can be sent to it' });
    expect(refusal(fake, h.chatId)).toEqual(refusal(real, emu.chatId));
    expect(h.sends.at(-1)).toMatchObject({ chatId: h.chatId, status: 404 });
    // A refused send is no reply.
    h.expectNoReply();

    // Reopened: a new token, the old one refused with the emulator's 403.
    const oldTok = h.mTok;
    const oldEmuTok = emu.emu.mTokOf(emu.chatId);
    h.userReopens();
    emu.emu.userReopens(emu.chatId);
    expect(h.mTok).not.toBe(oldTok);
    const fakeStale = await sendToFake(oldTok);
    const realStale = await send(emu, emuBody, { mTok: oldEmuTok });
    expect(refusal(fakeStale, h.chatId)).toMatchObject({ status: 403, error: 'forbidden' });
    expect(refusal(fakeStale, h.chatId)).toEqual(refusal(realStale, emu.chatId));
    expect((await sendToFake(h.mTok)).status).toBe(200);
    h.skipReplies();
  });

  it('refuses a bot\'s send to a chat the user left before the bot heard of it', async () => {
    await h.userSays('hi');
    h.expectReply('Hello');
    // The user leaves; the leave callback has not reached this instance yet.
    h.api.userLeft(h.chatId);
    await expect(h.bot.send(h.chatId, 'Your pizza is ready')).rejects.toThrow();
    expect(h.sends.at(-1)).toMatchObject({ chatId: h.chatId, status: 404 });
    h.expectNoReply();
  });

  it('refuses the user\'s actions in a chat they left until they reopen it, as the emulator does', async () => {
    await h.userLeaves();
    const error = await h.userSays('hello?').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatRefusedError);
    expect(error).toMatchObject({ code: 'CHAT_CLOSED', status: 409, message: `Alice left chat ${h.chatId}: reopen it first` });
    expect(() => h.userReopens()).not.toThrow();
    expect(() => h.userReopens()).toThrow(ChatRefusedError);
    await h.userSays('hi');
    // The bot got the new token with the message and answers with it.
    h.expectReply('Hello');
    expect(h.sends.at(-1)).toMatchObject({ mTok: h.mTok, status: 200 });
  });

  it('takes a token a raw callback carries as the platform issuing it (a reopen after a leave)', async () => {
    await h.userLeaves();
    await h.post({ mTok: 'new-token', messages: [{ index: 1, type: 'text', mid: 'back-1', ts: 1, text: 'hi' }] });
    h.expectReply('Hello');
    expect(h.api.chat(h.chatId)).toMatchObject({ open: true, mTok: 'new-token' });
  });

  it('keeps a left chat closed when a raw callback carries its old token: only a new token reopens it', async () => {
    const oldToken = h.mTok;
    await h.userLeaves();
    await h.post({ actions: [{ type: 'typing' }] });
    expect(h.api.chat(h.chatId)).toMatchObject({ open: false, mTok: oldToken });
    expect((await sendToFake(oldToken)).status).toBe(404);
  });

  it("follows a raw callback's own chatId: a leave there closes that chat, not the harness's", async () => {
    await h.post({ chatId: 'other-chat', mTok: 'other-token', messages: [{ index: 1, type: 'text', mid: 'o-1', ts: 1, text: 'hi' }] });
    await h.post({ chatId: 'other-chat', mTok: 'other-token', actions: [{ type: 'leave' }] });
    expect(h.api.chat('other-chat')).toMatchObject({ open: false, mTok: 'other-token' });
    expect(h.api.chat(h.chatId)).toMatchObject({ open: true });
  });
});
