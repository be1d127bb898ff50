import { LRUCache } from 'lru-cache';
import { ticketLeaseJson, type StateStore, type Ticket, type TicketKeys } from './store.js';

export interface MemoryStoreOptions {
  /**
   * Most records kept at once; the least recently used go first. Default 100,000: about 50 MB of
   * heap, and a bound on the garbage V8 must hold while records churn (RSS follows it, not the
   * live size). Several instances, or more chats than this, want Redis.
   */
  maxEntries?: number;
  /** Clock in ms, injectable for tests. */
  now?: () => number;
}

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

/** A record: its JSON text, or for lists and sets their members' JSON text. */
type Entry = { kind: 'value'; json: string } | { kind: 'list'; items: string[] } | { kind: 'set'; members: Set<string> };

/**
 * An in-process store, bounded by entry count and TTL. Values are copied through JSON on the way
 * in and out, as Redis does, so code behaves the same on both stores.
 */
export class MemoryStore implements StateStore {
  private readonly cache: LRUCache<string, Entry>;

  constructor(options: MemoryStoreOptions = {}) {
    const now = options.now;
    this.cache = new LRUCache<string, Entry>({
      max: options.maxEntries ?? 100_000,
      ttlAutopurge: false,
      ...(now ? { perf: { now } } : {}),
    });
  }

  private value(key: string): string | undefined {
    const entry = this.cache.get(key);
    return entry?.kind === 'value' ? entry.json : undefined;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const json = this.value(key);
    return json === undefined ? undefined : (JSON.parse(json) as T);
  }

  async set<T>(key: string, value: T, ttlMs: number): Promise<void> {
    this.cache.set(key, { kind: 'value', json: JSON.stringify(value) }, { ttl: positiveTtl(ttlMs) });
  }

  async setIfAbsent<T>(key: string, value: T, ttlMs: number): Promise<boolean> {
    if (this.cache.has(key)) return false;
    this.cache.set(key, { kind: 'value', json: JSON.stringify(value) }, { ttl: positiveTtl(ttlMs) });
    return true;
  }

  async delete(key: string): Promise<void> {
    this.cache.delete(key);
  }

  async deleteIf<T>(key: string, expected: T): Promise<boolean> {
    if (this.value(key) !== JSON.stringify(expected)) return false;
    this.cache.delete(key);
    return true;
  }

  async replaceIf<T>(key: string, expected: T, value: T, ttlMs: number): Promise<boolean> {
    if (this.value(key) !== JSON.stringify(expected)) return false;
    this.cache.set(key, { kind: 'value', json: JSON.stringify(value) }, { ttl: positiveTtl(ttlMs) });
    return true;
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    const current = Number(this.value(key) ?? '0');
    const next = (Number.isFinite(current) ? current : 0) + 1;
    this.cache.set(key, { kind: 'value', json: String(next) }, { ttl: positiveTtl(ttlMs) });
    return next;
  }

  async takeTicket<R = unknown>(keys: TicketKeys, owner: string, leaseMs: number, idleTtlMs: number, readKey?: string): Promise<Ticket<R>> {
    const ttl = positiveTtl(idleTtlMs);
    const leaseTtl = positiveTtl(leaseMs);
    ticketLeaseJson(0, owner);
    const ticket = await this.increment(keys.tickets, ttl);
    const stored = Number(this.value(keys.done) ?? '0');
    const done = Number.isFinite(stored) ? stored : 0;
    let holding = done === ticket - 1;
    if (done >= ticket) {
      holding = true;
      this.cache.set(keys.done, { kind: 'value', json: String(ticket - 1) }, { ttl });
    } else if (this.cache.has(keys.done)) {
      this.cache.set(keys.done, { kind: 'value', json: String(done) }, { ttl });
    }
    if (holding) this.cache.set(keys.lease, { kind: 'value', json: ticketLeaseJson(ticket, owner) }, { ttl: leaseTtl });
    if (readKey === undefined) return { ticket, done, holding };
    return { ticket, done, holding, read: await this.get<R>(readKey) };
  }

  async endTurn(keys: TicketKeys, ticket: number, owner: string, idleTtlMs: number): Promise<boolean> {
    const ttl = positiveTtl(idleTtlMs);
    const lease = ticketLeaseJson(ticket, owner);
    const stored = this.value(keys.done);
    const advanced = stored === undefined ? ticket === 1 : stored === String(ticket - 1);
    if (advanced) this.cache.set(keys.done, { kind: 'value', json: String(ticket) }, { ttl });
    if (this.value(keys.lease) === lease) this.cache.delete(keys.lease);
    return advanced;
  }

  async swap<T>(key: string, value: T, ttlMs: number): Promise<T | undefined> {
    const previous = await this.get<T>(key);
    await this.set(key, value, ttlMs);
    return previous;
  }

  async listPush<T>(key: string, value: T, ttlMs: number): Promise<number> {
    const ttl = positiveTtl(ttlMs);
    const entry = this.cache.get(key);
    const items = entry?.kind === 'list' ? entry.items : [];
    items.push(JSON.stringify(value));
    this.cache.set(key, { kind: 'list', items }, { ttl });
    return items.length;
  }

  async listRange<T>(key: string, count: number): Promise<T[]> {
    const entry = this.cache.get(key);
    if (entry?.kind !== 'list') return [];
    return entry.items.slice(0, Math.max(0, count)).map((j) => JSON.parse(j) as T);
  }

  async listShiftIf<T>(key: string, expected: T): Promise<boolean> {
    const entry = this.cache.get(key);
    if (entry?.kind !== 'list' || entry.items[0] !== JSON.stringify(expected)) return false;
    entry.items.shift();
    if (entry.items.length === 0) this.cache.delete(key);
    return true;
  }

  async listLength(key: string): Promise<number> {
    const entry = this.cache.get(key);
    return entry?.kind === 'list' ? entry.items.length : 0;
  }

  async setAdd(key: string, member: string, ttlMs: number): Promise<void> {
    const ttl = positiveTtl(ttlMs);
    const entry = this.cache.get(key);
    const members = entry?.kind === 'set' ? entry.members : new Set<string>();
    members.add(member);
    this.cache.set(key, { kind: 'set', members }, { ttl });
  }

  async setRemove(key: string, member: string): Promise<void> {
    const entry = this.cache.get(key);
    if (entry?.kind !== 'set') return;
    entry.members.delete(member);
    if (entry.members.size === 0) this.cache.delete(key);
  }

  async setMembers(key: string, max: number): Promise<string[]> {
    const entry = this.cache.get(key);
    if (entry?.kind !== 'set') return [];
    const out: string[] = [];
    for (const m of entry.members) {
      if (out.length >= max) break;
      out.push(m);
    }
    return out;
  }

  async close(): Promise<void> {
    this.cache.clear();
  }

  /** Records currently held (expired ones may linger until touched or evicted). */
  get size(): number {
    return this.cache.size;
  }
}
