import { pino } from 'pino';
import {
  ChatApiError,
  ChatClient,
  TokenError,
  assertDelivered,
  MessageFailedError,
  read,
  text,
  typing,
  type ChatClientOptions,
  type SendAttemptEvent,
  type SendInput,
} from '../../src/client/index.js';
import { FAST_RETRY, FakeChatApi, clientOptionsFor, deferred, eventually, resultsBody, waitFor, type ScriptedReply } from './fake-chat-api.js';

describe('ChatClient', () => {
  let api: FakeChatApi;
  let clients: ChatClient[] = [];

  const makeClient = (extra: Partial<ChatClientOptions> = {}): ChatClient => {
    const c = new ChatClient(clientOptionsFor(api, extra));
    clients.push(c);
    return c;
  };

  const input = (over: Partial<SendInput> = {}): SendInput => ({
    chatId: '837680',
    mTok: 'MS4xNDc2ODM4MDk3LjdkZDk4',
    from: '31045128202',
    to: '100006006205',
    messages: [text('Hello Alice!')],
    ...over,
  });

  beforeAll(async () => {
    api = await FakeChatApi.start();
  });
  afterEach(async () => {
    for (const c of clients) await c.close();
    clients = [];
    api.reset();
  });
  afterAll(async () => {
    await api.close();
  });

  describe('the request', () => {
    it('POSTs the documented request and returns a result per message', async () => {
      const client = makeClient();
      const result = await client.send(
        input({
          chatId: 'chat/1 ü',
          mTok: 'tok+/=',
          chId: 'C00012B1E',
          sessionId: 's-1',
          actions: [read(['2524be69e40ec933'])],
          messages: [text('one'), text('two')],
        }),
      );

      expect(api.chatRequests).toHaveLength(1);
      const req = api.chatRequests[0]!;
      expect(req.method).toBe('POST');
      expect(req.path).toBe(`/v1/chats/${encodeURIComponent('chat/1 ü')}`);
      expect(req.chatId).toBe('chat/1 ü');
      expect(req.query.get('mTok')).toBe('tok+/=');
      expect(req.headers.authorization).toMatch(/^Bearer tok-\d+$/);
      expect(req.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(req.json).toEqual({
        mType: 'bot',
        chId: 'C00012B1E',
        chatId: 'chat/1 ü',
        from: '31045128202',
        to: '100006006205',
        sessionId: 's-1',
        actions: [{ type: 'read', mids: ['2524be69e40ec933'] }],
        messages: [
          { index: 1, type: 'text', text: 'one' },
          { index: 2, type: 'text', text: 'two' },
        ],
        userInfos: { '31045128202': { name: 'BobBot' } },
      });

      expect(result.ok).toBe(true);
      expect(result.attempts).toBe(1);
      expect(result.messages).toHaveLength(2);
      expect(result.messages[0]).toMatchObject({ index: 1, code: 200, state: 'delivered' });
      expect(typeof result.messages[0]!.mid).toBe('string');
      expect(typeof result.messages[0]!.ts).toBe('number');
    });

    it('replaces caller indexes, keeps caller userInfos, and defaults the bot entry', async () => {
      const client = makeClient();
      await client.send(
        input({
          messages: [{ index: 7, type: 'text', text: 'x' }, text('y')],
          userInfos: { other: { name: 'Other' } },
        }),
      );
      const body = api.sentBodies[0]!;
      expect(body.messages!.map((m) => m.index)).toEqual([1, 2]);
      expect(body.userInfos).toEqual({ other: { name: 'Other' }, '31045128202': { name: 'BobBot' } });
    });

    it('coerces string ts and code, accepts 202 as accepted', async () => {
      const client = makeClient();
      api.queueChat({
        status: 200,
        body: {
          messages: [
            { index: '1', type: 'result', mid: 'a', ts: '1332394962100', result: { code: '200' } },
            { index: 2, type: 'result', mid: 'b', ts: 1332394962101, result: { code: 202 } },
          ],
          extra: true,
        },
      });
      const result = await client.send(input({ messages: [text('1'), text('2')] }));
      expect(result).toEqual({
        ok: true,
        attempts: 1,
        messages: [
          { index: 1, code: 200, mid: 'a', ts: 1332394962100, state: 'delivered' },
          { index: 2, code: 202, mid: 'b', ts: 1332394962101, state: 'accepted' },
        ],
      });
    });

    it('matches results by index when present, else by order', async () => {
      const client = makeClient();
      api.queueChat({
        status: 200,
        body: {
          messages: [
            { index: 2, mid: 'second', result: { code: 200 } },
            { index: 1, mid: 'first', result: { code: 200 } },
          ],
        },
      });
      const r1 = await client.send(input({ messages: [text('1'), text('2')] }));
      expect(r1.messages.map((m) => m.mid)).toEqual(['first', 'second']);

      api.queueChat({ status: 200, body: { messages: [{ mid: 'a', result: { code: 200 } }, { mid: 'b', result: { code: 200 } }] } });
      const r2 = await client.send(input({ messages: [text('1'), text('2')] }));
      expect(r2.messages.map((m) => m.mid)).toEqual(['a', 'b']);
    });

    it('a 200 without per-message results means every message went through', async () => {
      const client = makeClient();
      api.queueChat({ status: 200, body: '' });
      const result = await client.send(input());
      expect(result.ok).toBe(true);
      expect(result.messages).toEqual([{ index: 1, code: 200, state: 'delivered' }]);
    });

    it('sends actions alone', async () => {
      const client = makeClient();
      const result = await client.send(input({ messages: [], actions: [typing()] }));
      expect(result).toEqual({ ok: true, messages: [], attempts: 1 });
      expect(api.sentBodies[0]).not.toHaveProperty('messages');
      expect(api.sentBodies[0]!.actions).toEqual([{ type: 'typing' }]);
    });

    it('reports every HTTP request to onSend', async () => {
      const events: SendAttemptEvent[] = [];
      const client = makeClient({ onSend: (e) => events.push(e) });
      api.queueChat({ status: 503, body: 'busy' });
      await client.send(input({ actions: [typing()] }));
      expect(events.map((e) => [e.status, e.attempt, e.messages, e.actions])).toEqual([
        [503, 1, 1, 1],
        [200, 2, 1, 1],
      ]);
    });
  });

  describe('tokens', () => {
    it('reuses one token across sends', async () => {
      const client = makeClient();
      for (let i = 0; i < 5; i++) await client.send(input());
      expect(api.tokenRequests).toHaveLength(1);
      const auths = new Set(api.chatRequests.map((r) => r.headers.authorization));
      expect(auths.size).toBe(1);
    });

    it('expiry and proactive refresh: sends use the old token while the new one is fetched', async () => {
      let clock = 5_000_000;
      const client = makeClient({ now: () => clock });
      api.expiresIn = 100; // skew: 10 s
      await client.send(input());
      const first = api.chatRequests[0]!.headers.authorization;

      const gate = deferred();
      api.queueToken({ status: 200, body: { access_token: 'proactive', expires_in: 100 }, gate: gate.promise });
      clock += 95_000; // inside the skew window, still valid
      await client.send(input());
      expect(api.chatRequests[1]!.headers.authorization).toBe(first); // did not wait for the held refresh
      expect(api.tokenRequests).toHaveLength(2);
      gate.resolve();
      await eventually(async () => {
        await client.send(input());
        return api.chatRequests.at(-1)!.headers.authorization === 'Bearer proactive';
      });

      clock += 200_000; // past expiry of every token issued so far
      await client.send(input());
      expect(api.tokenRequests).toHaveLength(3);
      expect(api.chatRequests.at(-1)!.headers.authorization).not.toBe('Bearer proactive');
    });

    it('1000 concurrent sends needing a token make exactly one token request', async () => {
      // A generous timeout: the fake server shares this process, and instrumented runs are slow.
      const client = makeClient({ timeoutMs: 15_000 });
      const gate = deferred();
      api.queueToken({ status: 200, body: { access_token: 'shared', expires_in: 3600 }, gate: gate.promise });
      const sends = Array.from({ length: 1000 }, (_, i) => client.send(input({ chatId: `chat-${i}` })));
      await waitFor(() => api.tokenRequests.length === 1);
      gate.resolve();
      const results = await Promise.all(sends);
      expect(results.every((r) => r.ok)).toBe(true);
      expect(api.tokenRequests).toHaveLength(1);
      expect(api.chatRequests).toHaveLength(1000);
    });

    it('401: the token is dropped, one fresh token fetched, the send retried once', async () => {
      const client = makeClient();
      await client.send(input());
      api.revokeAll();
      const result = await client.send(input());
      expect(result.ok).toBe(true);
      expect(result.attempts).toBe(2);
      expect(api.tokenRequests).toHaveLength(2);
      const [before, rejected, accepted] = api.chatRequests;
      expect(rejected!.headers.authorization).toBe(before!.headers.authorization);
      expect(accepted!.headers.authorization).not.toBe(rejected!.headers.authorization);
    });

    it('concurrent 401s cause a single refresh', async () => {
      const client = makeClient();
      await client.send(input());
      api.revokeAll();
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => client.send(input({ chatId: `c${i}` }))));
      expect(results.every((r) => r.ok)).toBe(true);
      expect(api.tokenRequests).toHaveLength(2);
    });

    it('a second 401 is a whole-request failure, not retried further', async () => {
      const client = makeClient();
      api.chatResponder = () => ({ status: 401, body: 'token rejected' });
      const err: unknown = await client.send(input()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChatApiError);
      expect(err).toMatchObject({ status: 401, body: 'token rejected', retryable: false });
      expect(api.chatRequests).toHaveLength(2);
      expect(api.tokenRequests).toHaveLength(2);
    });

    it('a token service that fails surfaces as TokenError, and nothing is sent', async () => {
      const client = makeClient({ tokenRetry: { retries: 1, minTimeoutMs: 5, maxTimeoutMs: 5 } } as Partial<ChatClientOptions>);
      api.tokenResponder = () => ({ status: 500, body: 'token service down' });
      const err: unknown = await client.send(input()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TokenError);
      expect(err).toMatchObject({ status: 500, body: 'token service down' });
      expect(api.tokenRequests).toHaveLength(2);
      expect(api.chatRequests).toHaveLength(0);
    });
  });

  describe('whole-request retries', () => {
    it('503 then 200: retried, one result', async () => {
      const client = makeClient();
      api.queueChat({ status: 503, body: 'unavailable' });
      const result = await client.send(input());
      expect(result.ok).toBe(true);
      expect(result.attempts).toBe(2);
      expect(api.chatRequests).toHaveLength(2);
      expect(api.chatRequests[0]!.raw).toBe(api.chatRequests[1]!.raw);
    });

    it('429 with Retry-After in seconds: waits at least that long', async () => {
      const client = makeClient();
      api.queueChat({ status: 429, body: 'slow down', headers: { 'Retry-After': '1' } });
      const result = await client.send(input());
      expect(result.ok).toBe(true);
      const [first, second] = api.chatRequests;
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(990);
    });

    it('Retry-After as an HTTP date in the past: retried promptly', async () => {
      const client = makeClient();
      api.queueChat({ status: 429, body: 'slow down', headers: { 'Retry-After': new Date(Date.now() - 5000).toUTCString() } });
      const t0 = performance.now();
      const result = await client.send(input());
      expect(result.ok).toBe(true);
      expect(performance.now() - t0).toBeLessThan(900);
    });

    it('a Retry-After beyond the cap ends the send instead of retrying early', async () => {
      const client = makeClient();
      api.queueChat({ status: 429, body: 'come back later', headers: { 'Retry-After': '120' } });
      const t0 = performance.now();
      const err: unknown = await client.send(input()).catch((e: unknown) => e);
      expect(performance.now() - t0).toBeLessThan(500);
      expect(err).toBeInstanceOf(ChatApiError);
      expect(err).toMatchObject({ status: 429, retryable: true, retryAfterMs: 120_000, body: 'come back later' });
      expect(api.chatRequests).toHaveLength(1);

      api.queueChat({ status: 503, body: 'later', headers: { 'Retry-After': new Date(Date.now() + 60_000).toUTCString() } });
      const err2: unknown = await client.send(input()).catch((e: unknown) => e);
      expect((err2 as ChatApiError).retryAfterMs).toBeGreaterThan(50_000);
    });

    it('persistent 500: bounded attempts, then the typed error with the server text', async () => {
      const client = makeClient();
      api.chatResponder = () => ({ status: 500, body: 'internal trouble' });
      const err: unknown = await client.send(input()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChatApiError);
      expect(err).toMatchObject({ status: 500, body: 'internal trouble', retryable: true, kind: 'http', chatId: '837680' });
      expect(api.chatRequests).toHaveLength(FAST_RETRY.retries + 1);
    });

    it('the total retry time is bounded', async () => {
      const client = makeClient({ retry: { retries: 100, minTimeoutMs: 20, maxTimeoutMs: 20, maxRetryTimeMs: 200 } });
      api.chatResponder = () => ({ status: 503, body: 'down' });
      const t0 = performance.now();
      await expect(client.send(input())).rejects.toBeInstanceOf(ChatApiError);
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(api.chatRequests.length).toBeLessThan(20);
    });

    it.each([400, 403])('%i is never retried', async (status) => {
      const client = makeClient();
      api.queueChat({ status, body: { error: `refused with ${status}` } });
      const err: unknown = await client.send(input()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChatApiError);
      expect(err).toMatchObject({ status, retryable: false, body: `{"error":"refused with ${status}"}` });
      expect(api.chatRequests).toHaveLength(1);
    });

    it('a timeout is retried', async () => {
      const client = makeClient({ timeoutMs: 100 });
      api.queueChat({ status: 200, body: resultsBody([200]), delayMs: 400 });
      const result = await client.send(input());
      expect(result.ok).toBe(true);
      expect(api.chatRequests).toHaveLength(2);
    });

    it('a dropped connection is retried', async () => {
      const client = makeClient();
      api.queueChat({ status: 200, hangUp: true });
      const result = await client.send(input());
      expect(result.ok).toBe(true);
      expect(api.chatRequests).toHaveLength(2);
    });

    it('an unreachable token service fails as a TokenError with status 0', async () => {
      const other = await FakeChatApi.start();
      const tokenUrl = other.tokenUrl;
      await other.close();
      const client = makeClient({ tokenUrl, tokenRetry: { retries: 1, minTimeoutMs: 5, maxTimeoutMs: 5 } } as Partial<ChatClientOptions>);
      const err: unknown = await client.send(input()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TokenError);
      expect((err as TokenError).status).toBe(0);
    });

    it('an unreachable Chat API fails as a network error after the retries', async () => {
      const other = await FakeChatApi.start();
      const apiUrl = other.apiUrl;
      await other.close();
      const client = makeClient({ apiUrl, retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 5 } });
      // Tokens still come from the live fake.
      const err: unknown = await client.send(input()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChatApiError);
      expect(err).toMatchObject({ status: 0, kind: 'network', retryable: true });
      expect((err as ChatApiError).result).toBeUndefined();
    });
  });

  describe('207: per-message failures', () => {
    it('resends the 503 and the 409s after it, in order, never the delivered one; actions only once', async () => {
      const client = makeClient();
      api.queueChat(
        { status: 207, body: resultsBody([200, { code: 503, error: 'busy' }, 409, 409], 'first') },
        { status: 200, body: resultsBody([200, 202, 200], 'second') },
      );
      const result = await client.send(
        input({ actions: [read(['m0'])], messages: [text('a'), text('b'), text('c'), text('d')] }),
      );

      expect(api.chatRequests).toHaveLength(2);
      const [firstBody, secondBody] = api.sentBodies;
      expect(firstBody!.actions).toEqual([{ type: 'read', mids: ['m0'] }]);
      expect(secondBody).not.toHaveProperty('actions');
      expect(secondBody!.messages).toEqual([
        { index: 1, type: 'text', text: 'b' },
        { index: 2, type: 'text', text: 'c' },
        { index: 3, type: 'text', text: 'd' },
      ]);
      expect(result).toEqual({
        ok: true,
        attempts: 2,
        messages: [
          { index: 1, code: 200, mid: 'first-1', ts: 1_700_000_000_000, state: 'delivered' },
          { index: 2, code: 200, mid: 'second-1', ts: 1_700_000_000_000, state: 'delivered' },
          { index: 3, code: 202, mid: 'second-2', ts: 1_700_000_000_001, state: 'accepted' },
          { index: 4, code: 200, mid: 'second-3', ts: 1_700_000_000_002, state: 'delivered' },
        ],
      });
    });

    it('no message is ever sent twice once answered 200 or 202, across several resends', async () => {
      const client = makeClient();
      api.queueChat(
        { status: 207, body: resultsBody([200, 429, 409, 409]) },
        { status: 207, body: resultsBody([202, 500, 409]) },
        { status: 207, body: resultsBody([200, 503]) },
        { status: 200, body: resultsBody([200]) },
      );
      const result = await client.send(input({ messages: ['a', 'b', 'c', 'd'].map(text) }));
      expect(result.ok).toBe(true);
      const sent = api.sentBodies.map((b) => b.messages!.map((m) => m.text));
      expect(sent).toEqual([['a', 'b', 'c', 'd'], ['b', 'c', 'd'], ['c', 'd'], ['d']]);
      expect(result.messages.map((m) => m.code)).toEqual([200, 202, 200, 200]);
      expect(result.attempts).toBe(4);
    });

    it('honours Retry-After on a 207: no resend earlier than asked', async () => {
      const client = makeClient();
      api.queueChat({ status: 207, body: resultsBody([200, { code: 429, error: 'too many' }]), headers: { 'Retry-After': '120' } });
      const result = await client.send(input({ messages: [text('a'), text('b')] }));
      expect(api.chatRequests).toHaveLength(1);
      expect(result.ok).toBe(false);
      expect(result.messages[1]).toMatchObject({ code: 429, state: 'failed', error: 'too many' });
    });

    it('a 403 for a message is final: it and the 409s after it fail, with the server text', async () => {
      const client = makeClient();
      api.queueChat({ status: 207, body: resultsBody([200, { code: 403, error: 'not allowed' }, 409]) });
      const result = await client.send(input({ messages: ['a', 'b', 'c'].map(text) }));
      expect(api.chatRequests).toHaveLength(1);
      expect(result.ok).toBe(false);
      expect(result.messages.map((m) => [m.code, m.state])).toEqual([
        [200, 'delivered'],
        [403, 'failed'],
        [409, 'failed'],
      ]);
      expect(result.messages[1]!.error).toBe('not allowed');
      expect(() => assertDelivered(result)).toThrow(MessageFailedError);
    });

    it('when resends run out, the messages are reported failed with their last code', async () => {
      const client = makeClient({ retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 5 } });
      api.queueChat({ status: 207, body: resultsBody([200, 503]) });
      api.chatResponder = () => ({ status: 207, body: resultsBody([{ code: 503, error: 'still busy' }]) });
      const result = await client.send(input({ messages: [text('a'), text('b')] }));
      expect(api.chatRequests).toHaveLength(3);
      expect(result.ok).toBe(false);
      expect(result.messages[0]).toMatchObject({ code: 200, state: 'delivered' });
      expect(result.messages[1]).toMatchObject({ code: 503, state: 'failed', error: 'still busy' });
    });

    it('a message missing from a 207 answer is failed, not resent', async () => {
      const client = makeClient();
      api.queueChat({ status: 207, body: { messages: [{ index: 1, mid: 'x', result: { code: 200 } }] } });
      const result = await client.send(input({ messages: [text('a'), text('b')] }));
      expect(api.chatRequests).toHaveLength(1);
      expect(result.messages[1]).toMatchObject({ index: 2, code: 0, state: 'failed' });
    });

    it('a whole-request failure on a resend throws, with what was already delivered', async () => {
      const client = makeClient();
      api.queueChat(
        { status: 207, body: resultsBody([200, 503]) },
        { status: 400, body: 'bad request' },
      );
      const err: unknown = await client.send(input({ messages: [text('a'), text('b')] })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChatApiError);
      const result = (err as ChatApiError).result!;
      expect(result.ok).toBe(false);
      expect(result.messages.map((m) => [m.index, m.code, m.state])).toEqual([
        [1, 200, 'delivered'],
        [2, 400, 'failed'],
      ]);
    });
  });

  describe('ordering', () => {
    it('sends to one chat in order even when the first is retried', async () => {
      const client = makeClient();
      api.queueChat({ status: 503, body: 'busy', delayMs: 30 }, { status: 503, body: 'busy' });
      const results = await Promise.all([
        client.send(input({ messages: [text('first')] })),
        client.send(input({ messages: [text('second')] })),
        client.send(input({ messages: [text('third')] })),
      ]);
      expect(results.every((r) => r.ok)).toBe(true);
      expect(api.sentBodies.map((b) => b.messages![0]!.text)).toEqual(['first', 'first', 'first', 'second', 'third']);
    });

    it('a 207 resend is not overtaken by a later send to the same chat', async () => {
      const client = makeClient();
      api.queueChat({ status: 207, body: resultsBody([200, 429, 409]) });
      const [a, b] = await Promise.all([
        client.send(input({ messages: ['a1', 'a2', 'a3'].map(text) })),
        client.send(input({ messages: [text('b1')] })),
      ]);
      expect(a.ok && b.ok).toBe(true);
      expect(api.sentBodies.map((x) => x.messages!.map((m) => m.text))).toEqual([['a1', 'a2', 'a3'], ['a2', 'a3'], ['b1']]);
    });

    it('a failed send does not block the chat', async () => {
      const client = makeClient();
      api.queueChat({ status: 400, body: 'bad' });
      const [a, b] = await Promise.allSettled([client.send(input()), client.send(input())]);
      expect(a.status).toBe('rejected');
      expect(b.status).toBe('fulfilled');
    });

    it('different chats proceed in parallel', async () => {
      const client = makeClient();
      await client.send(input({ chatId: 'warmup' })); // token in hand
      const gate = deferred();
      api.chatResponder = (req): ScriptedReply | undefined =>
        req.chatId === 'slow' ? { ...api.defaultChatReply(req), gate: gate.promise } : undefined;
      const slow = client.send(input({ chatId: 'slow' }));
      await waitFor(() => api.chatRequests.some((r) => r.chatId === 'slow'));
      const fast = await client.send(input({ chatId: 'fast' }));
      expect(fast.ok).toBe(true);
      gate.resolve();
      expect((await slow).ok).toBe(true);
    });
  });

  describe('configuration', () => {
    it('fromEnv reads BBM_API_URL, BBM_TOKEN_URL and BBM_CLIENT_CREDENTIALS', async () => {
      const client = ChatClient.fromEnv({
        botName: 'BobBot',
        env: { BBM_API_URL: api.apiUrl, BBM_TOKEN_URL: api.tokenUrl, BBM_CLIENT_CREDENTIALS: api.clientCredentials },
      });
      clients.push(client);
      expect((await client.send(input())).ok).toBe(true);
    });

    it('fromEnv names what is missing', () => {
      expect(() => ChatClient.fromEnv({ botName: 'B', env: { BBM_API_URL: 'http://x' } })).toThrow(
        /BBM_TOKEN_URL, BBM_CLIENT_CREDENTIALS/,
      );
    });
  });

  describe('secrets', () => {
    it('never logs tokens, client credentials or mTok', async () => {
      const lines: string[] = [];
      const logger = pino({ level: 'trace' }, { write: (s: string) => lines.push(s) });
      const client = makeClient({ logger });
      const mTok = 'SECRET-MTOK-VALUE';
      api.queueChat({ status: 401, body: 'expired' }, { status: 503, body: 'busy' }, { status: 207, body: resultsBody([429]) });
      await client.send(input({ mTok }));
      api.queueChat({ status: 400, body: 'bad' });
      const err: unknown = await client.send(input({ mTok })).catch((e: unknown) => e);
      expect(lines.length).toBeGreaterThan(0);
      const all = lines.join('\n') + String(err) + JSON.stringify(err);
      expect(all).not.toContain(mTok);
      expect(all).not.toContain(api.clientCredentials);
      for (const token of api.validTokens) expect(all).not.toContain(token);
    });
  });
});
