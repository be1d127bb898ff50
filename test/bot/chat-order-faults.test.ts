/**
 * ChatOrder under store faults (issue 14, item 3b): every way out of a turn ends or gives back its
 * ticket, and a turn that cannot be taken fails with a retryable error instead of stalling the chat.
 * The faults come from a StateStore wrapper that fails chosen calls, before or after they ran (an
 * answer lost to a timeout after Redis ran the command).
 */
import { ChatOrder, TurnUnavailableError } from '../../src/bot/chat-order.js';
import { MemoryStore } from '../../src/state/memory.js';
import type { StateStore } from '../../src/state/store.js';

type Method = 'takeTicket' | 'endTurn' | 'get' | 'set';

/** A store whose chosen calls fail: `before` the call reaches the store, or `after` it ran. */
function faultyStore(inner: StateStore) {
  const plan: { method: Method; when: 'before' | 'after'; times: number }[] = [];
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const fault = plan.find((p) => p.method === prop && p.times > 0);
        if (!fault) return (value as (...a: unknown[]) => unknown).apply(target, args);
        fault.times--;
        if (fault.when === 'after') await (value as (...a: unknown[]) => unknown).apply(target, args);
        throw new Error(`injected ${String(prop)} failure (${fault.when})`);
      };
    },
  });
  return { store, fail: (method: Method, when: 'before' | 'after', times = 1) => plan.push({ method, when, times }) };
}

/** Resolves with how long `run` took to get the chat, or rejects after `ms`. */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('ChatOrder under store faults', () => {
  it('a ticket taken whose answer was lost (holding) is given back: the next turn runs at once', async () => {
    const { store, fail } = faultyStore(new MemoryStore());
    const order = new ChatOrder(store, { pollMs: 5 });
    fail('takeTicket', 'after');
    const first = order.run('c1', async () => 'never');
    await expect(first).rejects.toBeInstanceOf(TurnUnavailableError);
    await expect(first).rejects.toMatchObject({ code: 'TURN_UNAVAILABLE', retryable: true });
    // Another instance (its own owner) gets the chat well before the 15 s lease would lapse.
    const other = new ChatOrder(store, { pollMs: 5 });
    await expect(within(1000, other.run('c1', async () => 'next'))).resolves.toBe('next');
  });

  it('a ticket taken whose answer was lost while others were ahead is skipped after claimMs, not a lease period', async () => {
    const { store, fail } = faultyStore(new MemoryStore());
    const a = new ChatOrder(store, { pollMs: 5, claimMs: 150 });
    const gate = deferred();
    const holding = a.run('c2', () => gate.promise);
    fail('takeTicket', 'after');
    const b = new ChatOrder(store, { pollMs: 5, claimMs: 150 });
    await expect(b.run('c2', async () => 'lost')).rejects.toBeInstanceOf(TurnUnavailableError);
    const later = b.run('c2', async () => 'later');
    gate.resolve();
    await holding;
    await expect(within(1500, later)).resolves.toBe('later');
  });

  it('a lease write that fails after the wait gives the turn back and fails retryably', async () => {
    const { store, fail } = faultyStore(new MemoryStore());
    const a = new ChatOrder(store, { pollMs: 5 });
    const gate = deferred();
    const holding = a.run('c3', () => gate.promise);
    const b = new ChatOrder(store, { pollMs: 5 });
    fail('set', 'before');
    const waiting = b.run('c3', async () => 'b');
    await new Promise((r) => setTimeout(r, 30));
    gate.resolve();
    await holding;
    await expect(waiting).rejects.toMatchObject({ code: 'TURN_UNAVAILABLE' });
    await expect(within(1000, a.run('c3', async () => 'after'))).resolves.toBe('after');
  });

  it('a store failure while waiting gives the ticket back once the store answers', async () => {
    const { store, fail } = faultyStore(new MemoryStore());
    const a = new ChatOrder(store, { pollMs: 5 });
    const gate = deferred();
    const holding = a.run('c4', () => gate.promise);
    const b = new ChatOrder(store, { pollMs: 5 });
    fail('get', 'before');
    await expect(within(1000, b.run('c4', async () => 'b'))).rejects.toMatchObject({ code: 'TURN_UNAVAILABLE' });
    const third = a.run('c4', async () => 'third');
    gate.resolve();
    await holding;
    await expect(within(1000, third)).resolves.toBe('third');
  });

  it('an end of turn that fails is retried: the work keeps its result and the writes still land before the next turn', async () => {
    const { store, fail } = faultyStore(new MemoryStore());
    const a = new ChatOrder(store, { pollMs: 5 });
    fail('endTurn', 'before');
    await expect(
      a.run('c5', async (turn) => {
        turn.writeAtEnd('c5:record', { v: 1 }, 60_000);
        return 'done';
      }),
    ).resolves.toBe('done');
    const b = new ChatOrder(store, { pollMs: 5 });
    await expect(within(1000, b.run('c5', async () => store.get('c5:record')))).resolves.toEqual({ v: 1 });
  });
});
