/**
 * Incoming typing state: a typing action marks the user as typing; a message from them, or 30 s
 * without another typing action, clears it.
 *
 * One timer for all chats, armed only while someone is typing. Entries live in a Map kept in
 * expiry order (a refresh moves the chat to the end), so a sweep only looks at expired entries:
 * 100,000 chats that typed once cost 100,000 map entries for 30 s, and one timer.
 */
import { systemClock, type Clock } from './clock.js';

export const TYPING_TIMEOUT_MS = 30_000;

export type TypingStopReason = 'message' | 'timeout';

export class TypingTracker {
  private readonly since = new Map<string, number>();
  private timer: unknown;
  private timerAt = 0;

  constructor(
    private readonly onStop: (chatId: string, reason: TypingStopReason) => void,
    private readonly clock: Clock = systemClock,
    private readonly timeoutMs = TYPING_TIMEOUT_MS,
  ) {}

  /** A typing action arrived. Returns true when the user was not typing before (typing started). */
  typing(chatId: string): boolean {
    const now = this.clock.now();
    const at = this.since.get(chatId);
    let started = at === undefined;
    if (at !== undefined) {
      this.since.delete(chatId);
      if (now - at >= this.timeoutMs) {
        // Expired but not swept yet: that typing ended, this is a new one.
        this.onStop(chatId, 'timeout');
        started = true;
      }
    }
    this.since.set(chatId, now);
    this.arm();
    return started;
  }

  /** A message arrived from the user: their typing ends. Returns true when they were typing. */
  message(chatId: string): boolean {
    const at = this.since.get(chatId);
    if (at === undefined) return false;
    this.since.delete(chatId);
    const expired = this.clock.now() - at >= this.timeoutMs;
    this.onStop(chatId, expired ? 'timeout' : 'message');
    return !expired;
  }

  /** Stops watching a chat without firing anything. */
  forget(chatId: string): void {
    this.since.delete(chatId);
  }

  isTyping(chatId: string): boolean {
    const at = this.since.get(chatId);
    return at !== undefined && this.clock.now() - at < this.timeoutMs;
  }

  /** Chats currently marked typing (expired ones may linger until the next sweep). */
  get size(): number {
    return this.since.size;
  }

  /** Clears every entry whose 30 s have passed; runs from the single timer. */
  sweep(): void {
    const now = this.clock.now();
    for (const [chatId, at] of this.since) {
      if (now - at < this.timeoutMs) break;
      this.since.delete(chatId);
      this.onStop(chatId, 'timeout');
    }
    this.timer = undefined;
    this.arm();
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    // Entries only ever get later and sweep() re-arms, so an armed timer is never too late; and
    // looking up the Map's first live entry after many deletes is slow (it skips dead slots).
    if (this.timer !== undefined) return;
    const first = this.since.values().next();
    if (first.done) return;
    const due = first.value + this.timeoutMs;
    if (this.timer !== undefined && this.timerAt <= due) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = due;
    this.timer = this.clock.setTimeout(() => this.sweep(), Math.max(0, due - this.clock.now()));
  }
}
