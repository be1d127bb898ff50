import { ChatApiError, ChatClient, ChatClosedError, ClosedChats, UserGoneError, text, type SendInput } from '../../src/client/index.js';
import { MemoryStore } from '../../src/state/memory.js';
import { FakeChatApi } from './fake-chat-api.js';

describe('ClosedChats registry', () => {
  // Not 0: the LRU store treats a zero start time as "never stale".
  let clock = 1_000_000;
  const now = () => clock;

  it('refuses a key prefix with a brace (it would be the Redis Cluster hash tag)', () => {
    expect(() => new ClosedChats(new MemoryStore(), { prefix: 'closed{x}:' })).toThrow(/must not contain \{ or \}/);
  });

  it('closes a chat for one mTok; another mTok opens it again', async () => {
    const store = new MemoryStore({ now });
    const closed = new ClosedChats(store, { now, ttlMs: 1000 });
    await closed.close('c1', 'tok-a');
    expect(await store.get('closed:{c1}')).toEqual({ mTok: 'tok-a', closedAt: 1_000_000, reason: 'left' });
    expect(await closed.isClosed('c1', 'tok-a')).toBe(true);
    expect(await closed.isClosed('c2', 'tok-a')).toBe(false);
    expect(await closed.isClosed('c1', 'tok-b')).toBe(false);
    // The newer token removed the record: the old one is not refused by the registry any more.
    expect(await store.get('closed:{c1}')).toBeUndefined();
  });

  it('closed without a token: every token refused until reopened with a new one', async () => {
    const closed = new ClosedChats(new MemoryStore({ now }), { now });
    await closed.close('c1');
    expect(await closed.isClosed('c1', 'any')).toBe(true);
    await closed.reopen('c1', 'next');
    expect(await closed.isClosed('c1', 'next')).toBe(false);
  });

  it('reopen with the very token that closed does not reopen', async () => {
    const closed = new ClosedChats(new MemoryStore({ now }), { now });
    await closed.close('c1', 'tok-a');
    await closed.reopen('c1', 'tok-a');
    expect(await closed.isClosed('c1', 'tok-a')).toBe(true);
  });

  it('records expire with their TTL', async () => {
    const closed = new ClosedChats(new MemoryStore({ now }), { now, ttlMs: 1000 });
    await closed.close('c1', 'tok-a');
    clock += 999;
    expect(await closed.isClosed('c1', 'tok-a')).toBe(true);
    clock += 2;
    // The LRU caches its clock for a timer tick.
    await new Promise((r) => setTimeout(r, 5));
    expect(await closed.isClosed('c1', 'tok-a')).toBe(false);
  });
});

describe('ChatClient leave guard', () => {
  let api: FakeChatApi;
  let store: MemoryStore;
  let client: ChatClient;

  const input = (over: Partial<SendInput> = {}): SendInput => ({
    chatId: 'chat-1',
    mTok: 'tok-a',
    from: 'bot',
    to: 'user',
    messages: [text('hi')],
    ...over,
  });

  beforeAll(async () => {
    api = await FakeChatApi.start();
  });
  beforeEach(() => {
    store = new MemoryStore();
    client = new ChatClient({
      apiUrl: api.apiUrl,
      tokenUrl: api.tokenUrl,
      clientCredentials: api.clientCredentials,
      botName: 'Bot',
      store,
      retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 5 },
    });
  });
  afterEach(async () => {
    await client.close();
    api.reset();
  });
  afterAll(async () => {
    await api.close();
  });

  it('after a leave, sending with that chat and token throws ChatClosedError without touching the network', async () => {
    await client.closeChat('chat-1', 'tok-a');
    const err: unknown = await client.send(input()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatClosedError);
    expect(err).toMatchObject({ code: 'USER_GONE', reason: 'left', chatId: 'chat-1', field: 'chatId' });
    expect(api.tokenRequests).toHaveLength(0);
    expect(api.chatRequests).toHaveLength(0);
    // Through the store given to the client.
    expect(await store.get('closed:{chat-1}')).toMatchObject({ mTok: 'tok-a', reason: 'left' });
  });

  it('a newer mTok (the user wrote again) opens the chat again', async () => {
    await client.closeChat('chat-1', 'tok-a');
    const result = await client.send(input({ mTok: 'tok-b' }));
    expect(result.ok).toBe(true);
    expect(api.chatRequests[0]!.query.get('mTok')).toBe('tok-b');
  });

  it('a leave without a known token refuses every token until reopened', async () => {
    await client.closeChat('chat-1');
    await expect(client.send(input({ mTok: 'tok-z' }))).rejects.toBeInstanceOf(ChatClosedError);
    await client.reopenChat('chat-1', 'tok-b');
    expect((await client.send(input({ mTok: 'tok-b' }))).ok).toBe(true);
  });

  it('a 404 closes the chat: the send fails, later ones are refused locally, queued ones too', async () => {
    api.queueChat({ status: 404, body: 'chat not found', delayMs: 20 });
    const [first, queued] = await Promise.allSettled([client.send(input()), client.send(input())]);
    const gone = first.status === 'rejected' ? (first.reason as UserGoneError) : undefined;
    expect(gone).toBeInstanceOf(UserGoneError);
    expect(gone).toMatchObject({ reason: 'closed_by_platform', retryable: false });
    // The Chat API's own answer stays on the cause.
    expect(gone!.cause).toBeInstanceOf(ChatApiError);
    expect(gone!.cause).toMatchObject({ status: 404, retryable: false, body: 'chat not found' });
    expect(queued.status === 'rejected' && queued.reason).toBeInstanceOf(ChatClosedError);
    expect(api.chatRequests).toHaveLength(1);

    await expect(client.send(input())).rejects.toBeInstanceOf(ChatClosedError);
    expect(api.chatRequests).toHaveLength(1);
    expect(await store.get('closed:{chat-1}')).toMatchObject({ mTok: 'tok-a', reason: 'not-found' });

    // Other chats are unaffected, and a new token for this one opens it.
    expect((await client.send(input({ chatId: 'chat-2' }))).ok).toBe(true);
    expect((await client.send(input({ mTok: 'tok-new' }))).ok).toBe(true);
  });
});
