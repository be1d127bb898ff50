/**
 * Shared by the tests that need a real Redis: where it is, whether it answers, and a private key
 * prefix per test that is deleted afterwards, so tests never see each other's keys.
 */
import { randomBytes } from 'node:crypto';
import { Redis, type Cluster } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** One quick attempt: no reconnection loop, no offline queue. */
const PROBE = { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1_000, retryStrategy: () => null };

async function probeAnswers(probe: Redis, check: (connected: Redis) => Promise<boolean>): Promise<boolean> {
  probe.on('error', () => {});
  try {
    await probe.connect();
    return await check(probe);
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

export function redisReachable(url = REDIS_URL): Promise<boolean> {
  return probeAnswers(new Redis(url, PROBE), async (probe) => (await probe.ping()) === 'PONG');
}

/**
 * Whether a group of tests runs: it fails in CI when its server is missing (the CI script starts
 * one), and is skipped with a warning on a developer machine without it.
 */
async function requiredForTests(what: string, up: boolean, missing: string, hint: string): Promise<boolean> {
  if (up) return true;
  if (process.env.CI) throw new Error(`${what}: ${missing} is required in CI and does not answer`);
  console.warn(`skipping ${what}: ${missing} does not answer (${hint})`);
  return false;
}

export async function redisForTests(what: string): Promise<boolean> {
  return requiredForTests(what, await redisReachable(), `Redis at ${REDIS_URL}`, 'set REDIS_URL or start redis-server');
}

export function randomPrefix(tag: string): string {
  return `bbm-test-${tag}-${randomBytes(6).toString('hex')}:`;
}

/** Every key under `prefix` (SCAN, not KEYS, so a busy shared Redis is not blocked). */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 200);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

export async function deleteKeysUnder(client: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix);
  if (keys.length > 0) await client.del(...keys);
}

/** The seed nodes of the test cluster (`.ci/redis-cluster.sh start`), as REDIS_CLUSTER_NODES is written. */
export const REDIS_CLUSTER_NODES = process.env.REDIS_CLUSTER_NODES ?? '127.0.0.1:7000';

export function clusterSeeds(nodes = REDIS_CLUSTER_NODES): { host: string; port: number }[] {
  return nodes.split(',').map((entry) => {
    const colon = entry.lastIndexOf(':');
    return { host: entry.slice(0, colon).trim(), port: Number(entry.slice(colon + 1)) };
  });
}

/** Whether a cluster answers with every slot served (one quick attempt). */
export async function clusterReachable(nodes = REDIS_CLUSTER_NODES): Promise<boolean> {
  const [seed] = clusterSeeds(nodes);
  if (!seed) return false;
  return probeAnswers(new Redis(seed.port, seed.host, PROBE), async (probe) => /^cluster_state:ok/m.test(String(await probe.call('CLUSTER', 'INFO'))));
}

/** As redisForTests, for the cluster: a failure in CI, a skip with a warning elsewhere. */
export async function clusterForTests(what: string): Promise<boolean> {
  return requiredForTests(what, await clusterReachable(), `a Redis Cluster at ${REDIS_CLUSTER_NODES}`, 'run .ci/redis-cluster.sh start or set REDIS_CLUSTER_NODES');
}

/**
 * Deletes every key under `prefix` on a cluster: SCAN visits one node only, so every master is
 * scanned, and keys are deleted one by one (they are in different slots).
 */
export async function deleteClusterKeysUnder(cluster: Cluster, prefix: string): Promise<void> {
  for (const master of cluster.nodes('master')) {
    for (const key of await keysUnder(master, prefix)) await cluster.del(key);
  }
}
