/**
 * The memory scenario's subject: what `npm start` runs (runFromEnvironment: configuration from the
 * environment, bots/echo, the Chat API client, metrics, logging), fed callbacks without sockets.
 *
 * A million callbacks cannot cross loopback HTTP within the bench's three minutes on a small
 * machine (the HTTP scenarios show ~5,000 a second at most), so this process hands each one to its
 * own HTTP server as a request event, with the signed body already read: from the router on,
 * everything is the framework's own code, sockets and HTTP parsing excepted. Replies still go to
 * the fake Chat API over HTTP.
 *
 * Environment, besides the framework's: MEMORY_CALLBACKS, MEMORY_CHATS, MEMORY_TEXT_EVERY (every
 * n-th callback carries a text, which the echo bot answers; the others an `audio` message, which it
 * handles without answering), MEMORY_MESSAGE_EVERY, MEMORY_CONCURRENCY, MEMORY_DEADLINE_MS. Writes
 * `PROGRESS <n> <2xx> <207> <texts answered 200>` lines to fd 3 (a pipe the bench reads) every
 * `MEMORY_STEP` callbacks, and `DONE ...` once every callback started has been answered.
 */
import { EventEmitter } from 'node:events';
import { createWriteStream } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { runFromEnvironment } from '../../src/server/run.js';
import { MemoryStore } from '../../src/state/memory.js';
import { BOT_ID, WEBHOOK_PATH, sign } from '../lib/callbacks.js';

const TOTAL = Number(process.env.MEMORY_CALLBACKS ?? 1_000_000);
const CHATS = Number(process.env.MEMORY_CHATS ?? 100_000);
const TEXT_EVERY = Number(process.env.MEMORY_TEXT_EVERY ?? 10);
const CONCURRENCY = Number(process.env.MEMORY_CONCURRENCY ?? 100);
const STEP = Number(process.env.MEMORY_STEP ?? 100_000);
/** Experiments: write heap snapshots to /tmp after these many callbacks (MEMORY_SNAPSHOTS=100000,200000). */
const SNAPSHOTS = (process.env.MEMORY_SNAPSHOTS ?? '').split(',').filter(Boolean).map(Number);
/** Epoch ms after which no new callback starts (the bench's time budget); 0 for none. */
const DEADLINE = Number(process.env.MEMORY_DEADLINE_MS ?? 0);
const report = createWriteStream('', { fd: 3 });

/** Every MESSAGE_EVERY-th callback carries a message, the others a typing action only. */
const MESSAGE_EVERY = Number(process.env.MEMORY_MESSAGE_EVERY ?? 1);

/** Whether callback `seq` carries a text (which the echo bot answers with a send). */
export function isText(seq: number): boolean {
  return seq % (MESSAGE_EVERY * TEXT_EVERY) === 0;
}

/** One callback: a typing action, or a message (a text, or an `audio` the echo bot does not answer). */
function body(seq: number): string {
  const k = seq % CHATS;
  const user = `2000${k}`;
  const ts = 1_700_000_000_000 + seq;
  let item: string;
  if (seq % MESSAGE_EVERY !== 0) item = `"actions":[{"type":"typing","ts":${ts}}]`;
  else if (isText(seq)) item = `"messages":[{"index":1,"type":"text","mid":"m${seq}","ts":${ts},"text":"hello #${seq}"}]`;
  else item = `"messages":[{"index":1,"type":"audio","mid":"m${seq}","ts":${ts},"audio":{"url":"https://example.invalid/a/${seq}.ogg"}}]`;
  return (
    `{"mType":"message","chId":"C00012B1E","chatId":"chat-${k}","from":"${user}","to":"${BOT_ID}","mTok":"mtok-${k}",` +
    `${item},"userInfos":{"${user}":{"name":"User ${k}"}}}`
  );
}

/** Just enough of a ServerResponse for the router, the webhook and the metrics. */
class Response extends EventEmitter {
  headersSent = false;
  statusCode = 200;
  constructor(private readonly done: (status: number, text: string) => void) {
    super();
  }
  writeHead(status: number): this {
    this.statusCode = status;
    this.headersSent = true;
    return this;
  }
  setHeader(): this {
    return this;
  }
  end(text?: string): this {
    this.emit('finish');
    this.emit('close');
    this.done(this.statusCode, text ?? '');
    return this;
  }
  destroy(): this {
    this.emit('close');
    this.done(0, '');
    return this;
  }
}

/** What the memory store holds, by kind: `chat:100000/21.3MB ...` (entries, bytes of key and stored text). */
function storeNote(store: unknown): string {
  if (!(store instanceof MemoryStore)) return '';
  const by = new Map<string, { n: number; bytes: number }>();
  for (const [key, text] of store.records()) {
    const kind = key.slice(0, Math.max(1, key.indexOf(':')));
    const e = by.get(kind) ?? { n: 0, bytes: 0 };
    e.n++;
    e.bytes += key.length + text.length;
    by.set(kind, e);
  }
  return ' store ' + [...by].map(([p, e]) => `${p}:${e.n}/${(e.bytes / 1e6).toFixed(1)}MB`).join(' ');
}

/** With --expose-gc (experiments): the live heap after a full collection. */
function heapNote(): string {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return '';
  gc();
  const m = process.memoryUsage();
  return ` heapUsed=${Math.round(m.heapUsed / 1e6)}MB heapTotal=${Math.round(m.heapTotal / 1e6)}MB external=${Math.round(m.external / 1e6)}MB`;
}

async function main(): Promise<void> {
  const running = await runFromEnvironment();
  const server = running.server;
  let sent = 0;
  let ok = 0;
  let partial = 0;
  let textsOk = 0;
  let seq = 0;
  // Each callback starts in a macrotask of its own, as a request arriving on a socket does: I/O
  // completions (the log's writes to stdout, the Chat API's answers) run between callbacks as they
  // would in the server. (Chained on promises alone, the process would starve them and pino's
  // asynchronous stdout buffer would grow without end: an artefact of driving it this way.)
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
  const one = (s: number) =>
    new Promise<void>((resolve) => {
      const text = body(s);
      const raw = Buffer.from(text);
      const req = {
        method: 'POST',
        url: WEBHOOK_PATH,
        headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(raw.length), 'bbm-sig': sign(text) },
        rawBody: raw,
      } as unknown as IncomingMessage;
      const res = new Response((status, answer) => {
        if (status >= 200 && status < 300) ok++;
        if (status === 207) partial++;
        if (isText(s) && status === 200 && answer.includes('"code":200')) textsOk++;
        resolve();
      });
      server.emit('request', req, res as unknown as ServerResponse);
    });
  const worker = async () => {
    while (seq < TOTAL) {
      if (DEADLINE !== 0 && Date.now() >= DEADLINE) break;
      const s = seq++;
      await tick();
      await one(s);
      sent++;
      if (sent % STEP === 0) report.write(`PROGRESS ${sent} ${ok} ${partial} ${textsOk}${heapNote()}\n`);
      if (SNAPSHOTS.includes(sent)) writeHeapSnapshot(`/tmp/bench-heap-${sent}.heapsnapshot`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const m = process.memoryUsage();
  const heap = ` heap total=${Math.round(m.heapTotal / 1e6)}MB used=${Math.round(m.heapUsed / 1e6)}MB external=${Math.round(m.external / 1e6)}MB`;
  report.write(`DONE ${sent} ${ok} ${partial} ${textsOk}${heap}${storeNote(running.store)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
