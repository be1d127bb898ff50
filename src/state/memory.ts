import { LRUCache } from 'lru-cache';
import { MemorySchedules } from './memory-schedule.js';
import { ticketLeaseJson, type ClaimedMember, type LeasedShift, type StateStore, type Ticket, type TicketKeys, type TurnWrite } from './store.js';

export { ScheduleFullError } from './memory-schedule.js';

export interface MemoryStoreOptions {
  /**
   * Most records of one kind kept at once; the least recently used of that kind go first. A kind
   * is what a key starts with, up to its first `:` (`chat`, `session`, `mid`, `sent`...), so a
   * burst of one kind (redelivery records, delivery tracking) never evicts another (the chats the
   * bot can still write to, sessions). Default 100,000 per kind.
   */
  maxEntries?: number;
  /** Caps for particular kinds, overriding `maxEntries`: `{ mid: 500_000 }`. */
  maxEntriesByKind?: Readonly<Record<string, number>>;
  /** Clock in ms, injectable for tests. */
  now?: () => number;
}

export const DEFAULT_MAX_ENTRIES_PER_KIND = 100_000;

/**
 * Every record must expire (as in Redis, where PX refuses 0): an LRU TTL of 0 or NaN would mean
 * "keep forever", so a non-positive or non-finite TTL is refused instead.
 */
function positiveTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`StateStore TTL must be a positive number of milliseconds, got ${ttlMs}`);
  }
  return ttlMs;
}

function validCap(kind: string, cap: number): number {
  if (!Number.isSafeInteger(cap) || cap < 1) {
    throw new RangeError(`MemoryStore cap for ${kind ? `kind "${kind}"` : 'maxEntries'} must be a whole number ≥ 1, got ${cap}`);
  }
  return cap;
}

/**
 * A record: a value's JSON text, a list's items as JSON text, or a set's members. No wrapper
 * object: at 100,000s of records each wrapper is memory V8 must keep and later collect.
 */
type Entry = string | string[] | Set<string>;

/**
 * The key as one flat string. Keys are built by concatenation (`chat:` + id), which V8 keeps as a
 * rope of its pieces: held for days in the store, each would cost an extra 32-byte node and keep
 * its pieces. A JSON round trip returns the same text, flat (~0.4 µs, once per new key).
 */
function flat(key: string): string {
  return key.length < 13 ? key : (JSON.parse(JSON.stringify(key)) as string);
}

/** The kind of a key: its text up to the first `:` (the whole key when it has none). */
function kindOf(key: string): string {
  const colon = key.indexOf(':');
  return colon === -1 ? key : key.slice(0, colon);
}

/**
 * An in-process store, bounded per kind of record by entry count, and by TTL. Values are copied
 * through JSON on the way in and out, as Redis does, so code behaves the same on both stores.
 */
export class MemoryStore implements StateStore {
  private readonly kinds = new Map<string, LRUCache<string, Entry>>();
  private readonly maxEntries: number;
  private readonly maxEntriesByKind: Readonly<Record<string, number>>;
  private readonly now: (() => number) | undefined;
  /** Schedules, capped like a kind's records (by the key's kind) but never evicted: that would lose a timer. */
  private readonly schedules = new MemorySchedules((key) => this.capOfKind(kindOf(key)));

  constructor(options: MemoryStoreOptions = {}) {
    this.maxEntries = validCap('', options.maxEntries ?? DEFAULT_MAX_ENTRIES_PER_KIND);
    this.maxEntriesByKind = { ...options.maxEntriesByKind };
    for (const [kind, cap] of Object.entries(this.maxEntriesByKind)) validCap(kind, cap);
    this.now = options.now;
  }

  private capOfKind(kind: string): number {
    return Object.hasOwn(this.maxEntriesByKind, kind) ? this.maxEntriesByKind[kind]! : this.maxEntries;
  }

  /** The LRU holding keys of this key's kind, made on first use. */
  private cacheOf(key: string): LRUCache<string, Entry> {
    const kind = kindOf(key);
    let cache = this.kinds.get(kind);
    if (!cache) {
      const now = this.now;
      cache = new LRUCache<string, Entry>({
        max: this.capOfKind(kind),
        ttlAutopurge: false,
        ...(now ? { perf: { now } } : {}),
      });
      this.kinds.set(kind, cache);
    }
    return cache;
  }

  private value(key: string): string | undefined {
    const entry = this.cacheOf(key).get(key);
    return typeof entry === 'string' ? entry : undefined;
  }

  private put(key: string, json: string, ttlMs: number): void {
    const cache = this.cacheOf(key);
    cache.set(cache.has(key) ? key : flat(key), json, { ttl: ttlMs });
  }

  async get<T>(key: string): Promise<T | undefined> {
    const json = this.value(key);
    return json === undefined ? undefined : (JSON.parse(json) as T);
  }

  async set<T>(key: string, value: T, ttlMs: number): Promise<void> {
    this.put(key, JSON.stringify(value), positiveTtl(ttlMs));
  }

  async setIfAbsent<T>(key: string, value: T, ttlMs: number): Promise<boolean> {
    const ttl = positiveTtl(ttlMs);
    if (this.cacheOf(key).has(key)) return false;
    this.put(key, JSON.stringify(value), ttl);
    return true;
  }

  async delete(key: string): Promise<void> {
    this.cacheOf(key).delete(key);
  }

  async deleteIf<T>(key: string, expected: T): Promise<boolean> {
    if (this.value(key) !== JSON.stringify(expected)) return false;
    this.cacheOf(key).delete(key);
    return true;
  }

  async replaceIf<T>(key: string, expected: T, value: T, ttlMs: number): Promise<boolean> {
    const ttl = positiveTtl(ttlMs);
    if (this.value(key) !== JSON.stringify(expected)) return false;
    this.put(key, JSON.stringify(value), ttl);
    return true;
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    const ttl = positiveTtl(ttlMs);
    const current = Number(this.value(key) ?? '0');
    const next = (Number.isFinite(current) ? current : 0) + 1;
    this.put(key, String(next), ttl);
    return next;
  }

  async takeTicket(keys: TicketKeys, owner: string, leaseMs: number, idleTtlMs: number, reads?: readonly string[]): Promise<Ticket> {
    const ttl = positiveTtl(idleTtlMs);
    const leaseTtl = positiveTtl(leaseMs);
    ticketLeaseJson(0, owner);
    const ticket = await this.increment(keys.tickets, ttl);
    const stored = Number(this.value(keys.done) ?? '0');
    const done = Number.isFinite(stored) ? stored : 0;
    let holding = done === ticket - 1;
    if (done >= ticket) {
      holding = true;
      this.put(keys.done, String(ticket - 1), ttl);
    } else if (this.cacheOf(keys.done).has(keys.done)) {
      this.put(keys.done, String(done), ttl);
    }
    if (holding) this.put(keys.lease, ticketLeaseJson(ticket, owner), leaseTtl);
    if (reads === undefined) return { ticket, done, holding };
    const values: unknown[] = [];
    for (const key of reads) values.push(await this.get(key));
    return { ticket, done, holding, values };
  }

  async endTurn(keys: TicketKeys, ticket: number, owner: string, idleTtlMs: number, writes: readonly TurnWrite[] = []): Promise<boolean> {
    const ttl = positiveTtl(idleTtlMs);
    const encoded = writes.map((w) => [w.key, JSON.stringify(w.value), positiveTtl(w.ttlMs)] as const);
    const lease = ticketLeaseJson(ticket, owner);
    const stored = this.value(keys.done);
    const advanced = stored === undefined ? ticket === 1 : stored === String(ticket - 1);
    if (advanced) this.put(keys.done, String(ticket), ttl);
    if (this.value(keys.lease) === lease) this.cacheOf(keys.lease).delete(keys.lease);
    for (const [key, json, ttlMs] of encoded) this.put(key, json, ttlMs);
    return advanced;
  }

  async swap<T>(key: string, value: T, ttlMs: number): Promise<T | undefined> {
    const previous = await this.get<T>(key);
    await this.set(key, value, ttlMs);
    return previous;
  }

  async listPush<T>(key: string, value: T, ttlMs: number): Promise<number> {
    const ttl = positiveTtl(ttlMs);
    const cache = this.cacheOf(key);
    const entry = cache.get(key);
    const items = Array.isArray(entry) ? entry : [];
    items.push(JSON.stringify(value));
    cache.set(key, items, { ttl });
    return items.length;
  }

  async listRange<T>(key: string, count: number): Promise<T[]> {
    const entry = this.cacheOf(key).get(key);
    if (!Array.isArray(entry)) return [];
    return entry.slice(0, Math.max(0, count)).map((j) => JSON.parse(j) as T);
  }

  async listShiftIf<T>(key: string, expected: T): Promise<boolean> {
    const cache = this.cacheOf(key);
    const entry = cache.get(key);
    if (!Array.isArray(entry) || entry[0] !== JSON.stringify(expected)) return false;
    entry.shift();
    if (entry.length === 0) cache.delete(key);
    return true;
  }

  async listShiftIfHeld<T, G>(key: string, expected: T, guardKey: string, guardValue: G): Promise<boolean> {
    if (this.value(guardKey) !== JSON.stringify(guardValue)) return false;
    return this.listShiftIf(key, expected);
  }

  async listPushLeased<T, L>(key: string, value: T, ttlMs: number, leaseKey: string, lease: L, leaseMs: number): Promise<T | undefined> {
    const leaseTtl = positiveTtl(leaseMs);
    const leaseJson = JSON.stringify(lease);
    await this.listPush(key, value, ttlMs);
    if (this.cacheOf(leaseKey).has(leaseKey)) return undefined;
    this.put(leaseKey, leaseJson, leaseTtl);
    return (await this.listRange<T>(key, 1))[0];
  }

  async listShiftLeased<T, L>(key: string, expected: T, leaseKey: string, lease: L, leaseMs: number): Promise<LeasedShift<T>> {
    const leaseTtl = positiveTtl(leaseMs);
    const leaseJson = JSON.stringify(lease);
    if (this.value(leaseKey) !== leaseJson || !(await this.listShiftIf(key, expected))) return { shifted: false };
    const [next] = await this.listRange<T>(key, 1);
    if (next === undefined) {
      this.cacheOf(leaseKey).delete(leaseKey);
      return { shifted: true };
    }
    this.put(leaseKey, leaseJson, leaseTtl);
    return { shifted: true, next };
  }

  async listLength(key: string): Promise<number> {
    const entry = this.cacheOf(key).get(key);
    return Array.isArray(entry) ? entry.length : 0;
  }

  async setAdd(key: string, member: string, ttlMs: number): Promise<void> {
    const ttl = positiveTtl(ttlMs);
    const cache = this.cacheOf(key);
    const entry = cache.get(key);
    const members = entry instanceof Set ? entry : new Set<string>();
    members.add(member);
    cache.set(key, members, { ttl });
  }

  async setRemove(key: string, member: string): Promise<void> {
    const cache = this.cacheOf(key);
    const entry = cache.get(key);
    if (!(entry instanceof Set)) return;
    entry.delete(member);
    if (entry.size === 0) cache.delete(key);
  }

  async setMembers(key: string, max: number): Promise<string[]> {
    const entry = this.cacheOf(key).get(key);
    if (!(entry instanceof Set)) return [];
    const out: string[] = [];
    for (const m of entry) {
      if (out.length >= max) break;
      out.push(m);
    }
    return out;
  }

  async scheduleAdd(key: string, member: string, dueAt: number): Promise<void> {
    this.schedules.add(key, member, dueAt);
  }

  async scheduleRemove(key: string, member: string): Promise<boolean> {
    return this.schedules.remove(key, member);
  }

  async scheduleClaim(key: string, now: number, leaseMs: number, max: number): Promise<ClaimedMember[]> {
    return this.schedules.claim(key, now, leaseMs, max);
  }

  async close(): Promise<void> {
    for (const cache of this.kinds.values()) cache.clear();
    this.schedules.clear();
  }

  /** Records currently held (expired ones may linger until touched or evicted). */
  get size(): number {
    let n = 0;
    for (const cache of this.kinds.values()) n += cache.size;
    return n + this.schedules.count;
  }

  /** Records held, by kind: `{ chat: 100000, mid: 61234 }` (for metrics and the bench). */
  sizes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [kind, cache] of this.kinds) out[kind] = cache.size;
    for (const key of this.schedules.keys()) out[kindOf(key)] = (out[kindOf(key)] ?? 0) + 1;
    return out;
  }

  /** Every record held, as [key, stored text]: for inspection (the bench's summary), not for use. */
  *records(): IterableIterator<[key: string, text: string]> {
    for (const cache of this.kinds.values()) {
      for (const [key, entry] of cache.entries()) {
        yield [key, typeof entry === 'string' ? entry : JSON.stringify(entry instanceof Set ? [...entry] : entry)];
      }
    }
    for (const [key, members] of this.schedules.entries()) yield [key, JSON.stringify(members)];
  }
}
