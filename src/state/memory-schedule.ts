/**
 * The MemoryStore's schedules (StateStore.scheduleAdd / scheduleRemove / scheduleClaim): per key,
 * the members in due order, as a Redis sorted set keeps them, so both stores claim in the same
 * order. Kept apart from the LRU caches: evicting a member would lose a timer, so a schedule is
 * bounded by a cap that refuses a new member instead.
 */
import { BbmError } from '../protocol/errors.js';
import { checkScheduleAdd, checkScheduleClaim, checkScheduleRemove } from './schedule-args.js';
import type { ClaimedMember } from './store.js';

/** A schedule is full: it holds its cap of members (MemoryStore `maxEntries` for the key's kind). */
export class ScheduleFullError extends BbmError {
  constructor(key: string, cap: number) {
    super('SCHEDULE_FULL', `the schedule ${JSON.stringify(key)} already holds ${cap} members (its MemoryStore cap); a new one is refused rather than another dropped`, {
      field: 'member',
    });
  }
}

interface Slot {
  dueAt: number;
  member: string;
}

/**
 * Code point order (which is UTF-8 byte order, Redis's order for equal scores), not JavaScript's
 * UTF-16 order: they differ where a surrogate pair meets a character from U+E000 to U+FFFF.
 */
function codePointCompare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (D800–DFFF) stand for code points above FFFF: move them past E000–FFFF.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

function before(a: Slot, b: Slot): number {
  return a.dueAt !== b.dueAt ? a.dueAt - b.dueAt : codePointCompare(a.member, b.member);
}

/** One schedule: each member's due time, and the members sorted by (due time, member). */
class Schedule {
  readonly due = new Map<string, number>();
  readonly order: Slot[] = [];

  /** Where `slot` is, or would go, in `order` (binary search). */
  private indexOf(slot: Slot): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.order[mid]!, slot) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  put(member: string, dueAt: number): void {
    this.remove(member);
    const slot = { dueAt, member };
    this.order.splice(this.indexOf(slot), 0, slot);
    this.due.set(member, dueAt);
  }

  remove(member: string): boolean {
    const dueAt = this.due.get(member);
    if (dueAt === undefined) return false;
    this.order.splice(this.indexOf({ dueAt, member }), 1);
    this.due.delete(member);
    return true;
  }
}

/**
 * Every schedule of one MemoryStore, by key.
 *
 * @example
 * const schedules = new MemorySchedules(() => 100_000);
 * schedules.add('timers:conv', 'c1', 1_000);
 * schedules.claim('timers:conv', 1_000, 30_000, 20); // [{ member: 'c1', dueAt: 1_000 }]
 */
export class MemorySchedules {
  private readonly byKey = new Map<string, Schedule>();

  /** `capOf(key)`: the most members the schedule at `key` may hold. */
  constructor(private readonly capOf: (key: string) => number) {}

  /** See StateStore.scheduleAdd. @example schedules.add('timers:conv', 'c1', Date.now() + 5_000); */
  add(key: string, member: string, dueAt: number): void {
    checkScheduleAdd(member, dueAt);
    let schedule = this.byKey.get(key);
    if (!schedule) this.byKey.set(key, (schedule = new Schedule()));
    if (!schedule.due.has(member)) {
      const cap = this.capOf(key);
      if (schedule.due.size >= cap) throw new ScheduleFullError(key, cap);
    }
    schedule.put(member, dueAt);
  }

  /** See StateStore.scheduleRemove. @example schedules.remove('timers:conv', 'c1'); // true */
  remove(key: string, member: string): boolean {
    checkScheduleRemove(member);
    const schedule = this.byKey.get(key);
    if (!schedule?.remove(member)) return false;
    if (schedule.due.size === 0) this.byKey.delete(key);
    return true;
  }

  /** See StateStore.scheduleClaim. @example schedules.claim('timers:conv', Date.now(), 30_000, 20); */
  claim(key: string, now: number, leaseMs: number, max: number): ClaimedMember[] {
    const until = checkScheduleClaim(now, leaseMs, max);
    const schedule = this.byKey.get(key);
    if (!schedule) return [];
    const claimed: ClaimedMember[] = [];
    for (const slot of schedule.order) {
      if (claimed.length >= max || slot.dueAt > now) break;
      claimed.push({ member: slot.member, dueAt: slot.dueAt });
    }
    for (const { member } of claimed) schedule.put(member, until);
    return claimed;
  }

  /** Each schedule's members in due order (for MemoryStore.sizes and records). @example [...schedules.entries()]; // [['timers:conv', [['c1', 1000]]]] */
  *entries(): IterableIterator<[key: string, members: [member: string, dueAt: number][]]> {
    for (const [key, schedule] of this.byKey) yield [key, schedule.order.map((s) => [s.member, s.dueAt])];
  }

  /** The keys of the schedules that hold members. @example [...schedules.keys()]; // ['timers:conv'] */
  keys(): IterableIterator<string> {
    return this.byKey.keys();
  }

  /** How many schedules hold members. @example schedules.count; // 1 */
  get count(): number {
    return this.byKey.size;
  }

  /** Drops every schedule. @example schedules.clear(); */
  clear(): void {
    this.byKey.clear();
  }
}
