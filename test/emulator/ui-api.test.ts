/**
 * The `/api` the web chat drives the emulator with: validated input, same-origin only, live events,
 * the page's files, and no secret in anything the page can see.
 */
import { request } from 'node:http';
import { EmulatorStartError, normalizeBotUrl, startEmulator, type EmulatorEvent } from '../../src/index.js';
import { getToken, http, send, sendBody, setup, text, uiHttp, uiPost, type Setup } from './helpers.js';

describe('emulator: UI API', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup();
  });
  afterAll(() => s.close());

  it('creates users, each with a chat, and more chats on demand', async () => {
    const res = await uiPost(s.emu, '/api/users', { name: '  Bob  ' });
    expect(res.status).toBe(201);
    const { user, chat } = res.json as unknown as { user: { id: string; name: string; avatarUrl: string }; chat: { chatId: string; userId: string; open: boolean } };
    expect(user).toEqual({ id: expect.stringMatching(/^\d{12}$/), name: 'Bob', avatarUrl: `${s.emu.url}/avatars/${user.id}.svg` });
    expect(chat).toMatchObject({ userId: user.id, open: true, botId: s.emu.botId });
    const second = await uiPost(s.emu, '/api/chats', { userId: user.id });
    expect(second.status).toBe(201);
    expect((second.json.chat as { chatId: string }).chatId).not.toBe(chat.chatId);
    const avatar = await http('GET', user.avatarUrl);
    expect(avatar.headers['content-type']).toBe('image/svg+xml');
    expect(avatar.text).toContain('>B</text>');
  });

  it('sends a message and, with ?wait=1, answers once the bot has answered', async () => {
    const res = await uiPost(s.emu, `/api/chats/${s.chatId}/messages?wait=1`, { text: 'hello' });
    expect(res.status).toBe(201);
    expect(res.json.item).toMatchObject({ from: 'user', content: { type: 'text', text: 'hello' }, state: 'read' });
  });

  it.each([
    ['/api/users', { name: '' }, 'name', 400],
    ['/api/users', { name: 'x'.repeat(41) }, 'name', 400],
    ['/api/chats', { userId: 'nobody' }, undefined, 404],
    ['/api/chats/CHAT/messages', { text: 'x'.repeat(2001) }, 'text', 400],
    ['/api/chats/CHAT/messages', { text: '   ' }, 'text', 400],
    ['/api/chats/CHAT/messages', { image: { url: 'javascript:alert(1)' } }, 'image.url', 400],
    ['/api/chats/CHAT/messages', { text: 'x', image: { url: 'https://e.com/a.png' } }, '(body)', 400],
    ['/api/chats/CHAT/postback', { label: 'no data' }, 'data', 400],
    ['/api/chats/CHAT/typing', { immediate: 'yes' }, 'immediate', 400],
    ['/api/chats/CHAT/tap', { mid: 'm', action: 9 }, 'action', 400],
    ['/api/chats/CHAT/read', { mids: [] }, 'mids', 400],
    ['/api/chats/999/messages', { text: 'x' }, undefined, 404],
  ])('POST %s with a bad body (case %#) answers 4xx naming the field', async (path, body, field, status) => {
    const res = await uiPost(s.emu, path.replace('CHAT', s.chatId), body);
    expect(res.status).toBe(status);
    expect(typeof res.json.message).toBe('string');
    if (field) {
      const paths = res.json.issues?.map((i) => i.path) ?? [];
      expect(paths.some((p) => p === field || p.endsWith(`.${field}`) || p.startsWith(`${field}.`))).toBe(true);
    }
  });

  it('accepts exactly 2000 characters (code points) from the user', async () => {
    const res = await uiPost(s.emu, `/api/chats/${s.chatId}/messages`, { text: '😀'.repeat(2000) });
    expect(res.status).toBe(201);
  });

  it('refuses bodies that are not JSON, and requests from other origins', async () => {
    const form = await uiHttp('POST', `${s.emu.url}/api/users`, { headers: { 'content-type': 'text/plain' }, body: '{"name":"Eve"}' });
    expect(form.status).toBe(415);
    const bad = await uiHttp('POST', `${s.emu.url}/api/users`, { headers: { 'content-type': 'application/json' }, body: '{"name":' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('invalid_json');
    const foreign = await http('POST', `${s.emu.url}/api/users`, { headers: { origin: 'https://evil.example' }, body: { name: 'Eve' } });
    expect(foreign.status).toBe(403);
    expect(s.emu.users().map((u) => u.name)).not.toContain('Eve');
  });

  it('answers unknown routes and wrong methods with JSON errors', async () => {
    expect((await http('GET', `${s.emu.url}/api/nothing`)).json.error).toBe('not_found');
    const get = await http('GET', `${s.emu.apiUrl}/v1/chats/${s.chatId}`);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
  });

  it('serves the web chat with a strict content security policy', async () => {
    const page = await http('GET', `${s.emu.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(page.text).toContain('<script type="module" src="/app.js">');
    for (const file of ['/app.js', '/style.css', '/favicon.svg']) expect((await http('GET', `${s.emu.url}${file}`)).status).toBe(200);
  });

  it('streams a snapshot, then every change, over Server-Sent Events', async () => {
    const events: EmulatorEvent[] = [];
    const req = request(`${s.emu.url}/api/events`, { agent: false });
    const gotUser = new Promise<void>((resolve, reject) => {
      req.on('response', (res) => {
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        let buffer = '';
        res.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = frame.split('\n').find((l) => l.startsWith('data: '));
            if (!data) continue;
            const event = JSON.parse(data.slice(6)) as EmulatorEvent;
            events.push(event);
            if (event.type === 'snapshot') void uiPost(s.emu, '/api/users', { name: 'Carol' });
            if (event.type === 'user' && event.user.name === 'Carol') resolve();
          }
        });
      });
      req.on('error', reject);
    });
    req.end();
    await gotUser;
    req.destroy();
    expect(events[0]!.type).toBe('snapshot');
    expect(events.some((e) => e.type === 'chat')).toBe(true);
  });

  it('never lets a secret reach the page: state, events and inspector are masked', async () => {
    const token = await getToken(s.emu);
    const mTok = s.emu.mTokOf(s.chatId);
    await send(s, sendBody(s, { messages: [text('masked?')] }), { token });
    await uiPost(s.emu, `/api/chats/${s.chatId}/messages?wait=1`, { text: 'and back' });
    const signature = String(s.bot.callbacks.at(-1)!.headers['bbm-sig']);
    const state = (await http('GET', `${s.emu.url}/api/state`)).text;
    for (const secret of [token, mTok, s.emu.sigKey, s.emu.clientCredentials, signature]) {
      expect(state).not.toContain(secret);
    }
    const api = s.emu.traffic(s.chatId).find((e) => e.kind === 'api')!;
    expect(api.requestHeaders.authorization).toMatch(/^Bearer .+\(masked\)$/);
    expect(api.url).toMatch(/mTok=.+\(masked\)/);
    const cb = s.emu.traffic(s.chatId).find((e) => e.kind === 'callback' && (e.requestBody as { mTok?: string }).mTok)!;
    expect(cb.requestHeaders['bbm-sig']).toMatch(/\(masked\)$/);
    expect((cb.requestBody as { mTok: string }).mTok).toMatch(/\(masked\)$/);
    const tokenEntry = s.emu.traffic().find((e) => e.kind === 'token')!;
    expect(tokenEntry.requestHeaders.authorization).toMatch(/^Basic .+\(masked\)$/);
    expect((tokenEntry.responseBody as { access_token: string }).access_token).toMatch(/\(masked\)$/);
  });
});

describe('startEmulator: options', () => {
  it('refuses a taken port, a bad bot URL or user name, with a typed error', async () => {
    const s = await setup();
    try {
      await expect(startEmulator({ port: s.emu.port })).rejects.toMatchObject({ code: 'PORT_IN_USE', field: 'port' });
      await expect(startEmulator({ port: 0, botUrl: 'ftp://bot' })).rejects.toMatchObject({ code: 'BAD_OPTION', field: 'botUrl' });
      await expect(startEmulator({ port: 0, users: [''] })).rejects.toMatchObject({ code: 'BAD_OPTION', field: 'users' });
      await expect(startEmulator({ port: 0, tokenTtlSeconds: 0 })).rejects.toBeInstanceOf(EmulatorStartError);
    } finally {
      await s.close();
    }
  });

  it('adds /v1/chats to a bot base URL and can be pointed at another bot', async () => {
    expect(normalizeBotUrl('http://127.0.0.1:3000')).toBe('http://127.0.0.1:3000/v1/chats');
    expect(normalizeBotUrl('https://bot.example/hooks/v1/chats/')).toBe('https://bot.example/hooks/v1/chats');
    const s = await setup();
    try {
      const res = await uiHttp('PUT', `${s.emu.url}/api/bot`, { body: { botUrl: 'http://127.0.0.1:1/x' } });
      expect(res.json.botUrl).toBe('http://127.0.0.1:1/x/v1/chats');
      expect((await uiHttp('PUT', `${s.emu.url}/api/bot`, { body: { botUrl: 'nope' } })).status).toBe(400);
    } finally {
      await s.close();
    }
  });
});
