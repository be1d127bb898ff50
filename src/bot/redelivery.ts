/**
 * BBM retries a callback when it did not get an answer, so the same message (chatId + mid) can
 * arrive twice, even at the same time on two instances. The first delivery claims the message
 * with a lease; later ones wait for its result and answer the same. A claim whose owner died
 * expires with its lease, and the next delivery handles the message.
 *
 * The lease is short (15 s) and renewed while the owner works, so a dead owner's claim lapses
 * quickly while a slow handler keeps its own. Writing the result (or giving the claim back) is
 * retried in the background while the store is away (a fail-over, a restart), for a lease period:
 * a claim whose end was lost would otherwise answer every retry of the mid with 503 until it lapsed.
 */
import { randomUUID } from 'node:crypto';
import { chatKey } from '../state/keys.js';
import type { StateStore } from '../state/store.js';
import { LeaseRenewer } from './lease-renewer.js';
import { retryUntil } from './retry-until.js';

export interface MessageOutcome {
  code: number;
  error?: string;
}

type Record = { state: 'pending'; owner: string } | { state: 'done'; outcome: MessageOutcome };

export interface RedeliveryOptions {
  /** How long a claim holds without being renewed; renewed every third of it while its owner works. Default 15 s. */
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
  /** Claims this instance holds, by key, and how to stop renewing each. */
  private readonly held = new Map<string, () => void>();
  private readonly renewer: LeaseRenewer;

  constructor(
    private readonly store: StateStore,
    options: RedeliveryOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 15_000;
    this.resultTtlMs = options.resultTtlMs ?? 24 * 60 * 60 * 1000;
    this.pollMs = options.pollMs ?? 50;
    this.renewer = new LeaseRenewer(store, this.leaseMs);
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
        this.hold(key);
        return { kind: 'claimed' };
      }
      const existing = await this.store.get<Record>(key);
      if (existing?.state === 'done') return { kind: 'done', outcome: existing.outcome };
      if (Date.now() >= giveUpAt) return { kind: 'pending' };
      if (Date.now() > deadline) {
        // The owner neither finished nor let its lease lapse in time: take the message over.
        await this.store.set<Record>(key, { state: 'pending', owner: this.owner }, this.leaseMs);
        this.hold(key);
        return { kind: 'claimed' };
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  /**
   * Records the message's final result. Never rejects: while the store is away the write is
   * retried in the background (for a lease period), and the claim is no longer renewed.
   *
   * @example await guard.complete(chatId, mid, { code: 200 });
   */
  complete(chatId: string, mid: string, outcome: MessageOutcome): Promise<void> {
    const key = this.key(chatId, mid);
    this.unhold(key);
    return this.persist(() => this.store.set<Record>(key, { state: 'done', outcome }, this.resultTtlMs));
  }

  /**
   * Gives a claim back unhandled (skipped, or a retryable failure), so a redelivery handles it.
   * Never rejects, like complete().
   *
   * @example await guard.release(chatId, mid);
   */
  release(chatId: string, mid: string): Promise<void> {
    const key = this.key(chatId, mid);
    this.unhold(key);
    return this.persist(() => this.store.deleteIf<Record>(key, { state: 'pending', owner: this.owner }).then(() => undefined));
  }

  /** Stops renewing (the process is closing); claims then lapse on their own. */
  close(): void {
    this.held.clear();
    this.renewer.clear();
  }

  private hold(key: string): void {
    this.held.get(key)?.();
    this.held.set(key, this.renewer.hold(key, { state: 'pending', owner: this.owner }));
  }

  private unhold(key: string): void {
    this.held.get(key)?.();
    this.held.delete(key);
  }

  /** One try now; on failure, more in the background with backoff until a lease period has passed. */
  private async persist(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch {
      void retryUntil(write, { firstDelayMs: this.pollMs, forMs: this.leaseMs, delayFirst: true });
    }
  }
}
