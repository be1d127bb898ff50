import { BbmError, ValidationError, toFieldIssues } from '../protocol/errors.js';
import { SendRequestSchema, type SendRequest } from '../protocol/outbound.js';
import type { MessageResult, SendResult } from './send-result.js';

/** Server bodies are kept for diagnosis, but never unbounded. */
const MAX_BODY_TEXT = 4096;

export function truncateBody(text: string): string {
  return text.length <= MAX_BODY_TEXT ? text : `${text.slice(0, MAX_BODY_TEXT)}…`;
}

/** The token service refused or failed. `status` is 0 when no HTTP answer came (timeout, connection). */
export class TokenError extends BbmError {
  readonly status: number;
  readonly body: string;
  readonly retryable: boolean;

  constructor(status: number, body: string, options: { retryable: boolean; detail?: string }) {
    const detail = options.detail === undefined ? '' : ` (${options.detail})`;
    const what = status === 0 ? (options.detail ?? 'no answer') : `HTTP ${status}${detail}`;
    super('TOKEN_ERROR', `Token service failed: ${what}${body ? `: ${truncateBody(body)}` : ''}`);
    this.status = status;
    this.body = truncateBody(body);
    this.retryable = options.retryable;
  }
}

/** How a whole request failed: an HTTP status, a timeout, or no connection. */
export type ChatApiFailureKind = 'http' | 'timeout' | 'network';

/**
 * The Chat API refused or failed a whole request (as opposed to single messages, which are reported
 * in a {@link SendResult}). `status` is 0 for timeouts and connection errors.
 */
export class ChatApiError extends BbmError {
  readonly status: number;
  readonly body: string;
  readonly retryable: boolean;
  readonly kind: ChatApiFailureKind;
  readonly chatId: string;
  /** The server's Retry-After, in ms, when it sent one. */
  readonly retryAfterMs: number | undefined;
  /**
   * Set when earlier attempts of the same send already got per-message answers: what was delivered
   * before this failure (the rest are marked failed), so nothing is resent blindly.
   */
  result: SendResult | undefined;

  constructor(init: {
    status: number;
    body: string;
    retryable: boolean;
    kind: ChatApiFailureKind;
    chatId: string;
    retryAfterMs?: number;
    detail?: string;
  }) {
    const what = init.kind === 'http' ? `HTTP ${init.status}` : (init.detail ?? init.kind);
    super('CHAT_API_ERROR', `Chat API request for chat ${init.chatId} failed: ${what}${init.body ? `: ${truncateBody(init.body)}` : ''}`);
    this.status = init.status;
    this.body = truncateBody(init.body);
    this.retryable = init.retryable;
    this.kind = init.kind;
    this.chatId = init.chatId;
    this.retryAfterMs = init.retryAfterMs;
    this.result = undefined;
  }
}

/**
 * A send stopped before a retry because its `guard` said no (SendOptions): the caller lost the
 * right to send (an outbox lease taken over by another instance). Nothing more went out.
 */
export class SendFencedError extends BbmError {
  readonly chatId: string;

  constructor(chatId: string) {
    super('SEND_FENCED', `the send to chat ${chatId} was stopped before a retry: its sender no longer holds the chat`, { field: 'chatId' });
    this.chatId = chatId;
  }
}

/**
 * Why a user cannot be written to (see {@link UserGoneError}):
 * - `left`: the bot got the user's leave for this chat and token; refused before sending.
 * - `closed_by_platform`: the Chat API answered 404 (the chat or the user no longer exists: the
 *   user left before the bot heard of it, or the chat expired); later sends with that token are
 *   refused before sending.
 * - `no_token`: the bot holds no message token for the chat (it only saw a leave, or lost the
 *   chat's record); it can write again once the user writes.
 */
export type UserGoneReason = 'left' | 'closed_by_platform' | 'no_token';

const GONE_TEXT: Readonly<Record<UserGoneReason, string>> = {
  left: 'the user left the chat',
  closed_by_platform: 'the Chat API answered 404: the chat or the user no longer exists',
  no_token: 'the bot holds no message token for the chat: the user must write first',
};

/**
 * The user is gone: nothing can be sent to them in this chat, whatever the cause (`reason`). The
 * one error for it, from the client and from the bot; never retryable. A turn that fails with it
 * keeps its session changes and its message counts as handled (see the README, Sessions).
 *
 * @example
 * try { await bot.send(chatId, 'Your pizza is on its way'); }
 * catch (err) { if (err instanceof UserGoneError) await orders.markUnreachable(chatId, err.reason); else throw err; }
 */
export class UserGoneError extends BbmError {
  declare readonly code: 'USER_GONE';
  readonly chatId: string;
  readonly reason: UserGoneReason;
  readonly retryable = false;
  /** With `closed_by_platform`, what earlier attempts of the same send delivered before the 404 (as on ChatApiError). */
  readonly result: SendResult | undefined;

  /** `reason` defaults to `left`, so the old `new ChatClosedError(chatId)` still builds the same error. */
  constructor(chatId: string, reason: UserGoneReason = 'left', options: { cause?: unknown; result?: SendResult } = {}) {
    super('USER_GONE', `Cannot write to chat ${chatId}: ${GONE_TEXT[reason]}`, {
      field: reason === 'no_token' ? 'mTok' : 'chatId',
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.chatId = chatId;
    this.reason = reason;
    this.result = options.result;
  }

  /**
   * The error itself when `error` is a UserGoneError, one rebuilt when it carries its code and text
   * (the outbox passes a send's failure between instances as name, message and code), else undefined.
   *
   * @example const gone = UserGoneError.from(err, chatId); if (gone) throw gone;
   */
  static from(error: unknown, chatId: string): UserGoneError | undefined {
    if (error instanceof UserGoneError) return error;
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    if (code !== 'USER_GONE' || typeof message !== 'string') return undefined;
    const reason = (Object.keys(GONE_TEXT) as UserGoneReason[]).find((r) => message.endsWith(GONE_TEXT[r])) ?? 'closed_by_platform';
    return new UserGoneError(chatId, reason, { cause: error });
  }
}

/** @deprecated The same class as {@link UserGoneError} (so `instanceof ChatClosedError` still holds); use UserGoneError. */
export const ChatClosedError = UserGoneError;
/** @deprecated Use {@link UserGoneError}. */
export type ChatClosedError = UserGoneError;

/** Thrown by {@link assertDelivered}: some messages of a send failed individually. */
export class MessageFailedError extends BbmError {
  readonly failures: readonly MessageResult[];
  readonly result: SendResult;

  constructor(result: SendResult) {
    const failures = result.messages.filter((m) => m.state === 'failed');
    const list = failures.map((m) => `#${m.index} ${m.code}${m.error ? ` ${m.error}` : ''}`).join('; ');
    super('MESSAGE_FAILED', `${failures.length} message(s) failed: ${list}`);
    this.failures = failures;
    this.result = result;
  }
}

/** For callers who prefer an exception to inspecting `ok`. */
export function assertDelivered(result: SendResult): SendResult {
  if (!result.ok) throw new MessageFailedError(result);
  return result;
}

/** Checks an outbound body against the spec's limits; throws a ValidationError listing every issue. */
export function validateSendRequest(body: unknown): SendRequest {
  const parsed = SendRequestSchema.safeParse(body);
  if (!parsed.success) throw new ValidationError('Outbound request', toFieldIssues(parsed.error.issues));
  return parsed.data;
}

export { ValidationError };
