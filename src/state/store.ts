/**
 * The one small interface every piece of per-chat state goes through: the chat registry, closed
 * chats, redelivery records, sessions, delivery tracking. Memory by default; Redis when several
 * instances share a channel. Every record has a TTL, so nothing grows without bound.
 *
 * Values must be JSON-serialisable: the Redis store round-trips them through JSON, and the memory
 * store copies them on the way in and out so that both behave the same.
 */
export interface StateStore {
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T, ttlMs: number): Promise<void>;
  /** Stores the value only if the key is absent; resolves true when this call stored it. */
  setIfAbsent<T>(key: string, value: T, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}
