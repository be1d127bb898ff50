/**
 * Chats nothing may be sent to any more: the user left, or the Chat API said the chat is gone.
 * Kept in the StateStore (so several instances can share it) as `closed:{<chatId>}` → the mTok that
 * was current when it closed (the chat id escaped and hash-tagged as every per-chat key is, see
 * state/keys.ts). A different mTok for the same chat means the user wrote again, which
 * opens the chat anew.
 */
import { hashTag } from '../state/keys.js';
import type { StateStore } from '../state/store.js';

export interface ClosedChatRecord {
  /** The message token in use when the chat closed; null when it was not known (a leave callback carries none). */
  mTok: string | null;
  closedAt: number;
  reason: 'left' | 'not-found';
}

export interface ClosedChatsOptions {
  /** Key prefix, put before the chat's hash tag; default `closed:`. Must not contain `{` or `}`. */
  prefix?: string;
  /** How long a closed chat is remembered. Default 7 days. */
  ttlMs?: number;
  now?: () => number;
}

export class ClosedChats {
  private readonly store: StateStore;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(store: StateStore, options: ClosedChatsOptions = {}) {
    this.store = store;
    this.prefix = options.prefix ?? 'closed:';
    // A brace in the prefix would become the key's hash tag in place of the chat id.
    if (/[{}]/.test(this.prefix)) throw new RangeError(`ClosedChats prefix must not contain { or }, got ${JSON.stringify(this.prefix)}`);
    this.ttlMs = options.ttlMs ?? 7 * 24 * 60 * 60 * 1000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Marks the chat closed for `mTok`. Without a token (a leave action carries none), every token
   * is refused until {@link reopen} is called with the token of the user's next message.
   */
  async close(chatId: string, mTok?: string, reason: ClosedChatRecord['reason'] = 'left'): Promise<void> {
    const record: ClosedChatRecord = { mTok: mTok ?? null, closedAt: this.now(), reason };
    await this.store.set(this.key(chatId), record, this.ttlMs);
  }

  /** The record when sending with `mTok` is forbidden; undefined when the chat is open for it. */
  async closedFor(chatId: string, mTok: string): Promise<ClosedChatRecord | undefined> {
    const record = await this.store.get<ClosedChatRecord>(this.key(chatId));
    if (record === undefined) return undefined;
    if (record.mTok === null || record.mTok === mTok) return record;
    // A token other than the one that closed: a newer message from the user. Forget the record.
    await this.store.delete(this.key(chatId));
    return undefined;
  }

  async isClosed(chatId: string, mTok: string): Promise<boolean> {
    return (await this.closedFor(chatId, mTok)) !== undefined;
  }

  /** A new user message arrived with `mTok`: open the chat again unless that very token was closed. */
  async reopen(chatId: string, mTok: string): Promise<void> {
    const record = await this.store.get<ClosedChatRecord>(this.key(chatId));
    if (record !== undefined && record.mTok !== mTok) await this.store.delete(this.key(chatId));
  }

  private key(chatId: string): string {
    return this.prefix + hashTag(chatId);
  }
}
