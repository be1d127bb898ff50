/**
 * How the RedisStore talks to Redis, on one server (REDIS_URL) or on a Redis Cluster
 * (REDIS_CLUSTER_NODES): the client options that make a Redis that is away fail fast while the
 * connection is retried forever, and the startup check that stops the process with one clear line
 * when nothing answers. The store itself (redis.ts) does not care which of the two clients it has:
 * its keys put every multi-key step in one hash slot (keys.ts), which is all a cluster asks.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { BbmError } from '../protocol/errors.js';

/** Redis did not answer at startup: the address is wrong or the server is down. Names the variable that set it. */
export class RedisConnectError extends BbmError {
  constructor(message: string, options: { cause?: unknown; field?: 'REDIS_URL' | 'REDIS_CLUSTER_NODES' } = {}) {
    super('REDIS_UNAVAILABLE', message, { cause: options.cause, field: options.field ?? 'REDIS_URL' });
  }
}

/** The timeouts the operator can tune; everything else is fixed below. */
export interface ConnectionTuning {
  /** Longest wait for a TCP connection to Redis. Default 3 s. */
  connectTimeoutMs?: number;
  /**
   * Longest wait for any one command, queued time included: a Redis that is down or stuck makes
   * the operation fail with RedisStoreError instead of holding a callback forever. Default 5 s.
   */
  commandTimeoutMs?: number;
}

/** One seed node of a cluster. */
export interface ClusterNode {
  host: string;
  port: number;
}

/** A running server keeps trying (Redis restarts, fail-overs); backoff capped at 2 s. */
const retryForever = (times: number): number => Math.min(times * 100, 2_000);

/** The options every connection the store opens gets: fail fast when Redis is away, reconnect forever. */
export function connectionOptions(options: ConnectionTuning): RedisOptions {
  return {
    connectTimeout: options.connectTimeoutMs ?? 3_000,
    commandTimeout: options.commandTimeoutMs ?? 5_000,
    // Queued only until the first connection (see failFastWhenAway): after that a command issued
    // while Redis is away fails at once. A queued one would run after the reconnect although it had
    // already timed out for its caller: a ticket nobody holds, a lease nobody renews.
    enableOfflineQueue: true,
    // Likewise a command in flight when the connection dropped is not sent again on reconnect.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 2,
    retryStrategy: retryForever,
    connectionName: 'bbm-bot',
    // Commands issued in the same tick (many callbacks at once) go out in one write: far fewer
    // syscalls and packets under load, the same results.
    enableAutoPipelining: true,
    // How long a disconnect waits for the socket to close; ioredis keeps a (non-unref'd) timer this
    // long even for a socket already gone, which would hold up the process exit. Default 2 s.
    disconnectTimeout: 500,
  };
}

/**
 * Once connected, a command issued while Redis is away fails at once (the callback fails and BBM
 * sends it again) instead of waiting in the offline queue to run after the reconnect, when its
 * caller may long have given up on it.
 *
 * @example await answersPing(client, 3000); failFastWhenAway(client);
 */
export function failFastWhenAway(client: Redis | Cluster): void {
  client.options.enableOfflineQueue = false;
}

/**
 * The same behaviour on a cluster: the per-node connections get the single-server options, and the
 * cluster's own retry, queue and redirection settings match them. Reads go to masters only: a
 * replica may lag, and the compare-and-set records must be read where they are written.
 */
export function clusterOptions(options: ConnectionTuning): ClusterOptions {
  const { retryStrategy: _perNode, enableOfflineQueue, enableAutoPipelining: _single, ...perNode } = connectionOptions(options);
  return {
    redisOptions: { ...perNode, maxRetriesPerRequest: 2 },
    clusterRetryStrategy: retryForever,
    enableOfflineQueue,
    // Off on a cluster: ioredis routes an auto-pipelined command by its first argument, which for
    // our scripts with a variable key count (takeTicket, endTurn) is that count, not a key, so
    // under load and while slots are refreshed (a paused or failed-over node) whole batches failed
    // with "All keys in the pipeline should belong to the same slots allocation group".
    enableAutoPipelining: false,
    enableReadyCheck: true,
    scaleReads: 'master',
    // A fail-over (a replica promoted) takes a moment; commands wait this long between redirections.
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    maxRedirections: 16,
    slotsRefreshTimeout: options.connectTimeoutMs ?? 3_000,
  };
}

/**
 * `host:port,host:port…` as seed nodes. Throws a RangeError saying which entry is wrong; the
 * configuration turns it into a line naming REDIS_CLUSTER_NODES.
 *
 * @example parseClusterNodes('10.0.0.1:7000, redis-b:7001') // [{ host: '10.0.0.1', port: 7000 }, { host: 'redis-b', port: 7001 }]
 */
export function parseClusterNodes(text: string): ClusterNode[] {
  const nodes: ClusterNode[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    // host:port, or [v6]:port; no scheme, no path, no credentials (those would go unredacted in logs).
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})$/.exec(entry);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) {
      throw new RangeError(`entry ${JSON.stringify(entry)} is not host:port (a comma-separated list such as 10.0.0.1:7000,10.0.0.2:7000)`);
    }
    nodes.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return nodes;
}

/** Seed nodes as shown in messages: `10.0.0.1:7000,redis-b:7001`. */
export function showNodes(nodes: readonly ClusterNode[]): string {
  return nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(',');
}

/**
 * An error's message. Not `instanceof Error`: errors from node's sockets can come from another
 * realm (jest's VM), and String(err) would then prefix "Error: ".
 */
export function messageOf(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message !== '' ? message : String(err);
}

/**
 * Connects a client made with `lazyConnect` and no retries, and resolves once it answers PING;
 * rejects with the most telling error (the socket's ECONNREFUSED over ioredis's "Connection is
 * closed") when it does not within `timeoutMs`, after dropping the client.
 */
export async function answersPing(client: Redis | Cluster, timeoutMs: number): Promise<void> {
  let socketError: Error | undefined;
  // A listener also stops ioredis printing the error.
  const swallow = (err: Error): void => {
    socketError ??= err;
  };
  client.on('error', swallow);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    // A client that already ended has no socket left; disconnecting it would only start a timer.
    if (client.status !== 'end') client.disconnect();
    // A cluster's own rejection ("None of startup nodes is available") says it best; a single
    // server's socket error says more than its rejection.
    throw client instanceof Cluster ? (err ?? socketError) : (socketError ?? err);
  } finally {
    clearTimeout(timer);
    client.off('error', swallow);
  }
}

/** Opens a cluster client and resolves once it answers; a RedisConnectError naming REDIS_CLUSTER_NODES otherwise. */
export async function connectCluster(nodes: readonly ClusterNode[], tuning: ConnectionTuning): Promise<Cluster> {
  const shown = showNodes(nodes);
  if (nodes.length === 0) throw new RedisConnectError('REDIS_CLUSTER_NODES names no node', { field: 'REDIS_CLUSTER_NODES' });
  // No reconnection loop during the check: one round of attempts, then a clear answer.
  const client = new Cluster([...nodes], { ...clusterOptions(tuning), lazyConnect: true, clusterRetryStrategy: () => null });
  try {
    await answersPing(client, tuning.connectTimeoutMs ?? 3_000);
  } catch (err) {
    throw new RedisConnectError(`REDIS_CLUSTER_NODES ${shown}: no node answers: ${messageOf(err)}`, { cause: err, field: 'REDIS_CLUSTER_NODES' });
  }
  // Connected: from now on lost connections are retried for as long as the process runs.
  client.options.clusterRetryStrategy = retryForever;
  failFastWhenAway(client);
  return client;
}
