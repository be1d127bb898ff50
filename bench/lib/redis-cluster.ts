/**
 * The Redis Cluster the `framework-cluster` subject shares its state in. When `redis-server` is
 * installed, the bench runs its own: three masters, no replicas (the bench measures the hot path,
 * not fail-over), no persistence, on free ports whose cluster bus ports (+10000) are free too, all
 * pinned to the load generator's core like framework-redis's server, joined with
 * `redis-cli --cluster create … --cluster-yes`; it is shut down and its files removed at the end.
 * BENCH_REDIS_CLUSTER_NODES (seed nodes, host:port,…), when set, is used instead (as BENCH_REDIS_URL
 * is for framework-redis), under a key prefix of its own whose keys are deleted at the end; with
 * neither, there is no cluster and the subject is skipped.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { TASKSET } from './proc.js';
import { readCounters, type RedisCounters } from './redis-stats.js';

const run = promisify(execFile);

export interface BenchCluster {
  /** REDIS_CLUSTER_NODES for the framework. */
  nodes: string;
  prefix: string;
  describe: string;
  /** Pids of the redis-servers the bench started (none for BENCH_REDIS_CLUSTER_NODES). */
  pids: number[];
  /** Number of masters (the shards the keys spread over). */
  masters: number;
  /** Counters summed over every master (see redis-stats.ts). */
  counters(): Promise<RedisCounters>;
  /** Deletes every key under the prefix on every master. */
  clear(): Promise<void>;
  stop(): Promise<void>;
}

function has(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** `count` ports p, each with p + 10000 free as well (the cluster bus), below 55536. */
async function clusterPorts(count: number): Promise<number[]> {
  const out: number[] = [];
  for (let tries = 0; out.length < count && tries < 500; tries++) {
    const p = 20_000 + Math.floor(Math.random() * 25_000);
    if (out.includes(p) || out.includes(p + 10_000) || out.includes(p - 10_000)) continue;
    if ((await canListen(p)) && (await canListen(p + 10_000))) out.push(p);
  }
  if (out.length < count) throw new Error('bench: no free ports for a Redis Cluster');
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilAnswers(client: Redis, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.ping();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`bench: ${what} does not answer: ${String(err)}`, { cause: err });
      await sleep(100);
    }
  }
}

/** Starts the bench's own cluster, or connects to BENCH_REDIS_CLUSTER_NODES; `{ skipped }` with the reason when neither is possible. */
export async function startBenchCluster(core: number): Promise<BenchCluster | { skipped: string }> {
  const prefix = `bench-${process.pid}:`;
  const seeds = process.env.BENCH_REDIS_CLUSTER_NODES;
  // As for framework-redis: a cluster named in the environment is used even when the bench could start one.
  const own = !seeds && has('redis-server') && has('redis-cli');
  if (!own && !seeds) {
    return { skipped: 'redis-server/redis-cli are not installed and BENCH_REDIS_CLUSTER_NODES is not set' };
  }
  let procs: ChildProcess[] = [];
  let dir: string | undefined;
  let nodes: string;
  let describe: string;
  if (own) {
    const ports = await clusterPorts(3);
    dir = mkdtempSync(join(tmpdir(), 'bbm-bench-cluster-'));
    procs = ports.map((port) => {
      const args = [
        '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir!, `nodes-${port}.conf`), '--dir', dir!,
        '--save', '', '--appendonly', 'no',
      ];
      return TASKSET ? spawn('taskset', ['-c', String(core), 'redis-server', ...args], { stdio: 'ignore' }) : spawn('redis-server', args, { stdio: 'ignore' });
    });
    const probes = ports.map((port) => new Redis({ port, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: 0, retryStrategy: () => 50 }));
    for (const p of probes) p.on('error', () => undefined);
    try {
      await Promise.all(probes.map((p, i) => untilAnswers(p, `cluster node ${ports[i]}`, 10_000)));
      await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-yes'], { timeout: 30_000 });
      const deadline = Date.now() + 30_000;
      // Every node must see every slot served before the framework starts.
      while (!(await Promise.all(probes.map(async (p) => /cluster_state:ok/.test(String(await p.call('CLUSTER', 'INFO')))))).every(Boolean)) {
        if (Date.now() > deadline) throw new Error('bench: the cluster is not ok after 30 s');
        await sleep(100);
      }
    } catch (err) {
      // A cluster that did not come together is not left running.
      for (const proc of procs) proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw err;
    } finally {
      for (const p of probes) p.disconnect();
    }
    nodes = ports.map((p) => `127.0.0.1:${p}`).join(',');
    describe = `its own 3-master Redis Cluster on ports ${ports.join(', ')}${TASKSET ? `, pinned to core ${core}` : ''}, no replicas, no persistence`;
  } else {
    nodes = seeds!;
    describe = `${seeds} (BENCH_REDIS_CLUSTER_NODES): its counts include any other traffic on it`;
  }

  const cluster = new Cluster(
    nodes.split(',').map((hp) => ({ host: hp.slice(0, hp.lastIndexOf(':')), port: Number(hp.slice(hp.lastIndexOf(':') + 1)) })),
    { scaleReads: 'master', redisOptions: { maxRetriesPerRequest: 1 } },
  );
  cluster.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench: Redis Cluster ${nodes} is not ready within 10 s`)), 10_000);
    cluster.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const masters = () => cluster.nodes('master');
  const version = /redis_version:(\S+)/.exec(await masters()[0]!.info('server'))?.[1];
  if (version) describe += `, Redis ${version}`;

  const clear = async () => {
    for (const node of masters()) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        // One key at a time: keys of one SCAN page may live in different slots.
        for (const key of keys) await node.unlink(key);
      } while (cursor !== '0');
    }
  };
  return {
    nodes,
    prefix,
    describe,
    pids: procs.map((p) => p.pid!).filter(Boolean),
    masters: masters().length,
    counters: () => readCounters(masters()),
    clear,
    async stop() {
      if (procs.length === 0) await clear().catch(() => undefined);
      cluster.disconnect();
      await Promise.all(
        procs.map((proc) => {
          if (proc.exitCode !== null) return undefined;
          const exited = new Promise((r) => proc.once('exit', r));
          proc.kill('SIGTERM');
          return exited;
        }),
      );
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
