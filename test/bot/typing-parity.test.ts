/**
 * The three users of the spec's outgoing typing rules send typing actions at the same moments for
 * the same timeline: `ctx.withTyping` (the work running is the typing), `TypingRelay` (an operator's
 * keystrokes) and the emulator's `OutgoingTyping` (the web-chat user's keystrokes). One table, a
 * FakeClock, times to the millisecond.
 */
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { Context, type TurnServices } from '../../src/bot/context.js';
import { TypingRelay } from '../../src/bot/typing-relay.js';
import type { SendResult } from '../../src/client/index.js';
import { OutgoingTyping, SPEC_TYPING } from '../../src/emulator/typing.js';
import type { OutboundAction } from '../../src/protocol/outbound.js';
import { FakeClock } from '../../src/testing/fake-clock.js';

/** Typing from `from` to `to` (ms), ended by the message going out, or by a stop without one. */
interface Span {
  from: number;
  to: number;
  end: 'message' | 'stop';
}

interface Case {
  name: string;
  spans: Span[];
  expected: number[];
}

const CASES: Case[] = [
  { name: 'continuous typing: 5 s, then 30 s + 5 s each', spans: [{ from: 0, to: 100_000, end: 'message' }], expected: [5_000, 40_000, 75_000] },
  { name: 'rule 2: the message at 4,999 ms cancels', spans: [{ from: 0, to: 4_999, end: 'message' }], expected: [] },
  { name: 'typing that ends at 4,999 ms without a message sends nothing', spans: [{ from: 0, to: 4_999, end: 'stop' }], expected: [] },
  {
    name: 'rule 5: a message resets the window',
    spans: [{ from: 0, to: 10_000, end: 'message' }, { from: 12_000, to: 20_000, end: 'message' }],
    expected: [5_000, 17_000],
  },
  {
    name: 'rule 1: typing again within 30 s waits for the window, then the 5 s delay',
    spans: [{ from: 0, to: 10_000, end: 'stop' }, { from: 20_000, to: 50_000, end: 'stop' }],
    expected: [5_000, 40_000],
  },
  { name: 'rule 4: stopping after the window, before the new 5 s pass', spans: [{ from: 0, to: 38_000, end: 'stop' }], expected: [5_000] },
  {
    name: 'typing after the window starts at rule 1 again',
    spans: [{ from: 0, to: 10_000, end: 'stop' }, { from: 40_000, to: 50_000, end: 'message' }],
    expected: [5_000, 45_000],
  },
];

/** One user of the rules, as the timeline drives it. */
interface Driver {
  start(): void;
  keystroke(): void;
  end(kind: Span['end']): Promise<void>;
}

type Make = (clock: FakeClock, send: () => void) => Driver;

const relay: Make = (clock, send) => {
  const r = new TypingRelay({ clock, send });
  return {
    start: () => r.operatorTyping(),
    keystroke: () => r.operatorTyping(),
    end: async (kind) => (kind === 'message' ? r.messageSent() : r.cancel()),
  };
};

const emulator: Make = (clock, send) => {
  const t = new OutgoingTyping(send, SPEC_TYPING, clock);
  return {
    start: () => t.keystroke(),
    keystroke: () => t.keystroke(),
    end: async (kind) => (kind === 'message' ? t.messageSent() : t.cancel()),
  };
};

function turn(clock: FakeClock, onSend: (actions: readonly OutboundAction[]) => Promise<SendResult>, log = pino({ enabled: false })): Context {
  const services: TurnServices = { deliveryNotifications: false, clock, send: (_chat, _user, _messages, actions) => onSend(actions) };
  return new Context({
    callback: undefined,
    chat: { id: 'c1', mTok: 't', channel: undefined, botId: 'b' },
    user: { id: 'u1', name: 'Alice', avatars: [] },
    events: new Set(['text']),
    log,
    services,
  });
}

const ok = Promise.resolve({} as SendResult);

const withTyping: Make = (clock, send) => {
  const ctx = turn(clock, (actions) => {
    if (actions.some((a) => a.type === 'typing')) send();
    return ok;
  });
  let release = () => {};
  let done: Promise<unknown> = Promise.resolve();
  return {
    start: () => {
      const gate = new Promise<void>((r) => (release = r));
      done = ctx.withTyping(() => gate);
    },
    keystroke: () => {},
    end: async (kind) => {
      if (kind === 'message') await ctx.reply('done');
      release();
      await done;
    },
  };
};

/** Plays a timeline: keystrokes every second while typing; timers due at a moment fire before what happens at it. */
async function play(make: Make, spans: Span[]): Promise<number[]> {
  const clock = new FakeClock();
  const start = clock.now();
  const sent: number[] = [];
  const driver = make(clock, () => sent.push(clock.now() - start));
  const at = (t: number) => clock.advance(start + t - clock.now());
  for (const span of spans) {
    at(span.from);
    driver.start();
    for (let t = span.from + 1_000; t < span.to; t += 1_000) {
      at(t);
      driver.keystroke();
    }
    at(span.to);
    await driver.end(span.end);
  }
  at(300_000);
  return sent;
}

describe('one reading of the outgoing typing rules for withTyping, TypingRelay and the emulator', () => {
  const users: [string, Make][] = [
    ['ctx.withTyping', withTyping],
    ['TypingRelay', relay],
    ["the emulator's OutgoingTyping", emulator],
  ];
  describe.each(users)('%s', (_name, make) => {
    it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_case, c) => {
      expect(await play(make, c.spans)).toEqual(c.expected);
    });
  });
});

describe('ctx.withTyping', () => {
  it('leaves no timer once the work settles, and sends nothing after', async () => {
    const clock = new FakeClock();
    const sent: number[] = [];
    const ctx = turn(clock, () => {
      sent.push(clock.now());
      return ok;
    });
    let release = () => {};
    const done = ctx.withTyping(() => new Promise<void>((r) => (release = r)));
    clock.advance(6_000); // one typing action at 5 s
    release();
    await done;
    expect(clock.pendingTimers).toBe(0);
    clock.advance(300_000);
    expect(sent).toHaveLength(1);
  });

  it('a work that throws still stops the typing, and its error reaches the caller', async () => {
    const clock = new FakeClock();
    const ctx = turn(clock, () => ok);
    await expect(ctx.withTyping(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(ctx.withTyping(() => {
      throw new Error('sync boom');
    })).rejects.toThrow('sync boom');
    expect(clock.pendingTimers).toBe(0);
  });

  it('a failed typing action is logged, not thrown, and the work goes on', async () => {
    const clock = new FakeClock();
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, new Writable({ write: (chunk: Buffer, _enc, cb) => (lines.push(chunk.toString()), cb()) }));
    const ctx = turn(clock, () => Promise.reject(new Error('chat api down')), log);
    let release = () => {};
    const done = ctx.withTyping(async () => {
      await new Promise<void>((r) => (release = r));
      return 'result';
    });
    clock.advance(5_000);
    await new Promise((r) => setImmediate(r));
    release();
    await expect(done).resolves.toBe('result');
    expect(lines.map((l) => JSON.parse(l) as { msg: string; err?: { message: string } })).toEqual([
      expect.objectContaining({ msg: 'typing action failed', err: expect.objectContaining({ message: 'chat api down' }) }),
    ]);
  });

  it('nested works share one typing: one action per 30 s + 5 s, not one per work', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const sent: number[] = [];
    const ctx = turn(clock, () => {
      sent.push(clock.now() - start);
      return ok;
    });
    let releaseInner = () => {};
    let releaseOuter = () => {};
    const outer = ctx.withTyping(async () => {
      await ctx.withTyping(() => new Promise<void>((r) => (releaseInner = r)));
      await new Promise<void>((r) => (releaseOuter = r));
    });
    clock.advance(20_000);
    releaseInner(); // the outer work is still running: still typing
    await new Promise((r) => setImmediate(r));
    clock.advance(30_000);
    releaseOuter();
    await outer;
    clock.advance(100_000);
    expect(sent).toEqual([5_000, 40_000]);
  });
});
