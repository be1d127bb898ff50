/**
 * Bounds on a chat's turns, so that one chat can neither hold its turn forever nor pile up work:
 *
 * - A turn still running after `handlerTimeoutMs` is abandoned for ordering: the chat's turn (the
 *   KeyedQueue slot, and the shared ChatOrder lease) is given up so the next callback runs. The
 *   handler itself cannot be stopped (JavaScript has no way to), so it is fenced instead: its sends
 *   fail with TurnAbandonedError, its session is not saved, and its message is answered 503.
 * - A chat has at most `maxChatQueue` callbacks waiting on an instance (the size of its KeyedQueue);
 *   beyond that the callback is refused whole with ChatBusyError, which the webhook answers 503
 *   with Retry-After.
 *
 * Neither costs a store round trip: one timer for all running turns (TurnTimer), and the queue's
 * own count.
 */
import { BbmError } from '../protocol/errors.js';
import type { Clock } from './clock.js';

/**
 * A handler ran longer than HANDLER_TIMEOUT_MS; what `bot.catch` gets. The message is answered
 * 503 (BBM retries it) and the chat moves on.
 */
export class HandlerTimeoutError extends BbmError {
  readonly status = 503;
  readonly retryable = true;
  constructor(
    readonly chatId: string,
    readonly mid: string | undefined,
    readonly timeoutMs: number,
  ) {
    super('HANDLER_TIMEOUT', `the turn of chat ${chatId}${mid === undefined ? '' : ` (message ${mid})`} ran longer than ${timeoutMs} ms and was abandoned; the chat moved on`);
  }
}

/** A send from a turn abandoned after HANDLER_TIMEOUT_MS: the chat is another turn's now. */
export class TurnAbandonedError extends BbmError {
  constructor(readonly chatId: string) {
    super('TURN_ABANDONED', `chat ${chatId}: this turn ran past its timeout and was abandoned; it can no longer send to the chat`);
  }
}

/**
 * Too many callbacks of one chat are waiting; the webhook answers the callback 503 with
 * `Retry-After: retryAfterSeconds`, so BBM sends it again later.
 */
export class ChatBusyError extends BbmError {
  readonly status = 503;
  readonly retryable = true;
  constructor(
    readonly chatId: string,
    readonly limit: number,
    readonly retryAfterSeconds: number,
  ) {
    super('CHAT_BUSY', `chat ${chatId} already has ${limit} callbacks waiting; retry later`);
  }
}

/**
 * One turn's bound, made by TurnTimer: `abandoned` turns true once it expires, and `guard` then
 * rejects with HandlerTimeoutError. `ctx` and `mid` name what was running, for `bot.catch`.
 */
export class TurnFence {
  abandoned = false;
  /** The message being handled now, named in the timeout error. */
  mid: string | undefined;
  /** The context of the turn running now, handed to `bot.catch` on expiry. */
  ctx: unknown;
  private fail: ((error: HandlerTimeoutError) => void) | undefined;
  /** TurnTimer's list of running turns, oldest first. */
  prev: TurnFence | undefined;
  next: TurnFence | undefined;

  constructor(
    readonly chatId: string,
    /** When it expires (clock time); Infinity: never. */
    readonly expiresAt: number,
    private readonly timer: TurnTimer | undefined,
  ) {}

  /** `work`, or HandlerTimeoutError once the turn is abandoned, whichever comes first. */
  guard<T>(work: Promise<T>): Promise<T> {
    if (!this.timer) return work;
    return new Promise<T>((resolve, reject) => {
      this.fail = reject;
      work.then(resolve, reject);
    });
  }

  /** Throws TurnAbandonedError once the turn is abandoned: the fence on its sends. */
  check(): void {
    if (this.abandoned) throw new TurnAbandonedError(this.chatId);
  }

  /** The turn ended (in time or not): it no longer counts. */
  stop(): void {
    this.timer?.forget(this);
  }

  /** Called by TurnTimer at `expiresAt`. */
  expire(error: HandlerTimeoutError): void {
    this.abandoned = true;
    this.fail?.(error);
  }
}

/**
 * The timeouts of every running turn, on one timer: turns share one timeout, so they expire in the
 * order they started, and a turn costs a Set insertion and removal instead of a timer of its own.
 *
 * @example
 * const timer = new TurnTimer(60_000, clock, (fence, error) => report(error, fence.ctx));
 * const fence = timer.start(chatId);
 * try { return await fence.guard(work(fence)); } finally { fence.stop(); }
 */
export class TurnTimer {
  // Running turns as a linked list through the fences, oldest first: cheaper than a Set, whose
  // hashing and table showed up as garbage-collection time on the hot path.
  private head: TurnFence | undefined;
  private tail: TurnFence | undefined;
  private armed = false;

  /** `timeoutMs` 0: turns never expire. */
  constructor(
    readonly timeoutMs: number,
    private readonly clock: Clock,
    private readonly onExpire: (fence: TurnFence, error: HandlerTimeoutError) => void,
  ) {}

  start(chatId: string): TurnFence {
    if (this.timeoutMs <= 0) return new TurnFence(chatId, Infinity, undefined);
    const fence = new TurnFence(chatId, this.clock.now() + this.timeoutMs, this);
    fence.prev = this.tail;
    if (this.tail) this.tail.next = fence;
    else this.head = fence;
    this.tail = fence;
    if (!this.armed) this.arm(fence.expiresAt);
    return fence;
  }

  forget(fence: TurnFence): void {
    if (fence.prev === undefined && this.head !== fence) return;
    if (fence.prev) fence.prev.next = fence.next;
    else this.head = fence.next;
    if (fence.next) fence.next.prev = fence.prev;
    else this.tail = fence.prev;
    fence.prev = fence.next = undefined;
  }

  private arm(at: number): void {
    this.armed = true;
    this.clock.setTimeout(() => this.fire(), Math.max(0, at - this.clock.now()));
  }

  private fire(): void {
    this.armed = false;
    const now = this.clock.now();
    for (let fence = this.head; fence; fence = this.head) {
      // The oldest turn still running decides when to look again.
      if (fence.expiresAt > now) return this.arm(fence.expiresAt);
      this.forget(fence);
      const error = new HandlerTimeoutError(fence.chatId, fence.mid, this.timeoutMs);
      fence.expire(error);
      this.onExpire(fence, error);
    }
  }
}

