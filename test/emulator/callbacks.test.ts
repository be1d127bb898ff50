/**
 * What the emulated platform sends the bot, and what the user sees as a result: signed callbacks
 * in the spec's shape, retries with backoff, message states, leave/reopen, taps, delivery
 * notifications and the user's typing rules.
 */
import { verifySignature } from '../../src/index.js';
import { okAnswer, send, sendBody, setup, text, uiPost, type RecordedCallback, type Setup } from './helpers.js';

const userItems = (s: Setup) => s.emu.chat(s.chatId).items.filter((i) => i.from === 'user');

describe('emulator: callbacks', () => {
  let s: Setup;
  beforeEach(async () => {
    s = await setup();
  });
  afterEach(() => s.close());

  it('posts a signed callback in the spec\'s shape, with a fresh mTok and the user\'s name and avatar', async () => {
    const { item, done } = s.emu.userSends(s.chatId, { text: 'Hello World!' });
    expect(item.state).toBe('accepted');
    const [cb] = await s.bot.waitFor(1);
    expect(cb!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(verifySignature(Buffer.from(cb!.raw), String(cb!.headers['bbm-sig']), s.emu.sigKey)).toBe(true);
    expect(verifySignature(Buffer.from(cb!.raw), String(cb!.headers['bbm-sig']), 'another key')).toBe(false);
    const user = s.emu.users()[0]!;
    expect(cb!.body).toEqual({
      mType: 'message',
      chId: s.emu.channelId,
      chatId: s.chatId,
      from: user.id,
      to: s.emu.botId,
      mTok: s.emu.mTokOf(s.chatId),
      messages: [{ index: 1, type: 'text', mid: item.id, ts: item.ts, text: 'Hello World!' }],
      userInfos: {
        [user.id]: { name: 'Alice', avatar: [{ imageSize: expect.any(Number), imageType: 'image/svg+xml', resolution: '60x60', url: user.avatarUrl }] },
      },
    });
    // Delivery notifications off: a 200 means read.
    expect((await done).state).toBe('read');
  });

  it('sends images with url and preview', async () => {
    await s.emu.userSends(s.chatId, { image: { url: 'https://example.com/a.jpg', preview: 'https://example.com/a-small.jpg' } }).done;
    expect(s.bot.callbacks[0]!.body.messages![0]).toMatchObject({ type: 'image', image: { url: 'https://example.com/a.jpg', preview: 'https://example.com/a-small.jpg' } });
  });

  it('gives each chat its own mTok, and a new one when the user comes back after leaving', async () => {
    const other = s.emu.openChat(s.userId);
    expect(s.emu.mTokOf(other.chatId)).not.toBe(s.emu.mTokOf(s.chatId));
    const first = s.emu.mTokOf(s.chatId);
    await s.emu.userSends(s.chatId, { text: 'one' }).done;
    await s.emu.userLeaves(s.chatId);
    const leave = s.bot.callbacks.at(-1)!;
    expect(leave.body.actions).toEqual([{ type: 'leave', ts: expect.any(Number) }]);
    // A leave carries no token: the bot must stop using the one it has.
    expect(leave.body.mTok).toBeUndefined();
    expect(s.emu.chat(s.chatId).open).toBe(false);

    s.emu.userReopens(s.chatId);
    await s.emu.userSends(s.chatId, { text: 'back' }).done;
    expect(s.bot.callbacks.at(-1)!.body.mTok).toBe(s.emu.mTokOf(s.chatId));
    expect(s.emu.mTokOf(s.chatId)).not.toBe(first);
  });

  it('marks the message ✖ when the bot answers 4xx, without retrying', async () => {
    s.bot.script(() => ({ status: 400, body: { error: 'bad_request' } }));
    const done = await s.emu.userSends(s.chatId, { text: 'x' }).done;
    expect(done.state).toBe('error');
    expect(done.error).toMatch(/400/);
    expect(s.bot.callbacks).toHaveLength(1);
  });

  it('marks the message ✖ when the bot reports a final per-message failure in a 207', async () => {
    // 400 is final; a 500/503 result is retried (message-retry.test.ts).
    s.bot.script((cb) => ({ status: 207, body: { messages: [{ mid: cb.body.messages![0]!.mid, result: { code: 400, error: 'bad text' } }] } }));
    const done = await s.emu.userSends(s.chatId, { text: 'x' }).done;
    expect(done.state).toBe('error');
    expect(done.error).toMatch(/400 for this message: bad text/);
    expect(s.bot.callbacks).toHaveLength(1);
  });

  it('retries a 5xx up to three attempts in all, with the same signed bytes and growing backoff', async () => {
    const t = await setup({ callbackRetry: { attempts: 3, backoffMs: 60 } });
    try {
      t.bot.script(() => ({ status: 503 }), () => ({ status: 500 }), okAnswer);
      const done = await t.emu.userSends(t.chatId, { text: 'retry me' }).done;
      expect(done.state).toBe('read');
      const cbs = t.bot.callbacks;
      expect(cbs).toHaveLength(3);
      expect(new Set(cbs.map((c) => c.raw)).size).toBe(1);
      expect(new Set(cbs.map((c) => c.headers['bbm-sig'])).size).toBe(1);
      expect(cbs[1]!.at - cbs[0]!.at).toBeGreaterThanOrEqual(55);
      expect(cbs[2]!.at - cbs[1]!.at).toBeGreaterThanOrEqual(115);
      const attempts = t.emu.traffic(t.chatId).filter((e) => e.kind === 'callback').reverse();
      expect(attempts.map((e) => [e.attempt?.n, e.status])).toEqual([[1, 503], [2, 500], [3, 200]]);
      expect(attempts[0]!.notes.join()).toMatch(/will retry in 60 ms/);
    } finally {
      await t.close();
    }
  });

  it('gives up after three attempts and shows ✖', async () => {
    s.bot.fallback = () => ({ status: 503 });
    const done = await s.emu.userSends(s.chatId, { text: 'x' }).done;
    expect(done.state).toBe('error');
    expect(s.bot.callbacks).toHaveLength(3);
  });

  it('retries a callback that times out', async () => {
    const t = await setup({ callbackTimeoutMs: 100 });
    try {
      t.bot.script(() => 'hang', okAnswer);
      const done = await t.emu.userSends(t.chatId, { text: 'slow' }).done;
      expect(done.state).toBe('read');
      expect(t.bot.callbacks).toHaveLength(2);
      const first = t.emu.traffic(t.chatId).filter((e) => e.kind === 'callback').at(-1)!;
      expect(first.status).toBeNull();
      expect(first.error).toMatch(/timed out after 100 ms/);
    } finally {
      await t.close();
    }
  });

  it('shows ✖ with the reason when no bot is listening', async () => {
    await s.bot.close();
    const done = await s.emu.userSends(s.chatId, { text: 'anyone?' }).done;
    expect(done.state).toBe('error');
    expect(done.error).toMatch(/connection refused/);
  });

  it('tells the bot author when a 200 lacks a result for a message', async () => {
    s.bot.script(() => ({ status: 200, body: {} }));
    const done = await s.emu.userSends(s.chatId, { text: 'x' }).done;
    expect(done.state).toBe('read');
    expect(s.emu.traffic(s.chatId)[0]!.notes.join()).toMatch(/no result for mid/);
  });

  it('refuses to send into a chat the user left (409 from the UI API)', async () => {
    await s.emu.userLeaves(s.chatId);
    const res = await uiPost(s.emu, `/api/chats/${s.chatId}/messages`, { text: 'hello?' });
    expect(res.status).toBe(409);
    expect(res.json.error).toBe('chat_closed');
  });
});

describe('emulator: buttons taps', () => {
  let s: Setup;
  let mid: string;
  beforeAll(async () => {
    s = await setup();
    await s.emu.userSends(s.chatId, { text: 'menu' }).done;
    const res = await send(s, sendBody(s, {
      messages: [{
        type: 'buttons',
        buttons: {
          desc: 'Pick one',
          actions: [
            { type: 'postback', postback: { label: 'Book', data: 'action=book' } },
            { type: 'text', text: { label: 'Joke', text: 'tell me a joke' } },
            { type: 'link', link: { label: 'Docs', url: 'https://example.com/docs', text: 'I opened the docs' } },
            { type: 'link', link: { label: 'Site', url: 'https://example.com/' } },
          ],
        },
      }],
    }));
    mid = String(res.json.messages![0]!.mid);
  });
  afterAll(() => s.close());

  const last = (): RecordedCallback => s.bot.callbacks.at(-1)!;

  it('sends a postback action (without the mTok the bot already has)', async () => {
    const done = await s.emu.userTaps(s.chatId, mid, 0).done;
    expect(done).toMatchObject({ kind: 'postback', postback: { data: 'action=book', label: 'Book' }, state: 'delivered' });
    expect(last().body.actions).toEqual([{ type: 'postback', ts: expect.any(Number), postback: { data: 'action=book', label: 'Book' } }]);
    expect(last().body.mTok).toBeUndefined();
  });

  it('sends the mTok with the next action again once told the bot restarted (npm run dev reloads)', async () => {
    s.emu.botRestarted();
    await s.emu.userTaps(s.chatId, mid, 0).done;
    expect(last().body.mTok).toBe(s.emu.mTokOf(s.chatId));
    await s.emu.userTaps(s.chatId, mid, 0).done;
    expect(last().body.mTok).toBeUndefined();
  });

  it('sends a text action\'s text as a message from the user', async () => {
    await s.emu.userTaps(s.chatId, mid, 1).done;
    expect(last().body.messages).toEqual([expect.objectContaining({ type: 'text', text: 'tell me a joke' })]);
    expect(last().body.mTok).toBe(s.emu.mTokOf(s.chatId));
  });

  it('opens a link action and sends its text, or else its label', async () => {
    const tap = s.emu.userTaps(s.chatId, mid, 2);
    expect(tap.url).toBe('https://example.com/docs');
    await tap.done;
    expect(last().body.messages![0]!.text).toBe('I opened the docs');
    await s.emu.userTaps(s.chatId, mid, 3).done;
    expect(last().body.messages![0]!.text).toBe('Site');
  });

  it('answers 400/404 to taps on what the bot did not send', async () => {
    expect((await uiPost(s.emu, `/api/chats/${s.chatId}/tap`, { mid, action: 4 })).status).toBe(400);
    expect((await uiPost(s.emu, `/api/chats/${s.chatId}/tap`, { mid: 'nope', action: 0 })).status).toBe(404);
  });
});

describe('emulator: delivery notifications on', () => {
  let s: Setup;
  beforeEach(async () => {
    s = await setup({ deliveryNotifications: true });
  });
  afterEach(() => s.close());

  it('shows D on a 200, then R when the bot sends a read action', async () => {
    const done = await s.emu.userSends(s.chatId, { text: 'hi' }).done;
    expect(done.state).toBe('delivered');
    const res = await send(s, sendBody(s, { actions: [{ type: 'read', mids: [done.id] }] }));
    expect(res.status).toBe(200);
    expect(userItems(s)[0]!.state).toBe('read');
  });

  it('answers 202 per message, then sends dlv and read actions as the user gets and reads them', async () => {
    await s.emu.userSends(s.chatId, { text: 'hi' }).done;
    const res = await send(s, sendBody(s, { messages: [text('one'), text('two')] }));
    expect(res.status).toBe(200);
    expect(res.json.messages!.map((m) => (m.result as { code: number }).code)).toEqual([202, 202]);
    const mids = res.json.messages!.map((m) => String(m.mid));
    expect(s.emu.chat(s.chatId).items.filter((i) => i.from === 'bot').map((i) => i.state)).toEqual(['accepted', 'accepted']);

    expect(await s.emu.markDelivered(s.chatId, [mids[0]!])).toEqual([mids[0]]);
    expect(s.bot.callbacks.at(-1)!.body.actions).toEqual([{ type: 'dlv', ts: expect.any(Number), mids: [mids[0]] }]);

    // Reading both: the one not yet delivered gets its dlv first, in the same callback.
    expect(await s.emu.markRead(s.chatId)).toEqual(mids);
    expect(s.bot.callbacks.at(-1)!.body.actions).toEqual([
      { type: 'dlv', ts: expect.any(Number), mids: [mids[1]] },
      { type: 'read', ts: expect.any(Number), mids },
    ]);
    expect(s.emu.chat(s.chatId).items.filter((i) => i.from === 'bot').map((i) => i.state)).toEqual(['read', 'read']);
    // Nothing left to report.
    expect(await s.emu.markRead(s.chatId)).toEqual([]);
  });

  it('reports through the UI API too', async () => {
    await s.emu.userSends(s.chatId, { text: 'hi' }).done;
    const res = await send(s, sendBody(s, { messages: [text('one')] }));
    const mid = String(res.json.messages![0]!.mid);
    const read = await uiPost(s.emu, `/api/chats/${s.chatId}/read?wait=1`, { mids: [mid] });
    expect(read.json).toEqual({ mids: [mid] });
    expect(s.bot.callbacks.at(-1)!.body.actions!.map((a) => a.type)).toEqual(['dlv', 'read']);
  });
});

describe('emulator: the user\'s typing, by the spec\'s outgoing rules', () => {
  let s: Setup;
  const typings = () => s.bot.callbacks.filter((c) => c.body.actions?.some((a) => a.type === 'typing'));
  beforeEach(async () => {
    s = await setup({ typing: { delayMs: 80, windowMs: 400, activeMs: 150 } });
  });
  afterEach(() => s.close());
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('sends no typing before the first message of a new chat', async () => {
    s.emu.userTyping(s.chatId);
    await wait(150);
    expect(typings()).toHaveLength(0);
  });

  it('sends typing after the delay, at most once per window, and none when the message goes first', async () => {
    await s.emu.userSends(s.chatId, { text: 'first' }).done;
    s.emu.userTyping(s.chatId);
    s.emu.userTyping(s.chatId);
    await s.bot.waitFor(2, 1000);
    expect(typings()).toHaveLength(1);
    expect(typings()[0]!.body.mTok).toBeUndefined();
    // Still typing within the window: nothing more yet.
    s.emu.userTyping(s.chatId);
    await wait(120);
    expect(typings()).toHaveLength(1);

    // A message resets the window; typing then sending before the delay sends no typing.
    await s.emu.userSends(s.chatId, { text: 'second' }).done;
    s.emu.userTyping(s.chatId);
    await s.emu.userSends(s.chatId, { text: 'third' }).done;
    await wait(150);
    expect(typings()).toHaveLength(1);
  });

  it('after the window, types again only if the user is still typing', async () => {
    await s.emu.userSends(s.chatId, { text: 'first' }).done;
    s.emu.userTyping(s.chatId);
    await wait(120);
    expect(typings()).toHaveLength(1);
    // A keystroke inside the window, then idle: no second typing when the window ends.
    s.emu.userTyping(s.chatId);
    await wait(550);
    expect(typings()).toHaveLength(1);
    // Typing right as the window ends: a second one.
    s.emu.userTyping(s.chatId);
    const deadline = Date.now() + 600;
    while (typings().length < 2 && Date.now() < deadline) {
      s.emu.userTyping(s.chatId);
      await wait(50);
    }
    expect(typings()).toHaveLength(2);
  });

  it('sends typing at once when asked to (immediate), with the mTok if the bot has none yet', async () => {
    s.emu.userTyping(s.chatId, { immediate: true });
    const [cb] = await s.bot.waitFor(1);
    expect(cb!.body.actions).toEqual([{ type: 'typing', ts: expect.any(Number) }]);
    expect(cb!.body.mTok).toBe(s.emu.mTokOf(s.chatId));
  });
});
