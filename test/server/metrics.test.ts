/**
 * GET /metrics on a real bot server (startBotServer) answering real signed callbacks and sending
 * to the fake Chat API; METRICS=off and METRICS_PORT; and REDIS_URL putting the state in Redis.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import {
  ChatApiError,
  createBot,
  Metrics,
  RedisConnectError,
  RedisStore,
  signBody,
  startBotServer,
  startFakeChatApi,
  type BotServer,
  type FakeChatApi,
  type Sender,
} from '../../src/index.js';
import { CONFIG_VARIABLES, PROJECT_ROOT } from '../../src/server/config.js';
import {
  clusterForTests,
  deleteClusterKeysUnder,
  deleteKeysUnder,
  keysUnder,
  randomPrefix,
  REDIS_CLUSTER_NODES,
  REDIS_URL,
  redisForTests,
} from '../state/redis-helpers.js';
import { textCallbackBody } from '../helpers/callbacks.js';
import { localBotConfig } from '../helpers/config.js';

const redisUp = await redisForTests('the REDIS_URL server tests');
const clusterUp = await clusterForTests('the REDIS_CLUSTER_NODES server tests');

const KEY = randomBytes(16).toString('hex');

function echoBot() {
  const bot = createBot({ name: 'EchoBot' });
  bot.on('text', (ctx) => ctx.reply(ctx.message.text));
  return bot;
}

async function postCallback(server: { url: string }, body: string, signature = signBody(body, KEY)): Promise<number> {
  const res = await fetch(`${server.url}/v1/chats`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', 'bbm-sig': signature },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

/** One sample from Prometheus text: `name{labels} value`. Undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const labelText = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const head = labelText ? `${name}{${labelText}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(head));
  return line === undefined ? undefined : Number(line.slice(head.length));
}

async function scrape(url: string): Promise<{ status: number; contentType: string | null; text: string }> {
  const res = await fetch(url);
  return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
}

/** Scrapes until `check` holds (counters move when a response closes, just after the client has it). */
async function scrapeUntil(url: string, check: (text: string) => boolean, timeoutMs = 5_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { text } = await scrape(url);
    if (check(text)) return text;
    if (Date.now() > deadline) return text;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function configFor(api: FakeChatApi, env: Record<string, string> = {}) {
  return localBotConfig({ ...api, sigKey: KEY }, env);
}

let api: FakeChatApi;
const servers: BotServer<undefined>[] = [];
beforeAll(async () => {
  api = await startFakeChatApi();
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.shutdown();
  api.reset();
});
afterAll(async () => {
  await api.close();
});

async function start(env: Record<string, string> = {}): Promise<BotServer<undefined>> {
  const server = await startBotServer({ config: configFor(api, env), bot: echoBot() });
  servers.push(server);
  return server;
}

/** Why startBotServer refused to start (undefined when it started). */
function startFailure(env: Record<string, string>): Promise<unknown> {
  return start(env).then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('GET /metrics (METRICS=on, the default)', () => {
  it('counts callbacks, their durations, sends, retries, token refreshes and message results', async () => {
    const server = await start();
    expect(server.metricsUrl).toBe(`${server.url}/metrics`);
    // The first send is refused once with 503: one retry, then accepted.
    api.script(() => ({ status: 503, body: { error: 'busy' }, headers: { 'retry-after': '0' } }));

    const body = textCallbackBody('chat-m1', 'mid-1', 'hello');
    expect(await postCallback(server, body)).toBe(200);
    expect(await postCallback(server, body, 'not-the-signature')).toBe(401);
    await api.waitForSends(2);

    const text = await scrapeUntil(
      server.metricsUrl!,
      (t) => sample(t, 'bbm_callbacks_total', { status: '401' }) === 1 && sample(t, 'bbm_sent_messages_total', { code: '200' }) === 1,
    );
    expect(sample(text, 'bbm_callbacks_total', { status: '200' })).toBe(1);
    expect(sample(text, 'bbm_callbacks_total', { status: '401' })).toBe(1);
    expect(sample(text, 'bbm_callback_duration_seconds_count')).toBe(2);
    expect(sample(text, 'bbm_callback_duration_seconds_sum')).toBeGreaterThan(0);
    expect(sample(text, 'bbm_callback_duration_seconds_bucket', { le: '+Inf' })).toBe(2);
    expect(sample(text, 'bbm_sends_total', { code: '503' })).toBe(1);
    expect(sample(text, 'bbm_sends_total', { code: '200' })).toBe(1);
    expect(sample(text, 'bbm_send_retries_total')).toBe(1);
    expect(sample(text, 'bbm_token_refreshes_total', { result: 'ok' })).toBe(1);
    expect(sample(text, 'bbm_sent_messages_total', { code: '200' })).toBe(1);
    expect(sample(text, 'bbm_redeliveries_total')).toBe(0);
    expect(sample(text, 'bbm_outbound_queue_depth')).toBe(0);
    // prom-client's process metrics come along.
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
  });

  it('is plain Prometheus text, needs no signature, and is not itself counted as a callback', async () => {
    const server = await start();
    const first = await scrape(`${server.url}/metrics`);
    expect(first.status).toBe(200);
    expect(first.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(first.text).toMatch(/^# HELP bbm_callbacks_total /m);
    expect(first.text).toMatch(/^# TYPE bbm_callback_duration_seconds histogram$/m);
    const again = await scrape(`${server.url}/metrics?x=1`);
    expect(sample(again.text, 'bbm_callback_duration_seconds_count')).toBe(0);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('the hooks the bot calls: redeliveryHit() and setQueueDepthSource()', async () => {
    const server = await start();
    const metrics = server.metrics!;
    metrics.redeliveryHit();
    metrics.redeliveryHit();
    metrics.setQueueDepthSource(async () => 7);
    let text = (await scrape(server.metricsUrl!)).text;
    expect(sample(text, 'bbm_redeliveries_total')).toBe(2);
    expect(sample(text, 'bbm_outbound_queue_depth')).toBe(7);
    // A failing source does not fail the scrape; the last value stays.
    metrics.setQueueDepthSource(() => {
      throw new Error('redis away');
    });
    const failed = await scrape(server.metricsUrl!);
    expect(failed.status).toBe(200);
    expect(sample(failed.text, 'bbm_outbound_queue_depth')).toBe(7);
    metrics.setQueueDepthSource(() => 3);
    text = (await scrape(server.metricsUrl!)).text;
    expect(sample(text, 'bbm_outbound_queue_depth')).toBe(3);
  });
});

describe('METRICS=off and METRICS_PORT', () => {
  it('METRICS=off: no metrics, /metrics is 404', async () => {
    const server = await start({ METRICS: 'off' });
    expect(server.metrics).toBeUndefined();
    expect(server.metricsUrl).toBeUndefined();
    expect((await scrape(`${server.url}/metrics`)).status).toBe(404);
    expect(await postCallback(server, textCallbackBody('chat-off', 'mid-off', 'still works'))).toBe(200);
  });

  it('METRICS_PORT: served on that port only, and closed at shutdown', async () => {
    const server = await start({ METRICS_PORT: '0' });
    const metricsUrl = server.metricsUrl!;
    expect(new URL(metricsUrl).port).not.toBe(String(server.port));
    expect((await scrape(`${server.url}/metrics`)).status).toBe(404);
    expect((await scrape(metricsUrl.replace(/\/metrics$/, '/v1/chats'))).status).toBe(404);

    expect(await postCallback(server, textCallbackBody('chat-port', 'mid-port', 'hi'))).toBe(200);
    const text = await scrapeUntil(metricsUrl, (t) => sample(t, 'bbm_callbacks_total', { status: '200' }) === 1);
    expect(sample(text, 'bbm_callbacks_total', { status: '200' })).toBe(1);

    await server.shutdown();
    await expect(fetch(metricsUrl)).rejects.toThrow();
  });
});

describe('Metrics without a server', () => {
  it('labels are status codes only: anything else is "other"', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.sendAttempt({ chatId: 'c', status: 0, durationMs: 1, messages: 1, actions: 0, attempt: 1 });
    metrics.sendAttempt({ chatId: 'c', status: 12345, durationMs: 1, messages: 1, actions: 0, attempt: 2 });
    metrics.callbackAnswered(-1, 5);
    metrics.tokenFetched({ ok: false, durationMs: 3 });
    const text = await metrics.render();
    expect(sample(text, 'bbm_sends_total', { code: '0' })).toBe(1);
    expect(sample(text, 'bbm_sends_total', { code: 'other' })).toBe(1);
    expect(sample(text, 'bbm_callbacks_total', { status: 'other' })).toBe(1);
    expect(sample(text, 'bbm_send_retries_total')).toBe(1);
    expect(sample(text, 'bbm_token_refreshes_total', { result: 'error' })).toBe(1);
    expect(text).not.toMatch(/^process_/m);
  });

  it('an instrumented sender counts the partial result a failed send carries', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const failure = new ChatApiError({ status: 503, body: 'busy', retryable: true, kind: 'http', chatId: 'c' });
    failure.result = {
      ok: false,
      attempts: 3,
      messages: [
        { index: 1, code: 200, state: 'delivered' },
        { index: 2, code: 503, state: 'failed' },
      ],
    };
    const inner: Sender = {
      send: async () => {
        throw failure;
      },
      closeChat: async () => {},
    };
    const sender = metrics.instrumentSender(inner);
    await expect(sender.send({ chatId: 'c', mTok: 't', from: 'b', to: 'u' })).rejects.toBe(failure);
    const text = await metrics.render();
    expect(sample(text, 'bbm_sent_messages_total', { code: '200' })).toBe(1);
    expect(sample(text, 'bbm_sent_messages_total', { code: '503' })).toBe(1);
  });

  it('two Metrics in one process do not share counters (own registries)', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.redeliveryHit();
    expect(sample(await a.render(), 'bbm_redeliveries_total')).toBe(1);
    expect(sample(await b.render(), 'bbm_redeliveries_total')).toBe(0);
  });
});

describe('REDIS_CLUSTER_NODES', () => {
  (clusterUp ? it : it.skip)('runs the bot on the cluster as a shared store under REDIS_PREFIX, and is ready', async () => {
    const prefix = randomPrefix('server-cluster');
    const server = await start({ REDIS_CLUSTER_NODES, REDIS_PREFIX: prefix });
    const cluster = (server.store as RedisStore).client as Cluster;
    try {
      expect(server.store).toBeInstanceOf(RedisStore);
      expect(cluster).toBeInstanceOf(Cluster);
      expect(await postCallback(server, textCallbackBody('chat:cluster', 'mid-1', 'hello'))).toBe(200);
      await api.waitForSends(1);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      await deleteClusterKeysUnder(cluster, prefix);
    }
  });

  it('no node answers: startBotServer rejects with an error naming REDIS_CLUSTER_NODES', async () => {
    const err = await startFailure({ REDIS_CLUSTER_NODES: '127.0.0.1:1' });
    expect(err).toBeInstanceOf(RedisConnectError);
    expect((err as RedisConnectError).field).toBe('REDIS_CLUSTER_NODES');
    expect((err as Error).message).toMatch(/^REDIS_CLUSTER_NODES 127\.0\.0\.1:1: no node answers: /);
  });
});

describe('REDIS_URL', () => {
  (redisUp ? it : it.skip)('puts the bot state in Redis under REDIS_PREFIX, and is ready', async () => {
    const prefix = randomPrefix('server');
    const admin = new Redis(REDIS_URL);
    try {
      const server = await start({ REDIS_URL, REDIS_PREFIX: prefix });
      expect(server.store).toBeInstanceOf(RedisStore);
      expect((server.store as RedisStore).prefix).toBe(prefix);
      expect(await postCallback(server, textCallbackBody('chat-redis', 'mid-redis', 'stored?'))).toBe(200);
      await api.waitForSends(1);
      const keys = await keysUnder(admin, prefix);
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.some((k) => k.includes('chat-redis'))).toBe(true);
      for (const k of keys) expect(await admin.pttl(k)).toBeGreaterThan(0);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

      await server.shutdown();
      expect((server.store as RedisStore).client.status).toBe('end');
    } finally {
      await deleteKeysUnder(admin, prefix);
      await admin.quit();
    }
  });

  it('a REDIS_URL that does not answer: startBotServer rejects with an error naming REDIS_URL', async () => {
    const err = await startFailure({ REDIS_URL: 'redis://127.0.0.1:1' });
    expect(err).toBeInstanceOf(RedisConnectError);
    expect((err as RedisConnectError).field).toBe('REDIS_URL');
    expect((err as Error).message).toBe('REDIS_URL redis://127.0.0.1:1 does not answer: connect ECONNREFUSED 127.0.0.1:1');
  });

  it('npm start with an unreachable REDIS_URL exits 1 with one line naming it', async () => {
    const tsxCli = realpathSync(join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'));
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_OPTIONS;
    for (const variable of CONFIG_VARIABLES) delete env[variable];
    Object.assign(env, { BBM_SIG_KEY: KEY, PORT: '0', REDIS_URL: 'redis://:secret@127.0.0.1:1' });
    const { code, stderr, stdout } = await new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [tsxCli, join(PROJECT_ROOT, 'src', 'server', 'main.ts')], {
        cwd: PROJECT_ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('error', reject);
      child.on('close', (exit) => {
        clearTimeout(timer);
        resolve({ code: exit, stderr: err, stdout: out });
      });
    });
    expect(code).toBe(1);
    expect(stderr.trimEnd().split('\n')).toEqual([
      'Startup failed: REDIS_URL redis://:***@127.0.0.1:1 does not answer: connect ECONNREFUSED 127.0.0.1:1',
    ]);
    expect(stdout).not.toMatch(/listening/);
  }, 20_000);
});
