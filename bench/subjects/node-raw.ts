/**
 * `node-raw`: the floor. A bare `node:http` server that reads the body, checks the HMAC with
 * timingSafeEqual, JSON.parses it, sends the echo where there is a text, and answers the
 * per-message results.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WEBHOOK_PATH } from '../lib/callbacks.js';
import { PORT, fetchToken, handleCallback, signatureValid } from './hand-written.js';

const LIMIT = 1024 * 1024;

function reply(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') return reply(res, 200, { ok: true });
  if (req.method !== 'POST' || req.url !== WEBHOOK_PATH) return reply(res, 404, { error: 'not_found' });
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= LIMIT) chunks.push(c);
  });
  req.on('end', () => {
    if (size > LIMIT) return reply(res, 413, { error: 'body_too_large' });
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    if (!signatureValid(body, req.headers['bbm-sig'])) return reply(res, 401, { error: 'invalid_signature' });
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      return reply(res, 400, { error: 'invalid_json' });
    }
    handleCallback(value).then(
      (out) => reply(res, out.status, out.body),
      () => reply(res, 500, { error: 'internal_error' }),
    );
  });
});

await fetchToken();
server.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
