/**
 * A durable outbound queue, for several instances sharing a Redis store: a reply is written to
 * the chat's outbox before it is sent, and leaves the outbox only once the Chat API has answered.
 * If the instance dies in between, any other instance finds the chat's outbox unattended (its
 * lease lapsed) and sends what is left, in order.
 *
 * One drain at a time per chat, fenced by the chat's outbox lease. Each drain stores a lease value
 * of its own (`{ owner, drain }`, the drain id fresh each time: a fencing token no other drain,
 * not even a later one of this instance, ever holds), and:
 * - takes the lease in the same atomic step as a push that finds the chat unattended, which also
 *   hands it the head (one round trip for a reply to an idle chat);
 * - acknowledges a sent reply with `listShiftLeased`, which removes it only while that lease value
 *   is still stored, and in the same step renews the lease and reads the next reply (the fenced
 *   read before each further send), or releases the lease when the outbox is empty (a push after
 *   that takes it); it stops when the lease is not its own any more;
 * - stops as soon as a periodic renewal finds the lease gone.
 *
 * The Chat API has no idempotency key, so one window remains: a reply already on the wire when the
 * lease is lost (the process paused, Redis failed over, the instance died before acknowledging).
 * The next holder finds it at the head and sends it again; it is the only reply that can go out
 * twice, because the old holder sends nothing after that one.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { SendRequest, SendResult } from '../client/index.js';
import { chatKey, shardOf, storeKey } from '../state/keys.js';
import type { LeasedShift, StateStore } from '../state/store.js';
import type { Sender } from './bot.js';

interface Job {
  id: string;
  owner: string;
  request: SendRequest;
}

type JobOutcome =
  | { ok: true; result: SendResult }
  | { ok: false; error: { name: string; message: string; code?: string }; original?: unknown };

export interface OutboxOptions {
  /** How long a draining instance holds a chat's outbox without renewing. Default 5 s. */
  leaseMs?: number;
  /** How often to look for outboxes nobody attends (a dead instance's). Default 1 s. */
  sweepMs?: number;
  /** How long a queued reply is kept at most. Default 1 hour. */
  ttlMs?: number;
  /** How long `send` waits for its reply to go out before giving up (the reply stays queued). Default 2 min. */
  maxWaitMs?: number;
  /** How long `close()` waits for the drains still running to finish the send on the wire. Default 5 s. */
  closeTimeoutMs?: number;
  logger?: Logger;
}

function stripOriginal(outcome: JobOutcome): JobOutcome {
  return outcome.ok ? outcome : { ok: false, error: outcome.error };
}

/**
 * The chats with queued replies, sharded so that on Redis Cluster no one slot carries every send:
 * a chat goes to `outbox:chats:{sN}` by a hash of its id; the sweep and depth visit all shards.
 */
const CHAT_SHARDS = 16;
const CHATS: readonly string[] = Array.from({ length: CHAT_SHARDS }, (_, s) => `outbox:chats:{s${s}}`);
/** Chats read per shard by `depth()`: at most 16 × 64 = 1,024 queue lengths per call. */
const DEPTH_CHATS_PER_SHARD = 64;

/** The lease a drain stores: fresh for every drain, so it fences that drain alone. */
interface Lease {
  owner: string;
  drain: string;
}

function chatsKey(chatId: string): string {
  return CHATS[shardOf(chatId, CHAT_SHARDS)]!;
}

/** What a send still waiting when its outbox closed resolves to (see settleWaitingAfterClose). */
function closedOutcome(jobId: string): JobOutcome {
  return {
    ok: false,
    error: { name: 'OutboxClosedError', code: 'OUTBOX_CLOSED', message: `this instance closed before reply ${jobId} was sent; it stays queued for the instance that holds the chat next` },
  };
}

/** Rebuilds a failed send's error on the instance that waits for it. */
class RemoteSendError extends Error {
  readonly code: string | undefined;
  constructor(error: { name: string; message: string; code?: string }) {
    super(error.message);
    this.name = error.name;
    this.code = error.code;
  }
}

export class Outbox implements Sender {
  private readonly owner = randomUUID();
  private readonly leaseMs: number;
  private readonly ttlMs: number;
  private readonly maxWaitMs: number;
  private readonly closeTimeoutMs: number;
  private readonly waiting = new Map<string, { resolve: (o: JobOutcome) => void }>();
  private readonly sweeper: NodeJS.Timeout;
  /** Drains and sweeps under way: `close()` waits for them, so no acknowledgement is cut off. */
  private readonly running = new Set<Promise<void>>();
  /** Drains of this instance under way, by chat (see awaitOutcome). */
  private readonly draining = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly store: StateStore,
    private readonly sender: Sender,
    private readonly options: OutboxOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 5_000;
    this.ttlMs = options.ttlMs ?? 60 * 60 * 1000;
    this.maxWaitMs = options.maxWaitMs ?? 120_000;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
    this.sweeper = setInterval(() => {
      this.track(this.sweep().catch((err: unknown) => options.logger?.warn({ err }, 'outbox sweep failed')));
    }, options.sweepMs ?? 1000);
    this.sweeper.unref();
  }

  closeChat(chatId: string, mTok: string | undefined): Promise<void> {
    return this.sender.closeChat(chatId, mTok);
  }

  /**
   * Queues the send durably, then sends it (or waits while another drain does). One round trip
   * queues the reply and, when no drain attends the chat (the common case), makes this call its
   * drain with the head in hand; the chat is registered for the sweeper after that, in parallel
   * with the send.
   *
   * @example const result = await outbox.send({ chatId, mTok, from, to, messages: [{ type: 'text', text: 'hi' }] });
   */
  async send(request: SendRequest): Promise<SendResult> {
    const chatId = request.chatId;
    const job: Job = { id: randomUUID(), owner: this.owner, request };
    const outcome = new Promise<JobOutcome>((resolve) => this.waiting.set(job.id, { resolve }));
    const lease: Lease = { owner: this.owner, drain: randomUUID() };
    let head: Job | undefined;
    try {
      head = await this.store.listPushLeased(this.listKey(chatId), job, this.ttlMs, this.leaseKey(chatId), lease, this.leaseMs);
    } catch (err) {
      this.waiting.delete(job.id);
      throw err;
    }
    // After the push, so a sweeper never finds the chat before its reply (and drops it as empty).
    const registered = this.store.setAdd(chatsKey(chatId), chatId, this.ttlMs);
    if (head !== undefined) this.track(this.drain(chatId, lease, head, registered).catch((err: unknown) => this.drainFailed(err, chatId)));
    try {
      await registered;
    } catch (err) {
      // Queued, and sent by the drain that holds the chat; only a crash of it before then would need the sweeper.
      this.options.logger?.warn({ err, chatId }, 'outbox: chat not registered for the sweeper');
    }
    const settled = await this.awaitOutcome(chatId, job.id, outcome);
    if (settled.ok) return settled.result;
    throw settled.original ?? new RemoteSendError(settled.error);
  }

  /**
   * Replies queued and not yet answered by the Chat API, in one chat (one LLEN) or across chats.
   * Across chats it is approximate and bounded: up to 64 chats per shard of the set of chats with
   * queued replies (1,024 in all) are counted, so a backlog spread over more chats than that reads
   * low. Two round trips in a row whatever the backlog (the 16 shard reads together, then the
   * lengths together): at most 16 + 1,024 commands, cheap enough for every metrics scrape.
   *
   * @example const backlog = await outbox.depth(); // for the bbm_outbound_queue_depth gauge
   */
  async depth(chatId?: string): Promise<number> {
    if (chatId) return this.store.listLength(this.listKey(chatId));
    const shards = await Promise.all(CHATS.map((shard) => this.store.setMembers(shard, DEPTH_CHATS_PER_SHARD)));
    const lengths = await Promise.all(shards.flat().map((id) => this.store.listLength(this.listKey(id))));
    return lengths.reduce((sum, n) => sum + n, 0);
  }

  /**
   * Stops sweeping and starting drains, and waits (at most `timeoutMs`) for the running ones to
   * finish the reply on the wire and acknowledge it; what is still queued stays for another
   * instance. Call it before closing the store. Resolves true when every drain finished in time.
   *
   * @example await outbox.close(); await store.close();
   */
  async close(timeoutMs = this.closeTimeoutMs): Promise<boolean> {
    this.closed = true;
    clearInterval(this.sweeper);
    this.settleWaitingAfterClose();
    if (this.running.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.allSettled([...this.running]).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!finished) this.options.logger?.warn({ timeoutMs, drains: this.running.size }, 'outbox closed with a send still on the wire');
    return finished;
  }

  /**
   * Sends still waiting once this outbox closes (their chat held by another instance, or queued
   * behind a drain that stopped) get `closeTimeoutMs` for another instance's result to arrive, then
   * fail with OutboxClosedError; their replies stay queued. Without this they would poll a store
   * about to close until maxWaitMs (two minutes), holding the process and their callers that long.
   */
  private settleWaitingAfterClose(): void {
    if (this.waiting.size === 0) return;
    const timer = setTimeout(() => {
      for (const [jobId, waiter] of [...this.waiting]) waiter.resolve(closedOutcome(jobId));
    }, this.closeTimeoutMs);
    timer.unref();
  }

  private listKey(chatId: string): string {
    return chatKey('outbox', chatId);
  }

  private leaseKey(chatId: string): string {
    return chatKey('outbox', chatId, 'lease');
  }

  private resultKey(jobId: string): string {
    return storeKey('outbox', 'result', jobId);
  }

  /**
   * Our job's outcome: sent by us (local promise), or by another instance (result record). The
   * store is asked only while no drain of this instance attends the chat: while one does, no
   * other instance can be sending the chat's replies (they would need its lease), and a drain that
   * loses the lease ends, which lets the polls begin.
   */
  private async awaitOutcome(chatId: string, jobId: string, local: Promise<JobOutcome>): Promise<JobOutcome> {
    let remote: NodeJS.Timeout | undefined;
    // Set once an outcome is in: a GET still in flight then must not schedule another poll.
    let settled = false;
    const fromStore = new Promise<JobOutcome>((resolve) => {
      const again = (ms: number) => {
        if (!settled) remote = setTimeout(look, ms);
      };
      const look = () => {
        // After close, a drain of ours that is still on (a hung send) no longer speaks for the chat.
        if (this.draining.has(chatId) && !this.closed) return again(50);
        this.store.get<JobOutcome>(this.resultKey(jobId)).then(
          (o) => (o ? resolve(o) : again(50)),
          // A failed read after close: the store is closing too, so no result can reach us.
          () => (this.closed ? resolve(closedOutcome(jobId)) : again(200)),
        );
      };
      again(50);
    });
    let giveUp: NodeJS.Timeout | undefined;
    const tooLong = new Promise<JobOutcome>((resolve) => {
      giveUp = setTimeout(
        () => resolve({ ok: false, error: { name: 'OutboxTimeout', message: `reply ${jobId} was not sent within ${this.maxWaitMs} ms; it stays queued` } }),
        this.maxWaitMs,
      );
    });
    try {
      return await Promise.race([local, fromStore, tooLong]);
    } finally {
      settled = true;
      clearTimeout(remote);
      clearTimeout(giveUp);
      this.waiting.delete(jobId);
    }
  }

  /**
   * Sends a chat's queued replies in order while holding its lease, starting with `head` (read
   * when the lease was taken); returns when the outbox is empty (the last acknowledgement released
   * the lease in the same step), the lease is lost (see the module header for the fence), or the
   * outbox is closing.
   */
  private async drain(chatId: string, lease: Lease, head: Job, registered?: Promise<void>): Promise<void> {
    const listKey = this.listKey(chatId);
    const leaseKey = this.leaseKey(chatId);
    this.draining.set(chatId, (this.draining.get(chatId) ?? 0) + 1);
    let held = true;
    let released = false;
    const renew = setInterval(() => {
      this.store.replaceIf(leaseKey, lease, lease, this.leaseMs).then(
        (ok) => {
          if (!ok) held = false;
        },
        () => undefined,
      );
    }, Math.max(10, Math.floor(this.leaseMs / 3)));
    renew.unref();
    try {
      // The lease was taken (or renewed by the last acknowledgement) together with reading `job`.
      for (let job: Job | undefined = head; job && held && !this.closed; ) {
        // The client's own retries are fenced too: each asks whether the lease still holds.
        const outcome = await this.sendJob(job, async () => held && (await this.store.replaceIf(leaseKey, lease, lease, this.leaseMs)));
        if (!outcome.ok && outcome.error.code === 'SEND_FENCED') {
          // Stopped before a retry: the next holder sends it, and the waiter reads its result.
          held = false;
          break;
        }
        // Acknowledge first: the smaller the gap after the API's answer, the smaller the window.
        // The same step renews the lease for the next reply, or releases it when none is left.
        const ack: LeasedShift<Job> = await this.store.listShiftLeased(listKey, job, leaseKey, lease, this.leaseMs);
        if (!ack.shifted) held = false;
        else if (ack.next === undefined) released = true;
        // Sent either way: the caller gets this send's outcome (the next holder may send it again).
        const waiter = this.waiting.get(job.id);
        if (waiter) waiter.resolve(outcome);
        else await this.store.set(this.resultKey(job.id), stripOriginal(outcome), 60_000);
        job = ack.shifted ? ack.next : undefined;
      }
    } finally {
      clearInterval(renew);
      const n = this.draining.get(chatId)!;
      if (n > 1) this.draining.set(chatId, n - 1);
      else this.draining.delete(chatId);
      if (held && !released) await this.store.deleteIf(leaseKey, lease);
    }
    if (!held) {
      this.options.logger?.warn({ chatId }, 'outbox lease lost; another instance sends the rest of this chat');
      return;
    }
    // Emptied: the lease went with the last acknowledgement, and a reply queued after it takes the
    // lease with its push. Stopped early (closing): what is left waits for a sweeper.
    // Only once the registration made with this drain's push has settled: a redirected or retried
    // SADD (a cluster moving slots) must not land after the removal and leave the chat registered.
    if (released) {
      await registered?.catch(() => undefined);
      await this.store.setRemove(chatsKey(chatId), chatId);
    }
  }

  /** Takes a chat's outbox over when nobody attends it (a sweep found it), and drains it. */
  private async takeOver(chatId: string): Promise<void> {
    const listKey = this.listKey(chatId);
    const leaseKey = this.leaseKey(chatId);
    const lease: Lease = { owner: this.owner, drain: randomUUID() };
    if (!(await this.store.setIfAbsent(leaseKey, lease, this.leaseMs))) return;
    const [head] = await this.store.listRange<Job>(listKey, 1);
    if (head) return this.drain(chatId, lease, head);
    await this.store.deleteIf(leaseKey, lease);
    await this.store.setRemove(chatsKey(chatId), chatId);
  }

  private async sendJob(job: Job, guard: () => Promise<boolean>): Promise<JobOutcome> {
    try {
      return { ok: true, result: await this.sender.send(job.request, { guard }) };
    } catch (err) {
      const e = err as { name?: string; message?: string; code?: unknown };
      return {
        ok: false,
        error: { name: e.name ?? 'Error', message: e.message ?? String(err), ...(typeof e.code === 'string' ? { code: e.code } : {}) },
        original: err,
      };
    }
  }

  /** Takes over outboxes whose instance stopped attending them. */
  private async sweep(): Promise<void> {
    for (const shard of CHATS) {
      if (this.closed) return;
      for (const chatId of await this.store.setMembers(shard, 100)) {
        if ((await this.store.listLength(this.listKey(chatId))) === 0) {
          await this.store.setRemove(shard, chatId);
          continue;
        }
        this.drainSoon(chatId);
      }
    }
  }

  private drainSoon(chatId: string): void {
    if (this.closed) return;
    this.track(this.takeOver(chatId).catch((err: unknown) => this.drainFailed(err, chatId)));
  }

  private drainFailed(err: unknown, chatId: string): void {
    this.options.logger?.error({ err, chatId }, 'outbox drain failed');
  }

  private track(work: Promise<void>): void {
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }
}
