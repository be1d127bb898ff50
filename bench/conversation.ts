/**
 * The conversation scenario alone (`npm run bench` runs it too): a two-step dialog per chat over
 * 1000 chats against a plain handler doing the same turns, in memory and with Redis, in well under
 * a minute.
 *
 *   npx tsc -p bench/tsconfig.json && node dist/bench/conversation.js
 *
 * Redis: the bench's own redis-server when it is installed, else BENCH_REDIS_URL (see
 * lib/redis.ts); BENCH_CONVERSATION_STORES=memory skips it. BENCH_CONVERSATION_ROUNDS (15 in memory, 7 with Redis),
 * BENCH_CONVERSATION_WARMUP (2), BENCH_CONVERSATION_CHATS (1000), BENCH_CONVERSATION_CONCURRENCY (50).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conversationScenario, conversationKnobs, type ConversationStore } from './lib/conversation.js';
import { conversationTable, type ConversationReport } from './lib/conversation-report.js';
import { describeMachine, pinSelf, TASKSET } from './lib/proc.js';
import { startBenchRedis, type BenchRedis } from './lib/redis.js';

const SERVER_CORE = 0;
const HELPER_CORE = 1;

async function main(): Promise<void> {
  const began = Date.now();
  const pinned = pinSelf(HELPER_CORE);
  const machine = describeMachine();
  console.log(`bench conversation: ${machine.cpu ?? '?'} (${machine.cores ?? '?'} cores), Node ${process.version}`);
  console.log(TASKSET && pinned ? `  the subject is pinned to core ${SERVER_CORE}, Redis to core ${HELPER_CORE}` : '  taskset is not available: nothing is pinned, numbers are noisier');
  const stores = (process.env.BENCH_CONVERSATION_STORES ?? 'memory,redis').split(',').map((s) => s.trim());
  const cwd = mkdtempSync(join(tmpdir(), 'bbm-bench-conv-'));
  let redis: BenchRedis | undefined;
  const reports: ConversationReport[] = [];
  try {
    const run = (store: ConversationStore) => conversationScenario(store, { core: SERVER_CORE, cwd, env: conversationKnobs() });
    if (stores.includes('memory')) reports.push(await run({ kind: 'memory' }));
    if (stores.includes('redis')) {
      redis = await startBenchRedis(HELPER_CORE);
      console.log(`  Redis: ${redis.describe}`);
      reports.push(await run({ kind: 'redis', url: redis.url, prefix: redis.prefix, ...(redis.pid ? { pid: redis.pid } : {}) }));
    }
  } finally {
    await redis?.stop();
    rmSync(cwd, { recursive: true, force: true });
  }
  console.log('');
  console.log(conversationTable(reports));
  console.log(`\nbench conversation: done in ${Math.round((Date.now() - began) / 1000)} s`);
  const bad = reports.flatMap((r) => r.subjects).some((s) => s.wrongReplies + s.failedTurns > 0);
  if (bad) {
    console.error('bench conversation: some replies were wrong or some turns failed (see the table)');
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
