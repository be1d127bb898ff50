/**
 * Runs the conversation scenario: a fresh subject process (subjects/conversation.ts) per store,
 * pinned to the server core, one after the other; returns what each reported.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConversationReport } from './conversation-report.js';
import { spawnNode, stopChild } from './proc.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SUBJECT = join(HERE, '..', 'subjects', 'conversation.js');

/** Where the subject keeps its state: the memory store, or a Redis (keys under `prefix`). */
export type ConversationStore = { kind: 'memory' } | { kind: 'redis'; url: string; prefix: string; /** The bench's own redis-server. */ pid?: number };

export interface ConversationRunOptions {
  core: number;
  /** The subject's working directory (the bench's empty temporary one). */
  cwd: string;
  /** CONV_* settings passed on (CONV_ROUNDS, CONV_WARMUP_ROUNDS, CONV_CHATS, CONV_CONCURRENCY). */
  env?: Record<string, string>;
  /** A subject taking longer than this is stopped (ms, default 120 s). */
  timeoutMs?: number;
}

/**
 * The CONV_* knobs of this process's environment (BENCH_CONVERSATION_ROUNDS → CONV_ROUNDS, …).
 * @example conversationScenario({ kind: 'memory' }, { core: 0, cwd, env: conversationKnobs() });
 */
export function conversationKnobs(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [bench, conv] of [
    ['BENCH_CONVERSATION_ROUNDS', 'CONV_ROUNDS'],
    ['BENCH_CONVERSATION_WARMUP', 'CONV_WARMUP_ROUNDS'],
    ['BENCH_CONVERSATION_CHATS', 'CONV_CHATS'],
    ['BENCH_CONVERSATION_CONCURRENCY', 'CONV_CONCURRENCY'],
  ] as const) {
    const value = env[bench];
    if (value) out[conv] = value;
  }
  return out;
}

/**
 * One subject process on `store`, resolved with its report; rejects when it fails, prints no
 * report, or takes longer than `timeoutMs`.
 * @example const report = await conversationScenario({ kind: 'redis', url: redis.url, prefix: redis.prefix }, { core: 0, cwd });
 */
export async function conversationScenario(store: ConversationStore, options: ConversationRunOptions): Promise<ConversationReport> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...options.env,
    ...(store.kind === 'redis' ? { REDIS_URL: store.url, REDIS_PREFIX: store.prefix, ...(store.pid ? { REDIS_PID: String(store.pid) } : {}) } : {}),
  };
  const child = spawnNode(options.core, [SUBJECT], env, { cwd: options.cwd });
  let out = '';
  child.proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const timeoutMs = options.timeoutMs ?? 120_000;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
  const code = await Promise.race([child.exited, late]);
  clearTimeout(timer);
  if (code === 'late') {
    await stopChild(child);
    throw new Error(`bench: the conversation subject (${store.kind}) took over ${timeoutMs / 1000} s`);
  }
  const line = out.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`bench: the conversation subject (${store.kind}) exited ${String(code)} without a report`);
  return JSON.parse(line) as ConversationReport;
}
