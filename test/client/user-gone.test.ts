/**
 * "The user is gone" is one error from the client, whatever told it: the bot's own record of a
 * leave, or the platform's 404 (the emulator's `chat_closed`, as BBM answers after a leave).
 */
import { ChatClient, ChatClosedError, UserGoneError, startEmulator, text, type Emulator } from '../../src/index.js';
import { MemoryStore } from '../../src/state/memory.js';
import { FakeChatApi, resultsBody } from './fake-chat-api.js';

describe('UserGoneError from the client, against the emulator', () => {
  let emu: Emulator;
  let client: ChatClient;
  beforeAll(async () => {
    emu = await startEmulator({ port: 0 });
  });
  beforeEach(() => {
    client = new ChatClient({ apiUrl: emu.apiUrl, tokenUrl: emu.tokenUrl, clientCredentials: emu.clientCredentials, botName: 'GoneBot' });
  });
  afterEach(() => client.close());
  afterAll(() => emu.close());

  const input = (chatId: string) => ({ chatId, mTok: emu.mTokOf(chatId), from: emu.botId, to: emu.chat(chatId).userId, messages: [text('your pizza?')] });

  it('a send after the user left the platform: closed_by_platform, the 404 chat_closed on its cause; then refused before sending', async () => {
    const chatId = emu.openChat(emu.createUser('Leaver').id).chatId;
    expect((await client.send(input(chatId))).ok).toBe(true);
    await emu.userLeaves(chatId);

    const err = (await client.send(input(chatId)).catch((e: unknown) => e)) as UserGoneError;
    expect(err).toBeInstanceOf(UserGoneError);
    expect(err).toBeInstanceOf(ChatClosedError);
    expect(err).toMatchObject({ code: 'USER_GONE', reason: 'closed_by_platform', chatId, field: 'chatId', retryable: false });
    expect(err.cause).toMatchObject({ status: 404 });
    expect(JSON.parse((err.cause as { body: string }).body)).toMatchObject({ error: 'chat_closed' });

    const sendsBefore = emu.traffic(chatId).length;
    await expect(client.send(input(chatId))).rejects.toMatchObject({ reason: 'closed_by_platform' });
    expect(emu.traffic(chatId)).toHaveLength(sendsBefore);

    // The user comes back with a new token: the chat is open again.
    emu.userReopens(chatId);
    expect((await client.send(input(chatId))).ok).toBe(true);
  });

  it('a send after the bot got the leave: reason left, nothing sent', async () => {
    const chatId = emu.openChat(emu.createUser('Told').id).chatId;
    await client.closeChat(chatId, emu.mTokOf(chatId));
    const sendsBefore = emu.traffic(chatId).length;
    await expect(client.send(input(chatId))).rejects.toMatchObject({ name: 'UserGoneError', reason: 'left', chatId });
    expect(emu.traffic(chatId)).toHaveLength(sendsBefore);
  });
});

describe('UserGoneError: what it keeps', () => {
  let api: FakeChatApi;
  beforeAll(async () => {
    api = await FakeChatApi.start();
  });
  afterAll(() => api.close());

  it('a 404 after a partial answer reports what was delivered before it', async () => {
    const client = new ChatClient({
      apiUrl: api.apiUrl,
      tokenUrl: api.tokenUrl,
      clientCredentials: api.clientCredentials,
      botName: 'Bot',
      store: new MemoryStore(),
      retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 5 },
    });
    try {
      api.queueChat({ status: 207, body: resultsBody([200, { code: 503, error: 'busy' }]) }, { status: 404, body: { error: 'chat_closed' } });
      const err = (await client.send({ chatId: 'c', mTok: 't', from: 'b', to: 'u', messages: [text('one'), text('two')] }).catch((e: unknown) => e)) as UserGoneError;
      expect(err).toBeInstanceOf(UserGoneError);
      expect(err.reason).toBe('closed_by_platform');
      expect(err.result?.messages.map((m) => m.state)).toEqual(['delivered', 'failed']);
    } finally {
      await client.close();
      api.reset();
    }
  });

  it("a 404 that is an HTML page (a wrong BBM_API_URL, a proxy's error page) is a ChatApiError, and the chat stays open", async () => {
    const client = new ChatClient({ apiUrl: api.apiUrl, tokenUrl: api.tokenUrl, clientCredentials: api.clientCredentials, botName: 'Bot', store: new MemoryStore() });
    try {
      api.queueChat({ status: 404, body: '<html><body>Cannot POST /v1/chats/c</body></html>', headers: { 'Content-Type': 'text/html; charset=utf-8' } });
      const err = await client.send({ chatId: 'c', mTok: 't', from: 'b', to: 'u', messages: [text('one')] }).catch((e: unknown) => e);
      expect(err).not.toBeInstanceOf(UserGoneError);
      expect(err).toMatchObject({ name: 'ChatApiError', status: 404 });
      // Not taken as the user leaving: the next send goes out.
      expect((await client.send({ chatId: 'c', mTok: 't', from: 'b', to: 'u', messages: [text('two')] })).ok).toBe(true);
    } finally {
      await client.close();
      api.reset();
    }
  });

  it('from(): the error itself, one rebuilt from its code and text (another instance sent it), or undefined', () => {
    const original = new UserGoneError('c1', 'no_token');
    expect(UserGoneError.from(original, 'c1')).toBe(original);
    // What the outbox hands over when another instance made the send: name, message and code only.
    const remote = Object.assign(new Error(original.message), { name: original.name, code: original.code });
    const rebuilt = UserGoneError.from(remote, 'c1');
    expect(rebuilt).toBeInstanceOf(UserGoneError);
    expect(rebuilt).toMatchObject({ reason: 'no_token', chatId: 'c1', field: 'mTok', cause: remote });
    expect(UserGoneError.from(Object.assign(new Error('x'), { code: 'CHAT_API_ERROR' }), 'c1')).toBeUndefined();
    expect(UserGoneError.from(undefined, 'c1')).toBeUndefined();
  });
});
