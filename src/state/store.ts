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
   * Enters a ticket lock in one atomic step (one round trip on Redis): takes the next ticket
   * (increments `keys.tickets`), reads how far the lock is (`keys.done`, absent counts as 0) and,
   * when it is this ticket's turn at once, stores the lease `{ ticket, owner }` (TicketLease, this
   * key order) at `keys.lease` for `leaseMs`. `owner` is plain text (letters, digits, `_.:-`). A `done`
   * at or past the new ticket means the counter expired alone while the chat was idle: `done` is
   * moved back to ticket − 1 and the turn is taken. Both counters' TTLs become `idleTtlMs`.
   * With `reads`, the turn's first reads ride along: those keys' values come back as `values`
   * (undefined where absent), read in the same step, so they are current when `holding` is true.
   * On a Redis Cluster every key of the step (as of endTurn's) must be in one hash slot: build
   * them with the same chat's `chatKey` (state/keys.ts).
   */
  takeTicket(keys: TicketKeys, owner: string, leaseMs: number, idleTtlMs: number, reads?: readonly string[]): Promise<Ticket>;
  /**
   * Ends ticket `ticket`'s turn in one atomic step: moves `keys.done` from ticket − 1 to ticket
   * (false, and no change, when it is elsewhere: the turn was skipped as stalled) and deletes
   * `keys.lease` while it still holds this ticket's lease. `writes` (the turn's deferred writes)
   * are stored in the same step, whether or not the turn was skipped.
   */
  endTurn(keys: TicketKeys, ticket: number, owner: string, idleTtlMs: number, writes?: readonly TurnWrite[]): Promise<boolean>;
  /** Stores the value and returns the one it replaced, in one atomic step. */
  swap<T>(key: string, value: T, ttlMs: number): Promise<T | undefined>;
  /** Appends to the end of a list, refreshing the list's TTL; returns the new length. */
  listPush<T>(key: string, value: T, ttlMs: number): Promise<number>;
  /** Up to `count` items from the front of a list, without removing them. */
  listRange<T>(key: string, count: number): Promise<T[]>;
  /** Removes the first item only if it equals `expected`; true when removed. */
  listShiftIf<T>(key: string, expected: T): Promise<boolean>;
  /**
   * Removes the first item only if it equals `expected` AND `guardKey` holds `guardValue`, in one
   * atomic step (one Lua script on Redis): an acknowledgement fenced by a lease, so a holder whose
   * lease lapsed or was taken over can no longer change the list. True when removed. On Redis
   * Cluster both keys must share a hash slot (build them with chatKey for the same chat).
   *
   * @example
   * // Ack the job just sent, but only while this drain still holds the chat's outbox lease.
   * const acked = await store.listShiftIfHeld(chatKey('outbox', chatId), job, chatKey('outbox', chatId, 'lease'), lease);
   * if (!acked) stopDraining(); // someone else holds the chat now: it will send what is left
   */
  listShiftIfHeld<T, G>(key: string, expected: T, guardKey: string, guardValue: G): Promise<boolean>;
  /**
   * Appends to the end of a list (refreshing its TTL) and, in the same atomic step, takes the
   * list's lease if nobody holds it: stores `lease` at `leaseKey` for `leaseMs` unless that key
   * exists. Resolves the list's head when this call took the lease (what the new holder works on
   * first), undefined when the lease was held already (its holder sees the item in its turn). One
   * round trip on Redis; on a cluster both keys must share a hash slot (chatKey of one chat).
   *
   * @example
   * // Queue a reply; when no drain attends the chat, this caller becomes its drain.
   * const first = await store.listPushLeased(chatKey('outbox', chatId), job, ttlMs, chatKey('outbox', chatId, 'lease'), lease, leaseMs);
   * if (first !== undefined) drain(first);
   */
  listPushLeased<T, L>(key: string, value: T, ttlMs: number, leaseKey: string, lease: L, leaseMs: number): Promise<T | undefined>;
  /**
   * Acknowledges the head of a list drained under a lease and hands over the next item, in one
   * atomic step: only while `leaseKey` holds `lease` AND the head equals `expected`, removes the
   * head; then, if items remain, renews the lease for `leaseMs` and resolves `{ shifted: true, next }`
   * (the new head), else deletes the lease and resolves `{ shifted: true }` (released: the next push
   * takes it). Otherwise nothing changes and it resolves `{ shifted: false }`. One round trip on
   * Redis; on a cluster both keys must share a hash slot.
   *
   * @example
   * const ack = await store.listShiftLeased(listKey, job, leaseKey, lease, leaseMs);
   * if (!ack.shifted) stopDraining(); // the lease lapsed or was taken over
   * else if (ack.next !== undefined) send(ack.next); // still ours, renewed
   */
  listShiftLeased<T, L>(key: string, expected: T, leaseKey: string, lease: L, leaseMs: number): Promise<LeasedShift<T>>;
  listLength(key: string): Promise<number>;
  /** Adds a member to a set, refreshing the set's TTL. */
  setAdd(key: string, member: string, ttlMs: number): Promise<void>;
  setRemove(key: string, member: string): Promise<void>;
  /** Up to `max` members of a set, in no particular order. */
  setMembers(key: string, max: number): Promise<string[]>;
  /**
   * Adds `member` to the schedule at `key`, due at `dueAt` (ms since the epoch, any finite number),
   * or moves it there when it is already scheduled: a member is in a schedule at most once. A
   * schedule is its own kind of record (a sorted set on Redis): use its key for nothing else. It has
   * no TTL; a member stays until removed, so whoever claims a member removes it once handled (a
   * member left behind only falls due again, it does not pile up). The member is data, not a key:
   * any text, stored as given. A non-finite `dueAt` is a RangeError naming it, and changes nothing.
   *
   * @example
   * // A dialog's timeout, due in 5 minutes; moved by scheduling the same member again.
   * await store.scheduleAdd(storeKey('timers', 'conv'), JSON.stringify([chatId, run, seq]), clock.now() + 300_000);
   */
  scheduleAdd(key: string, member: string, dueAt: number): Promise<void>;
  /**
   * Removes `member` from the schedule at `key`; true when it was there.
   *
   * @example
   * // The user answered before the timeout: it must not fire.
   * await store.scheduleRemove(storeKey('timers', 'conv'), member);
   */
  scheduleRemove(key: string, member: string): Promise<boolean>;
  /**
   * In one atomic step, claims up to `max` members of the schedule at `key` that are due at `now`
   * or earlier, earliest first (equal due times in the members' UTF-8 byte order): each claimed
   * member's due time moves to `now + leaseMs`, so no other claimer gets it during the lease, and a
   * claimer that dies before removing it lets it fall due again for anyone. Resolves each claimed
   * member with the due time it had before the claim. Two claimers racing never get the same
   * member. `now` and `leaseMs` are from the caller's clock: instances sharing a schedule need
   * clocks that agree (NTP), give or take what a late firing may be. RangeError naming the
   * argument when `now` is not finite, `leaseMs` not a positive finite number, or `max` not a
   * whole number ≥ 1.
   *
   * @example
   * // A poller: fire what is due, then remove it; a crash in between re-fires it after 30 s.
   * for (const { member, dueAt } of await store.scheduleClaim(key, clock.now(), 30_000, 20)) {
   *   await fire(member, dueAt);
   *   await store.scheduleRemove(key, member);
   * }
   */
  scheduleClaim(key: string, now: number, leaseMs: number, max: number): Promise<ClaimedMember[]>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}

/** A member {@link StateStore.scheduleClaim} claimed, with the due time it had before the claim. */
export interface ClaimedMember {
  member: string;
  dueAt: number;
}

/** What {@link StateStore.listShiftLeased} did: `next` is the new head, absent when the list emptied and the lease was released. */
export type LeasedShift<T> = { shifted: false } | { shifted: true; next?: T };

/** The three records of one ticket lock (see ChatOrder). */
export interface TicketKeys {
  tickets: string;
  done: string;
  lease: string;
}

export interface Ticket {
  ticket: number;
  /** The last ticket whose turn ended (0 when none), as read when the ticket was taken. */
  done: number;
  /** True when it was this ticket's turn at once and the lease is now held. */
  holding: boolean;
  /** The values at `reads` when the ticket was taken, in order (undefined where absent); only when asked for. */
  values?: unknown[];
}

/** A write a turn defers to its end (see StateStore.endTurn). */
export interface TurnWrite {
  key: string;
  value: unknown;
  ttlMs: number;
}

/** The lease record of a ticket lock's running turn. */
export interface TicketLease {
  ticket: number;
  owner: string;
}

const OWNER = /^[A-Za-z0-9_.:-]{1,100}$/;

/**
 * The lease as stored: JSON with this key order. Redis builds the same text inside its script,
 * which is why `owner` is restricted to characters JSON leaves as they are.
 */
export function ticketLeaseJson(ticket: number, owner: string): string {
  // An owner is checked once: instances use one for their lifetime.
  if (owner !== lastValidOwner && !OWNER.test(owner)) throw new RangeError(`ticket lock owner must be 1-100 of A-Z a-z 0-9 _ . : -, got ${JSON.stringify(owner)}`);
  lastValidOwner = owner;
  if (!Number.isSafeInteger(ticket)) throw new RangeError(`ticket must be a whole number, got ${ticket}`);
  return `{"ticket":${ticket},"owner":"${owner}"}`;
}
let lastValidOwner = '';
