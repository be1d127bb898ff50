/**
 * A lean stand-in for BBM's token service and Chat API, run as its own process: it checks the
 * bearer token, parses each send, answers every message 200 with a fresh mid, and remembers which
 * callback (by the sequence number in the echoed text) each send answered, so the orchestrator can
 * prove that every callback answered 2xx had its reply delivered. Lean on purpose: it shares the
 * load generator's core and must not be what limits any subject.
 *
 *   GET  /__stats   → { sends, messages, tokenRequests, rejected }
 *   GET  /__seen    → one byte per sequence number: 1 when a reply carrying it arrived
 *   POST /__reset   → forget sends and seen sequence numbers
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CLIENT_CREDENTIALS, seqOfText } from './lib/callbacks.js';

const TOKEN = `bench-token-${process.pid}`;
const MAX_SEQ = 4_000_000;

let seen = new Uint8Array(MAX_SEQ);
let sends = 0;
let messages = 0;
let tokenRequests = 0;
let rejected = 0;
let rejectedAuth = 0;
let lastRejected = '';
let midCounter = 0;

function answer(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

interface SendBody {
  messages?: { index?: number; text?: unknown }[];
}

function onSend(req: IncomingMessage, res: ServerResponse, raw: Buffer): void {
  if (req.headers.authorization !== `Bearer ${TOKEN}`) {
    rejected++;
    rejectedAuth++;
    lastRejected = `${req.method} ${req.url} auth=${String(req.headers.authorization).slice(0, 20)} len=${raw.length}`;
    answer(res, 401, '{"error":"invalid token"}');
    return;
  }
  let body: SendBody;
  try {
    body = JSON.parse(raw.toString('utf8')) as SendBody;
  } catch {
    rejected++;
    lastRejected = `${req.method} ${req.url} bad json len=${raw.length}: ${raw.toString('utf8').slice(0, 80)}`;
    answer(res, 400, '{"error":"body is not JSON"}');
    return;
  }
  sends++;
  const list = body.messages ?? [];
  const ts = Date.now();
  let out = '';
  for (let i = 0; i < list.length; i++) {
    const m = list[i]!;
    const seq = seqOfText(m.text);
    if (seq >= 0 && seq < MAX_SEQ) seen[seq] = 1;
    messages++;
    out += `${i === 0 ? '' : ','}{"index":${m.index ?? i + 1},"type":"result","mid":"up${++midCounter}","ts":${ts},"result":{"code":200}}`;
  }
  answer(res, 200, list.length === 0 ? '{}' : `{"messages":[${out}]}`);
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    const url = req.url ?? '/';
    if (req.method === 'POST' && url.startsWith('/v1/chats/')) return onSend(req, res, raw);
    if (req.method === 'POST' && url === '/oauth/token') {
      tokenRequests++;
      if (req.headers.authorization !== `Basic ${CLIENT_CREDENTIALS}`) return answer(res, 401, '{"error":"invalid_client"}');
      return answer(res, 200, JSON.stringify({ access_token: TOKEN, expires_in: 3600, token_type: 'Bearer' }));
    }
    if (url === '/__stats') return answer(res, 200, JSON.stringify({ sends, messages, tokenRequests, rejected, rejectedAuth, lastRejected }));
    if (url === '/__seen') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': seen.length });
      res.end(Buffer.from(seen.buffer, seen.byteOffset, seen.byteLength));
      return;
    }
    if (req.method === 'POST' && url === '/__reset') {
      seen = new Uint8Array(MAX_SEQ);
      sends = messages = rejected = rejectedAuth = 0;
      lastRejected = '';
      return answer(res, 200, '{}');
    }
    answer(res, 404, '{"error":"not found"}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
