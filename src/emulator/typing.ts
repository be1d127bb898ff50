/**
 * The web-chat user's side of typing notifications. The spec's outgoing rules themselves live in
 * src/protocol/typing-rules.ts, shared with the bot's `withTyping` and `TypingRelay`, so the
 * emulated user types exactly like a bot that follows them: continuous typing sends at 5, 40, 75 s …,
 * sending the message first cancels, and a sent message resets the 30 s window.
 */
import { systemClock, type Clock } from '../protocol/clock.js';
import { OutgoingTypingRules, SPEC_TYPING_RULES, type TypingRuleTimings } from '../protocol/typing-rules.js';

export interface TypingTimings extends TypingRuleTimings {
  /** A keystroke this recent counts as "currently typing" (rule 4). */
  activeMs: number;
}

export const SPEC_TYPING: TypingTimings = { ...SPEC_TYPING_RULES, activeMs: 3_000 };

export class OutgoingTyping {
  private readonly rules: OutgoingTypingRules;

  constructor(send: () => void, timings: TypingTimings, clock: Clock = systemClock) {
    this.rules = new OutgoingTypingRules({ clock, send, ...timings });
  }

  /**
   * The user pressed a key.
   *
   * @example record.typing.keystroke();
   */
  keystroke(): void {
    this.rules.typing();
  }

  /**
   * The user sent a message: no typing for it, and the next one starts a fresh window.
   *
   * @example record.typing.messageSent();
   */
  messageSent(): void {
    this.rules.messageSent();
  }

  /**
   * The chat ended: no timer fires after this.
   *
   * @example record.typing.cancel();
   */
  cancel(): void {
    this.rules.stop();
  }
}
