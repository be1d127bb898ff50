/**
 * A durable outbound queue, for several instances sharing a Redis store: a reply is written to
 * the chat's outbox before it is sent, and leaves the outbox only once the Chat API has answered.
 * If the instance dies in between, any other instance finds the chat's outbox unattended (its
 * lease lapsed) and sends what is left, in order.
 *
 * The Chat API has no idempotency key, so one window remains: the API accepted a message, and the
 * instance died before removing it from the outbox. Another instance then sends it again. The
 * removal is the very next store call after the API's answer, so the window is one round trip.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { SendRequest, SendResult } from '../client/index.js';
import { chatKey, shardOf, storeKey } from '../state/keys.js';
import type { StateStore } from '../state/store.js';
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

function chatsKey(chatId: string): string {
  return CHATS[shardOf(chatId, CHAT_SHARDS)]!;
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
  private readonly waiting = new Map<string, { resolve: (o: JobOutcome) => void }>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly store: StateStore,
    private readonly sender: Sender,
    private readonly options: OutboxOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 5_000;
    this.ttlMs = options.ttlMs ?? 60 * 60 * 1000;
    this.maxWaitMs = options.maxWaitMs ?? 120_000;
    this.sweeper = setInterval(() => {
      this.sweep().catch((err: unknown) => options.logger?.warn({ err }, 'outbox sweep failed'));
    }, options.sweepMs ?? 1000);
    this.sweeper.unref();
  }

  closeChat(chatId: string, mTok: string | undefined): Promise<void> {
    return this.sender.closeChat(chatId, mTok);
  }

  /** Queues the send durably, then sends it (or waits while another instance does). */
  async send(request: SendRequest): Promise<SendResult> {
    const job: Job = { id: randomUUID(), owner: this.owner, request };
    const outcome = new Promise<JobOutcome>((resolve) => this.waiting.set(job.id, { resolve }));
    await this.store.listPush(this.listKey(request.chatId), job, this.ttlMs);
    await this.store.setAdd(chatsKey(request.chatId), request.chatId, this.ttlMs);
    this.drainSoon(request.chatId);
    const settled = await this.awaitOutcome(job.id, outcome);
    if (settled.ok) return settled.result;
    throw settled.original ?? new RemoteSendError(settled.error);
  }

  /** Replies queued and not yet answered by the Chat API, in one chat or (approximately) all. */
  async depth(chatId?: string): Promise<number> {
    if (chatId) return this.store.listLength(this.listKey(chatId));
    let total = 0;
    let budget = 1000;
    for (const shard of CHATS) {
      if (budget <= 0) break;
      const ids = await this.store.setMembers(shard, budget);
      budget -= ids.length;
      for (const id of ids) total += await this.store.listLength(this.listKey(id));
    }
    return total;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
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

  /** Our job's outcome: sent by us (local promise), or by another instance (result record). */
  private async awaitOutcome(jobId: string, local: Promise<JobOutcome>): Promise<JobOutcome> {
    let remote: NodeJS.Timeout | undefined;
    const fromStore = new Promise<JobOutcome>((resolve) => {
      const look = () => {
        this.store
          .get<JobOutcome>(this.resultKey(jobId))
          .then((o) => {
            if (o) resolve(o);
            else remote = setTimeout(look, 50);
          })
          .catch(() => (remote = setTimeout(look, 200)));
      };
      remote = setTimeout(look, 50);
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
      clearTimeout(remote);
      clearTimeout(giveUp);
      this.waiting.delete(jobId);
    }
  }

  /** Sends a chat's queued replies in order, while holding its lease; returns when it is empty or taken. */
  private async drain(chatId: string): Promise<void> {
    const leaseKey = this.leaseKey(chatId);
    const lease = { owner: this.owner };
    if (!(await this.store.setIfAbsent(leaseKey, lease, this.leaseMs))) return;
    const renew = setInterval(() => {
      this.store.replaceIf(leaseKey, lease, lease, this.leaseMs).catch(() => undefined);
    }, Math.max(10, Math.floor(this.leaseMs / 3)));
    renew.unref();
    try {
      for (;;) {
        const [job] = await this.store.listRange<Job>(this.listKey(chatId), 1);
        if (!job) break;
        const outcome = await this.sendJob(job);
        // Acknowledge first: the smaller the gap after the API's answer, the smaller the window.
        await this.store.listShiftIf(this.listKey(chatId), job);
        const waiter = this.waiting.get(job.id);
        if (waiter) waiter.resolve(outcome);
        else await this.store.set(this.resultKey(job.id), stripOriginal(outcome), 60_000);
      }
    } finally {
      clearInterval(renew);
      await this.store.deleteIf(leaseKey, lease);
    }
    // A reply queued between our last look and the release would wait for the sweeper; look once more.
    if ((await this.store.listLength(this.listKey(chatId))) > 0) this.drainSoon(chatId);
    else await this.store.setRemove(chatsKey(chatId), chatId);
  }

  private async sendJob(job: Job): Promise<JobOutcome> {
    try {
      return { ok: true, result: await this.sender.send(job.request) };
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
    if (this.closed) return;
    for (const shard of CHATS) {
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
    this.drain(chatId).catch((err: unknown) => this.options.logger?.error({ err, chatId }, 'outbox drain failed'));
  }
}
