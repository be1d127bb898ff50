/**
 * The one small interface every piece of per-chat state goes through: the chat registry, closed
 * chats, redelivery records, sessions, delivery tracking, typing state, per-chat ordering and the
 * outbound queue. Memory by default; Redis when several instances share a channel. Every record
 * has a TTL, so nothing grows without bound.
 *
 * Values must be JSON-serialisable: both stores keep them as JSON text, and the compare-and-*
 * operations compare that text, so pass the same value (built the same way) you stored.
 */
export interface StateStore {
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T, ttlMs: number): Promise<void>;
  /** Stores the value only if the key is absent; resolves true when this call stored it. */
  setIfAbsent<T>(key: string, value: T, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Deletes the key only while it holds `expected` (compare-and-delete); true when deleted. */
  deleteIf<T>(key: string, expected: T): Promise<boolean>;
  /** Replaces the value and TTL only while the key holds `expected` (compare-and-set, lease renewal). */
  replaceIf<T>(key: string, expected: T, value: T, ttlMs: number): Promise<boolean>;
  /** Adds 1 to an integer counter (absent counts as 0), refreshes its TTL, and returns the new value. */
  increment(key: string, ttlMs: number): Promise<number>;
  /**
   * `increment(counterKey)` and `get(readKey)` in one atomic step (one round trip on Redis); both
   * keys' TTLs are refreshed, so a counter and the value paired with it expire together.
   */
  incrementAndRead<T>(counterKey: string, readKey: string, ttlMs: number): Promise<[count: number, value: T | undefined]>;
  /** Stores the value and returns the one it replaced, in one atomic step. */
  swap<T>(key: string, value: T, ttlMs: number): Promise<T | undefined>;
  /** Appends to the end of a list, refreshing the list's TTL; returns the new length. */
  listPush<T>(key: string, value: T, ttlMs: number): Promise<number>;
  /** Up to `count` items from the front of a list, without removing them. */
  listRange<T>(key: string, count: number): Promise<T[]>;
  /** Removes the first item only if it equals `expected`; true when removed. */
  listShiftIf<T>(key: string, expected: T): Promise<boolean>;
  listLength(key: string): Promise<number>;
  /** Adds a member to a set, refreshing the set's TTL. */
  setAdd(key: string, member: string, ttlMs: number): Promise<void>;
  setRemove(key: string, member: string): Promise<void>;
  /** Up to `max` members of a set, in no particular order. */
  setMembers(key: string, max: number): Promise<string[]>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}
