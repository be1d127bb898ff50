/**
 * The schedule on Redis as two instances use it: each on its own connection, claiming and firing
 * the same timers at once. Fire-once is the guarantee under attack: no timer may be fired by both,
 * none may be lost, and the timers of an instance that dies mid-fire go to the other after the lease.
 */
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/state/redis.js';
import { deleteKeysUnder, randomPrefix, REDIS_URL, redisForTests } from './redis-helpers.js';

const redisUp = await redisForTests('the RedisStore schedule tests');
const KEY = 'timers:conv';
const LEASE = 30_000;
const T0 = 1_700_000_000_000;

(redisUp ? describe : describe.skip)('RedisStore schedule across instances', () => {
  let a: Redis;
  let b: Redis;
  let prefix: string;
  beforeEach(() => {
    a = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    b = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    prefix = randomPrefix('schedule');
  });
  afterEach(async () => {
    await deleteKeysUnder(a, prefix);
    await a.quit();
    await b.quit();
  });

  /** Claims, fires (records) and removes until nothing is due; what this instance fired. */
  async function poller(store: RedisStore, now: number, fired: string[]): Promise<void> {
    for (let round = 0; round < 1_000; round++) {
      const claimed = await store.scheduleClaim(KEY, now, LEASE, 5);
      if (claimed.length === 0) return;
      for (const { member } of claimed) {
        fired.push(member);
        await store.scheduleRemove(KEY, member);
      }
    }
    throw new Error('the poller never ran dry');
  }

  it('two instances polling the same schedule fire every due timer exactly once', async () => {
    const one = new RedisStore({ client: a, prefix });
    const two = new RedisStore({ client: b, prefix });
    const members = Array.from({ length: 300 }, (_, i) => JSON.stringify([`chat-${i}`, 'run', i % 4]));
    for (const [i, m] of members.entries()) await (i % 2 ? one : two).scheduleAdd(KEY, m, T0 + (i % 50));
    await one.scheduleAdd(KEY, 'future', T0 + 60_000);
    const firedA: string[] = [];
    const firedB: string[] = [];
    await Promise.all([poller(one, T0 + 100, firedA), poller(two, T0 + 100, firedB), poller(one, T0 + 100, firedA)]);
    const fired = [...firedA, ...firedB];
    expect(new Set(fired).size).toBe(fired.length);
    expect(fired.sort()).toEqual([...members].sort());
    expect(firedA.length).toBeGreaterThan(0);
    expect(firedB.length).toBeGreaterThan(0);
    // The one not yet due is left, as a sorted set member with its due time as the score.
    expect(await a.zrangebyscore(`${prefix}${KEY}`, '-inf', '+inf', 'WITHSCORES')).toEqual(['future', String(T0 + 60_000)]);
  });

  it('the timers an instance claimed and never removed (it died) go to the other after the lease, once', async () => {
    const dying = new RedisStore({ client: a, prefix });
    const survivor = new RedisStore({ client: b, prefix });
    for (let i = 0; i < 10; i++) await dying.scheduleAdd(KEY, `t${i}`, T0 + i);
    const lost = await dying.scheduleClaim(KEY, T0 + 100, LEASE, 4);
    expect(lost.map((c) => c.member)).toEqual(['t0', 't1', 't2', 't3']);
    const firstPass: string[] = [];
    await poller(survivor, T0 + 100, firstPass);
    expect(firstPass.sort()).toEqual(['t4', 't5', 't6', 't7', 't8', 't9']);
    const afterLease: string[] = [];
    await poller(survivor, T0 + 100 + LEASE, afterLease);
    expect(afterLease).toEqual(['t0', 't1', 't2', 't3']);
    expect(await survivor.scheduleClaim(KEY, T0 + 100 + LEASE * 10, LEASE, 100)).toEqual([]);
  });
});
