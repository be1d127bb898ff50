/**
 * What each layer of the framework costs per callback, in CPU µs, measured one layer at a time in
 * this process (pinned to core 0, the fake Chat API on core 1). The HTTP bench shows the whole;
 * this shows its parts, without the noise of two processes and a load generator.
 *
 *   npx tsc -p bench/tsconfig.json && node dist/bench/breakdown.js      (BREAKDOWN_N=20000 by default)
 */
import http from 'node:http';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import axios from 'axios';
import { destination } from 'pino';
import echoBot from '../bots/echo/index.js';
import type { Sender } from '../src/bot/bot.js';
import { ChatClient, type SendResult } from '../src/client/index.js';
import { createHttpStack } from '../src/client/http.js';
import type { ChatCallback } from '../src/protocol/inbound.js';
import { createLogger, flatChild } from '../src/server/logger.js';
import { MemoryStore } from '../src/state/memory.js';
import { parseCallback } from '../src/webhook/parse.js';
import { verifySignature } from '../src/webhook/signature.js';
import { BOT_ID, CLIENT_CREDENTIALS, SIG_KEY, callbackBody, sign } from './lib/callbacks.js';
import { freePort, pinSelf, spawnNode, stopChild, waitReady } from './lib/proc.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const N = Number(process.env.BREAKDOWN_N ?? 20_000);
const CONCURRENCY = 50;

interface Row {
  layer: string;
  us: number;
  note: string;
}

/** CPU µs per call of `fn(i)`, `n` calls, `concurrency` at a time, after a warm-up of n/4. */
async function measure(fn: (i: number) => unknown, n = N, concurrency = 1, offset = 0): Promise<number> {
  const run = async (from: number, count: number) => {
    let next = from;
    const worker = async () => {
      while (next < from + count) await fn(next++);
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  await run(offset + 10_000_000, Math.max(1000, Math.floor(n / 4)));
  const before = process.cpuUsage();
  await run(offset, n);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

const SEND_RESULT: SendResult = { ok: true, messages: [{ index: 1, code: 200, mid: 'up1', ts: 1, state: 'delivered' }], attempts: 1 };

async function main(): Promise<void> {
  pinSelf(0);
  const rows: Row[] = [];
  const add = (layer: string, us: number, note = '') => {
    rows.push({ layer, us: Math.round(us * 10) / 10, note });
    console.log(`  ${layer.padEnd(44)} ${us.toFixed(1).padStart(7)} µs  ${note}`);
  };

  // The webhook's own work on a callback.
  const text = (i: number) => Buffer.from(callbackBody('text', i, 1000));
  add('verify BBM-Sig (HMAC-SHA256, constant time)', await measure((i) => verifySignature(text(i), sign(text(i).toString()), [SIG_KEY])) - (await measure((i) => sign(text(i).toString()))));
  add('parse: JSON + schema check (fast path, zod behind it)', await measure((i) => parseCallback(text(i))));
  add('JSON.parse alone (what the baselines do)', await measure((i) => JSON.parse(text(i).toString('utf8'))));

  const devNull = destination({ dest: '/dev/null', sync: true });
  const logger = createLogger('info', devNull);
  add('logging at info: callback logger + message logger + line', await measure((i) => {
    const log = flatChild(logger, { chatId: `chat-${i % 1000}` });
    log.child({ mid: `m${i}` });
    log.info({ messages: 1, actions: 0, status: 200, durationMs: 1.23 }, 'callback');
  }));
  const quiet = createLogger('warn', devNull);
  add('logging at warn (no info line)', await measure((i) => {
    const log = flatChild(quiet, { chatId: `chat-${i % 1000}` });
    log.child({ mid: `m${i}` });
    log.info({ messages: 1 }, 'callback');
  }));

  // The bot, with a sender that answers at once.
  const stubSender: Sender = {
    send: async () => SEND_RESULT,
    closeChat: async () => {},
  } as unknown as Sender;
  echoBot.init({ sender: stubSender, store: new MemoryStore(), logger: quiet });
  const parsed = (kind: 'typing' | 'text', i: number): ChatCallback => {
    const p = parseCallback(Buffer.from(callbackBody(kind, i, 1000)));
    if (!p.ok) throw new Error(p.message);
    return p.callback;
  };
  const ctx = (i: number) => ({ log: flatChild(quiet, { chatId: `chat-${i % 1000}` }), receivedAt: Date.now() });
  const parseTyping = await measure((i) => parsed('typing', i));
  add('bot: typing callback (dispatch)', (await measure((i) => echoBot.dispatch(parsed('typing', i), ctx(i)), N, CONCURRENCY, 1e6)) - parseTyping);
  const parseText = await measure((i) => parsed('text', i));
  add('bot: text callback, reply to a stub sender', (await measure((i) => echoBot.dispatch(parsed('text', i), ctx(i)), N, CONCURRENCY, 2e6)) - parseText);
  echoBot.close();

  // The Chat API client against a real (lean) fake Chat API on the other core.
  const port = await freePort();
  const upstream = spawnNode(1, [join(HERE, 'upstream.js')], { PATH: process.env.PATH ?? '', PORT: String(port) }, { quiet: true });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${base}/__stats`, upstream);
    const client = new ChatClient({ apiUrl: base, tokenUrl: `${base}/oauth/token`, clientCredentials: CLIENT_CREDENTIALS, botName: 'EchoBot', store: new MemoryStore() });
    const input = (i: number) => ({
      chatId: `chat-${i % 1000}`,
      mTok: `mtok-${i % 1000}`,
      from: BOT_ID,
      to: `2000${i % 1000}`,
      chId: 'C00012B1E',
      messages: [{ type: 'text' as const, text: `hello #${i}` }],
    });
    const clientUs = await measure((i) => client.send(input(i)), N, CONCURRENCY);
    add('ChatClient.send over HTTP (prepared POST, lean adapter)', clientUs);

    // The same POST by hand: a keep-alive agent and http.request.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 128, scheduling: 'lifo' });
    const token = await (await fetch(`${base}/oauth/token`, { method: 'POST', headers: { authorization: `Basic ${CLIENT_CREDENTIALS}` } })).json() as { access_token: string };
    const rawPost = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const body = JSON.stringify({ mType: 'bot', chatId: `chat-${i % 1000}`, from: BOT_ID, to: `2000${i % 1000}`, userInfos: { [BOT_ID]: { name: 'EchoBot' } }, messages: [{ index: 1, type: 'text', text: `hello #${i}` }] });
        const req = http.request({ host: '127.0.0.1', port, path: `/v1/chats/chat-${i % 1000}?mTok=m`, method: 'POST', agent, headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) } }, (res) => {
          let t = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (t += c));
          res.on('end', () => {
            JSON.parse(t);
            resolve();
          });
        });
        req.on('error', reject);
        req.end(body);
      });
    const rawUs = await measure(rawPost, N, CONCURRENCY);
    add('hand-written POST (node:http, keep-alive)', rawUs);

    const headers = { Authorization: `Bearer ${token.access_token}`, 'Content-Type': 'application/json; charset=utf-8' };
    const body = (i: number) => JSON.stringify({ mType: 'bot', chatId: `chat-${i % 1000}`, from: BOT_ID, to: '2', userInfos: { [BOT_ID]: { name: 'EchoBot' } }, messages: [{ index: 1, type: 'text', text: `hello #${i}` }] });
    const lean = createHttpStack({ timeoutMs: 10_000 });
    add('prepared POST (config merged once, lean adapter)', await measure((i) => lean.post(`${base}/v1/chats/c${i % 1000}?mTok=m`, body(i), headers), N, CONCURRENCY));
    add('axios POST, lean adapter', await measure((i) => lean.http.post(`${base}/v1/chats/c${i % 1000}?mTok=m`, body(i), { headers }), N, CONCURRENCY));
    const stock = axios.create({ ...lean.http.defaults, adapter: axios.getAdapter('http') } as Parameters<typeof axios.create>[0]);
    add('axios POST, axios’s own http adapter', await measure((i) => stock.post(`${base}/v1/chats/c${i % 1000}?mTok=m`, body(i), { headers }), N, CONCURRENCY));
    const stubbed = axios.create({
      ...lean.http.defaults,
      adapter: async (config) => ({ data: '{}', status: 200, statusText: 'OK', headers: {}, config }),
    } as Parameters<typeof axios.create>[0]);
    add('axios itself (request pipeline, no transport)', await measure((i) => stubbed.post(`${base}/v1/chats/c${i % 1000}?mTok=m`, body(i), { headers })));
    lean.close();
    agent.destroy();
    await client.close();
  } finally {
    await stopChild(upstream);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
