/**
 * The inspector's dialog panel, server side: `GET /api/chats/:id/dialog` over a real socket reads
 * the bot's dialog record through the reader the emulator was started with (the bot's MemoryStore
 * here; the dev runner's Redis reader against the real Redis), shows its fields loosely, and says
 * so plainly when it has no reader, no record, a record of an unknown shape, or a store that fails.
 */
import { randomBytes } from 'node:crypto';
import { devDialogReader } from '../../src/dev/dialog-reader.js';
import { chatKey, dialogReaderFromStore, inspectDialog, MemoryStore, RedisStore, viewDialogRecord } from '../../src/index.js';
import { http, setup, type Setup } from './helpers.js';

const NOW = Date.UTC(2025, 0, 2, 10, 0, 0);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A record shaped as the conversation engine stores it (issue 16's DialogRecord). */
const booking = {
  v: 1,
  name: 'booking',
  arg: null,
  run: 'r-1',
  journal: [{ k: 'reply' }, { k: 'wait' }, { k: 'reply' }],
  wait: { seq: 2, accepts: 'text', timeoutAt: NOW + 90_000 },
  lastEvent: 'mid-7',
  startedAt: NOW - 60_000,
  updatedAt: NOW - 5_000,
  seq: 2,
  steps: 0,
  turns: 2,
};

describe('emulator: the inspector shows a chat dialog', () => {
  let store: MemoryStore;
  let s: Setup;
  let bare: Setup;

  beforeAll(async () => {
    store = new MemoryStore();
    s = await setup({ readDialog: dialogReaderFromStore(store), now: () => NOW });
    bare = await setup();
  });
  afterAll(async () => {
    await s.close();
    await bare.close();
    await store.close();
  });

  const get = (on: Setup, chatId: string) => http('GET', `${on.emu.url}/api/chats/${encodeURIComponent(chatId)}/dialog`);

  it("answers the chat's running dialog: name, what it waits for, its timeout, turns, journal length, times", async () => {
    await store.set(chatKey('conv', s.chatId), booking, 60_000);
    const res = await get(s, s.chatId);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json.dialog).toEqual({
      status: 'active',
      name: 'booking',
      run: 'r-1',
      waitsFor: 'text',
      timeoutAt: NOW + 90_000,
      timeoutInMs: 90_000,
      turns: 2,
      journalLength: 3,
      startedAt: NOW - 60_000,
      updatedAt: NOW - 5_000,
      lastEvent: 'mid-7',
      raw: booking,
    });
  });

  it('answers "none" for a chat without a dialog, and 404 for a chat the emulator does not know', async () => {
    await store.delete(chatKey('conv', s.chatId));
    expect((await get(s, s.chatId)).json.dialog).toEqual({ status: 'none' });
    const unknown = await get(s, '999999');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toBe('chat_not_found');
  });

  it('says the dialog cannot be seen when the emulator has no reader of the bot store', async () => {
    const res = await get(bare, bare.chatId);
    expect(res.status).toBe(200);
    expect(res.json.dialog).toMatchObject({ status: 'unavailable', reason: expect.stringContaining('npm run dev') });
  });

  it('shows a record of an unknown shape as raw JSON, and keeps only the well-typed fields of a dialog', async () => {
    await store.set(chatKey('conv', s.chatId), ['not', 'a', 'dialog'], 60_000);
    expect((await get(s, s.chatId)).json.dialog).toEqual({ status: 'unrecognized', reason: expect.any(String), raw: ['not', 'a', 'dialog'] });

    const odd = { name: 'survey', turns: 'many', journal: 'long', wait: { accepts: ['text', 'postback'], timeoutAt: 'soon' }, v: 9 };
    await store.set(chatKey('conv', s.chatId), odd, 60_000);
    expect((await get(s, s.chatId)).json.dialog).toEqual({ status: 'active', name: 'survey', waitsFor: 'text or postback', raw: odd });
    await store.delete(chatKey('conv', s.chatId));
  });

  it('reads loosely: a wait without a description waits for any event; an object description is shown as JSON', () => {
    expect(viewDialogRecord({ name: 'x', wait: {} }, NOW)).toMatchObject({ waitsFor: 'any event' });
    expect(viewDialogRecord({ name: 'x', wait: { accepts: { for: 'postback', from: 'buttons' } } }, NOW)).toMatchObject({
      waitsFor: '{"for":"postback","from":"buttons"}',
    });
    expect(viewDialogRecord({ name: 'x', wait: { timeoutAt: NOW - 1000 } }, NOW)).toMatchObject({ timeoutInMs: -1000 });
    expect(viewDialogRecord('text', NOW)).toMatchObject({ status: 'unrecognized' });
    // A sub-flow still running is an open `call:` frame of the journal; a finished one is collapsed.
    const journal = [{ k: 'done', t: 'call:intro', r: 1 }, { k: 'open', t: 'call:address' }, { k: 'open', t: 'loop' }, { k: 'open', t: 'call:city' }];
    expect(viewDialogRecord({ name: 'booking', journal }, NOW)).toMatchObject({ subflows: ['address', 'city'], journalLength: 4 });
    expect(viewDialogRecord({ name: 'booking', journal: [] }, NOW)).not.toHaveProperty('subflows');
    expect(viewDialogRecord(null, NOW)).toEqual({ status: 'none' });
  });

  it('turns a failing or hanging store into an error view, bounded in time, never a thrown error', async () => {
    const failing = await inspectDialog('1', { readDialog: () => Promise.reject(new Error('redis away')) });
    expect(failing).toEqual({ status: 'error', message: expect.stringContaining('redis away') });
    const throwing = await inspectDialog('1', {
      readDialog: () => {
        throw new Error('sync failure');
      },
    });
    expect(throwing).toMatchObject({ status: 'error', message: expect.stringContaining('sync failure') });
    const started = Date.now();
    const hanging = await inspectDialog('1', { readDialog: () => new Promise(() => undefined), timeoutMs: 50 });
    expect(hanging).toMatchObject({ status: 'error', message: expect.stringContaining('did not answer within 50 ms') });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("the route answers the error view (200) when the bot's store fails", async () => {
    const broken = await setup({ readDialog: () => Promise.reject(new Error('store down')) });
    try {
      const res = await get(broken, broken.chatId);
      expect(res.status).toBe(200);
      expect(res.json.dialog).toMatchObject({ status: 'error', message: expect.stringContaining('store down') });
    } finally {
      await broken.close();
    }
  });
});

describe('npm run dev: the dialog reader', () => {
  it("reads the dialog from the bot's Redis under REDIS_PREFIX, opening its connection on the first look", async () => {
    const prefix = `dlgtest-${randomBytes(4).toString('hex')}:`;
    const bot = await RedisStore.connect(REDIS_URL, { prefix });
    const settings: Record<string, string> = { REDIS_URL, REDIS_PREFIX: prefix };
    const reader = devDialogReader((name) => settings[name], undefined);
    try {
      await bot.set(chatKey('conv', 'c:1'), booking, 60_000);
      await expect(reader.read('c:1')).resolves.toEqual(booking);
      await expect(reader.read('other')).resolves.toBeUndefined();
    } finally {
      await bot.delete(chatKey('conv', 'c:1'));
      await bot.close();
      await reader.close();
    }
    await expect(reader.read('c:1')).rejects.toThrow(/stopping/);
  });

  it('a Redis that does not answer fails the look, not the runner, and is tried again on the next', async () => {
    const settings: Record<string, string> = { REDIS_URL: 'redis://127.0.0.1:1' };
    const reader = devDialogReader((name) => settings[name], undefined);
    await expect(reader.read('c')).rejects.toThrow(/REDIS_URL/);
    await expect(reader.read('c')).rejects.toThrow(/REDIS_URL/);
    await reader.close();
  });

  it("reads the runner's own store when it holds the bot's state", async () => {
    const memory = new MemoryStore();
    await memory.set(chatKey('conv', '42'), booking, 60_000);
    const reader = devDialogReader(() => undefined, memory);
    await expect(reader.read('42')).resolves.toEqual(booking);
    await reader.close();
    await memory.close();
  });
});
