/**
 * The schedule operations of the StateStore contract (scheduleAdd / scheduleRemove / scheduleClaim:
 * the durable timers of conversations), run against every store (store-subjects.ts). Times are
 * arguments, so no test sleeps: a lease "passes" by claiming with a later `now`.
 */
import type { StateStore } from '../../src/state/store.js';
import { closeSubjects, storeSubjects } from './store-subjects.js';

const subjects = await storeSubjects('the RedisStore schedule contract tests');

afterAll(async () => {
  await closeSubjects();
});

/** The key conversations use: `storeKey('timers', 'conv')`, one key for every chat. */
const KEY = 'timers:conv';
const LEASE = 30_000;
const T0 = 1_700_000_000_000;

describe.each(subjects)('StateStore schedule contract: %s', (_name, makeSubject) => {
  const subject = makeSubject();
  let store: StateStore;
  beforeEach(async () => {
    store = await subject.open();
  });
  afterEach(async () => {
    await subject.cleanup();
  });

  it('claims only what is due at now, earliest first, with the due time it had', async () => {
    await store.scheduleAdd(KEY, 'c', T0 + 300);
    await store.scheduleAdd(KEY, 'a', T0 + 100);
    await store.scheduleAdd(KEY, 'later', T0 + 10_000);
    await store.scheduleAdd(KEY, 'b', T0 + 200);
    expect(await store.scheduleClaim(KEY, T0 + 50, LEASE, 10)).toEqual([]);
    expect(await store.scheduleClaim(KEY, T0 + 300, LEASE, 10)).toEqual([
      { member: 'a', dueAt: T0 + 100 },
      { member: 'b', dueAt: T0 + 200 },
      { member: 'c', dueAt: T0 + 300 }, // due exactly at now counts
    ]);
  });

  it('equal due times come in the members’ UTF-8 byte order (as Redis sorts them)', async () => {
    // U+FF5A sorts before U+1F600 in UTF-8, after it in JavaScript's UTF-16 comparison.
    for (const m of ['😀', 'ｚ', 'b', 'a', 'B']) await store.scheduleAdd(KEY, m, T0);
    const claimed = await store.scheduleClaim(KEY, T0, LEASE, 10);
    expect(claimed.map((c) => c.member)).toEqual(['B', 'a', 'b', 'ｚ', '😀']);
  });

  it('claims at most max, and the next claim gets the next ones', async () => {
    for (let i = 0; i < 5; i++) await store.scheduleAdd(KEY, `m${i}`, T0 + i);
    expect((await store.scheduleClaim(KEY, T0 + 10, LEASE, 2)).map((c) => c.member)).toEqual(['m0', 'm1']);
    expect((await store.scheduleClaim(KEY, T0 + 10, LEASE, 2)).map((c) => c.member)).toEqual(['m2', 'm3']);
    expect((await store.scheduleClaim(KEY, T0 + 10, LEASE, 2)).map((c) => c.member)).toEqual(['m4']);
    expect(await store.scheduleClaim(KEY, T0 + 10, LEASE, 2)).toEqual([]);
  });

  it('a claimed member falls due again leaseMs after the claim for a second claimer, not before', async () => {
    await store.scheduleAdd(KEY, 'timer', T0);
    expect(await store.scheduleClaim(KEY, T0 + 5, LEASE, 10)).toEqual([{ member: 'timer', dueAt: T0 }]);
    // The first claimer died without removing it: nobody gets it during the lease...
    expect(await store.scheduleClaim(KEY, T0 + 5, LEASE, 10)).toEqual([]);
    expect(await store.scheduleClaim(KEY, T0 + 5 + LEASE - 1, LEASE, 10)).toEqual([]);
    // ...and anyone does once it has passed; that claim takes a lease of its own.
    expect(await store.scheduleClaim(KEY, T0 + 5 + LEASE, LEASE, 10)).toEqual([{ member: 'timer', dueAt: T0 + 5 + LEASE }]);
    expect(await store.scheduleClaim(KEY, T0 + 5 + LEASE, LEASE, 10)).toEqual([]);
  });

  it('keeps fractional times exactly (epoch ms with a fraction, on Redis too)', async () => {
    const due = T0 + 0.25;
    await store.scheduleAdd(KEY, 'f', due);
    expect(await store.scheduleClaim(KEY, due - 0.125, 0.5, 1)).toEqual([]);
    expect(await store.scheduleClaim(KEY, due, 0.5, 1)).toEqual([{ member: 'f', dueAt: due }]);
    expect(await store.scheduleClaim(KEY, due + 0.375, 0.5, 1)).toEqual([]);
    expect(await store.scheduleClaim(KEY, due + 0.5, 0.5, 1)).toEqual([{ member: 'f', dueAt: due + 0.5 }]);
  });

  it('remove says whether the member was there; a removed member is never claimed', async () => {
    await store.scheduleAdd(KEY, 'answered', T0);
    await store.scheduleAdd(KEY, 'kept', T0);
    expect(await store.scheduleRemove(KEY, 'answered')).toBe(true);
    expect(await store.scheduleRemove(KEY, 'answered')).toBe(false);
    expect(await store.scheduleRemove(KEY, 'never-added')).toBe(false);
    expect(await store.scheduleRemove('timers:absent', 'x')).toBe(false);
    expect(await store.scheduleClaim(KEY, T0 + LEASE * 10, LEASE, 10)).toEqual([{ member: 'kept', dueAt: T0 }]);
    // A claimed member is removed as any other (what a claimer does once it has fired it).
    expect(await store.scheduleRemove(KEY, 'kept')).toBe(true);
    expect(await store.scheduleClaim(KEY, T0 + LEASE * 100, LEASE, 10)).toEqual([]);
  });

  it('add of a scheduled member moves its due time, later or earlier; a member is there once', async () => {
    await store.scheduleAdd(KEY, 'm', T0 + 100);
    await store.scheduleAdd(KEY, 'm', T0 + 5_000);
    expect(await store.scheduleClaim(KEY, T0 + 1_000, LEASE, 10)).toEqual([]);
    await store.scheduleAdd(KEY, 'm', T0 + 500);
    expect(await store.scheduleClaim(KEY, T0 + 1_000, LEASE, 10)).toEqual([{ member: 'm', dueAt: T0 + 500 }]);
    // Re-armed while claimed: the new due time replaces the lease.
    await store.scheduleAdd(KEY, 'm', T0 + 2_000);
    expect(await store.scheduleClaim(KEY, T0 + 2_000, LEASE, 10)).toEqual([{ member: 'm', dueAt: T0 + 2_000 }]);
  });

  it('schedules at different keys are independent', async () => {
    await store.scheduleAdd('timers:a', 'm', T0);
    await store.scheduleAdd('timers:b', 'm', T0 + 1);
    expect(await store.scheduleClaim('timers:a', T0 + 10, LEASE, 10)).toEqual([{ member: 'm', dueAt: T0 }]);
    expect(await store.scheduleRemove('timers:a', 'm')).toBe(true);
    expect(await store.scheduleClaim('timers:b', T0 + 10, LEASE, 10)).toEqual([{ member: 'm', dueAt: T0 + 1 }]);
    expect(await store.scheduleClaim('timers:none', T0 + 10, LEASE, 10)).toEqual([]);
  });

  it('concurrent claimers never get the same member, and together get every due one (fire once)', async () => {
    const members = Array.from({ length: 60 }, (_, i) => `chat-${i}`);
    await Promise.all(members.map((m, i) => store.scheduleAdd(KEY, m, T0 + (i % 7))));
    await store.scheduleAdd(KEY, 'not-yet', T0 + 1_000);
    const claims = await Promise.all(Array.from({ length: 12 }, () => store.scheduleClaim(KEY, T0 + 10, LEASE, 7)));
    const got = claims.flat().map((c) => c.member);
    expect(got).toHaveLength(members.length);
    expect(new Set(got).size).toBe(members.length);
    expect([...got].sort()).toEqual([...members].sort());
    for (const claim of claims) expect(claim.every((c, i) => i === 0 || claim[i - 1]!.dueAt <= c.dueAt)).toBe(true);
  });

  it('members are data: newlines, quotes, backslashes, unicode and JSON come back exactly', async () => {
    const odd = ['a\nb', '"quoted"', "it's", 'back\\slash', '日本語 🎉', '', ' ', 'tab\tnul\u0000', JSON.stringify(['c:{1}', 'run', 3]), '%7B{}:'];
    for (const [i, m] of odd.entries()) await store.scheduleAdd(KEY, m, T0 + i);
    const claimed = await store.scheduleClaim(KEY, T0 + odd.length, LEASE, 100);
    expect(claimed).toEqual(odd.map((member, i) => ({ member, dueAt: T0 + i })));
    for (const m of odd) expect(await store.scheduleRemove(KEY, m)).toBe(true);
    expect(await store.scheduleClaim(KEY, T0 + LEASE * 10, LEASE, 100)).toEqual([]);
  });

  it('refuses bad numbers with a RangeError naming the argument, and changes nothing', async () => {
    await store.scheduleAdd(KEY, 'kept', T0);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      await expect(store.scheduleAdd(KEY, 'kept', bad)).rejects.toThrow(/scheduleAdd dueAt must be a finite number/);
      await expect(store.scheduleAdd(KEY, 'new', bad)).rejects.toThrow(RangeError);
      await expect(store.scheduleClaim(KEY, bad, LEASE, 10)).rejects.toThrow(/scheduleClaim now must be a finite number/);
      await expect(store.scheduleClaim(KEY, T0, bad, 10)).rejects.toThrow(/scheduleClaim leaseMs must be/);
    }
    for (const lease of [0, -1]) await expect(store.scheduleClaim(KEY, T0, lease, 10)).rejects.toThrow(/scheduleClaim leaseMs must be a positive number/);
    for (const max of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(store.scheduleClaim(KEY, T0, LEASE, max)).rejects.toThrow(/scheduleClaim max must be a whole number ≥ 1/);
    }
    await expect(store.scheduleClaim(KEY, Number.MAX_VALUE, Number.MAX_VALUE, 1)).rejects.toThrow(RangeError);
    await expect(store.scheduleAdd(KEY, 'lone \ud800 surrogate', T0)).rejects.toThrow(/well-formed Unicode/);
    // Nothing moved: the member is still due at T0 and nothing else was added.
    expect(await store.scheduleClaim(KEY, T0 + LEASE * 10, LEASE, 10)).toEqual([{ member: 'kept', dueAt: T0 }]);
  });
});
