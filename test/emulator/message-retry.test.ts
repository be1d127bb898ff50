/**
 * A 207 whose result for a message is 500 or 503 asks the platform to send that message again: the
 * emulator does, with only those messages, after Retry-After (capped) or its backoff, within the same
 * attempt limit as whole-request retries, and the web chat shows 🕒 meanwhile and ✖ when it gives up.
 */
import { TrafficLog } from '../../src/emulator/traffic.js';
import { CallbackSender, retryAfterMs } from '../../src/emulator/callbacks.js';
import type { EmulatorEvent, TrafficEntry } from '../../src/index.js';
import { setup, startFakeBot, type BotScript, type RecordedCallback, type Setup } from './helpers.js';

/** A 207 saying `code` for every message the callback carries. */
const each = (code: number, headers?: Record<string, string>): BotScript => (cb) => ({
  status: 207,
  ...(headers ? { headers } : {}),
  body: { messages: cb.body.messages!.map((m) => ({ mid: m.mid, result: code === 200 ? { code } : { code, error: 'turn deadline' } })) },
});

const callbacksOf = (s: Setup): TrafficEntry[] => s.emu.traffic(s.chatId).filter((e) => e.kind === 'callback').reverse();

describe('emulator: per-message retries asked for in a 207', () => {
  let s: Setup;
  let states: string[];
  beforeEach(async () => {
    s = await setup({ callbackRetry: { attempts: 3, backoffMs: 20, maxRetryAfterMs: 80 } });
    states = [];
    s.emu.onEvent((e: EmulatorEvent) => {
      if (e.type !== 'chat') return;
      const item = e.chat.items.find((i) => i.from === 'user');
      if (item && item.from === 'user' && states.at(-1) !== item.state) states.push(item.state);
    });
  });
  afterEach(() => s.close());

  it('sends a message answered 503 again once, after Retry-After (capped), and shows it read on 200', async () => {
    s.bot.script(each(503, { 'retry-after': '5' }), each(200));
    const { item, done } = s.emu.userSends(s.chatId, { text: 'later please' });
    const final = await done;
    expect(final.state).toBe('read');
    expect(final.error).toBeUndefined();
    expect(final.retry).toBeUndefined();
    expect(states).toEqual(['accepted', 'waiting', 'read']);

    const [first, second] = s.bot.callbacks as [RecordedCallback, RecordedCallback];
    expect(s.bot.callbacks).toHaveLength(2);
    expect(second.body.messages).toEqual(first.body.messages);
    expect(second.body.messages!.map((m) => m.mid)).toEqual([item.id]);
    expect(second.body.chatId).toBe(s.chatId);
    expect(second.body.mTok).toBe(s.emu.mTokOf(s.chatId));
    // Retry-After: 5 s, capped at 80 ms for this emulator.
    expect(second.at - first.at).toBeGreaterThanOrEqual(75);

    const entries = callbacksOf(s);
    expect(entries.map((e) => [e.attempt?.n, e.status, e.retryOf])).toEqual([[1, 207, undefined], [2, 207, entries[0]!.id]]);
    expect(entries[0]!.notes.join()).toMatch(new RegExp(`will send ${item.id} \\(503\\) again in 80 ms \\(Retry-After\\)`));
  });

  it('gives up when every answer says 503: ✖ with the reason after the attempt limit', async () => {
    s.bot.fallback = each(503);
    const final = await s.emu.userSends(s.chatId, { text: 'never' }).done;
    expect(final.state).toBe('error');
    expect(final.error).toBe('the bot answered 503 for this message (3 attempts): turn deadline');
    expect(states).toEqual(['accepted', 'waiting', 'error']);
    // Three attempts in all, the same limit as whole-request 5xx; no Retry-After, so the usual backoff.
    const cbs = s.bot.callbacks;
    expect(cbs).toHaveLength(3);
    expect(cbs[1]!.at - cbs[0]!.at).toBeGreaterThanOrEqual(18);
    expect(cbs[2]!.at - cbs[1]!.at).toBeGreaterThanOrEqual(38);
    const entries = callbacksOf(s);
    expect(entries.map((e) => e.retryOf)).toEqual([undefined, entries[0]!.id, entries[1]!.id]);
    expect(entries[2]!.notes.join()).not.toMatch(/again/);
  });

  it.each([400, 409])('takes a %i result as final: no retry, ✖ at once', async (code) => {
    s.bot.script(each(code));
    const final = await s.emu.userSends(s.chatId, { text: 'bad' }).done;
    expect(final.state).toBe('error');
    expect(final.error).toBe(`the bot answered ${code} for this message: turn deadline`);
    expect(s.bot.callbacks).toHaveLength(1);
  });

  it('a per-message 500 is retried too, and the retry may itself meet a whole-request 5xx', async () => {
    s.bot.script(each(500), () => ({ status: 503 }), each(200));
    const final = await s.emu.userSends(s.chatId, { text: 'bumpy' }).done;
    expect(final.state).toBe('read');
    expect(callbacksOf(s).map((e) => [e.attempt?.n, e.status])).toEqual([[1, 207], [2, 503], [3, 207]]);
  });
});

describe('CallbackSender: only the messages a 207 asks for go again', () => {
  it('resends the 503 message in a new callback and keeps the other\'s 200', async () => {
    const bot = await startFakeBot();
    const abort = new AbortController();
    try {
      const sender = new CallbackSender({
        botUrl: () => bot.url, sigKey: 'k', timeoutMs: 2000, signal: abort.signal,
        retry: { attempts: 3, backoffMs: 10, maxRetryAfterMs: 1000 },
        traffic: new TrafficLog(50, () => {}),
      });
      const messages = [{ index: 1, type: 'text', mid: 'a', text: 'one' }, { index: 2, type: 'text', mid: 'b', text: 'two' }];
      bot.script(
        () => ({ status: 207, body: { messages: [{ mid: 'a', result: { code: 200 } }, { mid: 'b', result: { code: 503 } }] } }),
        () => ({ status: 200, body: { messages: [{ mid: 'b', result: { code: 200 } }] } }),
      );
      const rebuilt: string[][] = [];
      const outcome = await sender.send('c1', { chatId: 'c1', messages }, ['a', 'b'], {
        rebuild: (mids) => {
          rebuilt.push([...mids]);
          return { chatId: 'c1', messages: messages.filter((m) => mids.includes(m.mid)) };
        },
      });
      expect(rebuilt).toEqual([['b']]);
      expect(bot.callbacks.map((c) => c.body.messages!.map((m) => m.mid))).toEqual([['a', 'b'], ['b']]);
      expect(outcome.ok).toBe(true);
      expect([...outcome.results].map(([mid, r]) => [mid, r.code, r.attempts])).toEqual([['a', 200, 1], ['b', 200, 2]]);
    } finally {
      abort.abort();
      await bot.close();
    }
  });

  it('reads Retry-After as seconds or a date, capped, and ignores nonsense', () => {
    expect(retryAfterMs('2', 30_000)).toBe(2000);
    expect(retryAfterMs('3600', 30_000)).toBe(30_000);
    expect(retryAfterMs(new Date(Date.now() - 5000).toUTCString(), 30_000)).toBe(0);
    expect(retryAfterMs('soon', 30_000)).toBeUndefined();
    expect(retryAfterMs(undefined, 30_000)).toBeUndefined();
  });
});
