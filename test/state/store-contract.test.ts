/**
 * The StateStore contract, run unchanged against MemoryStore (the reference), the remote store of
 * `npm run dev`, RedisStore on one server and RedisStore on a Redis Cluster (store-subjects.ts),
 * so the bot behaves the same on one instance and on many. The keys of one multi-key step share a
 * hash tag (`{c}`), as the bot's do (state/keys.ts). The schedule operations have their own suite,
 * schedule-contract.test.ts, over the same subjects.
 */
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/state/redis.js';
import { ticketLeaseJson, type StateStore } from '../../src/state/store.js';
import { deleteKeysUnder, keysUnder, randomPrefix, REDIS_URL } from './redis-helpers.js';
import { closeSubjects, storeSubjects } from './store-subjects.js';

const subjects = await storeSubjects('the RedisStore contract tests');
const redisUp = subjects.some(([name]) => name === 'RedisStore');

/** Short TTLs keep the expiry tests fast; waits are bounded so a broken expiry fails, not hangs. */
const SHORT_TTL = 80;
const LONG_TTL = 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds; fails after `timeoutMs`. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 2_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

afterAll(async () => {
  await closeSubjects();
});

describe.each(subjects)('StateStore contract: %s', (_name, makeSubject) => {
  const subject = makeSubject();
  let store: StateStore;
  beforeEach(async () => {
    store = await subject.open();
  });
  afterEach(async () => {
    await subject.cleanup();
  });

  it('refuses a TTL that is not a positive number, and changes nothing', async () => {
    // Every record must expire: 0 or NaN would otherwise mean "forever" in an LRU cache.
    await store.listPush('q', 'kept', LONG_TTL);
    await store.setAdd('s', 'kept', LONG_TTL);
    await store.set('v', 'kept', LONG_TTL);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(store.set('k', 1, bad)).rejects.toThrow(RangeError);
      await expect(store.setIfAbsent('k', 1, bad)).rejects.toThrow(RangeError);
      await expect(store.replaceIf('v', 'kept', 'changed', bad)).rejects.toThrow(RangeError);
      await expect(store.increment('n', bad)).rejects.toThrow(RangeError);
      await expect(store.listPush('q', 'extra', bad)).rejects.toThrow(RangeError);
      await expect(store.setAdd('s', 'extra', bad)).rejects.toThrow(RangeError);
    }
    expect(await store.get('k')).toBeUndefined();
    expect(await store.get('n')).toBeUndefined();
    expect(await store.get('v')).toBe('kept');
    expect(await store.listRange('q', 10)).toEqual(['kept']);
    expect(await store.setMembers('s', 10)).toEqual(['kept']);
  });

  describe('values', () => {
    it('get of an absent key is undefined', async () => {
      expect(await store.get('nothing-here')).toBeUndefined();
    });

    it('round-trips nested JSON values, as copies', async () => {
      const value = {
        text: 'héllo "quoted" \\ 🎉',
        n: 42.5,
        negative: -1,
        yes: true,
        none: null,
        list: [1, 'two', { three: [3] }],
        deep: { a: { b: { c: ['d'] } } },
      };
      await store.set('v', value, LONG_TTL);
      const back = await store.get<typeof value>('v');
      expect(back).toEqual(value);
      expect(back).not.toBe(value);
      // Mutating what came back does not change what is stored.
      back!.deep.a.b.c.push('mutated');
      expect(await store.get('v')).toEqual(value);
      for (const scalar of ['plain string', 0, false, null, [], {}]) {
        await store.set('scalar', scalar, LONG_TTL);
        expect(await store.get('scalar')).toEqual(scalar);
      }
    });

    it('set overwrites the value', async () => {
      await store.set('k', { v: 1 }, LONG_TTL);
      await store.set('k', { v: 2 }, LONG_TTL);
      expect(await store.get('k')).toEqual({ v: 2 });
    });

    it('keys are independent', async () => {
      await store.set('a', 'A', LONG_TTL);
      await store.set('a:b', 'AB', LONG_TTL);
      await store.delete('a');
      expect(await store.get('a')).toBeUndefined();
      expect(await store.get('a:b')).toBe('AB');
    });

    it('a value expires after its TTL, not before', async () => {
      await store.set('ttl', 'soon gone', SHORT_TTL);
      const setAt = Date.now();
      expect(await store.get('ttl')).toBe('soon gone');
      await eventually(async () => (await store.get('ttl')) === undefined);
      expect(Date.now() - setAt).toBeGreaterThanOrEqual(SHORT_TTL * 0.8);
    });

    it('set replaces the TTL too', async () => {
      await store.set('ttl', 1, SHORT_TTL);
      await store.set('ttl', 2, LONG_TTL);
      await sleep(SHORT_TTL * 2);
      expect(await store.get('ttl')).toBe(2);
    });

    it('delete removes a key; deleting an absent key is fine', async () => {
      await store.set('k', 'v', LONG_TTL);
      await store.delete('k');
      expect(await store.get('k')).toBeUndefined();
      await expect(store.delete('never-set')).resolves.toBeUndefined();
    });
  });

  describe('setIfAbsent', () => {
    it('stores only when absent, and says whether it did', async () => {
      expect(await store.setIfAbsent('lock', { owner: 'a' }, LONG_TTL)).toBe(true);
      expect(await store.setIfAbsent('lock', { owner: 'b' }, LONG_TTL)).toBe(false);
      expect(await store.get('lock')).toEqual({ owner: 'a' });
    });

    it('an expired key counts as absent', async () => {
      expect(await store.setIfAbsent('lease', 'first', SHORT_TTL)).toBe(true);
      await eventually(async () => (await store.get('lease')) === undefined);
      expect(await store.setIfAbsent('lease', 'second', LONG_TTL)).toBe(true);
      expect(await store.get('lease')).toBe('second');
    });

    it('20 concurrent claims: exactly one wins, and its value is stored', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.setIfAbsent('race', { owner: i }, LONG_TTL)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(await store.get('race')).toEqual({ owner: winner });
    });
  });

  describe('deleteIf', () => {
    it('deletes only while the key holds the expected value', async () => {
      await store.set('lease', { owner: 'a', n: 1 }, LONG_TTL);
      expect(await store.deleteIf('lease', { owner: 'b', n: 1 })).toBe(false);
      expect(await store.get('lease')).toEqual({ owner: 'a', n: 1 });
      expect(await store.deleteIf('lease', { owner: 'a', n: 1 })).toBe(true);
      expect(await store.get('lease')).toBeUndefined();
      expect(await store.deleteIf('lease', { owner: 'a', n: 1 })).toBe(false);
    });

    it('an absent key is never deleted', async () => {
      expect(await store.deleteIf('never-set', 'x')).toBe(false);
    });

    it('concurrent: exactly one deletes', async () => {
      await store.set('lease', 'mine', LONG_TTL);
      const results = await Promise.all(Array.from({ length: 10 }, () => store.deleteIf('lease', 'mine')));
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });

  describe('replaceIf', () => {
    it('replaces only while the key holds the expected value', async () => {
      await store.set('lease', { owner: 'a' }, LONG_TTL);
      expect(await store.replaceIf('lease', { owner: 'b' }, { owner: 'c' }, LONG_TTL)).toBe(false);
      expect(await store.get('lease')).toEqual({ owner: 'a' });
      expect(await store.replaceIf('lease', { owner: 'a' }, { owner: 'a', renewed: true }, LONG_TTL)).toBe(true);
      expect(await store.get('lease')).toEqual({ owner: 'a', renewed: true });
    });

    it('does not create an absent key', async () => {
      expect(await store.replaceIf('never-set', 'x', 'y', LONG_TTL)).toBe(false);
      expect(await store.get('never-set')).toBeUndefined();
    });

    it('sets the new TTL (lease renewal)', async () => {
      await store.set('lease', 'v1', SHORT_TTL);
      expect(await store.replaceIf('lease', 'v1', 'v2', LONG_TTL)).toBe(true);
      await sleep(SHORT_TTL * 2);
      expect(await store.get('lease')).toBe('v2');
      expect(await store.replaceIf('lease', 'v2', 'v3', SHORT_TTL)).toBe(true);
      await eventually(async () => (await store.get('lease')) === undefined);
    });

    it('20 concurrent replacements of the same value: exactly one wins', async () => {
      await store.set('lease', 'old', LONG_TTL);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.replaceIf('lease', 'old', `new-${i}`, LONG_TTL)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.get('lease')).toBe(`new-${results.indexOf(true)}`);
    });
  });

  describe('increment', () => {
    it('counts from an absent key, and get sees the number', async () => {
      expect(await store.increment('count', LONG_TTL)).toBe(1);
      expect(await store.increment('count', LONG_TTL)).toBe(2);
      expect(await store.increment('count', LONG_TTL)).toBe(3);
      expect(await store.get('count')).toBe(3);
    });

    it('continues from a number stored with set', async () => {
      await store.set('count', 41, LONG_TTL);
      expect(await store.increment('count', LONG_TTL)).toBe(42);
    });

    it('20 concurrent increments: every value from 1 to 20 once', async () => {
      const values = await Promise.all(Array.from({ length: 20 }, () => store.increment('tickets', LONG_TTL)));
      expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });

    it('refreshes the TTL on every increment, and restarts from 1 once expired', async () => {
      await store.increment('count', SHORT_TTL);
      expect(await store.increment('count', LONG_TTL)).toBe(2);
      await sleep(SHORT_TTL * 2);
      expect(await store.get('count')).toBe(2);
      await store.increment('count', SHORT_TTL);
      await eventually(async () => (await store.get('count')) === undefined);
      expect(await store.increment('count', LONG_TTL)).toBe(1);
    });
  });

  describe('takeTicket / endTurn (a ticket lock)', () => {
    const keys = { tickets: 'o:{c}:tickets', done: 'o:{c}:done', lease: 'o:{c}:lease' };

    it('the first ticket holds at once and stores its lease; the next waits until the first ends', async () => {
      expect(await store.takeTicket(keys, 'owner-a', LONG_TTL, LONG_TTL)).toEqual({ ticket: 1, done: 0, holding: true });
      expect(await store.get(keys.lease)).toEqual({ ticket: 1, owner: 'owner-a' });
      expect(await store.takeTicket(keys, 'owner-b', LONG_TTL, LONG_TTL)).toEqual({ ticket: 2, done: 0, holding: false });
      // Ticket 2 did not take the lease.
      expect(await store.get(keys.lease)).toEqual({ ticket: 1, owner: 'owner-a' });
      expect(await store.endTurn(keys, 1, 'owner-a', LONG_TTL)).toBe(true);
      expect(await store.get(keys.done)).toBe(1);
      expect(await store.get(keys.lease)).toBeUndefined();
      expect(await store.takeTicket(keys, 'owner-a', LONG_TTL, LONG_TTL)).toEqual({ ticket: 3, done: 1, holding: false });
    });

    it('the lease is stored exactly as ticketLeaseJson writes it, so compare-and-set works on it', async () => {
      await store.takeTicket(keys, 'owner-a', LONG_TTL, LONG_TTL);
      const lease = { ticket: 1, owner: 'owner-a' };
      expect(await store.replaceIf(keys.lease, lease, lease, LONG_TTL)).toBe(true);
      expect(ticketLeaseJson(1, 'owner-a')).toBe(JSON.stringify(lease));
    });

    it('endTurn of a skipped ticket reports false and leaves done and a later lease alone', async () => {
      await store.takeTicket(keys, 'owner-a', LONG_TTL, LONG_TTL);
      await store.set(keys.done, 3, LONG_TTL);
      await store.set(keys.lease, { ticket: 4, owner: 'owner-b' }, LONG_TTL);
      expect(await store.endTurn(keys, 1, 'owner-a', LONG_TTL)).toBe(false);
      expect(await store.get(keys.done)).toBe(3);
      expect(await store.get(keys.lease)).toEqual({ ticket: 4, owner: 'owner-b' });
    });

    it('a counter that expired alone (done ahead of the new ticket) starts over and holds', async () => {
      await store.set(keys.done, 9, LONG_TTL);
      expect(await store.takeTicket(keys, 'owner-a', LONG_TTL, LONG_TTL)).toEqual({ ticket: 1, done: 9, holding: true });
      expect(await store.get(keys.done)).toBe(0);
      expect(await store.endTurn(keys, 1, 'owner-a', LONG_TTL)).toBe(true);
      expect(await store.get(keys.done)).toBe(1);
    });

    it('20 concurrent tickets: every number once, exactly one holding', async () => {
      const tickets = await Promise.all(Array.from({ length: 20 }, () => store.takeTicket(keys, 'o', LONG_TTL, LONG_TTL)));
      expect(tickets.map((t) => t.ticket).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(tickets.filter((t) => t.holding)).toEqual([{ ticket: 1, done: 0, holding: true }]);
    });

    it('the lease expires after leaseMs; the counters live for idleTtlMs', async () => {
      await store.set(keys.done, 0, SHORT_TTL);
      await store.takeTicket(keys, 'owner-a', SHORT_TTL, LONG_TTL);
      await eventually(async () => (await store.get(keys.lease)) === undefined);
      expect(await store.get(keys.tickets)).toBe(1);
      expect(await store.get(keys.done)).toBe(0);
    });

    it('reads keys along with the ticket when asked (undefined where absent)', async () => {
      await store.set('record:{c}', { name: 'Ada' }, LONG_TTL);
      await store.set('typing:{c}', { at: 5 }, LONG_TTL);
      expect(await store.takeTicket(keys, 'o', LONG_TTL, LONG_TTL, ['record:{c}', 'missing:{c}', 'typing:{c}'])).toEqual({
        ticket: 1,
        done: 0,
        holding: true,
        values: [{ name: 'Ada' }, undefined, { at: 5 }],
      });
      expect('values' in (await store.takeTicket(keys, 'o', LONG_TTL, LONG_TTL))).toBe(false);
    });

    it('endTurn stores the turn’s deferred writes with their TTLs, even for a skipped turn', async () => {
      await store.takeTicket(keys, 'owner-a', LONG_TTL, LONG_TTL);
      const writes = [
        { key: 'w:{c}:1', value: { n: 1 }, ttlMs: LONG_TTL },
        { key: 'w:{c}:2', value: 'two', ttlMs: SHORT_TTL },
      ];
      expect(await store.endTurn(keys, 1, 'owner-a', LONG_TTL, writes)).toBe(true);
      expect(await store.get('w:{c}:1')).toEqual({ n: 1 });
      expect(await store.get('w:{c}:2')).toBe('two');
      await eventually(async () => (await store.get('w:{c}:2')) === undefined);
      expect(await store.endTurn(keys, 7, 'owner-a', LONG_TTL, [{ key: 'w:{c}:3', value: 3, ttlMs: LONG_TTL }])).toBe(false);
      expect(await store.get('w:{c}:3')).toBe(3);
      await expect(store.endTurn(keys, 8, 'owner-a', LONG_TTL, [{ key: 'w:{c}:4', value: 4, ttlMs: 0 }])).rejects.toThrow(RangeError);
    });

    it('refuses an owner that would need escaping', async () => {
      await expect(store.takeTicket(keys, 'a"b', LONG_TTL, LONG_TTL)).rejects.toThrow(RangeError);
      await expect(store.endTurn(keys, 1, '', LONG_TTL)).rejects.toThrow(RangeError);
    });
  });

  describe('swap', () => {
    it('stores the value and returns the previous one (undefined when absent)', async () => {
      expect(await store.swap('k', { n: 1 }, LONG_TTL)).toBeUndefined();
      expect(await store.swap('k', { n: 2 }, LONG_TTL)).toEqual({ n: 1 });
      expect(await store.get('k')).toEqual({ n: 2 });
    });

    it('sets the TTL of the new value', async () => {
      await store.swap('k', 1, SHORT_TTL);
      await eventually(async () => (await store.get('k')) === undefined);
    });
  });

  describe('lists', () => {
    it('push returns the new length; range reads from the front in FIFO order', async () => {
      expect(await store.listPush('q', { n: 1 }, LONG_TTL)).toBe(1);
      expect(await store.listPush('q', { n: 2 }, LONG_TTL)).toBe(2);
      expect(await store.listPush('q', { n: 3, nested: { deep: [true] } }, LONG_TTL)).toBe(3);
      expect(await store.listLength('q')).toBe(3);
      expect(await store.listRange('q', 10)).toEqual([{ n: 1 }, { n: 2 }, { n: 3, nested: { deep: [true] } }]);
      expect(await store.listRange('q', 2)).toEqual([{ n: 1 }, { n: 2 }]);
      // Reading does not remove.
      expect(await store.listLength('q')).toBe(3);
    });

    it('range of 0 is empty; an absent list is empty with length 0', async () => {
      await store.listPush('q', 'a', LONG_TTL);
      expect(await store.listRange('q', 0)).toEqual([]);
      expect(await store.listRange('absent', 5)).toEqual([]);
      expect(await store.listLength('absent')).toBe(0);
    });

    it('concurrent pushes all land', async () => {
      const lengths = await Promise.all(Array.from({ length: 20 }, (_, i) => store.listPush('q', i, LONG_TTL)));
      expect([...lengths].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect((await store.listRange<number>('q', 100)).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    });

    it('listShiftIf removes the head only when it equals the expected value', async () => {
      await store.listPush('q', { job: 'a' }, LONG_TTL);
      await store.listPush('q', { job: 'b' }, LONG_TTL);
      expect(await store.listShiftIf('q', { job: 'b' })).toBe(false);
      expect(await store.listShiftIf('q', { job: 'x' })).toBe(false);
      expect(await store.listRange('q', 10)).toEqual([{ job: 'a' }, { job: 'b' }]);
      expect(await store.listShiftIf('q', { job: 'a' })).toBe(true);
      expect(await store.listRange('q', 10)).toEqual([{ job: 'b' }]);
      expect(await store.listShiftIf('q', { job: 'b' })).toBe(true);
      expect(await store.listLength('q')).toBe(0);
      expect(await store.listRange('q', 10)).toEqual([]);
      expect(await store.listShiftIf('q', { job: 'b' })).toBe(false);
      expect(await store.listShiftIf('absent', 'x')).toBe(false);
    });

    it('concurrent listShiftIf of the same head: exactly one removes it', async () => {
      await store.listPush('q', 'head', LONG_TTL);
      await store.listPush('q', 'head', LONG_TTL);
      const results = await Promise.all(Array.from({ length: 10 }, () => store.listShiftIf('q', 'head')));
      // Both copies may go (each is the head in turn), but never more than the list held.
      expect(results.filter(Boolean)).toHaveLength(2);
      expect(await store.listLength('q')).toBe(0);
    });

    describe('listShiftIfHeld (an acknowledgement fenced by a lease)', () => {
      // The list and its guard share a hash tag, as an outbox and its lease do.
      const list = 'q:{c}';
      const lease = 'q:{c}:lease';

      it('removes the head only while the guard holds the expected value and the head matches', async () => {
        await store.listPush(list, { job: 'a' }, LONG_TTL);
        await store.listPush(list, { job: 'b' }, LONG_TTL);
        // No lease at all: nothing moves.
        expect(await store.listShiftIfHeld(list, { job: 'a' }, lease, { owner: 'x', n: 1 })).toBe(false);
        await store.set(lease, { owner: 'x', n: 1 }, LONG_TTL);
        // Someone else's lease (or a later one of the same owner): nothing moves.
        expect(await store.listShiftIfHeld(list, { job: 'a' }, lease, { owner: 'y', n: 1 })).toBe(false);
        expect(await store.listShiftIfHeld(list, { job: 'a' }, lease, { owner: 'x', n: 2 })).toBe(false);
        // Our lease, but not the head.
        expect(await store.listShiftIfHeld(list, { job: 'b' }, lease, { owner: 'x', n: 1 })).toBe(false);
        expect(await store.listRange(list, 10)).toEqual([{ job: 'a' }, { job: 'b' }]);
        expect(await store.listShiftIfHeld(list, { job: 'a' }, lease, { owner: 'x', n: 1 })).toBe(true);
        expect(await store.listShiftIfHeld(list, { job: 'b' }, lease, { owner: 'x', n: 1 })).toBe(true);
        expect(await store.listLength(list)).toBe(0);
        expect(await store.listShiftIfHeld(list, { job: 'b' }, lease, { owner: 'x', n: 1 })).toBe(false);
        // The guard itself is only read.
        expect(await store.get(lease)).toEqual({ owner: 'x', n: 1 });
      });

      it('refuses once the lease has expired or been taken over', async () => {
        await store.listPush(list, 'head', LONG_TTL);
        await store.set(lease, 'mine', SHORT_TTL);
        await eventually(async () => (await store.get(lease)) === undefined);
        expect(await store.listShiftIfHeld(list, 'head', lease, 'mine')).toBe(false);
        await store.set(lease, 'theirs', LONG_TTL);
        expect(await store.listShiftIfHeld(list, 'head', lease, 'mine')).toBe(false);
        expect(await store.listShiftIfHeld(list, 'head', lease, 'theirs')).toBe(true);
      });
    });

    describe('listPushLeased / listShiftLeased (a list drained by one lease holder)', () => {
      const list = 'q:{c}';
      const lease = 'q:{c}:lease';

      it('a push takes a free lease and hands over the head; with the lease held it only appends', async () => {
        expect(await store.listPushLeased(list, { job: 'a' }, LONG_TTL, lease, { drain: 1 }, LONG_TTL)).toEqual({ job: 'a' });
        expect(await store.get(lease)).toEqual({ drain: 1 });
        expect(await store.listPushLeased(list, { job: 'b' }, LONG_TTL, lease, { drain: 2 }, LONG_TTL)).toBeUndefined();
        expect(await store.get(lease)).toEqual({ drain: 1 });
        expect(await store.listRange(list, 10)).toEqual([{ job: 'a' }, { job: 'b' }]);
      });

      it('a push onto an unattended backlog hands over the oldest item, not its own', async () => {
        await store.listPush(list, 'old', LONG_TTL);
        expect(await store.listPushLeased(list, 'new', LONG_TTL, lease, 'mine', LONG_TTL)).toBe('old');
      });

      it('the lease a push takes expires after leaseMs; the list keeps its own TTL', async () => {
        await store.listPushLeased(list, 'a', LONG_TTL, lease, 'mine', SHORT_TTL);
        await eventually(async () => (await store.get(lease)) === undefined);
        expect(await store.listLength(list)).toBe(1);
        expect(await store.listPushLeased(list, 'b', LONG_TTL, lease, 'next', LONG_TTL)).toBe('a');
      });

      it('an acknowledgement removes the head and hands over the next while the lease holds, and releases it with the last', async () => {
        await store.listPushLeased(list, { job: 'a' }, LONG_TTL, lease, 'mine', LONG_TTL);
        await store.listPushLeased(list, { job: 'b' }, LONG_TTL, lease, 'other', LONG_TTL);
        // Not the head, or not our lease: nothing changes.
        expect(await store.listShiftLeased(list, { job: 'b' }, lease, 'mine', LONG_TTL)).toEqual({ shifted: false });
        expect(await store.listShiftLeased(list, { job: 'a' }, lease, 'other', LONG_TTL)).toEqual({ shifted: false });
        expect(await store.listRange(list, 10)).toEqual([{ job: 'a' }, { job: 'b' }]);
        expect(await store.listShiftLeased(list, { job: 'a' }, lease, 'mine', LONG_TTL)).toEqual({ shifted: true, next: { job: 'b' } });
        expect(await store.get(lease)).toBe('mine');
        expect(await store.listShiftLeased(list, { job: 'b' }, lease, 'mine', LONG_TTL)).toEqual({ shifted: true });
        // Emptied: the lease is gone with the last item, so the next push takes it.
        expect(await store.get(lease)).toBeUndefined();
        expect(await store.listLength(list)).toBe(0);
        expect(await store.listPushLeased(list, { job: 'c' }, LONG_TTL, lease, 'later', LONG_TTL)).toEqual({ job: 'c' });
      });

      it('an acknowledgement renews the lease for leaseMs', async () => {
        await store.listPushLeased(list, 'a', LONG_TTL, lease, 'mine', SHORT_TTL);
        await store.listPush(list, 'b', LONG_TTL);
        expect(await store.listShiftLeased(list, 'a', lease, 'mine', LONG_TTL)).toEqual({ shifted: true, next: 'b' });
        await sleep(SHORT_TTL * 2);
        expect(await store.get(lease)).toBe('mine');
      });

      it('refuses once the lease has expired or been taken over, and leaves the new holder its lease', async () => {
        await store.listPushLeased(list, 'a', LONG_TTL, lease, 'mine', SHORT_TTL);
        await eventually(async () => (await store.get(lease)) === undefined);
        expect(await store.listShiftLeased(list, 'a', lease, 'mine', LONG_TTL)).toEqual({ shifted: false });
        await store.set(lease, 'theirs', LONG_TTL);
        expect(await store.listShiftLeased(list, 'a', lease, 'mine', LONG_TTL)).toEqual({ shifted: false });
        expect(await store.get(lease)).toBe('theirs');
        expect(await store.listRange(list, 10)).toEqual(['a']);
      });

      it('concurrent pushes onto an idle list: exactly one takes the lease', async () => {
        const heads = await Promise.all(Array.from({ length: 10 }, (_, i) => store.listPushLeased(list, i, LONG_TTL, lease, `d${i}`, LONG_TTL)));
        const takers = heads.filter((h) => h !== undefined);
        expect(takers).toHaveLength(1);
        expect(await store.listLength(list)).toBe(10);
      });

      it('refuses a bad TTL for the list or the lease and changes nothing', async () => {
        await expect(store.listPushLeased(list, 'x', 0, lease, 'mine', LONG_TTL)).rejects.toThrow(RangeError);
        await expect(store.listPushLeased(list, 'x', LONG_TTL, lease, 'mine', Number.NaN)).rejects.toThrow(RangeError);
        expect(await store.listLength(list)).toBe(0);
        expect(await store.get(lease)).toBeUndefined();
      });
    });

    it('a list expires with its TTL, and each push refreshes it', async () => {
      await store.listPush('q', 1, SHORT_TTL);
      await store.listPush('q', 2, LONG_TTL);
      await sleep(SHORT_TTL * 2);
      expect(await store.listLength('q')).toBe(2);
      await store.listPush('q', 3, SHORT_TTL);
      await eventually(async () => (await store.listLength('q')) === 0);
      expect(await store.listRange('q', 10)).toEqual([]);
    });
  });

  describe('sets', () => {
    it('add, remove and members', async () => {
      await store.setAdd('s', 'a', LONG_TTL);
      await store.setAdd('s', 'b', LONG_TTL);
      await store.setAdd('s', 'a', LONG_TTL);
      expect((await store.setMembers('s', 10)).sort()).toEqual(['a', 'b']);
      await store.setRemove('s', 'a');
      expect(await store.setMembers('s', 10)).toEqual(['b']);
      await store.setRemove('s', 'not-a-member');
      await store.setRemove('absent', 'x');
      await store.setRemove('s', 'b');
      expect(await store.setMembers('s', 10)).toEqual([]);
    });

    it('members returns at most max distinct members', async () => {
      const all = Array.from({ length: 12 }, (_, i) => `m${i}`);
      for (const m of all) await store.setAdd('s', m, LONG_TTL);
      const some = await store.setMembers('s', 5);
      expect(some).toHaveLength(5);
      expect(new Set(some).size).toBe(5);
      for (const m of some) expect(all).toContain(m);
      expect((await store.setMembers('s', 100)).sort()).toEqual([...all].sort());
      expect(await store.setMembers('s', 0)).toEqual([]);
      expect(await store.setMembers('absent', 5)).toEqual([]);
    });

    it('a set expires with its TTL, and each add refreshes it', async () => {
      await store.setAdd('s', 'a', SHORT_TTL);
      await store.setAdd('s', 'b', LONG_TTL);
      await sleep(SHORT_TTL * 2);
      expect((await store.setMembers('s', 10)).sort()).toEqual(['a', 'b']);
      await store.setAdd('s', 'c', SHORT_TTL);
      await eventually(async () => (await store.setMembers('s', 10)).length === 0);
    });
  });
});

(redisUp ? describe : describe.skip)('RedisStore keys', () => {
  let client: Redis;
  const prefixes: string[] = [];
  beforeAll(() => {
    client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    for (const p of prefixes) await deleteKeysUnder(client, p);
    await client.quit();
  });
  const prefix = (tag: string) => {
    const p = randomPrefix(tag);
    prefixes.push(p);
    return p;
  };

  it('two stores with different prefixes do not see each other', async () => {
    const a = new RedisStore({ client, prefix: prefix('iso-a') });
    const b = new RedisStore({ client, prefix: prefix('iso-b') });
    await a.set('k', 'from a', LONG_TTL);
    await b.set('k', 'from b', LONG_TTL);
    expect(await a.get('k')).toBe('from a');
    expect(await b.get('k')).toBe('from b');
    expect(await a.setIfAbsent('only-b', 1, LONG_TTL)).toBe(true);
    await b.listPush('list', 'b', LONG_TTL);
    expect(await a.listLength('list')).toBe(0);
    await b.setAdd('set', 'b', LONG_TTL);
    expect(await a.setMembers('set', 10)).toEqual([]);
    expect(await a.increment('n', LONG_TTL)).toBe(1);
    expect(await b.increment('n', LONG_TTL)).toBe(1);
    await a.delete('k');
    expect(await b.get('k')).toBe('from b');
  });

  it('every key is under the prefix, holds JSON text and carries a TTL', async () => {
    const p = prefix('ttl');
    const store = new RedisStore({ client, prefix: p });
    await store.set('value', { a: [1, 2] }, LONG_TTL);
    await store.setIfAbsent('claimed', 'x', LONG_TTL);
    await store.set('replaced', 'old', LONG_TTL);
    await store.replaceIf('replaced', 'old', 'new', LONG_TTL);
    await store.increment('counter', LONG_TTL);
    await store.listPush('list', { job: 1 }, LONG_TTL);
    await store.setAdd('set', 'member', LONG_TTL);

    const keys = (await keysUnder(client, p)).sort();
    expect(keys).toEqual(['claimed', 'counter', 'list', 'replaced', 'set', 'value'].map((k) => p + k));
    for (const key of keys) {
      const ttl = await client.pttl(key);
      expect({ key, hasTtl: ttl > 0 && ttl <= LONG_TTL }).toEqual({ key, hasTtl: true });
    }
    expect(await client.get(`${p}value`)).toBe('{"a":[1,2]}');
    expect(await client.lrange(`${p}list`, 0, -1)).toEqual(['{"job":1}']);
  });
});
