/**
 * The conversation scenario's subject (issue 16): what one turn of a conversation costs against a
 * plain handler doing the same turns, measured in this one process, rounds interleaved.
 *
 * Three bots get the same callbacks over CONV_CHATS chats: the text `book`, then a name, then a
 * city; each turn answers with one reply (the question for the name, the question for the city,
 * the confirmation naming both), so every bot sends three replies per chat:
 * - `conversation`: `conversation('booking', ...)` with two `conv.ask`, entered by `bot.hears('book')`;
 *   each turn loads the dialog's record, replays the dialog, and saves (or, at the end, deletes) it;
 * - `session-machine`: the same dialog kept by hand in `ctx.session` (a step and the name);
 *   each turn loads and saves the session (deleted at the end);
 * - `stateless`: replies of the same shape with no state at all (the floor: dispatch and send).
 *
 * Callbacks go straight to `bot.dispatch` (parsed and signed before the clock starts: the
 * webhook's work is the same for all three and not the engine's), CONV_CONCURRENCY at a time,
 * one step of every chat after the other. Replies go to a sender that answers at once and keeps
 * each chat's last text, so the numbers are the bot's own (middleware, session or dialog record,
 * store) and every confirmation is checked. With REDIS_URL the store is Redis, shared as the
 * server shares it (per-chat ordering and the reply outbox in Redis).
 *
 * Environment: CONV_CHATS (1000), CONV_ROUNDS (15 in memory, 7 with Redis), CONV_WARMUP_ROUNDS (2), CONV_CONCURRENCY (50),
 * REDIS_URL, REDIS_PREFIX and REDIS_PID (the bench's redis-server, if it started one). Writes one JSON line (a ConversationReport) to stdout.
 */
import pino from 'pino';
import { Redis } from 'ioredis';
import { conversation, createBot, MemoryStore, parseCallback, RedisStore, type Bot, type Sender } from '../../src/index.js';
import type { ChatCallback } from '../../src/protocol/inbound.js';
import type { StateStore } from '../../src/state/store.js';
import { BOT_ID } from '../lib/callbacks.js';
import type { ConversationReport, ConversationSubject, SubjectRound } from '../lib/conversation-report.js';
import { cpuSeconds, machineBusySeconds } from '../lib/proc.js';
import { diffCounters, readCounters } from '../lib/redis-stats.js';

const CHATS = Number(process.env.CONV_CHATS ?? 1000);
const REDIS_URL = process.env.REDIS_URL || undefined;
/** A round in memory takes ~0.1-0.2 s a subject, with Redis ~1 s: more of the short ones for a steadier median. */
const ROUNDS = Number(process.env.CONV_ROUNDS ?? (REDIS_URL ? 7 : 15));
const WARMUP_ROUNDS = Number(process.env.CONV_WARMUP_ROUNDS ?? 2);
const CONCURRENCY = Number(process.env.CONV_CONCURRENCY ?? 50);
const REDIS_PREFIX = process.env.REDIS_PREFIX ?? 'bench:';
/** The bench's own redis-server, whose CPU is not "other" work on the machine. */
const REDIS_PID = Number(process.env.REDIS_PID ?? 0);
const redisCpu = () => (REDIS_PID ? (cpuSeconds(REDIS_PID) ?? 0) : 0);
const STEPS = 3;

const ASK_NAME = 'What name should I put it under?';
const ASK_CITY = 'Which city?';
const confirmation = (name: string | undefined, city: string | undefined) => `Booked: a table for ${name ?? '?'} in ${city ?? '?'}.`;
/** What chat `k` says at each step. */
const said = (step: number, k: number) => (step === 0 ? 'book' : step === 1 ? `Name ${k}` : `City ${k}`);

/** Answers every send at once; keeps how many replies each chat got and the last one's text. */
class RecordingSender implements Sender {
  sends = 0;
  readonly last = new Map<string, string>();
  private mid = 0;

  async send(request: Parameters<Sender['send']>[0]): ReturnType<Sender['send']> {
    this.sends++;
    const first = request.messages?.[0];
    if (first && 'text' in first && typeof first.text === 'string') this.last.set(request.chatId, first.text);
    const messages = (request.messages ?? []).map((_, i) => ({ index: i + 1, code: 200, mid: `up${++this.mid}`, ts: 1, state: 'delivered' as const }));
    return { ok: true, messages, attempts: 1 };
  }

  async closeChat(): Promise<void> {}
}

function conversationBot(): Bot<unknown> {
  const bot = createBot<unknown>({ name: 'BenchBot' });
  bot.use(
    conversation('booking', async (conv) => {
      const name = await conv.ask(ASK_NAME);
      const city = await conv.ask(ASK_CITY);
      await conv.reply(confirmation(name, city));
    }),
  );
  bot.hears('book', (ctx) => ctx.enter('booking'));
  return bot as Bot<unknown>;
}

interface Booking {
  step: 'idle' | 'name' | 'city';
  name?: string;
}

function sessionMachineBot(): Bot<Booking> {
  const bot = createBot<Booking>({ name: 'BenchBot', session: { initial: () => ({ step: 'idle' }) } });
  bot.on('text', async (ctx) => {
    const text = ctx.text ?? '';
    const s = ctx.session;
    if (s.step === 'idle') {
      if (text !== 'book') return;
      s.step = 'name';
      await ctx.reply(ASK_NAME);
    } else if (s.step === 'name') {
      s.step = 'city';
      s.name = text;
      await ctx.reply(ASK_CITY);
    } else {
      ctx.clearSession();
      await ctx.reply(confirmation(s.name, text));
    }
  });
  return bot;
}

function statelessBot(): Bot<undefined> {
  const bot = createBot({ name: 'BenchBot' });
  bot.on('text', async (ctx) => {
    const text = ctx.text ?? '';
    await ctx.reply(text === 'book' ? ASK_NAME : text.startsWith('Name') ? ASK_CITY : confirmation('-', text));
  });
  return bot;
}

/** One step of every chat as parsed callbacks (unique mids per subject, round and step). */
function callbacks(tag: string, round: number, step: number): ChatCallback[] {
  const out: ChatCallback[] = [];
  for (let k = 0; k < CHATS; k++) {
    const user = `2000${k}`;
    const seq = (round * STEPS + step) * CHATS + k;
    const body =
      `{"mType":"message","chId":"C00012B1E","chatId":"${tag}-chat-${k}","from":"${user}","to":"${BOT_ID}","mTok":"mtok-${k}",` +
      `"messages":[{"index":1,"type":"text","mid":"${tag}-m${seq}","ts":${1_700_000_000_000 + seq},"text":"${said(step, k)}"}],` +
      `"userInfos":{"${user}":{"name":"User ${k}"}}}`;
    const parsed = parseCallback(Buffer.from(body));
    if (!parsed.ok) throw new Error(`bench: a callback of its own does not parse: ${parsed.message}`);
    out.push(parsed.callback);
  }
  return out;
}

interface Runner {
  name: ConversationSubject['name'];
  /** Prefix of this subject's chat ids and mids, so the three never share a key. */
  tag: string;
  bot: Bot<never>;
  sender: RecordingSender;
  store: StateStore;
  rounds: SubjectRound[];
  wrong: number;
  failed: number;
}

const log = pino({ enabled: false });

/** One round of one subject: three steps of every chat, timed; then every chat's confirmation is checked. */
async function round(runner: Runner, index: number, redis: Redis | undefined, measured: boolean): Promise<void> {
  const steps = Array.from({ length: STEPS }, (_, step) => callbacks(runner.tag, index, step));
  const sends0 = runner.sender.sends;
  // Each round's replies are checked on their own: a chat's reply of an earlier round never counts.
  runner.sender.last.clear();
  const before = redis && (await readCounters([redis]));
  // No forced gc() here: a full collection before each round made every subject ~2× slower (V8
  // shrinks its young generation after it), which no server sees; steady-state GC is part of the cost.
  const cpu0 = process.cpuUsage();
  const busy0 = machineBusySeconds();
  const redis0 = redisCpu();
  const t0 = performance.now();
  for (const batch of steps) {
    let next = 0;
    const worker = async () => {
      while (next < batch.length) {
        const results = await runner.bot.dispatch(batch[next++]!, { log, receivedAt: Date.now() });
        for (const r of results) if (r.result.code !== 200) runner.failed++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }
  const wallUs = (performance.now() - t0) * 1000;
  const cpu = process.cpuUsage(cpu0);
  const busy1 = machineBusySeconds();
  const other = busy0 === undefined || busy1 === undefined ? undefined : busy1 - busy0 - (cpu.user + cpu.system) / 1e6 - (redisCpu() - redis0);
  const after = redis && (await readCounters([redis]));
  const turns = STEPS * CHATS;
  for (let k = 0; k < CHATS; k++) {
    const expected = runner.name === 'stateless' ? confirmation('-', said(2, k)) : confirmation(said(1, k), said(2, k));
    if (runner.sender.last.get(`${runner.tag}-chat-${k}`) !== expected) runner.wrong++;
  }
  if (runner.sender.sends - sends0 !== turns) runner.wrong += Math.abs(runner.sender.sends - sends0 - turns);
  if (!measured) return;
  runner.rounds.push({
    usPerTurn: wallUs / turns,
    cpuUsPerTurn: (cpu.user + cpu.system) / turns,
    ...(other === undefined ? {} : { otherCpuPct: Math.max(0, (other * 1e6 * 100) / wallUs) }),
    ...(before && after ? { redisCommandsPerTurn: diffCounters(after, before, 1).commands / turns } : {}),
  });
}

async function openStore(tag: string): Promise<StateStore> {
  return REDIS_URL ? RedisStore.connect(REDIS_URL, { prefix: `${REDIS_PREFIX}${tag}:` }) : new MemoryStore();
}

async function main(): Promise<void> {
  const made: [ConversationSubject['name'], string, () => Bot<never>][] = [
    ['stateless', 'st', () => statelessBot() as unknown as Bot<never>],
    ['session-machine', 'sm', () => sessionMachineBot() as unknown as Bot<never>],
    ['conversation', 'cv', () => conversationBot() as unknown as Bot<never>],
  ];
  const runners: Runner[] = [];
  for (const [name, tag, make] of made) {
    const sender = new RecordingSender();
    const store = await openStore(tag);
    const bot = make();
    bot.init({ sender, store, logger: log, shared: REDIS_URL !== undefined });
    runners.push({ name, tag, bot, sender, store, rounds: [], wrong: 0, failed: 0 });
  }
  // Counting Redis's commands: a connection of its own, read between rounds only.
  const counting = REDIS_URL ? new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }) : undefined;
  const began = performance.now();
  try {
    for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
      // A different order each round, so a drift of the machine's speed lands on every subject alike.
      for (let i = 0; i < runners.length; i++) await round(runners[(r + i) % runners.length]!, r, counting, r >= WARMUP_ROUNDS);
    }
  } finally {
    for (const runner of runners) {
      await runner.bot.close();
      await runner.store.close();
    }
    counting?.disconnect();
  }
  const report: ConversationReport = {
    store: REDIS_URL ? 'redis' : 'memory',
    chats: CHATS,
    turnsPerRound: STEPS * CHATS,
    rounds: ROUNDS,
    warmupRounds: WARMUP_ROUNDS,
    concurrency: CONCURRENCY,
    elapsedS: (performance.now() - began) / 1000,
    subjects: runners.map((x) => ({ name: x.name, rounds: x.rounds, wrongReplies: x.wrong, failedTurns: x.failed })),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
