import { TokenError, TokenProvider, type TokenProviderOptions } from '../../src/client/index.js';
import { FakeChatApi, deferred, eventually, waitFor } from './fake-chat-api.js';

describe('TokenProvider', () => {
  let api: FakeChatApi;
  const providers: TokenProvider[] = [];
  let clock = 1_000_000;
  const now = () => clock;

  const provider = (extra: Partial<TokenProviderOptions> = {}) => {
    const p = new TokenProvider({
      tokenUrl: api.tokenUrl,
      clientCredentials: api.clientCredentials,
      now,
      retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 10, maxRetryTimeMs: 1000 },
      ...extra,
    });
    providers.push(p);
    return p;
  };

  beforeAll(async () => {
    api = await FakeChatApi.start();
  });
  afterEach(() => {
    api.reset();
    clock = 1_000_000;
  });
  afterAll(async () => {
    for (const p of providers) p.close();
    await api.close();
  });

  it('asks with the client-credentials grant and caches the token', async () => {
    const p = provider();
    const t1 = await p.getToken();
    const t2 = await p.getToken();
    expect(t1).toBe(t2);
    expect(api.tokenRequests).toHaveLength(1);
    const req = api.tokenRequests[0]!;
    expect(req.headers.authorization).toBe(`Basic ${api.clientCredentials}`);
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req.raw).toBe('grant_type=client_credentials');
  });

  it('fetches a new token once the old one expired', async () => {
    api.expiresIn = 100;
    const p = provider();
    const t1 = await p.getToken();
    clock += 100_000;
    const t2 = await p.getToken();
    expect(t2).not.toBe(t1);
    expect(api.tokenRequests).toHaveLength(2);
  });

  it('refreshes in the background inside the skew window, without making callers wait', async () => {
    // 100 s lifetime: skew = min(60 s, 10 s) = 10 s.
    api.expiresIn = 100;
    const p = provider();
    const t1 = await p.getToken();

    clock += 89_000; // outside the window: cached, nothing fetched
    expect(await p.getToken()).toBe(t1);
    expect(api.tokenRequests).toHaveLength(1);

    const gate = deferred();
    api.queueToken({ status: 200, body: { access_token: 'fresh', expires_in: 100 }, gate: gate.promise });
    clock += 2_000; // 91 s: inside the window, still valid
    expect(await p.getToken()).toBe(t1); // answered at once while the refresh is held
    expect(await p.getToken()).toBe(t1);
    await waitFor(() => api.tokenRequests.length === 2);
    gate.resolve();
    await eventually(async () => (await p.getToken()) === 'fresh');
    expect(api.tokenRequests).toHaveLength(2);
  });

  it('uses a 60 s skew at most for long-lived tokens', async () => {
    api.expiresIn = 3600;
    const p = provider();
    const t1 = await p.getToken();
    clock += 3_539_000; // 61 s before expiry
    expect(await p.getToken()).toBe(t1);
    expect(api.tokenRequests).toHaveLength(1);
    clock += 2_000; // 59 s before expiry
    expect(await p.getToken()).toBe(t1);
    await waitFor(() => api.tokenRequests.length === 2);
  });

  it('single flight: 1000 concurrent callers, one request', async () => {
    const p = provider();
    const gate = deferred();
    api.queueToken({ status: 200, body: { access_token: 'only', expires_in: 3600 }, gate: gate.promise });
    const all = Array.from({ length: 1000 }, () => p.getToken());
    await waitFor(() => api.tokenRequests.length === 1);
    gate.resolve();
    const tokens = await Promise.all(all);
    expect(new Set(tokens)).toEqual(new Set(['only']));
    expect(api.tokenRequests).toHaveLength(1);
  });

  it('invalidate drops only the current token: concurrent 401s cause one refresh', async () => {
    const p = provider();
    const t1 = await p.getToken();
    p.invalidate(t1);
    const [a, b] = await Promise.all([p.getToken(), p.getToken()]);
    expect(a).toBe(b);
    expect(a).not.toBe(t1);
    p.invalidate(t1); // stale: ignored
    expect(await p.getToken()).toBe(a);
    expect(api.tokenRequests).toHaveLength(2);
  });

  it('retries a failing token service with backoff, then succeeds', async () => {
    api.queueToken({ status: 503, body: 'down' }, { status: 500, body: 'oops' });
    const p = provider();
    expect(await p.getToken()).toMatch(/^tok-/);
    expect(api.tokenRequests).toHaveLength(3);
  });

  it('gives up with a typed error carrying status and body', async () => {
    api.tokenResponder = () => ({ status: 503, body: 'token service unavailable' });
    const p = provider();
    const err: unknown = await p.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenError);
    expect((err as TokenError).status).toBe(503);
    expect((err as TokenError).body).toBe('token service unavailable');
    expect((err as TokenError).code).toBe('TOKEN_ERROR');
    expect(api.tokenRequests).toHaveLength(3); // 1 + 2 retries
  });

  it('does not retry refused credentials', async () => {
    const p = new TokenProvider({ tokenUrl: api.tokenUrl, clientCredentials: 'd3Jvbmc6d3Jvbmc=', now });
    providers.push(p);
    const err: unknown = await p.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenError);
    expect((err as TokenError).status).toBe(401);
    expect((err as TokenError).message).not.toContain('d3Jvbmc6d3Jvbmc=');
    expect(api.tokenRequests).toHaveLength(1);
  });

  it('never repeats an unparseable 200 body (it may hold a token)', async () => {
    api.tokenResponder = () => ({ status: 200, body: '{"access_token": secret-looking' });
    const p = provider();
    const err: unknown = await p.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenError);
    expect((err as TokenError).body).toBe('');
    expect((err as TokenError).message).not.toContain('secret-looking');
  });

  it('a failed background refresh keeps the valid token and tries again later', async () => {
    api.expiresIn = 100;
    const p = provider({ retry: { retries: 0 } });
    const t1 = await p.getToken();
    api.queueToken({ status: 500, body: 'down' });
    clock += 95_000;
    expect(await p.getToken()).toBe(t1);
    // Later calls (still answered with the valid token) start another refresh, which succeeds.
    await eventually(async () => (await p.getToken()) !== t1);
    expect(api.tokenRequests).toHaveLength(3);
  });

  it('accepts expires_in as a string', async () => {
    api.queueToken({ status: 200, body: { access_token: 'x', expires_in: '100', token_type: 'bearer' } });
    const p = provider();
    expect(await p.getToken()).toBe('x');
    clock += 101_000;
    expect(await p.getToken()).not.toBe('x');
  });
});
