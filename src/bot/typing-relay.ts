/**
 * Outgoing typing for bots that relay a human operator: the operator's console reports keystrokes,
 * idleness and sent messages, and the spec's outgoing rules (src/protocol/typing-rules.ts, the one
 * place they live) decide when a typing action goes to the user. For continuous typing that is at
 * 5, 40, 75 s …: after each action, 30 s pass, then another is scheduled with rule 1's 5 s delay.
 *
 * "Still typing" means the operator reported typing within the last `idleAfterMs` (5 s by
 * default), and has not called {@link TypingRelay.operatorIdle} since.
 */
import { OutgoingTypingRules } from '../protocol/typing-rules.js';
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
  /** A failed send; it is never thrown. */
  onError?: (error: unknown) => void;
}

export class TypingRelay {
  private readonly rules: OutgoingTypingRules;

  constructor(options: TypingRelayOptions) {
    this.rules = new OutgoingTypingRules({
      clock: options.clock ?? systemClock,
      send: options.send,
      onError: options.onError,
      delayMs: options.delayMs,
      windowMs: options.windowMs,
      activeMs: options.idleAfterMs ?? 5_000,
    });
  }

  /**
   * The operator is typing (call on every keystroke or typing event; cheap).
   *
   * @example operatorConsole.on('keystroke', () => relay.operatorTyping());
   */
  operatorTyping(): void {
    this.rules.typing();
  }

  /**
   * The operator stopped typing without sending.
   *
   * @example operatorConsole.on('idle', () => relay.operatorIdle());
   */
  operatorIdle(): void {
    this.rules.idle();
  }

  /**
   * The operator's message went out: cancel a pending typing action and reset the window (rules 2, 5).
   *
   * @example relay.messageSent(); await bot.send(chatId, text);
   */
  messageSent(): void {
    this.rules.messageSent();
  }

  /**
   * Stops all timers (the chat ended).
   *
   * @example bot.on('leave', () => relay.cancel());
   */
  cancel(): void {
    this.rules.stop();
  }

  /** When a typing action last went out, if within the current conversation turn. */
  get lastTypingSentAt(): number | undefined {
    return this.rules.lastTypingSentAt;
  }
}
