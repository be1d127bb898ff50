/**
 * What became of each message the bot sent, by chat and mid: accepted (202) or delivered (200) when sent,
 * then delivered and read as `dlv` and `read` actions arrive. Records expire; a mid we never sent
 * (or forgot) is simply unknown. A mid is looked up within its chat only: a `read` in chat X
 * naming a mid the bot sent in chat Y is about no message of X.
 */
import type { MessageResult } from '../client/index.js';
import type { OutboundMessage } from '../protocol/outbound.js';
import { chatKey } from '../state/keys.js';
import type { StateStore } from '../state/store.js';

export type DeliveryState = 'accepted' | 'delivered' | 'read';

export interface SentMessage {
  mid: string;
  chatId: string;
  /** The message as the bot sent it; kept only while a `delivered` or `read` handler wants it. */
  message?: OutboundMessage;
  state: DeliveryState;
  sentAt: number;
}

const RANK: Record<DeliveryState, number> = { accepted: 0, delivered: 1, read: 2 };

export const SENT_MESSAGE_TTL_MS = 3 * 24 * 60 * 60 * 1000;

export class DeliveryTracker {
  constructor(
    private readonly store: StateStore,
    private readonly ttlMs = SENT_MESSAGE_TTL_MS,
  ) {}

  private key(chatId: string, mid: string): string {
    return chatKey('sent', chatId, mid);
  }

  /** Records a send's messages; returns those the API already reports delivered (code 200). */
  async recordSent(
    chatId: string,
    messages: readonly OutboundMessage[],
    results: readonly MessageResult[],
    keepMessages: boolean,
  ): Promise<SentMessage[]> {
    const delivered: SentMessage[] = [];
    const writes: Promise<void>[] = [];
    for (const r of results) {
      const message = messages[r.index - 1];
      if (!r.mid || !message || r.state === 'failed') continue;
      // The state alone is small; the message is stored only when a handler will be handed it.
      const record: SentMessage = { mid: r.mid, chatId, ...(keepMessages ? { message } : {}), state: r.state, sentAt: r.ts ?? Date.now() };
      writes.push(this.store.set(this.key(chatId, r.mid), record, this.ttlMs));
      if (r.state === 'delivered') delivered.push(record);
    }
    await Promise.all(writes);
    return delivered;
  }

  /**
   * @example await tracker.get(chatId, mid) // { state: 'delivered', … } or undefined
   */
  get(chatId: string, mid: string): Promise<SentMessage | undefined> {
    return this.store.get<SentMessage>(this.key(chatId, mid));
  }

  /**
   * Moves a message forward to `state`. Returns the states it passed through now (so each event
   * fires once: a read that overtakes its dlv yields delivered and read), and the record.
   */
  async advance(chatId: string, mid: string, state: DeliveryState): Promise<{ record: SentMessage; reached: DeliveryState[] } | undefined> {
    const record = await this.get(chatId, mid);
    if (!record || RANK[record.state] >= RANK[state]) return undefined;
    const reached = (['delivered', 'read'] as const).filter((s) => RANK[s] > RANK[record.state] && RANK[s] <= RANK[state]);
    const updated: SentMessage = { ...record, state };
    await this.store.set(this.key(chatId, mid), updated, this.ttlMs);
    return { record: updated, reached };
  }
}
