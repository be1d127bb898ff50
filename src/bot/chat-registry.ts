/**
 * What the bot remembers per chat so it can write later in a conversation the user started:
 * the latest mTok, the bot's id, the user and the channel.
 */
import type { ChatCallback } from '../protocol/inbound.js';
import { ownValue } from '../protocol/primitives.js';
import { chatKey } from '../state/keys.js';
import type { StateStore } from '../state/store.js';
import type { ChatTurn } from './chat-order.js';
import type { Chat, User } from './context.js';

export interface ChatRecord {
  chat: Chat;
  user: User;
}

export const CHAT_RECORD_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export class ChatRegistry {
  constructor(
    private readonly store: StateStore,
    private readonly ttlMs = CHAT_RECORD_TTL_MS,
  ) {}

  /** The store key of a chat's record (ChatOrder can read it along with the chat's ticket). */
  key(chatId: string): string {
    return chatKey('chat', chatId);
  }

  get(chatId: string): Promise<ChatRecord | undefined> {
    return this.store.get<ChatRecord>(this.key(chatId));
  }

  /**
   * Updates the record from a callback and returns it; only writes when something changed.
   * In a shared chat turn, the record read with the ticket is used instead of reading it again.
   */
  async remember(callback: ChatCallback, turn?: ChatTurn): Promise<ChatRecord> {
    const key = this.key(callback.chatId);
    const known = turn?.read<ChatRecord>(key);
    const previous = known?.known ? known.value : await this.get(callback.chatId);
    const info = ownValue(callback.userInfos, callback.from);
    const user: User = {
      id: callback.from,
      name: info?.name || previous?.user.name || '',
      avatars: info?.avatar ?? previous?.user.avatars ?? [],
    };
    const record: ChatRecord = {
      chat: {
        id: callback.chatId,
        mTok: callback.mTok ?? previous?.chat.mTok,
        channel: callback.chId ?? previous?.chat.channel,
        botId: callback.to,
      },
      user,
    };
    // Written at once, not at the turn's end: a handler of this very turn may call bot.send() for
    // the chat (a new chat's first message, a new mTok), and that reads the record from the store.
    if (!previous || !sameRecord(previous, record)) await this.store.set(key, record, this.ttlMs);
    return record;
  }
}

function sameRecord(a: ChatRecord, b: ChatRecord): boolean {
  return (
    a.chat.mTok === b.chat.mTok &&
    a.chat.channel === b.chat.channel &&
    a.chat.botId === b.chat.botId &&
    a.user.id === b.user.id &&
    a.user.name === b.user.name &&
    a.user.avatars.length === b.user.avatars.length
  );
}
