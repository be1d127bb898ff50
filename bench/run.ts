/**
 * `npm run bench`: the framework against two hand-written baselines, one process tree, one run.
 *
 * Every server subject runs in its own process pinned to core 0; this process (the load generator,
 * autocannon) and the fake Chat API share core 1. Subjects run one after another, each through
 * `ingest` (typing-only callbacks) and `echo` (a text that is sent back through the fake Chat API
 * before the callback is answered); then fresh framework processes (in memory, then with Redis)
 * take the `memory` scenario (up to 1,000,000 callbacks over 100,000 chats, fed without sockets:
 * see subjects/framework-memory.ts) while RSS is sampled, sharing what is left of the time budget.
 * `framework-redis` is the framework with REDIS_URL: the bench runs its own redis-server when it
 * can (lib/redis.ts), else BENCH_REDIS_URL. `framework-cluster` is the framework with
 * REDIS_CLUSTER_NODES: the bench's own 3-master cluster (lib/redis-cluster.ts), else
 * BENCH_REDIS_CLUSTER_NODES, else skipped. For both, Redis's own counters give commands and round
 * trips per callback (lib/redis-stats.ts), under load and in a short pass one callback at a time.
 * The `conversation` scenario (issue 16: a two-step dialog per chat over 1000 chats against a plain
 * handler doing the same turns, see subjects/conversation.ts) runs after the HTTP scenarios, in
 * memory with `framework` and on the bench's Redis with `framework-redis`; its time is added to
 * the budget, so the memory scenario keeps its share. Alone: BENCH_SCENARIOS=conversation, or
 * `node dist/bench/conversation.js`.
 *
 * Knobs (environment): BENCH_DURATION (s, default 10), BENCH_WARMUP (s, default 2),
 * BENCH_CONNECTIONS (50), BENCH_SUBJECTS (comma list; `framework-quiet` is the framework at
 * LOG_LEVEL=warn), BENCH_SCENARIOS (comma list), BENCH_MEMORY_CALLBACKS (1000000),
 * BENCH_MEMORY_FULL=1 (all of them, whatever the time), BENCH_BUDGET (s this process may take,
 * default 190), BENCH_QUIET_WAIT (s in all to wait for other load to stop, default 15),
 * BENCH_PROFILE (a folder: the framework runs with --cpu-prof), BENCH_FRAMEWORK_DIST (another
 * build of the framework, for A/B runs), BENCH_FRAMEWORK_ENV ("K=V,K=V" added to its settings),
 * BENCH_MEMORY_NODE_ARGS (node flags for the memory subjects), BENCH_REDIS_URL,
 * BENCH_REDIS_CLUSTER_NODES, BENCH_SERIAL_CALLBACKS (callbacks of the one-at-a-time pass, 300; 0: none),
 * BENCH_CONVERSATION_ROUNDS / _WARMUP / _CHATS / _CONCURRENCY (see conversation.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOT_NAME, CLIENT_CREDENTIALS, SIG_KEY } from './lib/callbacks.js';
import { conversationKnobs, conversationScenario } from './lib/conversation.js';
import { conversationRatios, conversationRows, conversationTable, type ConversationReport } from './lib/conversation-report.js';
import { runLoad, type LoadResult } from './lib/load.js';
import { startBenchRedis, type BenchRedis } from './lib/redis.js';
import { startBenchCluster, type BenchCluster } from './lib/redis-cluster.js';
import { diffCounters, perCallback, type RedisCounters, type RedisPerCallback } from './lib/redis-stats.js';
import {
  PROC,
  TASKSET,
  cpuSeconds,
  describeMachine,
  machineBusySeconds,
  freePort,
  pinSelf,
  rssBytes,
  spawnNode,
  stopChild,
  waitReady,
  type Child,
} from './lib/proc.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
const SERVER_CORE = 0;
const LOADGEN_CORE = 1;

const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP_S = Number(process.env.BENCH_WARMUP ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const CHATS = 1000;
const MEMORY_CALLBACKS = Number(process.env.BENCH_MEMORY_CALLBACKS ?? 1_000_000);
const MEMORY_CHATS = 100_000;
const MEMORY_MESSAGE_EVERY = 4;
const MEMORY_TEXT_EVERY = 5;
const MEMORY_STEP = 50_000;
const MEMORY_CONCURRENCY = 100;
/**
 * Seconds this process may take in all (the build before it takes a few more). 190 since the cluster
 * subject came: its two scenarios took ~30 s, which the memory scenario would otherwise lose.
 */
const RUN_BUDGET_S = Number(process.env.BENCH_BUDGET ?? 190);
/** BENCH_MEMORY_FULL=1: all MEMORY_CALLBACKS, however long it takes. */
const MEMORY_FULL = process.env.BENCH_MEMORY_FULL === '1';
const PROFILE_DIR = process.env.BENCH_PROFILE ? resolve(process.env.BENCH_PROFILE) : undefined;
/** Callbacks sent one at a time to count the round trips on one callback's path (Redis subjects). */
const SERIAL_CALLBACKS = Number(process.env.BENCH_SERIAL_CALLBACKS ?? 300);

/** Seconds the whole run may spend waiting for other work on the machine to calm down before a measurement. */
let quietBudgetS = Number(process.env.BENCH_QUIET_WAIT ?? 15);

/**
 * This machine may be shared: before a measurement, wait (within the budget) until processes other
 * than the bench's use less than a quarter of a core.
 */
async function waitForQuiet(pids: number[]): Promise<void> {
  while (quietBudgetS > 0) {
    const ours0 = pids.reduce((t, p) => t + (cpuSeconds(p) ?? 0), 0) + process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6;
    const busy0 = machineBusySeconds();
    await sleep(500);
    quietBudgetS -= 0.5;
    const ours1 = pids.reduce((t, p) => t + (cpuSeconds(p) ?? 0), 0) + process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6;
    const busy1 = machineBusySeconds();
    if (busy0 === undefined || busy1 === undefined) return;
    if ((busy1 - busy0 - (ours1 - ours0)) / 0.5 < 0.25) return;
  }
}

/** Processes of the bench's own beside the subject and the fake Chat API (the bench's redis-server). */
const helperPids: number[] = [];

/** Measured sequence numbers start at 0; warm-up ones far above, so a warm-up straggler never counts. */
const WARMUP_SEQ = 3_000_000;
const MAX_MEASURED = WARMUP_SEQ;

type SubjectName = 'node-raw' | 'express-min' | 'framework' | 'framework-quiet' | 'framework-redis' | 'framework-cluster';
type ScenarioName = 'ingest' | 'echo';

interface Subject {
  name: SubjectName;
  describe: string;
  args: string[];
  env: Record<string, string>;
}

interface RunRecord {
  subject: SubjectName;
  scenario: ScenarioName;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  responses: number;
  non2xx: number;
  /** 207: some message was not handled. */
  partial: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  peakRssMB: number | undefined;
  /** Of the server's one core. */
  serverCpuPct: number | undefined;
  serverCpuUsPerRequest: number | undefined;
  /** Load generator + fake Chat API, of their one shared core. */
  loadgenCpuPct: number | undefined;
  /** CPU used by processes outside the bench during the run (other work on the machine), % of one core. */
  otherCpuPct: number | undefined;
  upstreamMessages: number;
  /** Callbacks answered 2xx whose reply never reached the fake Chat API. */
  lostReplies: number;
  /** Redis subjects: what Redis did per callback handled in this run (all nodes; lib/redis-stats.ts). */
  redis?: RedisPerCallback;
}

/** The Redis a subject runs on, as `measure` reads it. */
interface SharedRedis {
  counters(): Promise<RedisCounters>;
  /** redis-server processes the bench started (their CPU per callback is reported). */
  pids: number[];
  nodes: number;
}

/** One pass of callbacks one at a time: round trips on one callback's path. */
interface SerialRecord {
  subject: SubjectName;
  scenario: ScenarioName;
  callbacks: number;
  redis: RedisPerCallback;
}

interface MemoryRecord {
  subject: SubjectName;
  callbacks: number;
  /** MEMORY_CALLBACKS; `callbacks` is smaller when the time budget ran out first. */
  planned: number;
  budgetLimited: boolean;
  chats: number;
  mix: string;
  rps: number;
  non2xx: number;
  partial: number;
  /** Text callbacks answered 200 (each one a reply the fake Chat API must have received). */
  textsAnswered: number;
  upstreamMessages: number;
  lostReplies: number;
  /** RSS (MB) every MEMORY_STEP callbacks; with Redis, also Redis's own memory and key count. */
  samples: { callbacks: number; rssMB: number | undefined; redisMB?: number; redisKeys?: number }[];
  rssAt200kMB: number | undefined;
  rssAtEndMB: number | undefined;
  settledRssMB: number | undefined;
  peakRssMB: number | undefined;
  /** RSS at the end over RSS after 200,000 callbacks. */
  growth: number | undefined;
  /** What the memory store held at the end, by key prefix (entries/bytes of JSON). */
  store: string;
  /** V8 heap at the end (process.memoryUsage()). */
  heap: string;
}

const mb = (bytes: number | undefined) => (bytes === undefined ? undefined : Math.round((bytes / 1024 / 1024) * 10) / 10);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', ...extra };
}

// ---------------------------------------------------------------------------------------------
// The fake Chat API.

interface Upstream {
  child: Child;
  base: string;
  stats(): Promise<{ sends: number; messages: number; tokenRequests: number; rejected: number }>;
  seen(): Promise<Uint8Array>;
  reset(): Promise<void>;
  /** Waits until no more sends arrive (stragglers of a run that just stopped). */
  settle(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  const port = await freePort();
  const child = spawnNode(LOADGEN_CORE, [join(HERE, 'upstream.js')], baseEnv({ PORT: String(port) }), { quiet: true });
  const base = `http://127.0.0.1:${port}`;
  await waitReady(`${base}/__stats`, child);
  const stats = async () =>
    (await (await fetch(`${base}/__stats`)).json()) as { sends: number; messages: number; tokenRequests: number; rejected: number };
  return {
    child,
    base,
    stats,
    seen: async () => new Uint8Array(await (await fetch(`${base}/__seen`)).arrayBuffer()),
    reset: async () => {
      await fetch(`${base}/__reset`, { method: 'POST' });
    },
    settle: async () => {
      let last = -1;
      for (let i = 0; i < 40; i++) {
        const { sends } = await stats();
        if (sends === last) return;
        last = sends;
        await sleep(150);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Subjects.

function subjects(upstream: Upstream, port: number, redis: BenchRedis | undefined, cluster?: BenchCluster): Subject[] {
  const common = {
    PORT: String(port),
    BBM_SIG_KEY: SIG_KEY,
    BBM_API_URL: upstream.base,
    BBM_TOKEN_URL: `${upstream.base}/oauth/token`,
    BBM_CLIENT_CREDENTIALS: CLIENT_CREDENTIALS,
  };
  // BENCH_FRAMEWORK_ENV="METRICS=off,LOG_LEVEL=warn": extra settings for the framework (experiments).
  const extra = Object.fromEntries(
    (process.env.BENCH_FRAMEWORK_ENV ?? '')
      .split(',')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')).trim(), kv.slice(kv.indexOf('=') + 1).trim()]),
  );
  const frameworkMain = process.env.BENCH_FRAMEWORK_DIST
    ? join(resolve(process.env.BENCH_FRAMEWORK_DIST), 'src', 'server', 'main.js')
    : join(ROOT, 'dist', 'src', 'server', 'main.js');
  const frameworkArgs = [...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []), frameworkMain];
  return [
    { name: 'node-raw', describe: 'bare node:http, hand-written', args: [join(HERE, 'subjects', 'node-raw.js')], env: common },
    { name: 'express-min', describe: 'Express 5 + express.raw(), hand-written', args: [join(HERE, 'subjects', 'express-min.js')], env: common },
    {
      name: 'framework',
      describe: 'npm start: startBotServer + bots/echo, default config (LOG_LEVEL=info)',
      args: frameworkArgs,
      env: { ...common, HOST: '127.0.0.1', BOT: 'echo', BOT_NAME, ...extra },
    },
    {
      name: 'framework-redis',
      describe: 'the framework with REDIS_URL: state, ordering and the reply outbox in Redis',
      args: frameworkArgs,
      env: { ...common, HOST: '127.0.0.1', BOT: 'echo', BOT_NAME, ...extra, REDIS_URL: redis?.url ?? '', REDIS_PREFIX: redis?.prefix ?? 'bench:' },
    },
    {
      name: 'framework-cluster',
      describe: 'the framework with REDIS_CLUSTER_NODES: the same state on a 3-master Redis Cluster',
      args: frameworkArgs,
      env: { ...common, HOST: '127.0.0.1', BOT: 'echo', BOT_NAME, ...extra, REDIS_CLUSTER_NODES: cluster?.nodes ?? '', REDIS_PREFIX: cluster?.prefix ?? 'bench:' },
    },
    {
      name: 'framework-quiet',
      describe: 'the same with LOG_LEVEL=warn (no per-callback info line)',
      args: frameworkArgs,
      env: { ...common, HOST: '127.0.0.1', BOT: 'echo', BOT_NAME, ...extra, LOG_LEVEL: 'warn' },
    },
  ];
}

async function startSubject(subject: Subject, cwd: string): Promise<{ child: Child; url: string }> {
  // The framework reads `.env` from its working directory: run it where there is none.
  const child = spawnNode(SERVER_CORE, subject.args, baseEnv(subject.env), { quiet: true, cwd });
  const url = `http://127.0.0.1:${subject.env.PORT}`;
  await waitReady(`${url}/healthz`, child);
  return { child, url };
}

// ---------------------------------------------------------------------------------------------
// One measured run.

async function measure(
  subject: SubjectName,
  scenario: ScenarioName,
  server: { child: Child; url: string },
  upstream: Upstream,
  shared?: SharedRedis,
): Promise<RunRecord> {
  const kind = scenario === 'ingest' ? 'typing' : 'text';
  if (WARMUP_S > 0) {
    await runLoad({ url: server.url, kind, chats: CHATS, connections: CONNECTIONS, durationS: WARMUP_S, seqStart: WARMUP_SEQ });
    await upstream.settle();
  }
  await upstream.reset();
  await waitForQuiet([server.child.pid, upstream.child.pid, ...helperPids]);

  const pid = server.child.pid;
  let peakRss = rssBytes(pid) ?? 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(pid) ?? 0)), 100);
  const cpu0 = cpuSeconds(pid);
  const helpersCpu = () => helperPids.reduce((t, p) => t + (cpuSeconds(p) ?? 0), 0);
  const up0 = cpuSeconds(upstream.child.pid);
  const helpers0 = helpersCpu();
  const self0 = process.cpuUsage();
  const busy0 = machineBusySeconds();
  // Redis's counters and CPU from here until the last reply is in (the outbox may trail the answer).
  const redis0 = await shared?.counters();
  const redisCpuNow = () => shared!.pids.reduce((t, p) => t + (cpuSeconds(p) ?? 0), 0);
  const redisCpu0 = shared?.pids.length ? redisCpuNow() : undefined;
  const t0 = performance.now();
  const answered = new Uint8Array(MAX_MEASURED);
  const r: LoadResult = await runLoad({ url: server.url, kind, chats: CHATS, connections: CONNECTIONS, durationS: DURATION_S, seqStart: 0, answered });
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(pid);
  const up1 = cpuSeconds(upstream.child.pid);
  const helpers1 = helpersCpu();
  const self = process.cpuUsage(self0);
  const busy1 = machineBusySeconds();
  clearInterval(sampler);
  peakRss = Math.max(peakRss, rssBytes(pid) ?? 0);

  await upstream.settle();
  const redisCpu = redisCpu0 === undefined ? undefined : redisCpuNow() - redisCpu0;
  const redis1 = redis0 && (await shared!.counters());
  const { messages } = await upstream.stats();
  let lost = 0;
  if (kind === 'text') {
    const seen = await upstream.seen();
    for (let i = 0; i < r.sent && i < answered.length; i++) if (answered[i] === 1 && seen[i] !== 1) lost++;
  }
  const serverCpu = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined;
  const loadgenCpu =
    up0 !== undefined && up1 !== undefined ? up1 - up0 + helpers1 - helpers0 + (self.user + self.system) / 1e6 : undefined;
  const other =
    busy0 !== undefined && busy1 !== undefined && serverCpu !== undefined && loadgenCpu !== undefined
      ? Math.max(0, busy1 - busy0 - serverCpu - loadgenCpu)
      : undefined;
  return {
    subject,
    scenario,
    rps: Math.round(r.rps),
    p50Ms: round(r.p50, 3),
    p99Ms: round(r.p99, 3),
    maxMs: round(r.max, 1),
    meanMs: round(r.mean, 3),
    responses: r.responses,
    non2xx: r.non2xx,
    partial: r.partial,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes: r.statusCodes,
    peakRssMB: PROC ? mb(peakRss) : undefined,
    serverCpuPct: serverCpu === undefined ? undefined : Math.round((serverCpu / wall) * 100),
    serverCpuUsPerRequest: serverCpu === undefined || r.responses === 0 ? undefined : round((serverCpu / r.responses) * 1e6, 1),
    loadgenCpuPct: loadgenCpu === undefined ? undefined : Math.round((loadgenCpu / wall) * 100),
    otherCpuPct: other === undefined ? undefined : Math.round((other / wall) * 100),
    upstreamMessages: messages,
    lostReplies: lost,
    ...(redis0 && redis1 ? { redis: perCallback(diffCounters(redis1, redis0, shared!.nodes), r.responses, redisCpu) } : {}),
  };
}

/**
 * SERIAL_CALLBACKS callbacks over one connection, one at a time: every write of the Redis client
 * belongs to one callback, so Redis's read events per callback are the round trips on its path.
 * Short, and apart from the measured runs, so counting never touches the rates.
 */
async function serialPass(subject: SubjectName, scenario: ScenarioName, server: { url: string }, upstream: Upstream, shared: SharedRedis): Promise<SerialRecord> {
  const kind = scenario === 'ingest' ? 'typing' : 'text';
  await upstream.settle();
  const before = await shared.counters();
  const r = await runLoad({ url: server.url, kind, chats: CHATS, connections: 1, amount: SERIAL_CALLBACKS, seqStart: 2 * WARMUP_SEQ + (scenario === 'echo' ? 100_000 : 0) });
  await upstream.settle();
  const after = await shared.counters();
  // No Redis CPU here: /proc counts in 10 ms ticks, too coarse for a pass this short.
  return { subject, scenario, callbacks: r.responses, redis: perCallback(diffCounters(after, before, shared.nodes), r.responses, undefined) };
}

/**
 * A fresh framework process (the same configuration, bots/echo) fed MEMORY_CALLBACKS callbacks over
 * MEMORY_CHATS chats without sockets (see subjects/framework-memory.ts), until done or until
 * `deadline` (epoch ms; 0 for none); RSS read from /proc at every step.
 */
async function memoryScenario(
  subject: Subject,
  upstream: Upstream,
  cwd: string,
  deadline: number,
  redis: BenchRedis | undefined,
): Promise<MemoryRecord> {
  await upstream.reset();
  const env = baseEnv({
    ...subject.env,
    MEMORY_CALLBACKS: String(MEMORY_CALLBACKS),
    MEMORY_CHATS: String(MEMORY_CHATS),
    MEMORY_MESSAGE_EVERY: String(MEMORY_MESSAGE_EVERY),
    MEMORY_TEXT_EVERY: String(MEMORY_TEXT_EVERY),
    MEMORY_STEP: String(MEMORY_STEP),
    MEMORY_CONCURRENCY: String(MEMORY_CONCURRENCY),
    MEMORY_DEADLINE_MS: String(deadline),
  });
  const nodeArgs = (process.env.BENCH_MEMORY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawnNode(SERVER_CORE, [...nodeArgs, join(HERE, 'subjects', 'framework-memory.js')], env, { quiet: true, cwd, reportPipe: true });
  const pid = child.pid;
  const started = performance.now();
  const samples: MemoryRecord['samples'] = [];
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid) ?? 0)), 100);
  let done: { sent: number; ok: number; partial: number; texts: number; store: string; heap: string } | undefined;
  let ready = false;
  const pipe = child.proc.stdio[3] as NodeJS.ReadableStream | undefined;
  if (!pipe) throw new Error('framework-memory: no report pipe');
  let buffered = '';
  const pendingRedis: Promise<void>[] = [];
  const finished = new Promise<void>((resolve, reject) => {
    void child.exited.then((code) => (done ? resolve() : reject(new Error(`framework-memory exited (${code}) before it finished`))));
    pipe.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const [kind, n, ok, partial, texts] = line.split(' ');
        if (!ready) {
          ready = true;
          samples.push({ callbacks: 0, rssMB: undefined });
        }
        if (kind === 'PROGRESS') {
          const sample: MemoryRecord['samples'][number] = { callbacks: Number(n), rssMB: mb(rssBytes(pid)) };
          samples.push(sample);
          if (redis) {
            pendingRedis.push(
              redis.memory().then(({ usedBytes, keys }) => {
                sample.redisMB = mb(usedBytes);
                if (keys >= 0) sample.redisKeys = keys;
              }, () => undefined),
            );
          }
        }
        if (kind === 'DONE') {
          done = {
            sent: Number(n),
            ok: Number(ok),
            partial: Number(partial),
            texts: Number(texts),
            store: line.split(' store ')[1] ?? '',
            heap: line.split(' heap ')[1]?.split(' store ')[0] ?? '',
          };
          resolve();
        }
      }
    });
  });
  await finished;
  await Promise.all(pendingRedis);
  const elapsedS = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const last = samples.at(-1);
  if (done && last?.callbacks !== done.sent) samples.push({ callbacks: done.sent, rssMB: mb(rssBytes(pid)) });
  await upstream.settle();
  const settled = rssBytes(pid);
  peak = Math.max(peak, settled ?? 0);
  const { messages } = await upstream.stats();
  await stopChild(child);
  const d = done!;
  const at = (n: number) => samples.find((x) => x.callbacks === n)?.rssMB;
  const rss200k = at(200_000);
  const rssEnd = samples.at(-1)?.rssMB;
  return {
    subject: subject.name,
    callbacks: d.sent,
    planned: MEMORY_CALLBACKS,
    budgetLimited: d.sent < MEMORY_CALLBACKS,
    chats: MEMORY_CHATS,
    mix: `every ${MEMORY_MESSAGE_EVERY}th callback a message (every ${MEMORY_TEXT_EVERY}th of those a text the bot answers), the others a typing action`,
    rps: Math.round(d.sent / elapsedS),
    non2xx: d.sent - d.ok,
    partial: d.partial,
    textsAnswered: d.texts,
    upstreamMessages: messages,
    lostReplies: Math.max(0, d.texts - messages),
    samples,
    rssAt200kMB: rss200k,
    rssAtEndMB: rssEnd,
    settledRssMB: mb(settled),
    peakRssMB: PROC ? mb(peak) : undefined,
    growth: rss200k && rssEnd && d.sent > 200_000 ? round(rssEnd / rss200k, 3) : undefined,
    store: d.store,
    heap: d.heap,
  };
}

// ---------------------------------------------------------------------------------------------
// Report.

function pad(s: string, n: number, left = false): string {
  return left ? s.padEnd(n) : s.padStart(n);
}

function table(runs: RunRecord[]): string {
  const head = ['scenario', 'subject', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', '207', 'lost', 'peak RSS MB', 'srv CPU%', 'µs/req', 'gen CPU%'];
  const widths = [9, 17, 8, 8, 8, 8, 5, 5, 12, 9, 8, 9];
  const lines = [head.map((h, i) => pad(h, widths[i]!, i < 2)).join(' ')];
  for (const r of runs) {
    const cells = [
      r.scenario,
      r.subject,
      String(r.rps),
      r.p50Ms.toFixed(2),
      r.p99Ms.toFixed(2),
      String(r.non2xx + r.errors),
      String(r.partial),
      r.scenario === 'echo' ? String(r.lostReplies) : '-',
      r.peakRssMB === undefined ? '-' : r.peakRssMB.toFixed(1),
      r.serverCpuPct === undefined ? '-' : String(r.serverCpuPct),
      r.serverCpuUsPerRequest === undefined ? '-' : r.serverCpuUsPerRequest.toFixed(1),
      r.loadgenCpuPct === undefined ? '-' : String(r.loadgenCpuPct),
    ];
    lines.push(cells.map((c, i) => pad(c, widths[i]!, i < 2)).join(' '));
  }
  return lines.join('\n');
}

interface Ratio {
  scenario: ScenarioName;
  of: string;
  rps: number;
  p99: number;
  cpuPerRequest: number | undefined;
}

function ratios(runs: RunRecord[]): Ratio[] {
  const out: Ratio[] = [];
  for (const scenario of ['ingest', 'echo'] as const) {
    const get = (s: SubjectName) => runs.find((r) => r.scenario === scenario && r.subject === s);
    for (const fw of ['framework', 'framework-quiet'] as const) {
      const f = get(fw);
      if (!f) continue;
      for (const base of ['express-min', 'node-raw'] as const) {
        const b = get(base);
        if (!b) continue;
        out.push({
          scenario,
          of: `${fw}/${base}`,
          rps: round(f.rps / b.rps, 3),
          p99: round(f.p99Ms / b.p99Ms, 3),
          cpuPerRequest:
            f.serverCpuUsPerRequest && b.serverCpuUsPerRequest ? round(f.serverCpuUsPerRequest / b.serverCpuUsPerRequest, 3) : undefined,
        });
      }
    }
    // What sharing state in Redis (one server, or a cluster) costs, against the same framework in memory.
    const f = get('framework');
    for (const shared of ['framework-redis', 'framework-cluster'] as const) {
      const fr = get(shared);
      if (!f || !fr) continue;
      out.push({
        scenario,
        of: `${shared}/framework`,
        rps: round(fr.rps / f.rps, 3),
        p99: round(fr.p99Ms / f.p99Ms, 3),
        cpuPerRequest: fr.serverCpuUsPerRequest && f.serverCpuUsPerRequest ? round(fr.serverCpuUsPerRequest / f.serverCpuUsPerRequest, 3) : undefined,
      });
    }
  }
  return out;
}

function verdicts(runs: RunRecord[], rs: Ratio[], memories: MemoryRecord[], conversations: ConversationReport[]): string[] {
  const out: string[] = [];
  const check = (ok: boolean, text: string) => out.push(`${ok ? 'PASS' : 'MISS'}  ${text}`);
  const r = (scenario: ScenarioName, of: string) => rs.find((x) => x.scenario === scenario && x.of === of);
  const ingest = r('ingest', 'framework/express-min');
  if (ingest) {
    check(ingest.rps >= 1.0, `ingest: framework req/s ${ingest.rps}× express-min (target ≥ 1.0)`);
    check(ingest.p99 <= 1.2, `ingest: framework p99 ${ingest.p99}× express-min (target ≤ 1.2)`);
  }
  const echo = r('echo', 'framework/express-min');
  if (echo) check(echo.rps >= 0.9, `echo: framework req/s ${echo.rps}× express-min (target ≥ 0.9)`);
  for (const name of ['framework-redis', 'framework-cluster']) {
    const shared = r('ingest', `${name}/framework`);
    if (shared) check(shared.rps >= 0.6, `ingest: ${name} req/s ${shared.rps}× framework in memory (target ≥ 0.6: ${shared.rps >= 0.6 ? 'met' : 'missed'})`);
  }
  for (const memory of memories) {
    const n = `${Math.round(memory.callbacks / 1000)}k`;
    const name = `memory ${memory.subject}`;
    // The targets are about RSS after all the callbacks; a run the budget cut short only indicates.
    const judge = (ok: boolean, text: string) => (memory.budgetLimited ? out.push(`(${ok ? 'ok' : 'over'})  ${text}, partial run`) : check(ok, text));
    if (memory.growth !== undefined) {
      judge(memory.growth <= 1.3, `${name}: RSS at ${n} ${memory.rssAtEndMB} MB = ${memory.growth}× RSS at 200k ${memory.rssAt200kMB} MB (target ≤ 1.3 at 1M)`);
    } else out.push(`n/a   ${name}: too few callbacks (${n}) to compare with RSS at 200k`);
    if (memory.rssAtEndMB !== undefined && memory.subject === 'framework') {
      judge(memory.rssAtEndMB < 250, `${name}: RSS at ${n} ${memory.rssAtEndMB} MB (target < 250 at 1M; peak on the way ${memory.peakRssMB ?? '-'} MB)`);
    }
    if (memory.budgetLimited) out.push(`note  ${name}: ${n} of ${Math.round(memory.planned / 1000)}k callbacks within the time budget; BENCH_MEMORY_FULL=1 runs them all`);
  }
  // Anything but a clean zero fails, NaN (a report that could not be read) included.
  const bad = runs.filter((x) => !(x.non2xx + x.errors + x.partial === 0 && x.lostReplies === 0));
  const memBad = memories.filter((m) => !(m.non2xx + m.partial === 0 && m.lostReplies === 0 && Number.isFinite(m.textsAnswered)));
  check(
    bad.length === 0 && memBad.length === 0,
    `zero non-2xx, zero 207, zero lost replies in every run${bad.length ? ` (failing: ${bad.map((x) => `${x.subject}/${x.scenario}`).join(', ')})` : ''}${memBad.length ? ` (failing: ${memBad.map((m) => `memory ${m.subject}`).join(', ')})` : ''}`,
  );
  const convBad = conversations.flatMap((c) => c.subjects.filter((x) => x.wrongReplies + x.failedTurns > 0).map((x) => `${c.store} ${x.name}`));
  if (conversations.length) check(convBad.length === 0, `conversation: every turn answered 200 and every chat got its three replies, the last one right${convBad.length ? ` (failing: ${convBad.join(', ')})` : ''}`);
  return out;
}

/** Redis per callback: under load (the measured runs) and one at a time (the serial passes). */
function redisReport(runs: RunRecord[], serials: SerialRecord[]): string[] {
  const rows = [
    ...runs.filter((r) => r.redis).map((r) => ({ subject: r.subject, scenario: r.scenario, how: `load, ${CONNECTIONS} conn`, redis: r.redis! })),
    ...serials.map((s) => ({ subject: s.subject, scenario: s.scenario, how: 'one at a time', redis: s.redis })),
  ];
  if (rows.length === 0) return [];
  const out = ['  Redis per callback (all nodes; commands include those run inside scripts and MULTI/EXEC; round trips = Redis read events):'];
  out.push(`  ${pad('scenario', 8, true)} ${pad('subject', 17, true)} ${pad('pass', 15, true)} ${pad('commands', 9)} ${pad('scripts', 8)} ${pad('round trips', 12)} ${pad('Redis CPU µs', 13)}  commands`);
  for (const r of rows) {
    const x = r.redis;
    out.push(
      `  ${pad(r.scenario, 8, true)} ${pad(r.subject, 17, true)} ${pad(r.how, 15, true)} ${pad(x.commands.toFixed(2), 9)} ${pad(x.scripts.toFixed(2), 8)} ${pad(x.roundTrips.toFixed(2), 12)} ${pad(x.cpuUs?.toFixed(1) ?? '-', 13)}  ${x.top}`,
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const began = Date.now();
  const pinned = pinSelf(LOADGEN_CORE);
  const wantedSubjects = (process.env.BENCH_SUBJECTS ?? 'node-raw,express-min,framework,framework-redis,framework-cluster').split(',').map((s) => s.trim());
  const wantedScenarios = (process.env.BENCH_SCENARIOS ?? 'ingest,echo,conversation,memory').split(',').map((s) => s.trim());
  const machine = describeMachine();
  console.log(`bench: ${machine.cpu ?? '?'} (${machine.cores ?? '?'} cores), Node ${process.version}`);
  console.log(
    TASKSET && pinned
      ? `bench: servers pinned to core ${SERVER_CORE}; load generator and fake Chat API to core ${LOADGEN_CORE}`
      : 'bench: taskset is not available: nothing is pinned, numbers are noisier',
  );
  if (PROFILE_DIR) {
    mkdirSync(PROFILE_DIR, { recursive: true });
    console.log(`bench: the framework writes CPU profiles to ${PROFILE_DIR}`);
  }
  const cwd = mkdtempSync(join(tmpdir(), 'bbm-bench-'));
  const upstream = await startUpstream();
  const redis = wantedSubjects.includes('framework-redis') ? await startBenchRedis(LOADGEN_CORE) : undefined;
  if (redis) console.log(`bench: framework-redis uses ${redis.describe}, keys under ${redis.prefix}`);
  // Only the HTTP scenarios use the cluster: BENCH_SCENARIOS=conversation does not wait for one.
  const httpScenarios = wantedScenarios.includes('ingest') || wantedScenarios.includes('echo');
  const clusterOrWhy = wantedSubjects.includes('framework-cluster') && httpScenarios ? await startBenchCluster(LOADGEN_CORE) : undefined;
  const cluster = clusterOrWhy && 'nodes' in clusterOrWhy ? clusterOrWhy : undefined;
  if (cluster) console.log(`bench: framework-cluster uses ${cluster.describe}, keys under ${cluster.prefix}`);
  else if (clusterOrWhy && 'skipped' in clusterOrWhy) console.log(`bench: framework-cluster skipped: ${clusterOrWhy.skipped}`);
  const runs: RunRecord[] = [];
  const serials: SerialRecord[] = [];
  const memories: MemoryRecord[] = [];
  const conversations: ConversationReport[] = [];
  /** The conversation scenario's time, added to the memory scenario's budget. */
  let conversationMs = 0;
  try {
    const all = subjects(upstream, await freePort(), redis, cluster);
    if (redis?.pid) helperPids.push(redis.pid);
    if (cluster) helperPids.push(...cluster.pids);
    const sharedOf = (name: SubjectName): SharedRedis | undefined =>
      name === 'framework-redis' && redis
        ? { counters: () => redis.counters(), pids: redis.pid ? [redis.pid] : [], nodes: 1 }
        : name === 'framework-cluster' && cluster
          ? { counters: () => cluster.counters(), pids: cluster.pids, nodes: cluster.masters }
          : undefined;
    for (const subject of all.filter((s) => wantedSubjects.includes(s.name))) {
      const scenarios = (['ingest', 'echo'] as const).filter((s) => wantedScenarios.includes(s));
      if (scenarios.length === 0) continue;
      if (subject.name === 'framework-cluster' && !cluster) continue;
      if (subject.name === 'framework-redis') await redis!.clear();
      if (subject.name === 'framework-cluster') await cluster!.clear();
      const shared = sharedOf(subject.name);
      const server = await startSubject(subject, cwd);
      try {
        for (const scenario of scenarios) {
          const rec = await measure(subject.name, scenario, server, upstream, shared);
          runs.push(rec);
          console.log(
            `  ${pad(scenario, 7, true)} ${pad(subject.name, 17, true)} ${pad(String(rec.rps), 6)} req/s  p50 ${rec.p50Ms.toFixed(2)} ms  p99 ${rec.p99Ms.toFixed(2)} ms  server CPU ${rec.serverCpuPct ?? '-'}%  (${rec.serverCpuUsPerRequest ?? '-'} µs/req)  gen CPU ${rec.loadgenCpuPct ?? '-'}%  other ${rec.otherCpuPct ?? '-'}%`,
          );
          if (shared && SERIAL_CALLBACKS > 0) serials.push(await serialPass(subject.name, scenario, server, upstream, shared));
        }
      } finally {
        await stopChild(server.child);
      }
    }
    if (wantedScenarios.includes('conversation')) {
      const t0 = Date.now();
      const stores = [
        ...(wantedSubjects.includes('framework') ? [{ kind: 'memory' as const }] : []),
        ...(wantedSubjects.includes('framework-redis') && redis ? [{ kind: 'redis' as const, url: redis.url, prefix: redis.prefix, ...(redis.pid ? { pid: redis.pid } : {}) }] : []),
      ];
      for (const store of stores) {
        console.log(`  conversation ${store.kind}: a two-step dialog per chat against a session state machine and a stateless handler...`);
        if (store.kind === 'redis') await redis!.clear();
        await waitForQuiet([upstream.child.pid, ...helperPids]);
        conversations.push(await conversationScenario(store, { core: SERVER_CORE, cwd, env: conversationKnobs() }));
      }
      conversationMs = Date.now() - t0;
    }
    if (wantedScenarios.includes('memory')) {
      // The memory subjects share what is left of the time budget, in equal parts.
      const memorySubjects = all.filter((s) => (s.name === 'framework' || s.name === 'framework-redis') && wantedSubjects.includes(s.name));
      const end = began + RUN_BUDGET_S * 1000 + conversationMs - 6000;
      for (const [i, subject] of memorySubjects.entries()) {
        const deadline = MEMORY_FULL ? 0 : Date.now() + (end - Date.now()) / (memorySubjects.length - i);
        console.log(
          `  memory  ${subject.name}: up to ${MEMORY_CALLBACKS.toLocaleString('en')} callbacks over ${MEMORY_CHATS.toLocaleString('en')} chats` +
            (deadline ? `, until ${Math.round((deadline - Date.now()) / 1000)} s from now (BENCH_MEMORY_FULL=1 for no limit)` : '') + '...',
        );
        if (subject.name === 'framework-redis') await redis!.clear();
        memories.push(await memoryScenario(subject, upstream, cwd, deadline, subject.name === 'framework-redis' ? redis : undefined));
      }
    }
  } finally {
    await stopChild(upstream.child);
    await redis?.stop();
    await cluster?.stop();
    rmSync(cwd, { recursive: true, force: true });
  }

  const rs = ratios(runs);
  console.log('');
  if (runs.length) console.log(`${table(runs)}\n`);
  for (const x of rs) {
    console.log(`  ${pad(x.scenario, 7, true)} ${pad(x.of, 32, true)} req/s ${x.rps.toFixed(3)}×   p99 ${x.p99.toFixed(3)}×   CPU/req ${x.cpuPerRequest?.toFixed(3) ?? '-'}×`);
  }
  const redisLines = redisReport(runs, serials);
  if (redisLines.length) console.log(`\n${redisLines.join('\n')}`);
  if (conversations.length) console.log(`\n  conversation: per turn, against a plain handler doing the same turns (medians)\n${conversationTable(conversations)}`);
  for (const memory of memories) {
    console.log('');
    console.log(
      `  memory ${memory.subject}: ${memory.callbacks.toLocaleString('en')} callbacks${memory.budgetLimited ? ` (of ${memory.planned.toLocaleString('en')}: the time budget ran out)` : ''} ` +
        `over ${memory.chats.toLocaleString('en')} chats at ${memory.rps}/s; non-2xx ${memory.non2xx}, 207 ${memory.partial}, ` +
        `texts answered ${memory.textsAnswered}, replies received ${memory.upstreamMessages}, lost ${memory.lostReplies}`,
    );
    console.log(`  RSS MB by callbacks: ${memory.samples.filter((s) => s.rssMB !== undefined).map((s) => `${s.callbacks / 1000}k=${s.rssMB}`).join('  ')}  settled=${memory.settledRssMB ?? '-'}`);
    const inRedis = memory.samples.filter((s) => s.redisMB !== undefined);
    if (inRedis.length) {
      console.log(`  Redis used_memory MB (keys): ${inRedis.map((s) => `${s.callbacks / 1000}k=${s.redisMB}${s.redisKeys === undefined ? '' : ` (${s.redisKeys})`}`).join('  ')}`);
    }
    if (memory.store) console.log(`  store at the end (entries/JSON bytes): ${memory.store}`);
    if (memory.heap) console.log(`  V8 heap at the end: ${memory.heap}`);
  }
  const verdictLines = verdicts(runs, rs, memories, conversations);
  console.log('');
  for (const v of verdictLines) console.log(`  ${v}`);
  const elapsedS = Math.round((Date.now() - began) / 1000);
  console.log(`\nbench: done in ${elapsedS} s`);

  const outDir = join(ROOT, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const report = {
    date: new Date().toISOString(),
    machine,
    pinned: TASKSET && pinned,
    settings: {
      durationS: DURATION_S,
      warmupS: WARMUP_S,
      connections: CONNECTIONS,
      chats: CHATS,
      memoryCallbacks: MEMORY_CALLBACKS,
      memoryChats: MEMORY_CHATS,
      budgetS: MEMORY_FULL ? undefined : RUN_BUDGET_S,
      conversationS: conversationMs ? Math.round(conversationMs / 1000) : undefined,
    },
    redis: redis?.describe,
    cluster: cluster?.describe ?? (clusterOrWhy && 'skipped' in clusterOrWhy ? `skipped: ${clusterOrWhy.skipped}` : undefined),
    subjects: subjects(upstream, 0, redis, cluster).map((s) => ({ name: s.name, describe: s.describe })),
    runs,
    serial: serials,
    ratios: rs,
    memory: memories,
    conversation: conversations.length
      ? { reports: conversations, rows: conversations.flatMap(conversationRows), ratios: conversationRatios(conversations.flatMap(conversationRows)) }
      : undefined,
    verdicts: verdictLines,
    elapsedS,
  };
  const file = join(outDir, `bench-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`bench: results written to ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
