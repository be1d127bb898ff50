/**
 * The emulator's token service and Chat API against the spec: credentials, bearer tokens, mTok and
 * chat checks, every outbound limit, and the per-message results.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUTBOUND_LIMITS } from '../../src/index.js';
import { getToken, http, send, sendBody, setup, text, type Setup } from './helpers.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

describe('emulator: token service', () => {
  let s: Setup;
  let clock = 1_000_000;
  beforeAll(async () => {
    s = await setup({ tokenTtlSeconds: 60, now: () => clock });
  });
  afterAll(() => s.close());

  const ask = (authorization: string | undefined, body = 'grant_type=client_credentials') =>
    http('POST', s.emu.tokenUrl, {
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
      body,
    });

  it('issues an opaque bearer token with the configured lifetime for the right Basic credentials', async () => {
    const res = await ask(`Basic ${s.emu.clientCredentials}`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 60 });
    expect(String(res.json.access_token).length).toBeGreaterThanOrEqual(40);
    expect(await getToken(s.emu)).not.toBe(res.json.access_token);
  });

  it('refuses wrong or missing credentials with 401', async () => {
    for (const auth of [undefined, 'Basic d3Jvbmc6Y3JlZHM=', `Bearer ${s.emu.clientCredentials}`, `Basic ${s.emu.clientCredentials}x`]) {
      const res = await ask(auth);
      expect(res.status).toBe(401);
      expect(res.json.error).toBe('invalid_client');
      expect(res.headers['www-authenticate']).toMatch(/^Basic/);
    }
  });

  it('refuses another grant type with 400', async () => {
    const res = await ask(`Basic ${s.emu.clientCredentials}`, 'grant_type=password');
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('unsupported_grant_type');
  });

  it('answers 401 to an expired token', async () => {
    const token = await getToken(s.emu);
    const body = sendBody(s, { messages: [text('before expiry')] });
    expect((await send(s, body, { token })).status).toBe(200);
    clock += 60_000;
    const res = await send(s, body, { token });
    expect(res.status).toBe(401);
    expect(res.json.message).toMatch(/expired/);
    expect(res.headers['www-authenticate']).toMatch(/invalid_token/);
  });
});

describe('emulator: Chat API', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup();
  });
  afterAll(() => s.close());

  it('answers 200 with a result per message, in index order, with mid and ts', async () => {
    const before = Date.now();
    const res = await send(s, sendBody(s, { messages: [text('second', 2), text('first', 1)] }));
    expect(res.status).toBe(200);
    expect(res.json.messages).toEqual([
      { index: 1, type: 'result', mid: expect.stringMatching(/^[0-9a-f]{16}$/), ts: expect.any(Number), result: { code: 200 } },
      { index: 2, type: 'result', mid: expect.stringMatching(/^[0-9a-f]{16}$/), ts: expect.any(Number), result: { code: 200 } },
    ]);
    expect(res.json.messages![0]!.ts).toBeGreaterThanOrEqual(before);
    const botItems = s.emu.chat(s.chatId).items.filter((i) => i.from === 'bot');
    expect(botItems.slice(-2).map((i) => (i.from === 'bot' && i.message.type === 'text' ? i.message.text : ''))).toEqual(['first', 'second']);
    expect(botItems.at(-1)).toMatchObject({ id: res.json.messages![1]!.mid, state: 'delivered' });
    // The bot named itself in userInfos: the UI shows that name.
    expect(s.emu.state().config.botName).toBe('TestBot');
  });

  it('answers {} to a send with only actions', async () => {
    const res = await send(s, sendBody(s, { actions: [{ type: 'typing' }] }));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({});
  });

  it('accepts the spec sample\'s string index ("1"), with a note in the inspector', async () => {
    const res = await send(s, sendBody(s, { messages: [{ index: '1', type: 'text', text: 'Hello Alice!' }] }));
    expect(res.status).toBe(200);
    expect(s.emu.traffic(s.chatId)[0]!.notes.join()).toMatch(/index was sent as a string/);
  });

  it('answers 401 without a bearer token or with one it never issued', async () => {
    const body = sendBody(s, { messages: [text('x')] });
    const none = await send(s, body, { token: null });
    expect(none.status).toBe(401);
    expect(none.json.error).toBe('unauthorized');
    expect((await send(s, body, { token: 'not-a-token' })).status).toBe(401);
  });

  it('answers 404 for a chat no user started', async () => {
    const res = await send(s, sendBody(s, { messages: [text('x')] }), { chatId: '999999999' });
    expect(res.status).toBe(404);
    expect(res.json.error).toBe('chat_not_found');
  });

  it('answers 403 without the mTok or with a wrong one', async () => {
    const body = sendBody(s, { messages: [text('x')] });
    const missing = await send(s, body, { mTok: null });
    expect(missing.status).toBe(403);
    expect(missing.json.message).toMatch(/mTok/);
    expect((await send(s, body, { mTok: 'MS4xNDc2ODM4MDk3LjdkZDk4' })).status).toBe(403);
  });

  it('answers 403 when from is not the bot or to is not the chat\'s user, 400 when chatId differs from the URL', async () => {
    const good = sendBody(s, { messages: [text('x')] });
    const wrongFrom = await send(s, { ...good, from: '123', userInfos: { '123': { name: 'Other' } } });
    expect(wrongFrom.status).toBe(403);
    expect(wrongFrom.json.message).toMatch(/from/);
    const wrongTo = await send(s, { ...good, to: '123' });
    expect(wrongTo.status).toBe(403);
    expect(wrongTo.json.message).toMatch(/to must be/);
    const wrongChat = await send(s, { ...good, chatId: '42' });
    expect(wrongChat.status).toBe(400);
    expect(wrongChat.json.issues).toEqual([{ path: 'chatId', message: expect.stringContaining('URL') }]);
  });

  it('answers 400 to a body that is not JSON', async () => {
    const res = await send(s, '{"mType": ');
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/JSON/);
  });

  const long = (n: number) => 'a'.repeat(n);
  const url = (n: number) => `https://example.com/${'p'.repeat(n - 'https://example.com/'.length)}`;
  const buttons = (b: Record<string, unknown>) => ({ type: 'buttons', buttons: { desc: 'Pick one', actions: [{ type: 'postback', postback: { label: 'OK', data: 'ok' } }], ...b } });
  const action = (a: Record<string, unknown>) => buttons({ actions: [a] });

  /** [name, body content, the path the 400 names] */
  const violations: [string, { messages?: unknown[]; actions?: unknown[] }, string][] = [
    ['text over 2000 characters', { messages: [text(long(OUTBOUND_LIMITS.text + 1))] }, 'messages.0.text'],
    ['text over 2000 code points (emoji)', { messages: [text('😀'.repeat(OUTBOUND_LIMITS.text + 1))] }, 'messages.0.text'],
    ['empty text', { messages: [text('')] }, 'messages.0.text'],
    ['image url over 4096', { messages: [{ type: 'image', image: { url: url(4097) } }] }, 'messages.0.image.url'],
    ['image preview over 4096', { messages: [{ type: 'image', image: { url: url(100), preview: url(4097) } }] }, 'messages.0.image.preview'],
    ['link url over 4096', { messages: [{ type: 'link', link: { url: url(4097) } }] }, 'messages.0.link.url'],
    ['link target not def/ext', { messages: [{ type: 'link', link: { url: url(50), target: 'new' } }] }, 'messages.0.link.target'],
    ['buttons imageUrl over 1000', { messages: [buttons({ imageUrl: url(1001), desc: 'x' })] }, 'messages.0.buttons.imageUrl'],
    ['buttons title over 40', { messages: [buttons({ title: long(41) })] }, 'messages.0.buttons.title'],
    ['buttons desc over 160', { messages: [buttons({ desc: long(161) })] }, 'messages.0.buttons.desc'],
    ['buttons desc over 60 with a title', { messages: [buttons({ title: 'T', desc: long(61) })] }, 'messages.0.buttons.desc'],
    ['buttons desc over 60 with an image', { messages: [buttons({ imageUrl: url(40), desc: long(61) })] }, 'messages.0.buttons.desc'],
    ['buttons without actions', { messages: [buttons({ actions: [] })] }, 'messages.0.buttons.actions'],
    ['buttons with five actions', { messages: [buttons({ actions: Array.from({ length: 5 }, (_, i) => ({ type: 'postback', postback: { label: `L${i}`, data: `d${i}` } })) })] }, 'messages.0.buttons.actions'],
    ['action label over 20', { messages: [action({ type: 'postback', postback: { label: long(21), data: 'd' } })] }, 'messages.0.buttons.actions.0.postback.label'],
    ['postback data over 300', { messages: [action({ type: 'postback', postback: { label: 'L', data: long(301) } })] }, 'messages.0.buttons.actions.0.postback.data'],
    ['postback text over 300', { messages: [action({ type: 'postback', postback: { label: 'L', data: 'd', text: long(301) } })] }, 'messages.0.buttons.actions.0.postback.text'],
    ['text action text over 300', { messages: [action({ type: 'text', text: { label: 'L', text: long(301) } })] }, 'messages.0.buttons.actions.0.text.text'],
    ['link action url over 4096', { messages: [action({ type: 'link', link: { label: 'L', url: url(4097) } })] }, 'messages.0.buttons.actions.0.link.url'],
    ['a message type the Chat API does not take', { messages: [{ type: 'video', video: {} }] }, 'messages.0.type'],
    ['an unknown property', { messages: [{ type: 'text', text: 'x', colour: 'red' }] }, 'messages.0'],
    ['read without mids', { actions: [{ type: 'read', mids: [] }] }, 'actions.0.mids'],
    ['an action type a bot cannot send', { actions: [{ type: 'leave' }] }, 'actions.0.type'],
    ['neither actions nor messages', {}, '(body)'],
  ];

  it.each(violations)('answers 400 naming the field: %s', async (_name, content, path) => {
    const before = s.emu.chat(s.chatId).items.length;
    const res = await send(s, sendBody(s, content));
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('bad_request');
    expect(res.json.issues!.map((i) => i.path)).toContain(path);
    expect(res.json.message).toContain(path);
    // Nothing of a refused request reaches the chat.
    expect(s.emu.chat(s.chatId).items.length).toBe(before);
  });

  it('accepts exactly 2000 code points, and every limit at its bound', async () => {
    const res = await send(s, sendBody(s, {
      messages: [
        text('😀'.repeat(OUTBOUND_LIMITS.text)),
        { type: 'image', image: { url: url(4096), preview: url(4096) } },
        { type: 'link', link: { url: url(4096), target: 'ext' } },
        buttons({ imageUrl: url(1000), title: long(40), desc: long(60), actions: [
          { type: 'postback', postback: { label: long(20), data: long(300), text: long(300) } },
          { type: 'text', text: { label: long(20), text: long(300) } },
          { type: 'link', link: { label: long(20), url: url(4096), text: long(300) } },
          { type: 'postback', postback: { label: 'L', data: 'd' } },
        ] }),
        buttons({ desc: long(160) }),
      ],
    }));
    expect(res.status).toBe(200);
    expect(res.json.messages).toHaveLength(5);
  });

  it('answers 400 to the spec\'s own buttons sample (desc over 60 with a header, a 22-character label)', async () => {
    const sample = JSON.parse(readFileSync(join(FIXTURES, 'outbound-buttons-spec-sample.json'), 'utf8')) as Record<string, unknown>;
    const res = await send(s, { ...sample, chatId: s.chatId, from: s.emu.botId, to: s.userId, userInfos: { [s.emu.botId]: { name: 'BobBot' } } });
    expect(res.status).toBe(400);
    const paths = res.json.issues!.map((i) => i.path);
    expect(paths).toContain('messages.0.buttons.desc');
    expect(paths).toContain('messages.0.buttons.actions.0.text.label');
  });

  it('answers 400 when userInfos has no entry for from', async () => {
    const res = await send(s, { ...sendBody(s, { messages: [text('x')] }), userInfos: {} });
    expect(res.status).toBe(400);
    expect(res.json.issues!.map((i) => i.path)).toContain('userInfos');
  });

  it('shows the bot typing until its next message, and clears it after the timeout', async () => {
    const t = await setup({ botTypingTimeoutMs: 150 });
    try {
      await send(t, sendBody(t, { actions: [{ type: 'typing' }] }));
      expect(t.emu.chat(t.chatId).botTyping).toBe(true);
      await send(t, sendBody(t, { messages: [text('done')] }));
      expect(t.emu.chat(t.chatId).botTyping).toBe(false);
      await send(t, sendBody(t, { actions: [{ type: 'typing' }] }));
      await t.emu.waitFor(() => !t.emu.chat(t.chatId).botTyping, 2000, 'typing to clear');
    } finally {
      await t.close();
    }
  });
});

describe('emulator: leaving and reopening', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup();
  });
  afterAll(() => s.close());

  it('answers 404 for the chat after the user left, 403 for the old mTok once reopened', async () => {
    const oldTok = s.emu.mTokOf(s.chatId);
    const body = sendBody(s, { messages: [text('are you there?')] });
    expect((await send(s, body)).status).toBe(200);
    await s.emu.userLeaves(s.chatId);
    const left = await send(s, body);
    expect(left.status).toBe(404);
    expect(left.json.error).toBe('chat_closed');
    // A wrong token is still a 403, left or not.
    expect((await send(s, body, { mTok: 'bogus' })).status).toBe(403);

    s.emu.userReopens(s.chatId);
    const newTok = s.emu.mTokOf(s.chatId);
    expect(newTok).not.toBe(oldTok);
    const stale = await send(s, body, { mTok: oldTok });
    expect(stale.status).toBe(403);
    expect(stale.json.message).toMatch(/earlier session/);
    expect((await send(s, body, { mTok: newTok })).status).toBe(200);
  });
});
