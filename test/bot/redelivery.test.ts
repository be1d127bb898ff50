/**
 * The redelivery claim under a store that comes and goes (the master-kill fault test): a claim's
 * end is not lost to one failed write, and a live owner's claim does not lapse while it works.
 */
import { RedeliveryGuard } from '../../src/bot/redelivery.js';
import { MemoryStore } from '../../src/state/memory.js';
import type { StateStore } from '../../src/state/store.js';

/** A MemoryStore whose next `failures` calls of `method` fail, as a store mid fail-over does. */
function flaky(method: 'set' | 'deleteIf', failures: number): StateStore {
  const store = new MemoryStore();
  let left = failures;
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== method || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return (...args: unknown[]) => (left-- > 0 ? Promise.reject(new Error('store away')) : (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RedeliveryGuard', () => {
  it('a result whose first write failed is written once the store is back, and a retry gets it', async () => {
    const store = flaky('set', 2);
    const owner = new RedeliveryGuard(store, { pollMs: 5, leaseMs: 2_000 });
    expect(await owner.claim('c', 'm')).toEqual({ kind: 'claimed' });
    await expect(owner.complete('c', 'm', { code: 200 })).resolves.toBeUndefined();
    const retry = new RedeliveryGuard(store, { pollMs: 5, leaseMs: 2_000 });
    expect(await retry.claim('c', 'm', { waitMs: 1_000 })).toEqual({ kind: 'done', outcome: { code: 200 } });
  });

  it('a claim given back while the store was away is given back once it returns', async () => {
    const store = flaky('deleteIf', 2);
    const owner = new RedeliveryGuard(store, { pollMs: 5, leaseMs: 2_000 });
    await owner.claim('c', 'm2');
    await owner.release('c', 'm2');
    const retry = new RedeliveryGuard(store, { pollMs: 5, leaseMs: 2_000 });
    expect(await retry.claim('c', 'm2', { waitMs: 1_000 })).toEqual({ kind: 'claimed' });
  });

  it('a working owner keeps its claim past the lease; a closed one lets it lapse', async () => {
    const store = new MemoryStore();
    // 300 ms leases renewed every 100 ms: margin for a loaded machine's late timers.
    const owner = new RedeliveryGuard(store, { pollMs: 5, leaseMs: 300 });
    await owner.claim('c', 'm3');
    await sleep(900);
    const other = new RedeliveryGuard(store, { pollMs: 5, leaseMs: 300 });
    expect(await other.claim('c', 'm3', { waitMs: 0 })).toEqual({ kind: 'pending' });
    owner.close();
    await sleep(600);
    expect(await other.claim('c', 'm3', { waitMs: 0 })).toEqual({ kind: 'claimed' });
    other.close();
  });
});
