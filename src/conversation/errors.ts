/**
 * The typed errors of conversations. Each ends the dialog it happened in (its record is deleted)
 * and goes on to `bot.catch` like a handler's error.
 */
import { BbmError } from '../protocol/errors.js';

/**
 * Replaying a dialog met a different operation than the one recorded at that position: the code
 * changed between two turns, or took another path (random, clock, network outside `conv.step`).
 * The dialog ends rather than go on from a state its journal does not describe.
 */
export class ConversationReplayError extends BbmError {
  readonly dialog: string;
  readonly position: number;
  readonly recorded: string;
  readonly replayed: string;

  constructor(dialog: string, position: number, recorded: string, replayed: string) {
    super(
      'CONVERSATION_REPLAY',
      `conversation ${JSON.stringify(dialog)} took another path on replay: at position ${position} the journal holds ${recorded}, the code did ${replayed}. ` +
        'Keep dialog code deterministic: random numbers, the clock and network calls go through conv.random(), conv.now(), conv.step()',
      { field: 'journal' },
    );
    this.dialog = dialog;
    this.position = position;
    this.recorded = recorded;
    this.replayed = replayed;
  }
}

/** A dialog's stored journal went past its bound (`maxEntries` entries or `maxBytes` of JSON). */
export class ConversationLimitError extends BbmError {
  readonly dialog: string;
  readonly limit: 'maxEntries' | 'maxBytes';
  readonly size: number;
  readonly max: number;

  constructor(dialog: string, limit: 'maxEntries' | 'maxBytes', size: number, max: number) {
    super(
      'CONVERSATION_TOO_LONG',
      `conversation ${JSON.stringify(dialog)} outgrew its bound: ${size} ${limit === 'maxEntries' ? 'journal entries' : 'bytes of stored JSON'} > ${limit} ${max}. ` +
        'Write repetition with conv.loop (or ask with validate), whose storage stays constant, or raise the option',
      { field: 'journal' },
    );
    this.dialog = dialog;
    this.limit = limit;
    this.size = size;
    this.max = max;
  }
}

/** Two conversations of one bot have the same name, or a name is empty. */
export class ConversationNameError extends BbmError {
  constructor(name: string, reason: 'duplicate' | 'empty') {
    super(
      'CONVERSATION_NAME',
      reason === 'duplicate' ? `two conversations of this bot are named ${JSON.stringify(name)}: names must be unique` : 'a conversation needs a non-empty name',
      { field: 'name' },
    );
  }
}

/** A value a dialog stores (its argument, a step's result, a sub-flow's return value) is not JSON. */
export class ConversationValueError extends BbmError {
  constructor(dialog: string, what: string, cause: unknown) {
    super('CONVERSATION_VALUE', `conversation ${JSON.stringify(dialog)}: ${what} must be JSON-serialisable (it is stored in the journal)`, {
      field: what,
      cause,
    });
  }
}
