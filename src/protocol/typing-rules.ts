/**
 * The spec's outgoing typing rules, once, as a state machine with an injected clock. The bot's
 * `ctx.withTyping`, `TypingRelay` (a bot relaying a human operator) and the emulator's web-chat
 * user all drive this one class, so they send typing actions at the same moments for the same
 * timeline. It does no I/O itself: `send` is whatever the caller passes.
 *
 * The reading implemented (the spec's "Outgoing" rules 1–5):
 *  1. When typing starts, a typing action is scheduled for 5 s later, unless one went out in the
 *     last 30 s (then nothing is scheduled before those 30 s are over).
 *  2. A message sent before the timer fires cancels it: no typing action.
 *  3. When the timer fires, the action goes out and its time is remembered.
 *  4. Once 30 s have passed since that action, another is *scheduled* (rule 1's 5 s timer) only if
 *     the typist is still typing; an idle typist gets nothing. The spec says "schedule", so the 5 s
 *     delay applies every time: continuous typing sends at 5, 40, 75 s …, never at 35 s.
 *  5. A sent message forgets the last action's time, so the next typing starts again at rule 1.
 *
 * "Still typing" means a `typing()` report within the last `activeMs` and no `idle()`,
 * `messageSent()` or `stop()` since. With the default `activeMs` (Infinity) one `typing()` call
 * holds until one of those: what `withTyping` wants, where the running work is the typing.
 * Keystroke-driven callers (an operator console, the emulator's page) pass a few seconds.
 *
 * @example
 * const rules = new OutgoingTypingRules({ clock: systemClock, send: () => bot.typing(chatId) });
 * rules.typing();       // on every keystroke (cheap)
 * rules.messageSent();  // when the message goes out
 */
import type { Clock } from './clock.js';
import { BbmError } from './errors.js';

/** The spec's numbers: the delay before a typing action, and the window between two of them. */
export interface TypingRuleTimings {
  /** Rule 1's delay after typing starts. Spec: 5 s. */
  delayMs: number;
  /** Rules 1 and 4's window: at most one typing action per this long. Spec: 30 s. */
  windowMs: number;
}

export const SPEC_TYPING_RULES: Readonly<TypingRuleTimings> = Object.freeze({ delayMs: 5_000, windowMs: 30_000 });

export interface OutgoingTypingRulesOptions extends Partial<TypingRuleTimings> {
  clock: Clock;
  /** Sends one typing action. A throw or a rejected promise goes to `onError`, never to the caller. */
  send: () => unknown;
  /** A failed send (default: ignored, as a lost typing indicator harms nothing). */
  onError?: (error: unknown) => void;
  /** How long one `typing()` report counts as "still typing". Default Infinity: until idle/message/stop. */
  activeMs?: number;
}

/** The one timer the rules keep: rule 1's delay, or rule 4's look at the end of the window. */
type Pending = { kind: 'delay' | 'window'; handle: unknown; seq: number };

export class OutgoingTypingRules {
  private readonly clock: Clock;
  private readonly delayMs: number;
  private readonly windowMs: number;
  private readonly activeMs: number;
  private lastSentAt: number | undefined;
  private activeAt: number | undefined;
  private pending: Pending | undefined;
  private seq = 0;

  constructor(private readonly options: OutgoingTypingRulesOptions) {
    this.clock = options.clock;
    this.delayMs = checkMs('delayMs', options.delayMs ?? SPEC_TYPING_RULES.delayMs);
    this.windowMs = checkMs('windowMs', options.windowMs ?? SPEC_TYPING_RULES.windowMs);
    this.activeMs = options.activeMs ?? Infinity;
    if (!(this.activeMs > 0)) throw new BbmError('BAD_OPTION', `activeMs must be a positive number of ms, got ${this.activeMs}`, { field: 'activeMs' });
  }

  /**
   * The typist is typing (typing starts, or a keystroke while it goes on): rule 1.
   *
   * @example input.addEventListener('input', () => rules.typing());
   */
  typing(): void {
    this.activeAt = this.clock.now();
    // A timer already decides what happens next (rule 1's delay, or rule 4's look at the window's end).
    if (this.pending === undefined) this.arm();
  }

  /**
   * The typist stopped without sending. A pending rule 1 timer still fires (only a message cancels
   * it, rule 2), but nothing more is scheduled after it.
   *
   * @example operatorConsole.on('idle', () => rules.idle());
   */
  idle(): void {
    this.activeAt = undefined;
  }

  /**
   * The message went out: cancel a pending typing action (rule 2) and forget the last one's time (rule 5).
   *
   * @example rules.messageSent(); await bot.send(chatId, text);
   */
  messageSent(): void {
    this.stop();
    this.lastSentAt = undefined;
  }

  /**
   * Typing ended without a message (the work settled, the chat closed): no timer fires after this.
   * The last action's time is kept, so typing again within 30 s still respects rule 1.
   *
   * @example try { await work(); } finally { rules.stop(); }
   */
  stop(): void {
    this.activeAt = undefined;
    if (this.pending !== undefined) this.clock.clearTimeout(this.pending.handle);
    this.pending = undefined;
  }

  /** Whether the typist counts as typing now (rule 4's question). */
  get isTyping(): boolean {
    return this.activeAt !== undefined && this.clock.now() - this.activeAt < this.activeMs;
  }

  /** When the last typing action went out, unless a message was sent since (rule 5). */
  get lastTypingSentAt(): number | undefined {
    return this.lastSentAt;
  }

  /** Rule 1: a typing action in `delayMs`, or, inside the window, a look again when it ends (rule 4). */
  private arm(): void {
    const now = this.clock.now();
    if (this.lastSentAt === undefined || now - this.lastSentAt >= this.windowMs) this.schedule('delay', this.delayMs);
    else this.schedule('window', this.lastSentAt + this.windowMs - now);
  }

  private schedule(kind: Pending['kind'], ms: number): void {
    const seq = ++this.seq;
    const handle = this.clock.setTimeout(() => {
      // A timer cleared or replaced since must not act, even if a clock runs it anyway.
      if (this.pending?.seq !== seq) return;
      this.pending = undefined;
      if (kind === 'delay') this.fire();
      else if (this.isTyping) this.arm();
    }, Math.max(0, ms));
    this.pending = { kind, handle, seq };
  }

  /** Rule 3: send, remember when, and look again when the window ends (rule 4). */
  private fire(): void {
    this.lastSentAt = this.clock.now();
    this.schedule('window', this.windowMs);
    try {
      const sent = this.options.send();
      if (sent instanceof Promise) sent.catch((e: unknown) => this.report(e));
    } catch (e) {
      this.report(e);
    }
  }

  private report(error: unknown): void {
    try {
      this.options.onError?.(error);
    } catch {
      // An error handler that throws must not turn a lost typing indicator into a crash in a timer.
    }
  }
}

function checkMs(field: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new BbmError('BAD_OPTION', `${field} must be a finite number of ms ≥ 0, got ${value}`, { field });
  return value;
}
