/**
 * BBM retries a callback when it did not get an answer, so the same message (chatId + mid) can
 * arrive twice, even at the same time on two instances. The first delivery claims the message
 * with a lease; later ones wait for its result and answer the same. A claim whose owner died
 * expires with its lease, and the next delivery handles the message.
 */
import { randomUUID } from 'node:crypto';
import { chatKey } from '../state/keys.js';
import type { StateStore } from '../state/store.js';

export interface MessageOutcome {
  code: number;
  error?: string;
}

type Record = { state: 'pending'; owner: string } | { state: 'done'; outcome: MessageOutcome };

export interface RedeliveryOptions {
  /** How long a claim holds without its owner finishing. */
  leaseMs?: number;
  /** How long a finished result is remembered. */
  resultTtlMs?: number;
  /** How often a waiting delivery checks for the result. */
  pollMs?: number;
}

/** `pending`: another delivery still handles the message and did not finish within `waitMs`. */
export type Claim = { kind: 'claimed' } | { kind: 'done'; outcome: MessageOutcome } | { kind: 'pending' };

export class RedeliveryGuard {
  private readonly owner = randomUUID();
  private readonly leaseMs: number;
  private readonly resultTtlMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly store: StateStore,
    options: RedeliveryOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 60_000;
    this.resultTtlMs = options.resultTtlMs ?? 24 * 60 * 60 * 1000;
    this.pollMs = options.pollMs ?? 50;
  }

  private key(chatId: string, mid: string): string {
    return chatKey('mid', chatId, mid);
  }

  /**
   * Claims the message, or returns the result of the delivery that already handled it. While
   * another delivery still handles it, waits for its result, at most `waitMs` (default: until its
   * claim would lapse, then takes it over): a delivery that must answer BBM by its own deadline
   * gets `pending` instead.
   *
   * @example const claim = await guard.claim(chatId, mid, { waitMs: 3000 });
   */
  async claim(chatId: string, mid: string, options: { waitMs?: number } = {}): Promise<Claim> {
    const key = this.key(chatId, mid);
    const deadline = Date.now() + this.leaseMs + this.pollMs * 4;
    const giveUpAt = options.waitMs === undefined ? Infinity : Date.now() + options.waitMs;
    for (;;) {
      if (await this.store.setIfAbsent<Record>(key, { state: 'pending', owner: this.owner }, this.leaseMs)) {
        return { kind: 'claimed' };
      }
      const existing = await this.store.get<Record>(key);
      if (existing?.state === 'done') return { kind: 'done', outcome: existing.outcome };
      if (Date.now() >= giveUpAt) return { kind: 'pending' };
      if (Date.now() > deadline) {
        // The owner neither finished nor let its lease lapse in time: take the message over.
        await this.store.set<Record>(key, { state: 'pending', owner: this.owner }, this.leaseMs);
        return { kind: 'claimed' };
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  complete(chatId: string, mid: string, outcome: MessageOutcome): Promise<void> {
    return this.store.set<Record>(this.key(chatId, mid), { state: 'done', outcome }, this.resultTtlMs);
  }

  /** Gives a claim back unhandled (the message was skipped), so a redelivery handles it. */
  release(chatId: string, mid: string): Promise<void> {
    return this.store.delete(this.key(chatId, mid));
  }
}
