import type { Logger } from 'pino';
import type { CallbackMessageResult, ChatCallback } from '../protocol/inbound.js';

export interface DispatchContext {
  /** Logger already bound to this callback (chatId). */
  log: Logger;
  /** When the callback arrived, ms since the epoch. */
  receivedAt: number;
  /** Registers work that outlives the answer (handlers past the deadline) so shutdown waits for it. */
  track?: (work: Promise<unknown>) => void;
}

/**
 * All the webhook knows of a bot: give it a verified, parsed callback, get back one result per
 * incoming message, in the order the messages came (actions get none).
 */
export interface CallbackDispatcher {
  dispatch(callback: ChatCallback, context: DispatchContext): Promise<readonly CallbackMessageResult[]>;
}

/**
 * What a dispatcher throws to refuse a whole callback for now (the bot's ChatBusyError: the chat's
 * queue is full). The webhook answers 503 with `Retry-After: retryAfterSeconds` and
 * `{ error: <code in lower case>, message }`, so BBM sends the callback again later. Recognised by
 * shape: the webhook knows the bot only through this file.
 */
export interface RetryLaterError {
  code: string;
  message: string;
  retryAfterSeconds: number;
}

/**
 * @example if (isRetryLater(err)) res.setHeader('retry-after', String(err.retryAfterSeconds));
 */
export function isRetryLater(err: unknown): err is RetryLaterError {
  const e = err as Partial<RetryLaterError> | null;
  return typeof e?.retryAfterSeconds === 'number' && Number.isInteger(e.retryAfterSeconds) && e.retryAfterSeconds >= 0 && typeof e.code === 'string' && typeof e.message === 'string';
}
