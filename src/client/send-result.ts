/**
 * What one send produced, message by message: 200 delivered, 202 accepted (a `dlv` action will
 * follow), anything else failed.
 */
export type MessageState = 'delivered' | 'accepted' | 'failed';

export interface MessageResult {
  /** The message's 1-based position in the `messages` passed to `send`. */
  index: number;
  /** The per-message result code; 0 when the server gave this message no result. */
  code: number;
  mid?: string;
  ts?: number;
  /** The server's error text, or ours when there was no result. */
  error?: string;
  state: MessageState;
}

export interface SendResult {
  /** Every message was delivered or accepted (true for an actions-only send that succeeded). */
  ok: boolean;
  messages: MessageResult[];
  /** HTTP requests made to the Chat API for this send, retries and 401 replays included. */
  attempts: number;
}

export function stateOf(code: number): MessageState {
  if (code === 200) return 'delivered';
  if (code === 202) return 'accepted';
  return 'failed';
}

export const isSent = (r: MessageResult): boolean => r.state !== 'failed';
