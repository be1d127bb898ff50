/**
 * Bounds on a chat's turns, so that one chat can neither hold its turn forever nor pile up work:
 *
 * - A turn still running after `handlerTimeoutMs` is abandoned for ordering: the chat's turn (the
 *   KeyedQueue slot, and the shared ChatOrder lease) is given up so the next callback runs. The
 *   handler itself cannot be stopped (JavaScript has no way to), so it is fenced instead: its sends
 *   fail with TurnAbandonedError, its session is not saved, and its message is answered 503.
 * - A chat has at most `maxChatQueue` callbacks waiting on an instance; beyond that the callback is
 *   refused whole with ChatBusyError, which the webhook answers 503 with Retry-After.
 *
 * Both cost no store round trip: a timer per turn and a counter per chat, in this process.
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
 * One turn's bound: after `timeoutMs` it is abandoned (`abandoned` turns true, `expired` rejects
 * with HandlerTimeoutError). 0 never expires.
 *
 * @example
 * const fence = new TurnFence(chatId, 60_000, clock);
 * try { return await fence.guard(work(fence)); } finally { fence.stop(); }
 */
export class TurnFence {
  abandoned = false;
  /** The message being handled now, named in the timeout error. */
  mid: string | undefined;
  readonly expired: Promise<never> | undefined;
  private timer: unknown;

  constructor(
    readonly chatId: string,
    private readonly timeoutMs: number,
    private readonly clock: Clock,
  ) {
    if (timeoutMs <= 0) return;
    this.expired = new Promise<never>((_, reject) => {
      this.timer = clock.setTimeout(() => {
        this.abandoned = true;
        reject(new HandlerTimeoutError(chatId, this.mid, timeoutMs));
      }, timeoutMs);
    });
    // Several turns may race this promise, or none: never an unhandled rejection.
    this.expired.catch(() => undefined);
  }

  /** `work`, or HandlerTimeoutError once the turn is abandoned, whichever comes first. */
  guard<T>(work: Promise<T>): Promise<T> {
    if (!this.expired) return work;
    // The abandoned work goes on; its own failure must not surface as unhandled.
    work.catch(() => undefined);
    return Promise.race([work, this.expired]);
  }

  /** Throws TurnAbandonedError once the turn is abandoned: the fence on its sends. */
  check(): void {
    if (this.abandoned) throw new TurnAbandonedError(this.chatId);
  }

  /** The turn ended in time: no timeout. */
  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
  }
}

/**
 * Callbacks per chat in this process, waiting or running, so each chat's queue stays bounded.
 *
 * @example
 * if (!load.enter(chatId)) throw new ChatBusyError(chatId, load.limit, 5);
 * try { await work(); } finally { load.leave(chatId); }
 */
export class ChatLoad {
  private readonly counts = new Map<string, number>();

  /** At most `limit` callbacks waiting behind the running one; 0 means no bound. */
  constructor(readonly limit: number) {}

  /** Counts a callback in; false (nothing counted) when the chat already has `limit` waiting. */
  enter(chatId: string): boolean {
    const n = this.counts.get(chatId) ?? 0;
    if (this.limit > 0 && n > this.limit) return false;
    this.counts.set(chatId, n + 1);
    return true;
  }

  leave(chatId: string): void {
    const n = this.counts.get(chatId) ?? 1;
    if (n <= 1) this.counts.delete(chatId);
    else this.counts.set(chatId, n - 1);
  }
}
