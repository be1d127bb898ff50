/**
 * The StateStore in Redis, for several instances sharing one channel. Semantics follow
 * MemoryStore (the reference): values are JSON text, every write carries a TTL in milliseconds,
 * and the compare-and-* operations compare that text. Everything that reads and then writes runs
 * as one Lua script or one MULTI, so two instances racing on a key see one winner.
 *
 * The same store runs on one Redis server or on a Redis Cluster (the client is either): every
 * script and MULTI touches the keys of one chat, which keys.ts puts in one hash slot.
 */
import { Redis, type Cluster, type Result } from 'ioredis';
import type { Logger } from 'pino';
import { BbmError } from '../protocol/errors.js';
import {
  answersPing,
  failFastWhenAway,
  connectCluster,
  connectionOptions,
  messageOf,
  parseClusterNodes,
  RedisConnectError,
  type ClusterNode,
  type ConnectionTuning,
} from './redis-connection.js';
import { scheduleAdd, scheduleClaim, scheduleRemove, SCHEDULE_SCRIPTS } from './redis-schedule.js';
import { ticketLeaseJson, type ClaimedMember, type LeasedShift, type StateStore, type Ticket, type TicketKeys, type TurnWrite } from './store.js';

/** A Redis operation failed (connection lost, timed out, refused by the server). */
export class RedisStoreError extends BbmError {
  constructor(message: string, options: { cause?: unknown; field?: string } = {}) {
    super('STATE_UNAVAILABLE', message, options);
  }
}

export { RedisConnectError, type ClusterNode } from './redis-connection.js';

export interface RedisStoreOptions extends ConnectionTuning {
  /** redis:// or rediss:// URL; ignored when `client` is given. Default redis://127.0.0.1:6379. */
  url?: string;
  /** A connection (to one server or a cluster) to use instead of opening one; `close()` then leaves it open. */
  client?: Redis | Cluster;
  /** Put in front of every key, so several bots (or tests) can share a database. Default `bbm:`. No `{` or `}`. */
  prefix?: string;
  /** Connection lost / restored are logged here. */
  logger?: Logger;
}

export const DEFAULT_REDIS_PREFIX = 'bbm:';
const DEFAULT_URL = 'redis://127.0.0.1:6379';

/**
 * The atomic read-then-write operations. Each compares the stored JSON text with ARGV[1] inside
 * Redis, so no other client can change the key between the comparison and the write.
 */
const SCRIPTS = {
  bbmDeleteIf: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  },
  bbmReplaceIf: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`,
  },
  // KEYS: tickets, done, lease, then the keys to read along. ARGV: owner, lease ms, idle ms.
  // Returns {ticket, done, holding, values read (false where absent)...}. The lease is built as
  // ticketLeaseJson builds it (the owner needs no escaping). The number of keys comes first.
  bbmTakeTicket: {
    lua: `local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local done = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local holding = 0
if done >= n then
  redis.call('SET', KEYS[2], n - 1, 'PX', ARGV[3])
  holding = 1
else
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  if done == n - 1 then holding = 1 end
end
if holding == 1 then
  redis.call('SET', KEYS[3], '{"ticket":' .. n .. ',"owner":"' .. ARGV[1] .. '"}', 'PX', ARGV[2])
end
local out = {n, done, holding}
for i = 4, #KEYS do out[#out + 1] = redis.call('GET', KEYS[i]) end
return out`,
  },
  // KEYS: done, lease, then the keys to write. ARGV: ticket, lease JSON, idle ms, then a value and a
  // TTL (ms) per key to write. Returns 1 when done moved to the ticket. The number of keys comes first.
  bbmEndTurn: {
    lua: `local ticket = tonumber(ARGV[1])
local done = redis.call('GET', KEYS[1])
local advanced = 0
if (done == false and ticket == 1) or (done ~= false and done == tostring(ticket - 1)) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  advanced = 1
end
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
for i = 3, #KEYS do redis.call('SET', KEYS[i], ARGV[2 * i - 2], 'PX', ARGV[2 * i - 1]) end
return advanced`,
  },
  // LPOP of the last item deletes the key, as MemoryStore drops an emptied list.
  bbmListShiftIf: {
    numberOfKeys: 1,
    lua: `if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LPOP', KEYS[1])
  return 1
end
return 0`,
  },
  // KEYS: list, guard. ARGV: the expected head, the guard's expected value. The guard is only read.
  bbmListShiftIfHeld: {
    numberOfKeys: 2,
    lua: `if redis.call('GET', KEYS[2]) == ARGV[2] and redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LPOP', KEYS[1])
  return 1
end
return 0`,
  },
  // KEYS: list, lease. ARGV: the item, the list's TTL, the lease, the lease's TTL. Returns the head
  // when the lease was free and is now ours, else nil.
  bbmListPushLeased: {
    numberOfKeys: 2,
    lua: `redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then return redis.call('LINDEX', KEYS[1], 0) end
return false`,
  },
  // KEYS: list, lease. ARGV: the expected head, the lease, the lease's TTL. Returns {0} (nothing
  // changed), {1, next head} (lease renewed) or {1} (list emptied, lease deleted).
  bbmListShiftLeased: {
    numberOfKeys: 2,
    lua: `if redis.call('GET', KEYS[2]) ~= ARGV[2] or redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then return {0} end
redis.call('LPOP', KEYS[1])
local next = redis.call('LINDEX', KEYS[1], 0)
if next then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return {1, next}
end
redis.call('DEL', KEYS[2])
return {1}`,
  },
  // A push or an add and its TTL in one command (a MULTI is four, and a heavier client object).
  bbmListPush: {
    numberOfKeys: 1,
    lua: `local n = redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n`,
  },
  bbmSetAdd: {
    numberOfKeys: 1,
    lua: `redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`,
  },
} as const;

/** The scripts whose first argument is their number of keys (see the constructor). */
const VARIABLE_KEY_SCRIPTS = ['bbmTakeTicket', 'bbmEndTurn'] as const;

// ioredis adds `defineCommand` commands at run time; this tells TypeScript they exist.
declare module 'ioredis' {
  interface RedisCommander<Context> {
    bbmDeleteIf(key: string, expected: string): Result<number, Context>;
    bbmReplaceIf(key: string, expected: string, value: string, ttlMs: number): Result<number, Context>;
    bbmListShiftIf(key: string, expected: string): Result<number, Context>;
    bbmListShiftIfHeld(key: string, guardKey: string, expected: string, guardValue: string): Result<number, Context>;
    bbmTakeTicket(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Result<[number, number, number, ...(string | null)[]], Context>;
    bbmEndTurn(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Result<number, Context>;
    bbmListPushLeased(key: string, leaseKey: string, value: string, ttlMs: number, lease: string, leaseMs: number): Result<string | null, Context>;
    bbmListShiftLeased(key: string, leaseKey: string, expected: string, lease: string, leaseMs: number): Result<[number, string?], Context>;
    bbmListPush(key: string, value: string, ttlMs: number): Result<number, Context>;
    bbmSetAdd(key: string, member: string, ttlMs: number): Result<number, Context>;
  }
}

/**
 * The URL as safe to print: scheme, host, port and database kept; the password replaced, and so is
 * a user name given without one (it may be a password written as `redis://secret@host`); and
 * every query value replaced, since ioredis takes any option there (`?password=`, `?username=`,
 * `?sentinelPassword=`...) and none can be told safe. The fragment is dropped.
 *
 * @example
 * redactRedisUrl('redis://bbm:pw@cache:6379/2?password=pw&db=2') // 'redis://bbm:***@cache:6379/2?password=***&db=***'
 */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    else if (u.username) u.username = '***';
    for (const name of new Set(u.searchParams.keys())) u.searchParams.set(name, '***');
    u.hash = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(unparseable URL)';
  }
}

/** A TTL Redis accepts (a positive whole number of ms); anything else is a caller bug. */
function px(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`StateStore TTL must be a positive number of milliseconds, got ${ttlMs}`);
  }
  return Math.ceil(ttlMs);
}

function encode(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError('StateStore values must be JSON-serialisable (got undefined or a function)');
  return json;
}

function decode<T>(json: string): T {
  try {
    return JSON.parse(json) as T;
  } catch (err) {
    throw new RedisStoreError(`redis holds a value that is not JSON (written by something else under this prefix?): ${messageOf(err)}`, { cause: err });
  }
}

/** A failed command as the store reports it; a caller's own bug (a bad TTL, a value JSON refuses) passes as it is. */
function failed(op: string, err: unknown): unknown {
  if (err instanceof RangeError || err instanceof TypeError || err instanceof RedisStoreError) return err;
  return new RedisStoreError(`redis ${op} failed: ${messageOf(err)}`, { cause: err });
}

/** Marks a client `connect()` opened: the store owns it although it came in as `client`. Not exported. */
const OWNS_CLIENT = Symbol('ownsClient');
type InternalOptions = RedisStoreOptions & { [OWNS_CLIENT]?: boolean };

export class RedisStore implements StateStore {
  /** The connection: to one server, or to a cluster (REDIS_CLUSTER_NODES). */
  readonly client: Redis | Cluster;
  readonly prefix: string;
  private readonly ownClient: boolean;
  private readonly logger: Logger | undefined;
  private healthy = true;
  /** The server process last seen (INFO run_id), to notice a restart. */
  private runId: string | undefined;
  private closed = false;

  constructor(options: RedisStoreOptions = {}) {
    this.prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    // A brace in the prefix would be every key's hash tag: one slot for the whole bot on a cluster.
    if (/[{}]/.test(this.prefix)) throw new RangeError(`RedisStore prefix must not contain { or }, got ${JSON.stringify(this.prefix)}`);
    this.logger = options.logger;
    if (options.client) {
      this.client = options.client;
      this.ownClient = (options as InternalOptions)[OWNS_CLIENT] === true;
    } else {
      this.client = new Redis(options.url ?? DEFAULT_URL, connectionOptions(options));
      this.ownClient = true;
    }
    if (this.ownClient) this.watchConnection();
    // Defining a script twice is harmless (same body, same SHA), so a shared client is fine.
    for (const [name, definition] of Object.entries({ ...SCRIPTS, ...SCHEDULE_SCRIPTS })) this.client.defineCommand(name, definition);
    // A cluster client routes an auto-pipelined command by its first argument, which for the scripts
    // with a variable key count is that count, not a key: batches of them would be refused whole.
    // Keep them out of auto-pipelining on a cluster client someone else made with it on.
    if (this.client.isCluster) {
      const ignored = (this.client.options.autoPipeliningIgnoredCommands ??= []);
      for (const name of VARIABLE_KEY_SCRIPTS) if (!ignored.includes(name)) ignored.push(name);
    }
  }

  /**
   * Opens a store and resolves once Redis answers PING; rejects with a RedisConnectError naming
   * REDIS_URL (password redacted) when it does not within the connect timeout. For startup: a
   * wrong URL should stop the process with one clear line, not fail every callback later.
   */
  static async connect(url: string, options: Omit<RedisStoreOptions, 'url' | 'client'> = {}): Promise<RedisStore> {
    const shown = redactRedisUrl(url);
    const timeoutMs = options.connectTimeoutMs ?? 3_000;
    let client: Redis;
    try {
      // No reconnection loop during the check: one attempt, then a clear answer.
      client = new Redis(url, { ...connectionOptions(options), lazyConnect: true, retryStrategy: () => null });
    } catch (err) {
      throw new RedisConnectError(`REDIS_URL ${shown} cannot be used: ${messageOf(err)}`, { cause: err });
    }
    try {
      await answersPing(client, timeoutMs);
    } catch (err) {
      throw new RedisConnectError(`REDIS_URL ${shown} does not answer: ${messageOf(err)}`, { cause: err });
    }
    // Connected: from now on lost connections are retried for as long as the process runs.
    client.options.retryStrategy = connectionOptions(options).retryStrategy;
    failFastWhenAway(client);
    const internal: InternalOptions = { ...options, client, [OWNS_CLIENT]: true };
    return new RedisStore(internal);
  }

  /**
   * Opens a store on a Redis Cluster and resolves once it answers; rejects with a RedisConnectError
   * naming REDIS_CLUSTER_NODES when no seed node does within the connect timeout. The other nodes
   * are found from the seeds; the store is used as one opened with {@link connect}.
   *
   * @example
   * const store = await RedisStore.connectCluster('10.0.0.1:7000,10.0.0.2:7000', { prefix: 'mybot:' });
   */
  static async connectCluster(nodes: string | readonly ClusterNode[], options: Omit<RedisStoreOptions, 'url' | 'client'> = {}): Promise<RedisStore> {
    let seeds: readonly ClusterNode[];
    try {
      seeds = typeof nodes === 'string' ? parseClusterNodes(nodes) : nodes;
    } catch (err) {
      throw new RedisConnectError(`REDIS_CLUSTER_NODES ${messageOf(err)}`, { cause: err, field: 'REDIS_CLUSTER_NODES' });
    }
    const client = await connectCluster(seeds, options);
    const internal: InternalOptions = { ...options, client, [OWNS_CLIENT]: true };
    return new RedisStore(internal);
  }

  /** Why the store cannot serve now ("redis reconnecting", "redis end"...), or undefined: for GET /readyz. */
  readiness(): string | undefined {
    return this.client.status === 'ready' ? undefined : `redis ${this.client.status}`;
  }

  private watchConnection(): void {
    // One line when the connection goes and one when it comes back, not one per retry.
    this.client.on('error', (err: Error) => {
      if (!this.healthy || this.closed) return;
      this.healthy = false;
      this.logger?.warn({ err: { message: err.message } }, 'redis connection lost; retrying');
    });
    this.client.on('ready', () => {
      this.noteServer();
      if (this.healthy) return;
      this.healthy = true;
      this.logger?.info('redis connection restored');
    });
    if (this.client.status === 'ready') this.noteServer();
  }

  /**
   * A single Redis that comes back as another process (its run_id changed) restarted, and without
   * persistence it lost everything: say so once, in one line. (A cluster fails over to replicas
   * instead, and its nodes change by design.)
   */
  private noteServer(): void {
    if (this.client.isCluster) return;
    this.client.info('server').then(
      (info) => {
        const runId = /^run_id:(\w+)/m.exec(info)?.[1];
        if (runId === undefined) return;
        if (this.runId !== undefined && this.runId !== runId) {
          this.logger?.warn(
            { previousRunId: this.runId, runId },
            'redis restarted: what it held (chat records, sessions, queued replies, redelivery records) may be gone; new callbacks are served as usual',
          );
        }
        this.runId = runId;
      },
      () => undefined,
    );
  }

  private k(key: string): string {
    return this.prefix + key;
  }

  /**
   * Runs one operation; a Redis failure becomes a RedisStoreError naming the operation. The
   * operations on a callback's path (get, set, swap, the compare-and-sets, the ticket lock) do the
   * same inline with `failed`: one await less each, which shows at thousands of callbacks a second.
   */
  private async run<T>(op: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw failed(op, err);
    }
  }

  /** A MULTI's replies, with the first command error (if any) thrown. */
  private static replies(result: [error: Error | null, value: unknown][] | null): unknown[] {
    if (result === null) throw new Error('transaction aborted');
    return result.map(([error, value]) => {
      if (error) throw error;
      return value;
    });
  }

  async get<T>(key: string): Promise<T | undefined> {
    let json: string | null;
    try {
      json = await this.client.get(this.k(key));
    } catch (err) {
      throw failed('GET', err);
    }
    return json === null ? undefined : decode<T>(json);
  }

  async set<T>(key: string, value: T, ttlMs: number): Promise<void> {
    const json = encode(value);
    const ttl = px(ttlMs);
    try {
      await this.client.set(this.k(key), json, 'PX', ttl);
    } catch (err) {
      throw failed('SET', err);
    }
  }

  async setIfAbsent<T>(key: string, value: T, ttlMs: number): Promise<boolean> {
    const json = encode(value);
    const ttl = px(ttlMs);
    try {
      return (await this.client.set(this.k(key), json, 'PX', ttl, 'NX')) === 'OK';
    } catch (err) {
      throw failed('SET NX', err);
    }
  }

  delete(key: string): Promise<void> {
    return this.run('DEL', async () => {
      await this.client.del(this.k(key));
    });
  }

  async deleteIf<T>(key: string, expected: T): Promise<boolean> {
    const json = encode(expected);
    try {
      return (await this.client.bbmDeleteIf(this.k(key), json)) === 1;
    } catch (err) {
      throw failed('deleteIf', err);
    }
  }

  async replaceIf<T>(key: string, expected: T, value: T, ttlMs: number): Promise<boolean> {
    const before = encode(expected);
    const after = encode(value);
    const ttl = px(ttlMs);
    try {
      return (await this.client.bbmReplaceIf(this.k(key), before, after, ttl)) === 1;
    } catch (err) {
      throw failed('replaceIf', err);
    }
  }

  increment(key: string, ttlMs: number): Promise<number> {
    return this.run('INCR', async () => {
      const k = this.k(key);
      const ttl = px(ttlMs);
      const [count] = RedisStore.replies(await this.client.multi().incr(k).pexpire(k, ttl).exec());
      return Number(count);
    });
  }

  async takeTicket(keys: TicketKeys, owner: string, leaseMs: number, idleTtlMs: number, reads?: readonly string[]): Promise<Ticket> {
    ticketLeaseJson(0, owner);
    const args: (string | number)[] = [this.k(keys.tickets), this.k(keys.done), this.k(keys.lease)];
    for (const key of reads ?? []) args.push(this.k(key));
    args.push(owner, px(leaseMs), px(idleTtlMs));
    let reply: [number, number, number, ...(string | null)[]];
    try {
      reply = await this.client.bbmTakeTicket(3 + (reads?.length ?? 0), ...args);
    } catch (err) {
      throw failed('takeTicket', err);
    }
    const ticket: Ticket = { ticket: Number(reply[0]), done: Number(reply[1]), holding: reply[2] === 1 };
    if (reads !== undefined) {
      const values: unknown[] = [];
      for (let i = 0; i < reads.length; i++) {
        const json = reply[3 + i];
        values.push(typeof json === 'string' ? decode(json) : undefined);
      }
      ticket.values = values;
    }
    return ticket;
  }

  async endTurn(keys: TicketKeys, ticket: number, owner: string, idleTtlMs: number, writes: readonly TurnWrite[] = []): Promise<boolean> {
    const lease = ticketLeaseJson(ticket, owner);
    const args: (string | number)[] = [this.k(keys.done), this.k(keys.lease)];
    for (const w of writes) args.push(this.k(w.key));
    args.push(ticket, lease, px(idleTtlMs));
    for (const w of writes) args.push(encode(w.value), px(w.ttlMs));
    try {
      return (await this.client.bbmEndTurn(2 + writes.length, ...args)) === 1;
    } catch (err) {
      throw failed('endTurn', err);
    }
  }

  async swap<T>(key: string, value: T, ttlMs: number): Promise<T | undefined> {
    const json = encode(value);
    const ttl = px(ttlMs);
    let previous: string | null;
    try {
      previous = await this.client.set(this.k(key), json, 'PX', ttl, 'GET');
    } catch (err) {
      throw failed('SET GET', err);
    }
    return previous === null ? undefined : decode<T>(previous);
  }

  listPush<T>(key: string, value: T, ttlMs: number): Promise<number> {
    return this.run('RPUSH', async () => Number(await this.client.bbmListPush(this.k(key), encode(value), px(ttlMs))));
  }

  async listPushLeased<T, L>(key: string, value: T, ttlMs: number, leaseKey: string, lease: L, leaseMs: number): Promise<T | undefined> {
    const json = encode(value);
    const leaseJson = encode(lease);
    const ttl = px(ttlMs);
    const leaseTtl = px(leaseMs);
    let head: string | null;
    try {
      head = await this.client.bbmListPushLeased(this.k(key), this.k(leaseKey), json, ttl, leaseJson, leaseTtl);
    } catch (err) {
      throw failed('listPushLeased', err);
    }
    return head === null ? undefined : decode<T>(head);
  }

  async listShiftLeased<T, L>(key: string, expected: T, leaseKey: string, lease: L, leaseMs: number): Promise<LeasedShift<T>> {
    const json = encode(expected);
    const leaseJson = encode(lease);
    const leaseTtl = px(leaseMs);
    let reply: [number, string?];
    try {
      reply = await this.client.bbmListShiftLeased(this.k(key), this.k(leaseKey), json, leaseJson, leaseTtl);
    } catch (err) {
      throw failed('listShiftLeased', err);
    }
    if (reply[0] !== 1) return { shifted: false };
    return typeof reply[1] === 'string' ? { shifted: true, next: decode<T>(reply[1]) } : { shifted: true };
  }

  listRange<T>(key: string, count: number): Promise<T[]> {
    // LRANGE 0 -1 would mean "everything": a count of 0 asks for nothing.
    if (!(count >= 1)) return Promise.resolve([]);
    return this.run('LRANGE', async () => {
      const items = await this.client.lrange(this.k(key), 0, Math.floor(count) - 1);
      return items.map((json) => decode<T>(json));
    });
  }

  listShiftIf<T>(key: string, expected: T): Promise<boolean> {
    return this.run('listShiftIf', async () => (await this.client.bbmListShiftIf(this.k(key), encode(expected))) === 1);
  }

  listShiftIfHeld<T, G>(key: string, expected: T, guardKey: string, guardValue: G): Promise<boolean> {
    return this.run(
      'listShiftIfHeld',
      async () => (await this.client.bbmListShiftIfHeld(this.k(key), this.k(guardKey), encode(expected), encode(guardValue))) === 1,
    );
  }

  listLength(key: string): Promise<number> {
    return this.run('LLEN', () => this.client.llen(this.k(key)));
  }

  setAdd(key: string, member: string, ttlMs: number): Promise<void> {
    return this.run('SADD', async () => {
      await this.client.bbmSetAdd(this.k(key), member, px(ttlMs));
    });
  }

  setRemove(key: string, member: string): Promise<void> {
    return this.run('SREM', async () => {
      await this.client.srem(this.k(key), member);
    });
  }

  setMembers(key: string, max: number): Promise<string[]> {
    if (!(max >= 1)) return Promise.resolve([]);
    // SRANDMEMBER with a positive count: up to `max` distinct members in one bounded reply. Being
    // random, a set larger than `max` does not always hand the same members to every caller.
    return this.run('SRANDMEMBER', () => this.client.srandmember(this.k(key), Math.floor(max)));
  }

  /** A sorted set (redis-schedule.ts). */
  scheduleAdd(key: string, member: string, dueAt: number): Promise<void> {
    return this.run('ZADD', () => scheduleAdd(this.client, this.k(key), member, dueAt));
  }

  scheduleRemove(key: string, member: string): Promise<boolean> {
    return this.run('ZREM', () => scheduleRemove(this.client, this.k(key), member));
  }

  scheduleClaim(key: string, now: number, leaseMs: number, max: number): Promise<ClaimedMember[]> {
    return this.run('scheduleClaim', () => scheduleClaim(this.client, this.k(key), now, leaseMs, max));
  }

  /** Closes the connection if the store opened it; a shared client is left to its owner. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.ownClient) return;
    const client = this.client;
    if (client.status === 'end') return;
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    // Between two reconnection attempts there is no socket to close and ioredis emits no 'end'.
    if (client.status === 'reconnecting') {
      client.disconnect();
      return;
    }
    if (client.status === 'ready') {
      // QUIT lets the replies of commands already sent arrive first.
      await client.quit().catch(() => client.disconnect());
    } else {
      // Not connected (Redis down, reconnecting): drop the socket and stop reconnecting.
      client.disconnect();
    }
    // Bounded anyway: a close must never hold up shutdown.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1_000)))]);
    clearTimeout(timer);
  }
}
