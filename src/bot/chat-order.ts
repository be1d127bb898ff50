/**
 * Per-chat ordering across instances: callbacks for one chat are handled one at a time, in
 * arrival order, even when they land on different instances behind a load balancer.
 *
 * A ticket lock over the shared store. Each arrival takes the next ticket (an atomic counter);
 * ticket T runs once `done` reaches T-1. The running ticket holds a lease, renewed while it works.
 * If the ticket whose turn it is shows no lease for `claimMs` (its instance died before or while
 * running, or never learned its ticket), waiters skip it, so one crash cannot stall a chat. A
 * holder whose lease was lost learns it at release (the fencing check) and reports it.
 *
 * Store faults: every way out of `run` ends or gives back its ticket. A turn that cannot be taken
 * (the store failed while taking the ticket, waiting, or writing the lease) rejects at once with a
 * retryable TurnUnavailableError, and the ticket is given back in the background once the store
 * answers; an end of turn that fails is retried the same way, so the next turn never waits for a
 * lease to lapse.
 */
import { randomUUID } from 'node:crypto';
import { BbmError } from '../protocol/errors.js';
import { chatKey } from '../state/keys.js';
import type { StateStore, Ticket, TicketKeys, TicketLease, TurnWrite } from '../state/store.js';
import { LeaseRenewer } from './lease-renewer.js';
import { retryUntil } from './retry-until.js';

export interface ChatOrderOptions {
  /** How long a holder may go without renewing before others may skip it. Default 15 s. */
  leaseMs?: number;
  /** How often waiters look again. Default 15 ms. */
  pollMs?: number;
  /**
   * How long the ticket whose turn it is may show no lease before waiters skip it. A live waiter
   * takes its lease within one poll, so this only has to cover a slow process. Default 3 s.
   */
  claimMs?: number;
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
 * The chat's turn could not be taken because the shared store failed; retryable (BBM sends the
 * callback again). The ticket is given back once the store answers, so the chat does not stall.
 */
export class TurnUnavailableError extends BbmError {
  readonly retryable = true;
  readonly status = 503;
  constructor(chatId: string, cause: unknown) {
    super('TURN_UNAVAILABLE', `the turn of chat ${chatId} could not be taken: the shared store failed (${cause instanceof Error ? cause.message : String(cause)}); retry later`, { cause });
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

export class ChatOrder {
  private readonly owner = randomUUID();
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly claimMs: number;
  private readonly idleTtlMs: number;
  /** `lease key#ticket` of the tickets this instance has taken and not ended: never "orphans". */
  private readonly taken = new Set<string>();
  /** Lease keys with a takeTicket in flight here: a lease seen meanwhile may be that one's. */
  private readonly taking = new Map<string, number>();
  private readonly renewer: LeaseRenewer;

  /** Told when a holder finds at release that it lost its turn (it stalled longer than a lease). */
  onLeaseLost: ((error: LeaseLostError) => void) | undefined;

  constructor(
    private readonly store: StateStore,
    options: ChatOrderOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 15_000;
    this.pollMs = options.pollMs ?? 15;
    this.claimMs = options.claimMs ?? Math.min(3_000, this.leaseMs);
    this.idleTtlMs = options.idleTtlMs ?? 60 * 60 * 1000;
    this.renewer = new LeaseRenewer(store, this.leaseMs);
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
    let taken: Ticket;
    this.taking.set(k.lease, (this.taking.get(k.lease) ?? 0) + 1);
    try {
      // One round trip takes the ticket and, in the common case (nobody ahead), the lease too.
      taken = await this.store.takeTicket(k, this.owner, this.leaseMs, this.idleTtlMs, reads.length ? reads : undefined);
    } catch (err) {
      // The increment may have run although its answer was lost (a timeout, a dropped connection).
      this.background(() => this.endOrphan(k));
      throw new TurnUnavailableError(chatId, err);
    } finally {
      const n = this.taking.get(k.lease)!;
      if (n > 1) this.taking.set(k.lease, n - 1);
      else this.taking.delete(k.lease);
    }
    const { ticket, holding, values } = taken;
    const mark = `${k.lease}#${ticket}`;
    this.taken.add(mark);
    // Read before a wait, the values may be stale by the time the turn begins.
    const turn = new ChatTurn(reads, holding ? values : undefined);
    const lease: TicketLease = { ticket, owner: this.owner };
    try {
      // A ticket skipped while it waited (it was slower than a lease) still runs its work, but must
      // not take the lease: that belongs to the turn running now. Release reports the lost turn.
      if (!holding && (await this.waitForTurn(chatId, ticket))) await this.store.set(k.lease, lease, this.leaseMs);
    } catch (err) {
      this.background(() => this.giveBack(chatId, ticket, []), mark);
      throw new TurnUnavailableError(chatId, err);
    }
    const release = this.renewer.hold(k.lease, lease);
    try {
      return await work(turn);
    } finally {
      release();
      let advanced = true;
      try {
        // Moves `done` on and drops the lease in one round trip.
        advanced = await this.store.endTurn(k, ticket, this.owner, this.idleTtlMs, turn.writes);
        this.taken.delete(mark);
      } catch {
        // The work is done: its result stands, and the end (with its writes) goes out once the
        // store answers, before the next turn of the chat can begin.
        this.background(() => this.giveBack(chatId, ticket, turn.writes), mark);
      }
      // Fencing: the work ran, but without the chat to itself for part of the time.
      if (!advanced) this.onLeaseLost?.(new LeaseLostError(chatId));
    }
  }

  /**
   * Retries `attempt` until it succeeds or the store has failed for a whole lease period (by then
   * waiters have skipped the ticket), then forgets `mark`.
   */
  private background(attempt: () => Promise<void>, mark?: string): void {
    void retryUntil(attempt, { firstDelayMs: this.pollMs, forMs: this.leaseMs }).finally(() => mark && this.taken.delete(mark));
  }

  /** Ends `ticket`'s turn as soon as it comes (at once when it is the turn now), with `writes`. */
  private async giveBack(chatId: string, ticket: number, writes: readonly TurnWrite[]): Promise<void> {
    if (await this.waitForTurn(chatId, ticket)) await this.store.endTurn(this.keys(chatId), ticket, this.owner, this.idleTtlMs, writes);
  }

  /**
   * After a takeTicket whose answer was lost: a lease of ours on the chat that no run of this
   * instance holds can only be that ticket's, taken at once; end it. A ticket that had to wait
   * has no lease, and waiters skip it after claimMs.
   */
  private async endOrphan(k: TicketKeys): Promise<void> {
    // Not yet: the lease may belong to a take still in flight here (background retries later).
    if (this.taking.has(k.lease)) throw new Error('a ticket is being taken');
    const lease = await this.store.get<TicketLease>(k.lease);
    if (!lease || lease.owner !== this.owner || this.taken.has(`${k.lease}#${lease.ticket}`)) return;
    await this.store.endTurn(k, lease.ticket, this.owner, this.idleTtlMs);
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
      const asked = Date.now();
      const done = (await this.store.get<number>(k.done)) ?? 0;
      // done > ticket - 1: our ticket was skipped as stalled (we were slower than a lease). The
      // work still has to happen; release reports the lost turn.
      if (done >= ticket - 1) return done === ticket - 1;
      const turn = done + 1;
      const lease = await this.store.get<TicketLease>(k.lease);
      if (lease && lease.ticket === turn) {
        stalledTicket = -1;
      } else if (stalledTicket !== turn || Date.now() - asked > this.claimMs / 2) {
        // A slow store (paused, failing over) slows the holder too: judge only on prompt answers.
        stalledTicket = turn;
        stalledSince = Date.now();
      } else if (Date.now() - stalledSince > this.claimMs) {
        // Ticket `turn` showed no live lease for claimMs: its instance is gone, or never learned it.
        await this.advance(k.done, done, turn);
        stalledTicket = -1;
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }
}
