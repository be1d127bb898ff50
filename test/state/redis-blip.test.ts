/**
 * A Redis blip (issue 14, item 3a): a command that failed for its caller while Redis was away must
 * not run later, after the reconnect (a ticket INCR nobody holds, a lease nobody renews). Redis sits
 * behind a local TCP proxy the test cuts and restores, so the outage is real sockets, no mocks.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/state/redis.js';
import { until } from '../helpers/until.js';
import { deleteKeysUnder, randomPrefix, REDIS_URL, redisForTests } from './redis-helpers.js';

const redisUp = await redisForTests('redis blip tests');
const target = new URL(REDIS_URL);

/** A TCP proxy to Redis that can be cut (every socket dropped, new ones refused) and restored. */
async function startProxy() {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = createConnection(Number(target.port || 6379), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  await listen();
  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    async cut() {
      await new Promise((resolve) => {
        server!.close(resolve);
        for (const s of sockets) s.destroy();
      });
    },
    restore: listen,
  };
}

(redisUp ? describe : describe.skip)('RedisStore across a blip', () => {
  const prefix = randomPrefix('blip');
  const admin = redisUp ? new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }) : undefined;
  afterAll(async () => {
    await deleteKeysUnder(admin!, prefix);
    await admin!.quit();
  });

  it('a command that failed for its caller while Redis was away never runs after the reconnect', async () => {
    const proxy = await startProxy();
    // A command timeout long enough for a loaded CI machine's PING, and far above what fast-fail takes.
    const store = await RedisStore.connect(proxy.url, { prefix, commandTimeoutMs: 3_000 });
    try {
      await proxy.cut();
      await until(() => store.client.status !== 'ready', 'disconnected', 2000);
      const asked = Date.now();
      await expect(store.increment('tickets', 60_000)).rejects.toMatchObject({ code: 'STATE_UNAVAILABLE' });
      // It fails fast, not after the command timeout: the caller answers 503 at once.
      expect(Date.now() - asked).toBeLessThan(1_000);
      // Back before the client gives up on its queue (two reconnection attempts).
      await proxy.restore();
      await until(() => store.client.status === 'ready', 'reconnected', 5000);
      // The blip is over: the store serves again, and the failed INCR did not run behind our back.
      expect(await store.increment('other', 60_000)).toBe(1);
      await new Promise((r) => setTimeout(r, 100));
      expect(await admin!.get(`${prefix}tickets`)).toBeNull();
    } finally {
      await store.close();
      await proxy.cut();
    }
  });
});
