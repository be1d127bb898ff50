/**
 * Incoming typing state in the state store, so every instance agrees: a typing action on one
 * instance and the user's message on another still clear it. Each instance keeps a local
 * {@link TypingTracker} only to know when to look again (one timer for all chats); the record in
 * the store decides, and a claim makes the 30 s timeout fire `typingStop` once across instances.
 */
import { chatKey } from '../state/keys.js';
import type { StateStore } from '../state/store.js';
import type { ChatTurn } from './chat-order.js';
import type { Clock } from './clock.js';
import { TYPING_TIMEOUT_MS, TypingTracker, type TypingStopReason } from './typing-tracker.js';

interface TypingRecord {
  at: number;
  stopped?: boolean;
}

/** Records outlive the 30 s so a late look can still tell "timed out" from "never typed". */
const RECORD_TTL_MS = TYPING_TIMEOUT_MS * 2;

/** Whether a record says the user is typing at `now`: there, not stopped, and within the 30 s. */
function typingAt(record: TypingRecord | undefined, now: number): record is TypingRecord {
  return record !== undefined && !record.stopped && now - record.at < TYPING_TIMEOUT_MS;
}

/** Incoming typing state as the bot uses it: in the store when shared, in this process when not. */
export interface IncomingTyping {
  /** A typing action arrived. Resolves true when the user was not typing before. */
  typing(chatId: string, turn?: ChatTurn): Promise<boolean>;
  /** A message arrived from the user: their typing ends (typingStop with reason `message`). */
  message(chatId: string, turn?: ChatTurn): Promise<void>;
  /** On a shared store: as of the chat's last finished turn (a turn's own typing is written as it ends). */
  isTyping(chatId: string): Promise<boolean>;
  /** Chats this instance is watching for a timeout. */
  readonly watching: number;
  stop(): void;
}

/**
 * One instance: the tracker alone is the state. Nothing else could read a record in the store,
 * so none is written (at a typing action per callback, those writes were most of the store's churn).
 */
export class LocalTyping implements IncomingTyping {
  private readonly local: TypingTracker;

  constructor(clock: Clock, onStop: (chatId: string, reason: TypingStopReason) => void) {
    this.local = new TypingTracker(onStop, clock);
  }

  async typing(chatId: string): Promise<boolean> {
    return this.local.typing(chatId);
  }

  async message(chatId: string): Promise<void> {
    this.local.message(chatId);
  }

  async isTyping(chatId: string): Promise<boolean> {
    return this.local.isTyping(chatId);
  }

  get watching(): number {
    return this.local.size;
  }

  stop(): void {
    this.local.stop();
  }
}

/** Several instances: the record in the shared store decides (see the top of this file). */
export class TypingState implements IncomingTyping {
  private readonly local: TypingTracker;

  constructor(
    private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly onStop: (chatId: string, reason: TypingStopReason) => void,
    /** Registers the asynchronous look that follows a local timeout, so callers can wait for it. */
    track: (work: Promise<unknown>) => void = () => undefined,
  ) {
    this.local = new TypingTracker((chatId, reason) => {
      if (reason === 'timeout') track(this.timedOut(chatId));
    }, clock);
  }

  /** The store key of a chat's typing record (ChatOrder can read it along with the chat's ticket). */
  key(chatId: string): string {
    return chatKey('typing', chatId);
  }

  /**
   * A typing action arrived. Resolves true when the user was not typing before. In a shared chat
   * turn, the record read with the ticket is used and the new one written at the turn's end.
   */
  async typing(chatId: string, turn?: ChatTurn): Promise<boolean> {
    const now = this.clock.now();
    const key = this.key(chatId);
    const known = turn?.read<TypingRecord>(key);
    let previous: TypingRecord | undefined;
    if (known?.known) {
      previous = known.value;
      turn!.writeAtEnd(key, { at: now }, RECORD_TTL_MS);
    } else {
      previous = await this.store.swap<TypingRecord>(key, { at: now }, RECORD_TTL_MS);
    }
    this.local.typing(chatId);
    return !typingAt(previous, now);
  }

  /**
   * A message arrived from the user: their typing ends (typingStop with reason `message`). In a
   * chat turn that holds the typing record (read with the ticket, or written earlier in the turn:
   * a typing action and a message in one callback), the stop goes through the turn too, so the
   * turn's own deferred write cannot undo it.
   */
  async message(chatId: string, turn?: ChatTurn): Promise<void> {
    this.local.forget(chatId);
    const key = this.key(chatId);
    const known = turn?.read<TypingRecord>(key);
    if (known?.known) {
      const record = known.value;
      if (!typingAt(record, this.clock.now())) return;
      turn!.writeAtEnd(key, { at: record.at, stopped: true }, RECORD_TTL_MS);
      this.onStop(chatId, 'message');
      return;
    }
    const record = await this.store.get<TypingRecord>(key);
    if (!typingAt(record, this.clock.now())) return;
    if (await this.store.replaceIf(this.key(chatId), record, { at: record.at, stopped: true }, RECORD_TTL_MS)) {
      this.onStop(chatId, 'message');
    }
  }

  async isTyping(chatId: string): Promise<boolean> {
    const record = await this.store.get<TypingRecord>(this.key(chatId));
    return typingAt(record, this.clock.now());
  }

  /** Chats this instance is watching for a timeout. */
  get watching(): number {
    return this.local.size;
  }

  stop(): void {
    this.local.stop();
  }

  private async timedOut(chatId: string): Promise<void> {
    const record = await this.store.get<TypingRecord>(this.key(chatId));
    if (!record || record.stopped || this.clock.now() - record.at < TYPING_TIMEOUT_MS) return;
    // Several instances may have watched this chat: the one that marks it stopped fires the event.
    if (await this.store.replaceIf(this.key(chatId), record, { at: record.at, stopped: true }, RECORD_TTL_MS)) {
      this.onStop(chatId, 'timeout');
    }
  }
}
