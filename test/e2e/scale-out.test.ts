/**
 * Two real instances of the compiled bot (`node dist/src/server/main.js`), one Redis, one fake
 * Chat API: callbacks spread over both, the same callback to both at once, and a `kill -9` while
 * an instance's replies are held by the fake.
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startFakeChatApi, type FakeChatApi } from '../../src/index.js';
import { post as postRaw, startInstance as startBotInstance, type Instance } from './fault-kit.js';
import { textCallbackBody } from '../helpers/callbacks.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KEY = randomBytes(32).toString('hex');
const PREFIX = `bbm-test-scale-${randomBytes(4).toString('hex')}:`;

async function redisAvailable(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

const post = (url: string, body: string) => postRaw(url, '/v1/chats', body, KEY);
const startInstance = (api: FakeChatApi): Promise<Instance> => startBotInstance(ROOT, KEY, api, { REDIS_URL, REDIS_PREFIX: PREFIX });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('several instances behind one URL, sharing Redis', () => {
  let available = false;
  let api: FakeChatApi;
  const instances: Instance[] = [];

  beforeAll(async () => {
    available = await redisAvailable();
    if (!available) {
      if (process.env.CI) throw new Error(`Redis is required in CI and does not answer at ${REDIS_URL}`);
      console.warn(`skipping the scale-out test: no Redis at ${REDIS_URL}`);
      return;
    }
    api = await startFakeChatApi();
    instances.push(await startInstance(api), await startInstance(api));
  }, 120_000);

  afterAll(async () => {
    for (const i of instances) if (i.child.exitCode === null && i.child.signalCode === null) i.child.kill('SIGKILL');
    if (api) await api.close();
    if (available) {
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${PREFIX}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
  });

  it('handles every message once and delivers every reply once, in order per chat', async () => {
    if (!available) return;
    const [a, b] = instances as [Instance, Instance];
    const chats = ['c1', 'c2', 'c3', 'c4'];
    const perChat = 6;
    await Promise.all(
      chats.map(async (chatId, c) => {
        for (let n = 0; n < perChat; n++) {
          const body = textCallbackBody(chatId, `${chatId}-m${n}`, `${chatId} #${n}`);
          if (n % 3 === 2) {
            // BBM retried while the first delivery was still running: the same callback on both.
            const [x, y] = await Promise.all([post(a.url, body), post(b.url, body)]);
            expect(x.status).toBe(200);
            expect(y.status).toBe(200);
            expect(JSON.parse(x.body)).toEqual(JSON.parse(y.body));
          } else {
            const target = (n + c) % 2 === 0 ? a : b;
            expect((await post(target.url, body)).status).toBe(200);
          }
        }
      }),
    );
    for (const chatId of chats) {
      expect(api.textsSent(chatId)).toEqual(Array.from({ length: perChat }, (_, n) => `${chatId} #${n}`));
    }
  }, 60_000);

  it('after kill -9 of an instance holding replies, the other one sends them', async () => {
    if (!available) return;
    const [a, b] = instances as [Instance, Instance];
    api.hold(true);
    // A produces the reply and sends it; the fake holds the request unanswered.
    const pending = post(a.url, textCallbackBody('k1', 'k1-m0', 'survive the crash')).catch(() => undefined);
    const deadline = Date.now() + 5000;
    while (api.held < 1 && Date.now() < deadline) await sleep(20);
    expect(api.held).toBe(1);
    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));
    await pending;
    api.hold(false);

    // B notices the unattended outbox once A's lease lapses, and sends the reply.
    const until = Date.now() + 20_000;
    while (api.textsSent('k1').length === 0 && Date.now() < until) await sleep(100);
    expect(api.textsSent('k1')).toEqual(['survive the crash']);
    // B keeps serving.
    expect((await post(b.url, textCallbackBody('k2', 'k2-m0', 'still here'))).status).toBe(200);
    expect(api.textsSent('k2')).toEqual(['still here']);
  }, 60_000);
});
