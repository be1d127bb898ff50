/**
 * DNS rebinding: a page on another site whose name now resolves to 127.0.0.1 reaches the emulator
 * with that name in `Host` (and its own origin in `Origin`). Every route must refuse it, and the
 * UI API's state-changing calls must come from the emulator's own page.
 */
import { request } from 'node:http';
import { allowedHosts } from '../../src/emulator/host-guard.js';
import { getToken, http, sendBody, setup, type HttpAnswer, type Setup } from './helpers.js';

const REBIND = 'rebind.attacker.example';

/** Resolves with the first response's status and headers, then drops the connection (SSE never ends). */
function firstResponse(url: string, headers: Record<string, string>, timeoutMs = 3000): Promise<{ status: number; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] });
      req.destroy();
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function expectForbiddenHost(res: HttpAnswer): void {
  expect(res.status).toBe(403);
  expect(res.json.error).toBe('forbidden_host');
  expect(typeof res.json.message).toBe('string');
}

describe('emulator: Host and Origin guard', () => {
  let s: Setup;
  let rebound: Record<string, string>;
  beforeAll(async () => {
    s = await setup();
    rebound = { host: `${REBIND}:${s.emu.port}`, origin: `http://${REBIND}:${s.emu.port}` };
  });
  afterAll(() => s.close());

  it.each(['/', '/index.html', '/app.js', '/healthz', '/api/state', '/api/chats', '/api/traffic'])('refuses GET %s under a rebound name', async (path) => {
    expectForbiddenHost(await http('GET', `${s.emu.url}${path}`, { headers: rebound }));
  });

  it('refuses the avatars under a rebound name', async () => {
    const user = s.emu.users()[0]!;
    expectForbiddenHost(await http('GET', `${s.emu.url}/avatars/${user.id}.svg`, { headers: rebound }));
  });

  it('refuses the event stream under a rebound name', async () => {
    const res = await firstResponse(`${s.emu.url}/api/events`, rebound);
    expect(res.status).toBe(403);
    expect(res.type).toMatch(/^application\/json/);
  });

  it('refuses PUT /api/bot under a rebound name and keeps the bot URL', async () => {
    const before = s.emu.botUrl;
    expectForbiddenHost(await http('PUT', `${s.emu.url}/api/bot`, { headers: rebound, body: { botUrl: 'http://169.254.169.254/latest' } }));
    expect(s.emu.botUrl).toBe(before);
  });

  it('refuses POST /api/faults and the other state-changing calls under a rebound name', async () => {
    expectForbiddenHost(await http('POST', `${s.emu.url}/api/faults`, { headers: rebound, body: { kind: '503', count: 1 } }));
    expect(s.emu.faults()).toEqual([]);
    const users = s.emu.users().length;
    expectForbiddenHost(await http('POST', `${s.emu.url}/api/users`, { headers: rebound, body: { name: 'Mallory' } }));
    expect(s.emu.users()).toHaveLength(users);
    const items = s.emu.chat(s.chatId).items.length;
    expectForbiddenHost(await http('POST', `${s.emu.url}/api/chats/${s.chatId}/messages`, { headers: rebound, body: { text: 'hi' } }));
    expect(s.emu.chat(s.chatId).items).toHaveLength(items);
  });

  it('refuses the token service and the Chat API under a rebound name, even with valid credentials', async () => {
    const tokens = s.emu.traffic().filter((t) => t.kind === 'token').length;
    const token = await http('POST', s.emu.tokenUrl, {
      headers: { host: rebound.host!, authorization: `Basic ${s.emu.clientCredentials}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expectForbiddenHost(token);
    expect(token.json.access_token).toBeUndefined();
    expect(s.emu.traffic().filter((t) => t.kind === 'token')).toHaveLength(tokens);

    const bearer = await getToken(s.emu);
    const items = s.emu.chat(s.chatId).items.length;
    const send = await http('POST', `${s.emu.apiUrl}/v1/chats/${s.chatId}?mTok=${s.emu.mTokOf(s.chatId)}`, {
      headers: { host: rebound.host!, authorization: `Bearer ${bearer}` },
      body: sendBody(s, { messages: [{ type: 'text', text: 'leaked' }] }),
    });
    expectForbiddenHost(send);
    expect(s.emu.chat(s.chatId).items).toHaveLength(items);
  });

  it.each([
    ['no port', () => REBIND],
    ['localhost on another port', () => `localhost:${s.emu.port + 1}`],
    ['localhost without the port', () => 'localhost'],
    ['a subdomain of localhost', () => `evil.localhost:${s.emu.port}`],
    ['a trailing dot', () => `localhost.:${s.emu.port}`],
    ['0.0.0.0', () => `0.0.0.0:${s.emu.port}`],
  ])('refuses Host with %s', async (_what, host) => {
    expectForbiddenHost(await http('GET', `${s.emu.url}/api/state`, { headers: { host: host() } }));
  });

  it.each(['127.0.0.1', 'localhost', 'LocalHost', '[::1]'])('serves every route family under %s with the port', async (name) => {
    const host = `${name}:${s.emu.port}`;
    const origin = `http://${name.toLowerCase()}:${s.emu.port}`;
    expect((await http('GET', `${s.emu.url}/`, { headers: { host } })).status).toBe(200);
    expect((await http('GET', `${s.emu.url}/api/state`, { headers: { host } })).status).toBe(200);
    expect((await firstResponse(`${s.emu.url}/api/events`, { host })).status).toBe(200);
    const fault = await http('POST', `${s.emu.url}/api/faults`, { headers: { host, origin }, body: { kind: 'latency', latencyMs: 1, count: 1 } });
    expect(fault.status).toBe(201);
    expect((await http('DELETE', `${s.emu.url}/api/faults`, { headers: { host, origin }, body: {} })).status).toBe(200);
    const token = await http('POST', s.emu.tokenUrl, {
      headers: { host, authorization: `Basic ${s.emu.clientCredentials}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(token.status).toBe(200);
  });

  it.each([
    ['no Origin', undefined],
    ['a foreign Origin', 'https://evil.example'],
    ['the rebound name as Origin', `http://${REBIND}`],
    ['Origin null', 'null'],
    ['https instead of http', 'https://127.0.0.1:PORT'],
    ['another port', 'http://127.0.0.1:1'],
  ])('refuses a state-changing UI API call with %s', async (_what, origin) => {
    const headers: Record<string, string> = origin === undefined ? {} : { origin: origin.replace('PORT', String(s.emu.port)) };
    const before = s.emu.botUrl;
    const put = await http('PUT', `${s.emu.url}/api/bot`, { headers, body: { botUrl: 'http://169.254.169.254/latest' } });
    expect(put.status).toBe(403);
    expect(put.json.error).toBe('forbidden_origin');
    expect(s.emu.botUrl).toBe(before);
    expect((await http('POST', `${s.emu.url}/api/faults`, { headers, body: { kind: '503', count: 1 } })).status).toBe(403);
    expect((await http('DELETE', `${s.emu.url}/api/traffic`, { headers, body: {} })).status).toBe(403);
    expect(s.emu.faults()).toEqual([]);
  });

  it('applies the Origin rule to an absolute-form request line too', async () => {
    const body = JSON.stringify({ kind: '503', count: 1 });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: s.emu.port,
          method: 'POST',
          path: `http://127.0.0.1:${s.emu.port}/api/faults`,
          headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(403);
    expect(s.emu.faults()).toEqual([]);
  });

  it('lets reads without an Origin through (a same-origin GET from the page sends none)', async () => {
    expect((await http('GET', `${s.emu.url}/api/state`)).status).toBe(200);
    expect((await http('GET', `${s.emu.url}/api/state`, { headers: { origin: 'https://evil.example' } })).status).toBe(403);
  });

  it('accepts a same-origin state-changing call from another allowed name', async () => {
    const res = await http('POST', `${s.emu.url}/api/faults`, {
      headers: { host: `localhost:${s.emu.port}`, origin: `http://localhost:${s.emu.port}` },
      body: { kind: 'latency', latencyMs: 1, count: 1 },
    });
    expect(res.status).toBe(201);
    s.emu.clearFaults();
  });
});

describe('allowedHosts', () => {
  it('names the loopback addresses with the port, and the bare names only on port 80', () => {
    expect([...allowedHosts('127.0.0.1', 3978)].sort()).toEqual(['127.0.0.1:3978', '[::1]:3978', 'localhost:3978']);
    expect(allowedHosts('127.0.0.1', 80)).toEqual(new Set(['127.0.0.1:80', 'localhost:80', '[::1]:80', '127.0.0.1', 'localhost', '[::1]']));
  });

  it('adds the host the emulator was told to serve, but not a wildcard address', () => {
    expect(allowedHosts('chat.dev.example', 3978).has('chat.dev.example:3978')).toBe(true);
    expect(allowedHosts('Chat.Dev.Example', 3978).has('chat.dev.example:3978')).toBe(true);
    expect(allowedHosts('192.168.1.20', 3978).has('192.168.1.20:3978')).toBe(true);
    expect(allowedHosts('fd00::2', 3978).has('[fd00::2]:3978')).toBe(true);
    expect(allowedHosts('0.0.0.0', 3978).size).toBe(3);
    expect(allowedHosts('::', 3978).size).toBe(3);
  });
});
