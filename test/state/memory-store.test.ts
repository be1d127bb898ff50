/**
 * What only the memory store does: bounds per kind of record. (Everything both stores do is in
 * store-contract.test.ts.)
 */
import { MemoryStore, ScheduleFullError } from '../../src/state/memory.js';

const TTL = 60_000;

describe('MemoryStore bounds each kind of record on its own', () => {
  it('a burst of one kind evicts only that kind’s least recently used records', async () => {
    const store = new MemoryStore({ maxEntries: 100 });
    for (let i = 0; i < 100; i++) await store.set(`chat:${i}`, { i }, TTL);
    for (let i = 0; i < 1000; i++) await store.set(`mid:c:${i}`, { done: true }, TTL);
    // Every chat record survives 1000 redelivery records; only the latest 100 of those remain.
    for (let i = 0; i < 100; i++) expect(await store.get(`chat:${i}`)).toEqual({ i });
    expect(await store.get('mid:c:899')).toBeUndefined();
    expect(await store.get('mid:c:900')).toEqual({ done: true });
    expect(store.sizes()).toEqual({ chat: 100, mid: 100 });
    expect(store.size).toBe(200);
  });

  it('caps set per kind override the default; the least recently used goes first', async () => {
    const store = new MemoryStore({ maxEntries: 3, maxEntriesByKind: { session: 2 } });
    await store.set('session:a', 1, TTL);
    await store.set('session:b', 2, TTL);
    await store.get('session:a'); // a is now more recent than b
    await store.set('session:c', 3, TTL);
    expect(await store.get('session:b')).toBeUndefined();
    expect(await store.get('session:a')).toBe(1);
    for (const k of ['x', 'y', 'z', 'w']) await store.set(`chat:${k}`, k, TTL);
    expect(store.sizes()).toEqual({ session: 2, chat: 3 });
  });

  it('lists and sets count as one record of their kind', async () => {
    const store = new MemoryStore({ maxEntries: 2 });
    for (let i = 0; i < 50; i++) await store.listPush('outbox:c1', i, TTL);
    await store.setAdd('outbox:index', 'c1', TTL);
    expect(await store.listLength('outbox:c1')).toBe(50);
    expect(await store.setMembers('outbox:index', 10)).toEqual(['c1']);
    expect(store.sizes()).toEqual({ outbox: 2 });
  });

  it('refuses a cap that is not a whole number ≥ 1, naming the kind', () => {
    expect(() => new MemoryStore({ maxEntries: 0 })).toThrow(/maxEntries must be a whole number/);
    expect(() => new MemoryStore({ maxEntriesByKind: { mid: 1.5 } })).toThrow(/kind "mid"/);
  });

  it('keeps keys built by concatenation as they were given', async () => {
    const store = new MemoryStore();
    const id = ['chat', String(123456789)].join('-');
    const key = `mid:${id}:${'m'.repeat(20)}\u00e9\ud83d`;
    await store.set(key, 1, TTL);
    expect([...store.records()].map(([k]) => k)).toEqual([key]);
    expect(await store.get(key)).toBe(1);
  });
});

describe('MemoryStore schedules', () => {
  it('are never evicted: past the cap of their kind a new member is refused with a typed error', async () => {
    const store = new MemoryStore({ maxEntries: 100, maxEntriesByKind: { timers: 2 } });
    await store.scheduleAdd('timers:conv', 'a', 1);
    await store.scheduleAdd('timers:conv', 'b', 2);
    const err = await store.scheduleAdd('timers:conv', 'c', 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScheduleFullError);
    expect(err).toMatchObject({ code: 'SCHEDULE_FULL', field: 'member' });
    // Moving a member is no new member; a removal frees a place.
    await store.scheduleAdd('timers:conv', 'a', 5);
    expect(await store.scheduleRemove('timers:conv', 'b')).toBe(true);
    await store.scheduleAdd('timers:conv', 'c', 3);
    expect(await store.scheduleClaim('timers:conv', 10, 1_000, 10)).toEqual([
      { member: 'c', dueAt: 3 },
      { member: 'a', dueAt: 5 },
    ]);
  });

  it('count as one record of their kind, show in records, and go with close', async () => {
    const store = new MemoryStore();
    await store.set('chat:1', 1, TTL);
    await store.scheduleAdd('timers:conv', 'a\nb', 7);
    expect(store.sizes()).toEqual({ chat: 1, timers: 1 });
    expect(store.size).toBe(2);
    expect([...store.records()]).toContainEqual(['timers:conv', '[["a\\nb",7]]']);
    await store.scheduleRemove('timers:conv', 'a\nb');
    expect(store.sizes()).toEqual({ chat: 1 });
    await store.scheduleAdd('timers:conv', 'x', 1);
    await store.close();
    expect(store.size).toBe(0);
    expect(await store.scheduleClaim('timers:conv', 10, 1_000, 10)).toEqual([]);
  });
});
