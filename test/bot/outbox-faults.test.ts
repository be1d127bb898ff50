/**
 * The durable outbox under faults, on every store the bot runs on (MemoryStore, one Redis, a Redis
 * Cluster): a lost lease, a result that arrives while a poll is in flight, a shutdown during a
 * drain, and the cost of reading the depth. Two Outbox objects on one store stand for two instances.
 */
import { Cluster, Redis } from 'ioredis';
import { pino } from 'pino';
import { createBot, type Sender } from '../../src/bot/bot.js';
import { Outbox } from '../../src/bot/outbox.js';
import type { SendRequest, SendResult } from '../../src/client/index.js';
import { ChatCallbackSchema } from '../../src/protocol/inbound.js';
import { chatKey, shardOf } from '../../src/state/keys.js';
import { MemoryStore } from '../../src/state/memory.js';
import { RedisStore } from '../../src/state/redis.js';
import type { StateStore } from '../../src/state/store.js';
import {
  clusterForTests,
  clusterSeeds,
  deleteClusterKeysUnder,
  deleteKeysUnder,
  randomPrefix,
  REDIS_URL,
  redisForTests,
} from '../state/redis-helpers.js';
import { textCallbackBody } from '../helpers/callbacks.js';
import { until } from '../helpers/until.js';

const redisUp = await redisForTests('the outbox fault tests');
const clusterUp = await clusterForTests('the outbox fault tests on a cluster');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Settles within `ms`, or fails the test (a hang is a failure, not a timeout of the whole file). */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms))),
  ]);
}

const req = (chatId: string, text: string): SendRequest => ({ chatId, mTok: 't', from: 'bot', to: 'user', messages: [{ type: 'text', text }] });

const textOf = (request: SendRequest): string => request.messages?.map((m) => (m.type === 'text' ? m.text : m.type)).join(',') ?? '';

function accepted(request: SendRequest): SendResult {
  return { ok: true, attempts: 1, messages: (request.messages ?? []).map((_, i) => ({ index: i + 1, code: 200, mid: `m-${textOf(request)}-${i}`, state: 'delivered' as const })) };
}

/**
 * One fake Chat API shared by the instances: records `instance:text` per send. `hold(text)` makes
 * the next send of that text wait until `release(text)`.
 */
function fakeApi() {
  const log: string[] = [];
  // The gate the next send of a text waits at, and how to open it (kept after the send picks it up).
  const held = new Map<string, Promise<void>>();
  const releases = new Map<string, () => void>();
  const inFlight = new Map<string, number>();
  return {
    log,
    inFlight,
    hold(text: string) {
      held.set(text, new Promise<void>((r) => releases.set(text, r)));
    },
    release(text: string) {
      releases.get(text)?.();
    },
    sender(instance: string, delayMs = 0): Sender {
      return {
        async send(request) {
          const text = textOf(request);
          log.push(`${instance}:${text}`);
          inFlight.set(text, (inFlight.get(text) ?? 0) + 1);
          const gate = held.get(text);
          if (gate) {
            held.delete(text);
            await gate;
          } else if (delayMs > 0) await sleep(delayMs);
          inFlight.set(text, inFlight.get(text)! - 1);
          return accepted(request);
        },
        async closeChat() {},
      };
    },
    /** How often each text was sent, by anyone. */
    counts(): Record<string, number> {
      const out: Record<string, number> = {};
      for (const entry of log) {
        const text = entry.slice(entry.indexOf(':') + 1);
        out[text] = (out[text] ?? 0) + 1;
      }
      return out;
    },
  };
}

/** Counts the store calls by operation; `gets` can be slowed down to keep a poll in flight. */
function counting(inner: StateStore, options: { getDelayMs?: number } = {}) {
  const calls: Record<string, number> = {};
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function' || typeof name !== 'string') return value;
      return async (...args: unknown[]) => {
        calls[name] = (calls[name] ?? 0) + 1;
        if (name === 'get' && options.getDelayMs) await sleep(options.getDelayMs);
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return { store, calls };
}

/**
 * Holds every store call until the test lets the waiting ones through together: one "round" is
 * one such release, so a depth that needs k round trips in a row takes k rounds, whatever the clock.
 */
function gated(inner: StateStore) {
  const waiting: (() => void)[] = [];
  let calls = 0;
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function' || typeof name !== 'string' || name === 'close') return value;
      return async (...args: unknown[]) => {
        calls++;
        await new Promise<void>((r) => waiting.push(r));
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  async function rounds<T>(work: Promise<T>): Promise<{ value: T; rounds: number; calls: number }> {
    let done = false;
    let value!: T;
    const finished = work.then((v) => {
      value = v;
      done = true;
    });
    let n = 0;
    for (let spins = 0; !done; spins++) {
      if (spins > 10_000) throw new Error('depth never finished');
      await new Promise((r) => setImmediate(r));
      // Calls made after the work finished (background work it left) are not its rounds.
      if (done) break;
      if (waiting.length > 0) {
        n++;
        for (const go of waiting.splice(0)) go();
      }
    }
    await finished;
    return { value, rounds: n, calls };
  }
  return { store, rounds };
}

interface Subject {
  open(): Promise<StateStore>;
  cleanup(): Promise<void>;
}

let admin: Redis | undefined;
let cluster: Cluster | undefined;
afterAll(async () => {
  await admin?.quit();
  await cluster?.quit();
});

/** A Redis subject: a store under a fresh prefix on the shared connection, its keys deleted afterwards. */
function redisSubject<C extends Redis | Cluster>(connect: () => C, tag: string, deleteUnder: (client: C, prefix: string) => Promise<void>): Subject {
  let client: C | undefined;
  let prefix: string | undefined;
  return {
    open: async () => {
      client = connect();
      prefix = randomPrefix(tag);
      return new RedisStore({ client, prefix });
    },
    cleanup: async () => {
      if (client && prefix) await deleteUnder(client, prefix);
    },
  };
}

const subjects: [string, () => Subject][] = [['MemoryStore', () => ({ open: async () => new MemoryStore(), cleanup: async () => {} })]];
if (redisUp) {
  subjects.push(['RedisStore', () => redisSubject(() => (admin ??= new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })), 'outbox', deleteKeysUnder)]);
}
if (clusterUp) {
  const connect = () => (cluster ??= new Cluster(clusterSeeds(), { redisOptions: { maxRetriesPerRequest: 1 } }));
  subjects.push(['RedisStore on a cluster', () => redisSubject(connect, 'outbox-cluster', deleteClusterKeysUnder)]);
}

describe.each(subjects)('Outbox under faults: %s', (_name, makeSubject) => {
  const subject = makeSubject();
  let store: StateStore;
  const boxes: Outbox[] = [];
  beforeEach(async () => {
    store = await subject.open();
  });
  afterEach(async () => {
    await Promise.all(boxes.splice(0).map((b) => b.close(200)));
    await subject.cleanup();
  });
  const outbox = (s: StateStore, sender: Sender, options: ConstructorParameters<typeof Outbox>[2] = {}) => {
    const box = new Outbox(s, sender, options);
    boxes.push(box);
    return box;
  };

  it('an instance that lost its lease mid-drain stops: only the reply on the wire can go out twice, order kept', async () => {
    const api = fakeApi();
    // Long leases: nothing expires by itself here; the test takes A's lease away.
    const a = outbox(store, api.sender('A'), { leaseMs: 60_000, sweepMs: 60_000 });
    const texts = ['one', 'two', 'three', 'four', 'five', 'six'];
    api.hold('one');
    const sends = texts.map((t) => a.send(req('c', t)));
    await until(() => api.log.includes('A:one'), 'A:one sent', 3_000);

    // A stalls on the wire (a paused process) and its lease lapses; B's sweeper takes the chat over.
    await store.delete(chatKey('outbox', 'c', 'lease'));
    api.hold('three');
    outbox(store, api.sender('B', 2), { leaseMs: 60_000, sweepMs: 10 });
    await until(() => api.log.includes('B:three'), 'B:three sent', 3_000);
    // A wakes up while B is still draining.
    api.release('one');
    await sleep(50);
    api.release('three');

    await until(async () => (await store.listLength(chatKey('outbox', 'c'))) === 0, 'an empty outbox', 3_000);
    await sleep(50);
    const counts = api.counts();
    // 'one' was on the wire when A lost the lease: B sent it again. Nothing else twice.
    expect(counts).toEqual({ one: 2, two: 1, three: 1, four: 1, five: 1, six: 1 });
    // Order: each reply's first send comes after the previous one's.
    const firsts = texts.map((t) => api.log.findIndex((e) => e.endsWith(`:${t}`)));
    expect([...firsts].sort((x, y) => x - y)).toEqual(firsts);
    expect(api.log.filter((e) => e.startsWith('A:'))).toEqual(['A:one']);
    // Every caller gets its own reply's result, whoever sent it.
    const results = await within(5_000, Promise.all(sends));
    expect(results.map((r) => r.messages[0]!.mid)).toEqual(texts.map((t) => `m-${t}-0`));
  });

  it('an instance whose lease was taken while it sent stops before its next send', async () => {
    const api = fakeApi();
    // Renewals every 10 ms; the held send outlasts several of them.
    const a = outbox(store, api.sender('A'), { leaseMs: 30, sweepMs: 60_000 });
    api.hold('one');
    const sends = ['one', 'two', 'three'].map((t) => a.send(req('c', t)));
    await until(() => api.log.includes('A:one'), 'A:one sent', 3_000);
    // Someone else holds the chat now (the lease value is not A's): A's renewals fail.
    await store.set(chatKey('outbox', 'c', 'lease'), { owner: 'someone-else' }, 60_000);
    await sleep(60);
    api.release('one');
    await within(2_000, sends[0]!);
    await sleep(50);
    // A sent nothing after losing the lease, and 'one' stays queued for the lease holder.
    expect(api.log).toEqual(['A:one']);
    expect(await store.listLength(chatKey('outbox', 'c'))).toBe(3);
    // Once the other holder is gone, A's sweeper finishes the chat: 'one' again (the one in flight), then the rest.
    await store.delete(chatKey('outbox', 'c', 'lease'));
    await a.close(0);
    const b = outbox(store, api.sender('B'), { sweepMs: 10 });
    await within(5_000, Promise.all(sends));
    expect(api.log).toEqual(['A:one', 'B:one', 'B:two', 'B:three']);
    void b;
  });

  it('leaves no poller behind: once the sends are done the store sees no more reads', async () => {
    const api = fakeApi();
    // Each send takes a little longer than the first poll, so its result arrives while a GET is in flight.
    const { store: watched, calls } = counting(store, { getDelayMs: 40 });
    const box = outbox(watched, api.sender('A', 70), { sweepMs: 60_000 });
    await within(5_000, Promise.all(Array.from({ length: 10 }, (_, i) => box.send(req(`chat-${i}`, `r${i}`)))));
    await sleep(150);
    const gets = calls.get ?? 0;
    await sleep(300);
    expect(calls.get ?? 0).toBe(gets);
  });

  it('close() waits for a running drain to acknowledge its reply, so no other instance sends it again', async () => {
    const api = fakeApi();
    const box = outbox(store, api.sender('A'), { leaseMs: 60_000, sweepMs: 10 });
    // Another instance holds the chat briefly, so A's own drain gives up and its sweeper starts the one that sends.
    const lease = chatKey('outbox', 'c', 'lease');
    await store.set(lease, { owner: 'another' }, 60_000);
    api.hold('last words');
    const sent = box.send(req('c', 'last words'));
    await sleep(30);
    await store.delete(lease);
    await until(() => api.log.includes('A:last words'), 'A:last words sent', 3_000);

    setTimeout(() => api.release('last words'), 30);
    expect(await within(2_000, box.close(2_000))).toBe(true);
    // The drain had acknowledged before close() resolved: the queue is empty, nothing for B to resend.
    expect(await store.listLength(chatKey('outbox', 'c'))).toBe(0);
    expect(await store.get(lease)).toBeUndefined();
    await expect(sent).resolves.toMatchObject({ ok: true });
    const b = outbox(store, api.sender('B'), { sweepMs: 10 });
    await sleep(60);
    expect(api.log).toEqual(['A:last words']);
    void b;
  });

  it('a send still waiting when its instance closes settles within the close timeout, not after maxWaitMs', async () => {
    const api = fakeApi();
    const box = outbox(store, api.sender('A'), { leaseMs: 60_000, sweepMs: 60_000, maxWaitMs: 60_000, closeTimeoutMs: 100 });
    // Another instance holds the chat: this reply waits for it, and nobody sends it before the close.
    await store.set(chatKey('outbox', 'c', 'lease'), { owner: 'another' }, 60_000);
    const sent = box.send(req('c', 'queued at shutdown'));
    const outcome = sent.then(() => 'sent', (err: Error & { code?: string }) => `${err.name} ${err.code ?? ''}`);
    await sleep(30);
    const t0 = Date.now();
    await box.close(0);
    expect(await within(1_000, outcome)).toBe('OutboxClosedError OUTBOX_CLOSED');
    expect(Date.now() - t0).toBeLessThan(1_000);
    // The reply stays queued for whoever holds the chat next.
    expect(await store.listLength(chatKey('outbox', 'c'))).toBe(1);
    expect(api.log).toEqual([]);
  });

  it('Bot.close() resolves once the reply on the wire is acknowledged, so shutdown can close the store after it', async () => {
    const api = fakeApi();
    const bot = createBot({ name: 'Closer' });
    bot.on('text', (ctx) => ctx.reply(`echo ${ctx.message.text}`));
    bot.init({ sender: api.sender('A'), store, shared: true });
    api.hold('echo bye');
    const callback = ChatCallbackSchema.parse(JSON.parse(textCallbackBody('c', 'mid-1', 'bye')));
    const handled = bot.dispatch(callback, { log: pino({ enabled: false }), receivedAt: Date.now() });
    await until(() => api.log.includes('A:echo bye'), 'A:echo bye sent', 3_000);

    setTimeout(() => api.release('echo bye'), 30);
    await within(2_000, Promise.resolve(bot.close()));
    // What a shutdown does next: close the store. Nothing may be left for another instance to resend.
    expect(await store.listLength(chatKey('outbox', 'c'))).toBe(0);
    await within(2_000, handled);
  });

  it('a reply to an idle chat costs two store round trips in a row before its caller has the result', async () => {
    const api = fakeApi();
    const { store: slow, rounds } = gated(store);
    const box = outbox(slow, api.sender('A'), { sweepMs: 60_000 });
    // The push takes the lease and reads the head; then the chat's registration for the sweeper
    // goes out beside the send, and the acknowledgement (which releases the lease) answers the caller.
    const measured = await rounds(box.send(req('c', 'hello')));
    expect(measured.value.messages[0]!.mid).toBe('m-hello-0');
    expect(measured.rounds).toBe(2);
    expect(api.log).toEqual(['A:hello']);
    // What the drain does after that (unregister the chat) goes through while it closes.
    expect((await rounds(box.close(2_000))).value).toBe(true);
    expect(await store.setMembers(`outbox:chats:{s${shardOf('c', 16)}}`, 10)).toEqual([]);
    expect(await store.get(chatKey('outbox', 'c', 'lease'))).toBeUndefined();
    expect(await store.listLength(chatKey('outbox', 'c'))).toBe(0);
  });

  it('depth() across chats takes two round trips in a row, however many chats have replies queued', async () => {
    const api = fakeApi();
    // Replies that never leave: every chat keeps its two queued.
    // (They give up waiting after 1 s, so no poller outlives the test.)
    const stuck = outbox(store, { send: () => new Promise<SendResult>(() => undefined), closeChat: async () => {} }, { sweepMs: 60_000, maxWaitMs: 1_000 });
    const chats = Array.from({ length: 40 }, (_, i) => `chat-${i}`);
    const pending = chats.flatMap((chat) => [stuck.send(req(chat, 'x')), stuck.send(req(chat, 'y'))]);
    await until(async () => (await stuck.depth()) === 80, 'a depth of 80', 3_000);
    void api;

    const { store: slow, rounds } = gated(store);
    const reader = outbox(slow, api.sender('R'), { sweepMs: 60_000 });
    const measured = await rounds(reader.depth());
    expect(measured.value).toBe(80);
    expect(measured.rounds).toBe(2);
    // One read of each of the 16 shards of chats, then one length per chat.
    expect(measured.calls).toBe(16 + chats.length);
    expect((await rounds(reader.depth('chat-3'))).value).toBe(2);
    await within(5_000, Promise.allSettled(pending));
  });
});
