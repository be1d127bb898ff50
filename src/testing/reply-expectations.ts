/**
 * The harness's expectations about replies, kept per chat: each chat has its own queue of replies
 * not yet checked, so replies of one chat (a test's leftovers, or a late background reply) are never
 * another chat's "next reply". A failure is a {@link ReplyMismatchError} whose stack starts at the
 * test's own call and whose message shows expected against actual once, as a diff.
 */
import { BbmError } from '../protocol/errors.js';
import type { OutboundMessage } from '../protocol/outbound.js';
import type { RecordedSend } from './fake-chat-api.js';
import { formatDiff } from './reply-diff.js';
import { projectOnto, replyMatches, type ReplyPattern } from './reply-pattern.js';

/** An expectation about the bot's replies failed: what was expected, and what the bot sent instead (undefined: nothing). */
export class ReplyMismatchError extends BbmError {
  readonly chatId: string;
  readonly expected: ReplyPattern | undefined;
  readonly actual: OutboundMessage | undefined;

  constructor(message: string, details: { chatId: string; expected?: ReplyPattern; actual?: OutboundMessage }) {
    super('REPLY_MISMATCH', message, { field: 'replies' });
    this.chatId = details.chatId;
    this.expected = details.expected;
    this.actual = details.actual;
  }
}

/** A function the stack trace is cut at: the failure points at whoever called it. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- Error.captureStackTrace takes any function
type StackCut = Function;

const brief = (m: OutboundMessage): string => (m.type === 'text' ? JSON.stringify(m.text) : JSON.stringify(m));

function fail(caller: StackCut, message: string, details: ConstructorParameters<typeof ReplyMismatchError>[1]): never {
  const error = new ReplyMismatchError(message, details);
  Error.captureStackTrace(error, caller);
  throw error;
}

/** The message as the bot built it: `index` is the client's numbering, not part of what a test expects. */
function withoutIndex(message: OutboundMessage): Omit<OutboundMessage, 'index'> {
  const { index: _index, ...rest } = message;
  return rest;
}

function describePattern(expected: ReplyPattern): string {
  if (typeof expected === 'string') return `the text ${JSON.stringify(expected)}`;
  if (expected instanceof RegExp) return `a text matching ${String(expected)}`;
  return 'a message matching the pattern';
}

export class ReplyExpectations {
  /** How many replies of each chat have been checked. */
  private readonly checked = new Map<string, number>();

  constructor(private readonly sends: () => readonly RecordedSend[]) {}

  /** Every message the platform took (a 2xx answer) for `chatId`, or for every chat, in order. */
  replies(chatId?: string): OutboundMessage[] {
    return this.sends()
      .filter((s) => s.status < 300 && (chatId === undefined || s.chatId === chatId))
      .flatMap((s) => (s.body.messages ?? []) as OutboundMessage[]);
  }

  /** The replies of `chatId` not yet checked. */
  unchecked(chatId: string): OutboundMessage[] {
    return this.replies(chatId).slice(this.checked.get(chatId) ?? 0);
  }

  /** Asserts the next unchecked reply of `chatId` matches, and checks it off. */
  expect(chatId: string, expected: ReplyPattern, caller: StackCut): OutboundMessage {
    const [actual, ...later] = this.unchecked(chatId);
    const more = later.length === 0 ? '' : `\n\n${later.length} more unchecked after it: ${later.map(brief).join(', ')}`;
    if (!actual) {
      fail(caller, `expected the bot to reply ${describePattern(expected)} in chat ${chatId}, but it sent nothing more there`, { chatId, expected });
    }
    if (!replyMatches(expected, actual)) {
      const wanted = typeof expected === 'string' ? { type: 'text', text: expected } : expected instanceof RegExp ? { type: 'text', text: expected } : expected;
      // A text was expected and something else came: show all of it; else only what the pattern names.
      const seen = typeof expected === 'string' || expected instanceof RegExp ? (actual.type === 'text' ? projectOnto(wanted, actual) : withoutIndex(actual)) : projectOnto(wanted, actual);
      fail(caller, `expected the bot's next reply in chat ${chatId} to be ${describePattern(expected)}\n\n${formatDiff(wanted, seen)}${more}`, { chatId, expected, actual });
    }
    this.checked.set(chatId, (this.checked.get(chatId) ?? 0) + 1);
    return actual;
  }

  /** Asserts `chatId` has no unchecked reply. */
  expectNone(chatId: string, caller: StackCut): void {
    const rest = this.unchecked(chatId);
    if (rest.length > 0) {
      fail(caller, `expected no more replies in chat ${chatId}, but the bot sent ${rest.map(brief).join(', ')}`, { chatId, actual: rest[0] });
    }
  }

  /** Checks off the next `count` unchecked replies of `chatId` (all of them when undefined) unseen, and returns them. */
  skip(chatId: string, count: number | undefined, caller: StackCut): OutboundMessage[] {
    const rest = this.unchecked(chatId);
    if (count !== undefined && (!Number.isInteger(count) || count < 0)) {
      const error = new RangeError(`skipReplies: count must be a whole number ≥ 0, got ${String(count)}`);
      Error.captureStackTrace(error, caller);
      throw error;
    }
    const n = count ?? rest.length;
    if (n > rest.length) {
      fail(caller, `cannot skip ${n} replies in chat ${chatId}: only ${rest.length} unchecked (${rest.map(brief).join(', ') || 'none'})`, { chatId });
    }
    this.checked.set(chatId, (this.checked.get(chatId) ?? 0) + n);
    return rest.slice(0, n);
  }

  /** Forgets every count: for when the recorded sends were emptied. */
  reset(): void {
    this.checked.clear();
  }
}
