/**
 * Shared by the tests that need a real Redis: where it is, whether it answers, and a private key
 * prefix per test that is deleted afterwards, so tests never see each other's keys.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** One quick attempt: no reconnection loop, no offline queue. */
export async function redisReachable(url = REDIS_URL): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 1_000,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * Whether the Redis tests run: they fail in CI when Redis is missing (the CI script starts one),
 * and are skipped with a warning on a developer machine without it.
 */
export async function redisForTests(what: string): Promise<boolean> {
  if (await redisReachable()) return true;
  if (process.env.CI) throw new Error(`${what}: Redis is required in CI and does not answer at ${REDIS_URL}`);
  console.warn(`skipping ${what}: no Redis answers at ${REDIS_URL} (set REDIS_URL or start redis-server)`);
  return false;
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
