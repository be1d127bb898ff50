/**
 * Per-chat ordering across instances: callbacks for one chat are handled one at a time, in
 * arrival order, even when they land on different instances behind a load balancer.
 *
 * A ticket lock over the shared store. Each arrival takes the next ticket (an atomic counter);
 * ticket T runs once `done` reaches T-1. The running ticket holds a lease, renewed while it works.
 * If the ticket whose turn it is shows no lease for a full lease period (its instance died before
 * or while running), waiters skip it, so one crash cannot stall a chat. A holder whose lease was
 * lost learns it at release (the fencing check) and reports it.
 */
import { randomUUID } from 'node:crypto';
import { chatKey } from '../state/keys.js';
import type { StateStore, TicketKeys, TicketLease, TurnWrite } from '../state/store.js';

export interface ChatOrderOptions {
  /** How long a holder may go without renewing before others may skip it. Default 15 s. */
  leaseMs?: number;
  /** How often waiters look again. Default 15 ms. */
  pollMs?: number;
  /** Lifetime of a chat's counters once idle. Default 1 hour. */
  idleTtlMs?: number;
}

export class LeaseLostError extends Error {
  readonly code = 'LEASE_LOST';
  constructor(chatId: string) {
    super(`the ordering lease for chat ${chatId} expired while its work ran; another instance may have moved on`);
  }
}

/**
 * A chat's turn on a shared store: what was read with the ticket, and writes deferred to the
 * turn's end (they go out with it, in the same round trip). The turn holds the chat, so no other
 * callback of the chat can read those keys in between; code outside the chat's turns may.
 */
export class ChatTurn {
  readonly writes: TurnWrite[] = [];

  constructor(
    private readonly reads: readonly string[],
    /** The values read with the ticket, or undefined when they may be stale (the turn waited). */
    private readonly values: readonly unknown[] | undefined,
  ) {}

  /** The value of `key` as the turn began, when it was read with the ticket; otherwise `{ known: false }`. */
  read<T>(key: string): { known: true; value: T | undefined } | { known: false } {
    // A write deferred earlier in this turn is what a later step must see.
    for (let w = this.writes.length - 1; w >= 0; w--) {
      if (this.writes[w]!.key === key) return { known: true, value: this.writes[w]!.value as T };
    }
    const i = this.reads.indexOf(key);
    if (i === -1 || this.values === undefined) return { known: false };
    return { known: true, value: this.values[i] as T | undefined };
  }

  /** Stores `value` at `key` when the turn ends. */
  writeAtEnd(key: string, value: unknown, ttlMs: number): void {
    this.writes.push({ key, value, ttlMs });
  }
}

interface HeldLease {
  key: string;
  lease: TicketLease;
}

export class ChatOrder {
  private readonly owner = randomUUID();
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly idleTtlMs: number;
  private readonly held = new Set<HeldLease>();
  private renewal: NodeJS.Timeout | undefined;

  /** Told when a holder finds at release that it lost its turn (it stalled longer than a lease). */
  onLeaseLost: ((error: LeaseLostError) => void) | undefined;

  constructor(
    private readonly store: StateStore,
    options: ChatOrderOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 15_000;
    this.pollMs = options.pollMs ?? 15;
    this.idleTtlMs = options.idleTtlMs ?? 60 * 60 * 1000;
  }

  private keys(chatId: string): TicketKeys {
    // One hash tag for the three and for the chat's other records, which takeTicket may read along.
    return { tickets: chatKey('order', chatId, 'tickets'), done: chatKey('order', chatId, 'done'), lease: chatKey('order', chatId, 'lease') };
  }

  /**
   * Runs `work` when it is this arrival's turn in the chat, holding the chat until it settles.
   * The keys in `reads` are read with the ticket, and what `work` defers with the turn's
   * writeAtEnd goes out with the end of the turn: a callback that needs nothing else from the
   * store costs two round trips.
   */
  async run<T>(chatId: string, work: (turn: ChatTurn) => Promise<T>, reads: readonly string[] = []): Promise<T> {
    const k = this.keys(chatId);
    // One round trip takes the ticket and, in the common case (nobody ahead), the lease too.
    const { ticket, holding, values } = await this.store.takeTicket(k, this.owner, this.leaseMs, this.idleTtlMs, reads.length ? reads : undefined);
    // Read before a wait, the values may be stale by the time the turn begins.
    const turn = new ChatTurn(reads, holding ? values : undefined);
    const lease: TicketLease = { ticket, owner: this.owner };
    // A ticket skipped while it waited (it was slower than a lease) still runs its work, but must
    // not take the lease: that belongs to the turn running now. Release reports the lost turn.
    if (!holding && (await this.waitForTurn(chatId, ticket))) await this.store.set(k.lease, lease, this.leaseMs);
    const held = { key: k.lease, lease };
    this.hold(held);
    try {
      return await work(turn);
    } finally {
      this.held.delete(held);
      // Moves `done` on and drops the lease in one round trip.
      const advanced = await this.store.endTurn(k, ticket, this.owner, this.idleTtlMs, turn.writes);
      // Fencing: the work ran, but without the chat to itself for part of the time.
      if (!advanced) this.onLeaseLost?.(new LeaseLostError(chatId));
    }
  }

  /**
   * Leases held now are renewed together by one timer (every third of a lease), not one timer per
   * turn: most turns end long before their first renewal.
   */
  private hold(held: HeldLease): void {
    this.held.add(held);
    if (this.renewal) return;
    this.renewal = setInterval(() => {
      if (this.held.size === 0) {
        clearInterval(this.renewal);
        this.renewal = undefined;
        return;
      }
      for (const h of this.held) this.store.replaceIf(h.key, h.lease, h.lease, this.leaseMs).catch(() => undefined);
    }, Math.max(10, Math.floor(this.leaseMs / 3)));
    this.renewal.unref();
  }

  /** Moves `done` from one ticket to the next; an absent `done` counts as 0. */
  private async advance(doneKey: string, from: number, to: number): Promise<boolean> {
    if (from === 0 && (await this.store.setIfAbsent(doneKey, to, this.idleTtlMs))) return true;
    return this.store.replaceIf(doneKey, from, to, this.idleTtlMs);
  }

  /** Waits until `ticket`'s turn; resolves true when it is its turn, false when it was skipped meanwhile. */
  private async waitForTurn(chatId: string, ticket: number): Promise<boolean> {
    const k = this.keys(chatId);
    let stalledTicket = -1;
    let stalledSince = 0;
    for (;;) {
      const done = (await this.store.get<number>(k.done)) ?? 0;
      // done > ticket - 1: our ticket was skipped as stalled (we were slower than a lease). The
      // work still has to happen; release reports the lost turn.
      if (done >= ticket - 1) return done === ticket - 1;
      const turn = done + 1;
      const lease = await this.store.get<TicketLease>(k.lease);
      if (lease && lease.ticket === turn) {
        stalledTicket = -1;
      } else if (stalledTicket !== turn) {
        stalledTicket = turn;
        stalledSince = Date.now();
      } else if (Date.now() - stalledSince > this.leaseMs) {
        // Ticket `turn` never showed a live lease for a whole lease period: its instance is gone.
        await this.advance(k.done, done, turn);
        stalledTicket = -1;
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }
}
