/**
 * RedisStore beyond the shared contract: connecting, failing fast and clearly when Redis is not
 * there, and owning (or not) its connection.
 */
import { Redis } from 'ioredis';
import { BbmError } from '../../src/protocol/errors.js';
import { RedisConnectError, RedisStore, RedisStoreError, redactRedisUrl } from '../../src/state/redis.js';
import { deleteKeysUnder, randomPrefix, REDIS_URL, redisForTests } from './redis-helpers.js';

const redisUp = await redisForTests('the RedisStore connection tests');

/** Nothing listens on port 1: connections are refused at once. */
const DEAD_URL = 'redis://127.0.0.1:1';

describe('RedisStore without a Redis', () => {
  it('connect() rejects quickly with a RedisConnectError naming REDIS_URL and the reason', async () => {
    const started = Date.now();
    const err = await RedisStore.connect(DEAD_URL).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RedisConnectError);
    expect(err).toBeInstanceOf(BbmError);
    const e = err as RedisConnectError;
    expect(e.code).toBe('REDIS_UNAVAILABLE');
    expect(e.field).toBe('REDIS_URL');
    expect(e.message).toBe('REDIS_URL redis://127.0.0.1:1 does not answer: connect ECONNREFUSED 127.0.0.1:1');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('connect() never prints the password of the URL', async () => {
    const err = (await RedisStore.connect('redis://user:s3cret@127.0.0.1:1/0').catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('redis://user:***@127.0.0.1:1');
    expect(err.message).not.toContain('s3cret');
  });

  it('connect() gives up after the connect timeout when the server accepts but never answers', async () => {
    const { createServer } = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const silent = createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      await expect(RedisStore.connect(`redis://127.0.0.1:${port}`, { connectTimeoutMs: 300 })).rejects.toThrow(
        `REDIS_URL redis://127.0.0.1:${port} does not answer: no answer within 300 ms`,
      );
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('operations on a store whose Redis is gone fail fast with a RedisStoreError', async () => {
    const store = new RedisStore({ url: DEAD_URL, connectTimeoutMs: 200, commandTimeoutMs: 1_000 });
    try {
      const started = Date.now();
      const err = await store.get('k').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RedisStoreError);
      expect((err as RedisStoreError).code).toBe('STATE_UNAVAILABLE');
      expect((err as Error).message).toMatch(/^redis GET failed: /);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(store.readiness()).toMatch(/^redis /);
    } finally {
      await store.close();
    }
  });

  it('redactRedisUrl hides the password, a lone user name and every query value', () => {
    expect(redactRedisUrl('rediss://default:pw@cache.example.com:6380/2')).toBe('rediss://default:***@cache.example.com:6380/2');
    expect(redactRedisUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactRedisUrl('redis://:pw@h:1')).toBe('redis://:***@h:1');
    expect(redactRedisUrl('redis://pw@h:1')).toBe('redis://***@h:1');
    expect(redactRedisUrl('redis://h:1/?password=pw')).toBe('redis://h:1/?password=***');
    expect(redactRedisUrl('redis://h:1/0?username=u&password=pw&password=again#x')).toBe('redis://h:1/0?username=***&password=***');
  });
});

(redisUp ? describe : describe.skip)('RedisStore with a Redis', () => {
  const prefix = randomPrefix('conn');
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await deleteKeysUnder(admin, prefix);
    await admin.quit();
  });

  it('connect() resolves ready; close() ends the connection it opened', async () => {
    const store = await RedisStore.connect(REDIS_URL, { prefix });
    expect(store.readiness()).toBeUndefined();
    await store.set('k', { ok: true }, 10_000);
    expect(JSON.parse((await admin.get(`${prefix}k`))!)).toEqual({ ok: true });
    await store.close();
    expect(store.client.status).toBe('end');
    expect(store.readiness()).toBe('redis end');
    // Closing twice is fine.
    await store.close();
  });

  it('a client passed in is shared: close() leaves it open, and several stores can use it', async () => {
    const client = new Redis(REDIS_URL);
    try {
      const a = new RedisStore({ client, prefix: `${prefix}a:` });
      const b = new RedisStore({ client, prefix: `${prefix}b:` });
      await a.set('lease', 'x', 10_000);
      expect(await a.deleteIf('lease', 'x')).toBe(true);
      await b.set('lease', 'y', 10_000);
      expect(await b.replaceIf('lease', 'y', 'z', 10_000)).toBe(true);
      await a.close();
      await b.close();
      expect(client.status).toBe('ready');
      expect(await client.get(`${prefix}b:lease`)).toBe('"z"');
    } finally {
      await client.quit();
    }
  });
});
