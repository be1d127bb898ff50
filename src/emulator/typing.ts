/**
 * The user's side of typing notifications, following the spec's outgoing rules: a typing action
 * goes out 5 s after the user starts typing, only if none went out in the last 30 s; sending the
 * message first cancels it; after 30 s another is scheduled only if the user is still typing; and
 * a sent message resets the 30 s window.
 */

export interface TypingTimings {
  /** Wait after typing starts before the action is sent. Spec: 5 s. */
  delayMs: number;
  /** At most one typing action per window. Spec: 30 s. */
  windowMs: number;
  /** A keystroke this recent counts as "currently typing". */
  activeMs: number;
}

export const SPEC_TYPING: TypingTimings = { delayMs: 5_000, windowMs: 30_000, activeMs: 3_000 };

export class OutgoingTyping {
  private timer: NodeJS.Timeout | undefined;
  private recheck: NodeJS.Timeout | undefined;
  private lastSentAt: number | undefined;
  private lastKeystrokeAt = 0;

  constructor(
    private readonly send: () => void,
    private readonly timings: TypingTimings,
    private readonly now: () => number = Date.now,
  ) {}

  /** The user pressed a key. */
  keystroke(): void {
    this.lastKeystrokeAt = this.now();
    if (this.timer) return;
    const since = this.lastSentAt === undefined ? Infinity : this.lastKeystrokeAt - this.lastSentAt;
    if (since >= this.timings.windowMs) {
      this.schedule();
      return;
    }
    // Sent recently: look again when the window ends, and only then decide (rule 4).
    if (!this.recheck) {
      this.recheck = setTimeout(() => {
        this.recheck = undefined;
        if (this.now() - this.lastKeystrokeAt <= this.timings.activeMs) this.schedule();
      }, this.timings.windowMs - since);
      this.recheck.unref();
    }
  }

  /** The user sent a message: no typing for it, and the next one starts a fresh window. */
  messageSent(): void {
    this.cancel();
    this.lastSentAt = undefined;
  }

  cancel(): void {
    clearTimeout(this.timer);
    clearTimeout(this.recheck);
    this.timer = undefined;
    this.recheck = undefined;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastSentAt = this.now();
      this.send();
    }, this.timings.delayMs);
    this.timer.unref();
  }
}
