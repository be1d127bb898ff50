/**
 * `express-min`: the hand-written Express handler a careful developer would write: `express.raw()`
 * for the exact bytes, the same checks and answer as node-raw, Express's defaults left as they are.
 */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { WEBHOOK_PATH } from '../lib/callbacks.js';
import { PORT, fetchToken, handleCallback, signatureValid } from './hand-written.js';

const app = express();

app.get('/healthz', (_req, res) => {
  res.json({ ok: true });
});

app.post(WEBHOOK_PATH, express.raw({ type: 'application/json', limit: '1mb' }), (req, res) => {
  const body = req.body as unknown;
  if (!Buffer.isBuffer(body)) return void res.status(400).json({ error: 'invalid_json' });
  if (!signatureValid(body, req.get('bbm-sig'))) return void res.status(401).json({ error: 'invalid_signature' });
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return void res.status(400).json({ error: 'invalid_json' });
  }
  handleCallback(value).then(
    (out) => res.status(out.status).json(out.body),
    () => res.status(500).json({ error: 'internal_error' }),
  );
});

await fetchToken();
const server = app.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
