/**
 * The argument checks of the schedule operations, shared by every store so a caller's bug fails the
 * same way everywhere, before anything changes (a NaN score would otherwise mean different things
 * to Redis and to the memory store, and turn into null on the remote store's JSON wire).
 */

function finite(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RangeError(`${op} ${name} must be a finite number of milliseconds, got ${String(value)}`);
  }
  return value;
}

const LONE_SURROGATE = /\p{Cs}/u;

function memberText(op: string, member: unknown): string {
  if (typeof member !== 'string') throw new TypeError(`${op} member must be a string, got ${typeof member}`);
  // Redis keeps UTF-8: a lone surrogate would come back as U+FFFD, another member than the one added.
  if (LONE_SURROGATE.test(member)) throw new RangeError(`${op} member must be well-formed Unicode text (it holds a lone surrogate)`);
  return member;
}

/**
 * Checks scheduleAdd's arguments.
 *
 * @example
 * checkScheduleAdd('c1', Number.NaN); // RangeError: scheduleAdd dueAt must be a finite number…
 */
export function checkScheduleAdd(member: unknown, dueAt: unknown): void {
  memberText('scheduleAdd', member);
  finite('scheduleAdd', 'dueAt', dueAt);
}

/**
 * Checks scheduleRemove's member.
 *
 * @example
 * checkScheduleRemove(42); // TypeError: scheduleRemove member must be a string, got number
 */
export function checkScheduleRemove(member: unknown): void {
  memberText('scheduleRemove', member);
}

/**
 * Checks scheduleClaim's arguments and returns the due time claimed members move to.
 *
 * @example
 * checkScheduleClaim(1_000, 30_000, 20); // 31_000
 * checkScheduleClaim(1_000, 30_000, 0);  // RangeError: scheduleClaim max must be a whole number ≥ 1, got 0
 */
export function checkScheduleClaim(now: unknown, leaseMs: unknown, max: unknown): number {
  const from = finite('scheduleClaim', 'now', now);
  const lease = finite('scheduleClaim', 'leaseMs', leaseMs);
  // A lease of 0 (or less) would leave a claimed member due at once: a second claimer could take it.
  if (lease <= 0) throw new RangeError(`scheduleClaim leaseMs must be a positive number of milliseconds, got ${lease}`);
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1) {
    throw new RangeError(`scheduleClaim max must be a whole number ≥ 1, got ${String(max)}`);
  }
  const until = from + lease;
  if (!Number.isFinite(until)) throw new RangeError(`scheduleClaim now + leaseMs must be a finite number, got ${until}`);
  return until;
}
