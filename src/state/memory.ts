import { LRUCache } from 'lru-cache';
import type { StateStore } from './store.js';

export interface MemoryStoreOptions {
  /** Most records kept at once; the least recently used go first. Default 200,000. */
  maxEntries?: number;
  /** Clock in ms, injectable for tests. */
  now?: () => number;
}

interface Entry {
  json: string;
}

/** An in-process store: bounded by entry count and TTL, values copied through JSON like Redis does. */
export class MemoryStore implements StateStore {
  private readonly cache: LRUCache<string, Entry>;

  constructor(options: MemoryStoreOptions = {}) {
    const now = options.now;
    this.cache = new LRUCache<string, Entry>({
      max: options.maxEntries ?? 200_000,
      ttlAutopurge: false,
      ...(now ? { perf: { now } } : {}),
    });
  }

  async get<T>(key: string): Promise<T | undefined> {
    const entry = this.cache.get(key);
    return entry === undefined ? undefined : (JSON.parse(entry.json) as T);
  }

  async set<T>(key: string, value: T, ttlMs: number): Promise<void> {
    this.cache.set(key, { json: JSON.stringify(value) }, { ttl: ttlMs });
  }

  async setIfAbsent<T>(key: string, value: T, ttlMs: number): Promise<boolean> {
    if (this.cache.has(key)) return false;
    this.cache.set(key, { json: JSON.stringify(value) }, { ttl: ttlMs });
    return true;
  }

  async delete(key: string): Promise<void> {
    this.cache.delete(key);
  }

  async close(): Promise<void> {
    this.cache.clear();
  }

  /** Records currently held (expired ones may linger until touched or evicted). */
  get size(): number {
    return this.cache.size;
  }
}
