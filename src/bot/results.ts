/**
 * What BBM is told about a message whose handlers failed: a result code from the spec's table for
 * callback answers (400, 409, 500, 503; never a Chat API code such as 401, which would read as a bad
 * signature), and an error text written for BBM, not for the developer.
 */
import { BbmError } from '../protocol/errors.js';

/**
 * An error a handler throws to choose the message's result code (any other error is a 500): `503`
 * asks BBM to retry later, `400` says the message itself is wrong. The callback answer carries
 * only the spec's codes, so another 4xx is answered 400, 429 is answered 503, and another 5xx 500.
 *
 * @example throw new HandlerError(400, 'a date like 2026-12-24 was expected');
 */
export class HandlerError extends BbmError {
  readonly status: number;
  constructor(status: number, message: string, options: { cause?: unknown } = {}) {
    super('HANDLER_FAILED', message, options);
    this.status = status;
  }
}

export type CallbackFailureCode = 400 | 409 | 500 | 503;

const RETRY_HELPS = new Set([429, 502, 503, 504]);

/** The worst per-message code inside a MessageFailedError-like error (a 207 the handler turned into an exception). */
function failedMessageCodes(error: unknown): number[] {
  const failures = (error as { failures?: unknown } | null)?.failures;
  if (!Array.isArray(failures)) return [];
  return failures.map((f) => (f as { code?: unknown }).code).filter((c): c is number => typeof c === 'number');
}

/**
 * The result code for a failed message. A HandlerError says what the author chose (409 stays 409,
 * another 4xx but 429 becomes 400). Any other error (a reply the Chat API refused, a bug) is about
 * the bot, not the message: 503 when BBM retrying could help (the error says it is retryable, or
 * carries 429 or a 502-504, itself or in its per-message failures), else 500.
 *
 * @example resultCodeOf(new ChatApiError(401, …)) // 500, never 401
 */
export function resultCodeOf(error: unknown): CallbackFailureCode {
  const status = (error as { status?: unknown } | null)?.status;
  const known = typeof status === 'number' && Number.isInteger(status) ? status : undefined;
  if (error instanceof HandlerError && known !== undefined && known >= 400 && known <= 499 && known !== 429) return known === 409 ? 409 : 400;
  if (known !== undefined && RETRY_HELPS.has(known)) return 503;
  if ((error as { retryable?: unknown } | null)?.retryable === true) return 503;
  if (failedMessageCodes(error).some((c) => RETRY_HELPS.has(c))) return 503;
  return 500;
}

const GENERIC_ERROR_TEXT: Record<CallbackFailureCode, string> = {
  400: 'the message could not be handled',
  409: 'the message could not be handled',
  500: 'the message could not be handled',
  503: 'the bot is temporarily unable to handle the message; retry later',
};

/**
 * What BBM is told: the author's own HandlerError text, or a generic one unless `detail` is on
 * (npm run dev, the test kit), so internal texts never leave the process.
 *
 * @example errorText(new TypeError('ctx.replly is not a function'), 500, false) // 'the message could not be handled'
 */
export function errorText(error: unknown, code: CallbackFailureCode, detail: boolean): string {
  if (detail || error instanceof HandlerError) return error instanceof Error ? error.message : String(error);
  return GENERIC_ERROR_TEXT[code];
}

/**
 * A result BBM keeps and the redelivery guard remembers: 2xx and 4xx. A 5xx asks BBM to send the
 * message again, so its claim is given back and the retry runs the handlers again.
 *
 * @example isFinalResult(503) // false
 */
export function isFinalResult(code: number): boolean {
  return code < 500 && code !== 429;
}
