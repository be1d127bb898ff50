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
