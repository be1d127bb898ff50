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

/** The user left this chat (or the Chat API said it no longer exists): nothing may be sent to it. */
export class ChatClosedError extends BbmError {
  readonly chatId: string;

  constructor(chatId: string) {
    super('CHAT_CLOSED', `Chat ${chatId} is closed: the user left, or the chat no longer exists`, { field: 'chatId' });
    this.chatId = chatId;
  }
}

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
