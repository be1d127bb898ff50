/**
 * What the fault tests need, all real: private redis-server processes (a single node, or a
 * three-master cluster with replicas) on their own ports so that pausing, killing or restarting
 * them disturbs no other test; compiled bot instances (`node dist/src/server/main.js`); and a
 * poster that behaves like BBM (retries a callback whose answer asks for it, honouring
 * Retry-After, up to a bound).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { signBody, type FakeChatApi } from '../../src/index.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function redisServerInstalled(): Promise<boolean> {
  try {
    await run('redis-server', ['--version']);
    await run('redis-cli', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** A free TCP port on loopback, or (given `port`) whether that one is free. */
export function freePort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(port, '127.0.0.1', () => {
      const { port: bound } = probe.address() as { port: number };
      probe.close(() => resolve(bound));
    });
  });
}

/** A port free together with the cluster bus port 10000 above it. */
async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10_000 > 65_535) continue;
    if (await freePort(port + 10_000).then(() => true, () => false)) return port;
  }
}

export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args], { timeout: 10_000 });
  return stdout.trim();
}

async function answers(port: number): Promise<boolean> {
  try {
    return (await redisCli(port, 'ping')) === 'PONG';
  } catch {
    return false;
  }
}

/** One redis-server process, nothing persisted. `restart()` brings it back empty on the same port. */
export class RedisNode {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly extra: readonly string[],
  ) {}

  static async start(extra: readonly string[] = [], port?: number): Promise<RedisNode> {
    const node = new RedisNode(port ?? (await freePort()), mkdtempSync(join(tmpdir(), 'bbm-fault-redis-')), extra);
    try {
      await node.launch();
    } catch (err) {
      await node.stop();
      throw err;
    }
    return node;
  }

  private async launch(): Promise<void> {
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--logfile', join(this.dir, 'redis.log'), ...this.extra],
      { stdio: 'ignore' },
    );
    await until(() => answers(this.port), `redis-server on ${this.port}`, 10_000, 50);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** kill -9, as a crashed or failed-over master. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts again on the same port, with no data (no persistence). */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Three masters, three replicas, each on its own free port; fail-over after ~1 s. */
export class RedisClusterNodes {
  private constructor(readonly nodes: RedisNode[]) {}

  static async start(): Promise<RedisClusterNodes> {
    const nodes: RedisNode[] = [];
    const failed = async (err: unknown): Promise<never> => {
      await Promise.all(nodes.map((n) => n.stop()));
      throw err;
    };
    for (let i = 0; i < 6; i++) {
      // The cluster bus listens on port + 10000: both must be free.
      const port = await freeClusterPort();
      const dir = mkdtempSync(join(tmpdir(), 'bbm-fault-cluster-'));
      nodes.push(
        await RedisNode.start(
          // No 5 s wait before a replica's first sync: a master killed before it would have no successor.
          ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '1000', '--repl-diskless-sync-delay', '0'],
          port,
        ).catch(failed),
      );
    }
    const cluster = new RedisClusterNodes(nodes);
    try {
      await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], {
        timeout: 30_000,
      });
      await until(() => cluster.healthy(), 'cluster_state:ok', 30_000, 50);
      // A replica can take over only once it has synced with its master.
      await until(() => cluster.replicasInSync(), 'every replica in sync', 30_000, 50);
    } catch (err) {
      return failed(err);
    }
    return cluster;
  }

  get seeds(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }

  async healthy(): Promise<boolean> {
    for (const n of this.nodes) {
      try {
        if ((await redisCli(n.port, 'cluster', 'info')).includes('cluster_state:ok')) return true;
      } catch {
        // that node is down: ask another
      }
    }
    return false;
  }

  async replicasInSync(): Promise<boolean> {
    let replicas = 0;
    for (const n of this.nodes) {
      const info = await redisCli(n.port, 'info', 'replication');
      if (!info.includes('role:slave')) continue;
      if (!info.includes('master_link_status:up')) return false;
      replicas++;
    }
    return replicas === 3;
  }

  /** The node currently serving `key` as master. */
  async masterOf(key: string): Promise<RedisNode> {
    for (const n of this.nodes) {
      try {
        const slot = await redisCli(n.port, 'cluster', 'keyslot', key);
        const shards = await redisCli(n.port, 'cluster', 'slots');
        // `cluster slots` prints start, end, then the master's ip and port (and ids): find our range.
        const lines = shards.split('\n');
        for (let i = 0; i + 3 < lines.length; i++) {
          const start = Number(lines[i]);
          const end = Number(lines[i + 1]);
          if (Number.isInteger(start) && Number.isInteger(end) && start <= Number(slot) && Number(slot) <= end && lines[i + 2] === '127.0.0.1') {
            const port = Number(lines[i + 3]);
            const node = this.nodes.find((m) => m.port === port);
            if (node) return node;
          }
        }
      } catch {
        // ask another node
      }
    }
    throw new Error(`no master found for ${key}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}

export interface Instance {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** A compiled bot instance (the echo bot) on a free port, with `env` on top of the basics. */
export function startInstance(root: string, key: string, api: FakeChatApi, env: Record<string, string>): Promise<Instance> {
  const child = spawn(process.execPath, ['dist/src/server/main.js'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      HOST: '127.0.0.1',
      BBM_SIG_KEY: key,
      BBM_CLIENT_CREDENTIALS: api.clientCredentials,
      BBM_TOKEN_URL: api.tokenUrl,
      BBM_API_URL: api.apiUrl,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance did not start:\n${out}`)), 20_000);
    const check = setInterval(() => {
      const m = /"url":"(http[^"]+)\/v1\/chats"/.exec(out);
      if (m) {
        clearTimeout(timer);
        clearInterval(check);
        resolve({ child, url: m[1]!, output: () => out });
      }
    }, 20);
    child.once('exit', (code) => {
      clearTimeout(timer);
      clearInterval(check);
      reject(new Error(`instance exited with ${code}:\n${out}`));
    });
  });
}

export function stopInstance(i: Instance): void {
  if (i.child.exitCode === null && i.child.signalCode === null) i.child.kill('SIGKILL');
}

export interface Answer {
  status: number;
  body: string;
  retryAfter: string | undefined;
}

export function post(url: string, path: string, body: string, key: string, timeoutMs = 15_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      { method: path === '/v1/chats' ? 'POST' : 'GET', headers: { 'content-type': 'application/json; charset=utf-8', 'bbm-sig': signBody(body, key) }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), retryAfter: res.headers['retry-after'] as string | undefined }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(path === '/v1/chats' ? body : undefined);
  });
}

/** True when BBM would send the callback again: a 5xx, or a per-message 500/503. */
function wantsRetry(answer: Answer): boolean {
  if (answer.status >= 500) return true;
  if (answer.status !== 207) return false;
  const results = (JSON.parse(answer.body) as { messages?: { result: { code: number } }[] }).messages ?? [];
  return results.some((r) => r.result.code >= 500);
}

/**
 * Posts a callback as BBM does: again after a retryable answer or a lost connection, waiting
 * Retry-After (capped at 2 s), up to `tries` times, rotating over `urls` (the load balancer).
 * Resolves with the final answer; a 200 means every message was handled.
 */
export async function postLikeBbm(urls: readonly string[], body: string, key: string, tries = 8): Promise<Answer> {
  let last: Answer | undefined;
  for (let attempt = 0; attempt < tries; attempt++) {
    const url = urls[attempt % urls.length]!;
    try {
      last = await post(url, '/v1/chats', body, key);
      if (!wantsRetry(last)) return last;
      await sleep(Math.min(2_000, Number(last.retryAfter ?? '0.3') * 1000 || 300));
    } catch {
      await sleep(300);
    }
  }
  if (last) return last;
  throw new Error('no answer after every try');
}
