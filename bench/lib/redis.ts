/**
 * The Redis the `framework-redis` subject shares its state in. When `redis-server` is installed,
 * the bench runs its own (no persistence, pinned to the load generator's core, so it never takes
 * the server's core); otherwise it uses BENCH_REDIS_URL (default redis://127.0.0.1:6379) under a
 * key prefix of its own, and deletes those keys at the end.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { TASKSET, freePort } from './proc.js';
import { readCounters, type RedisCounters } from './redis-stats.js';

export interface BenchRedis {
  url: string;
  prefix: string;
  /** Where it came from, for the report. */
  describe: string;
  /** Pid of the redis-server the bench started (its CPU is the load generator side's). */
  pid: number | undefined;
  /** Redis's own memory (INFO used_memory) in bytes, and its number of keys. */
  memory(): Promise<{ usedBytes: number; keys: number }>;
  /** Commands, round trips and execution time so far (see redis-stats.ts). */
  counters(): Promise<RedisCounters>;
  /** Deletes every key under the prefix (between subjects, so each starts empty). */
  clear(): Promise<void>;
  stop(): Promise<void>;
}

function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function startBenchRedis(core: number): Promise<BenchRedis> {
  const prefix = `bench-${process.pid}:`;
  let proc: ChildProcess | undefined;
  let url = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  let describe = `${url} (BENCH_REDIS_URL; redis-server is not installed)`;
  if (!process.env.BENCH_REDIS_URL && hasRedisServer()) {
    const port = await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    proc = TASKSET ? spawn('taskset', ['-c', String(core), 'redis-server', ...args], { stdio: 'ignore' }) : spawn('redis-server', args, { stdio: 'ignore' });
    url = `redis://127.0.0.1:${port}`;
    describe = `its own redis-server on port ${port}${TASKSET ? `, pinned to core ${core}` : ''}, no persistence`;
  }
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: (n) => (n > 40 ? null : 50) });
  // Refused connections while the server starts are expected: the loop below retries them.
  client.on('error', () => undefined);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`bench: Redis at ${url} does not answer: ${String(err)}`, { cause: err });
      client.disconnect();
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const version = /redis_version:(\S+)/.exec(await client.info('server'))?.[1];
  if (version) describe += `, Redis ${version}`;

  const clear = async () => {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await client.unlink(...keys);
    } while (cursor !== '0');
  };
  return {
    url,
    prefix,
    describe,
    pid: proc?.pid,
    async memory() {
      const used = Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1] ?? 0);
      const keys = proc ? await client.dbsize() : -1;
      return { usedBytes: used, keys };
    },
    counters: () => readCounters([client]),
    clear,
    async stop() {
      if (!proc) await clear().catch(() => undefined);
      client.disconnect();
      if (proc && proc.exitCode === null) {
        const exited = new Promise((r) => proc!.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}
