/**
 * Outgoing typing for bots that relay a human operator, by the platform's five rules:
 *  1. When the operator starts typing, send a typing action in 5 s, unless one went out in the last 30 s.
 *  2. If the operator's message is sent before those 5 s, cancel: no typing action.
 *  3. When the 5 s pass, send it, and remember when.
 *  4. Once 30 s have passed since then, send again only if the operator is still typing.
 *  5. A sent message forgets when typing last went out, so the next typing starts from rule 1.
 *
 * "Still typing" means the operator reported typing within the last `idleAfterMs` (5 s by
 * default), or has not called {@link TypingRelay.operatorIdle} since.
 */
import { systemClock, type Clock } from './clock.js';

export interface TypingRelayOptions {
  /** Sends one typing action to the user (e.g. `() => ctx.typing()` or `() => bot.typing(chatId)`). */
  send: () => Promise<unknown> | unknown;
  clock?: Clock;
  /** Rule 1's delay. Default 5 s. */
  delayMs?: number;
  /** Rules 1 and 4's window. Default 30 s. */
  windowMs?: number;
  /** No typing report for this long means the operator is idle. Default 5 s. */
  idleAfterMs?: number;
  onError?: (error: unknown) => void;
}

export class TypingRelay {
  private readonly clock: Clock;
  private readonly delayMs: number;
  private readonly windowMs: number;
  private readonly idleAfterMs: number;
  private lastSentAt: number | undefined;
  private lastActivityAt: number | undefined;
  private timer: unknown;

  constructor(private readonly options: TypingRelayOptions) {
    this.clock = options.clock ?? systemClock;
    this.delayMs = options.delayMs ?? 5_000;
    this.windowMs = options.windowMs ?? 30_000;
    this.idleAfterMs = options.idleAfterMs ?? 5_000;
  }

  /** The operator is typing (call on every keystroke or typing event; cheap). */
  operatorTyping(): void {
    this.lastActivityAt = this.clock.now();
    if (this.timer !== undefined) return;
    const now = this.clock.now();
    if (this.lastSentAt === undefined || now - this.lastSentAt >= this.windowMs) {
      this.schedule(this.delayMs, () => this.fire());
    } else {
      // Sent within the window: look again when it closes (rule 4).
      this.schedule(this.lastSentAt + this.windowMs - now, () => this.windowClosed());
    }
  }

  /** The operator stopped typing without sending. */
  operatorIdle(): void {
    this.lastActivityAt = undefined;
  }

  /** The operator's message went out: cancel a pending typing action and reset the window (rules 2, 5). */
  messageSent(): void {
    this.cancel();
    this.lastSentAt = undefined;
    this.lastActivityAt = undefined;
  }

  /** Stops all timers (the chat ended). */
  cancel(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** When a typing action last went out, if within the current conversation turn. */
  get lastTypingSentAt(): number | undefined {
    return this.lastSentAt;
  }

  private isTyping(): boolean {
    return this.lastActivityAt !== undefined && this.clock.now() - this.lastActivityAt < this.idleAfterMs;
  }

  private schedule(ms: number, fn: () => void): void {
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      fn();
    }, Math.max(0, ms));
  }

  private fire(): void {
    this.lastSentAt = this.clock.now();
    try {
      const sent = this.options.send();
      if (sent instanceof Promise) sent.catch((e: unknown) => this.options.onError?.(e));
    } catch (e) {
      this.options.onError?.(e);
    }
    // Keep the user's indicator alive while the operator keeps typing (rule 4).
    this.schedule(this.windowMs, () => this.windowClosed());
  }

  private windowClosed(): void {
    if (this.isTyping()) this.fire();
  }
}
