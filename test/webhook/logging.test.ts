import axios from 'axios';
import express from 'express';
import request from 'supertest';
import { loadConfig } from '../../src/server/config.js';
import { createLogger, REDACTED_PATHS, serializeError } from '../../src/server/logger.js';
import { createWebhookRouter } from '../../src/webhook/router.js';
import { signBody } from '../../src/webhook/signature.js';
import { bytes, KEY, MemoryLog, MTOK, sendBytes, signedHeaders, StubDispatcher, textCallback } from './helpers.js';

const BEARER = 'Bearer eyJhbGciOiJSUzI1NiJ9.secret-access-token';
const CLIENT_CREDENTIALS = 'Y2xpZW50LWlkOmNsaWVudC1zZWNyZXQtdmFsdWU=';

describe('webhook logging', () => {
  it('writes one JSON line per callback with chatId, counts, status and duration, and no secrets', async () => {
    const log = new MemoryLog();
    // User code that logs carelessly: the callback, the headers, the config.
    const dispatcher = new StubDispatcher((callback, { log: cbLog }) => {
      cbLog.info({ callback }, 'got callback');
      cbLog.info({ req: { headers: { authorization: BEARER, 'bbm-sig': 'copied-signature' } } }, 'headers');
      cbLog.info({ config: { sigKeys: [KEY], credentials: { clientCredentials: CLIENT_CREDENTIALS } } }, 'config');
      return callback.messages!.map((m, i) => ({ mid: m.mid, result: { code: i === 0 ? 200 : 500 } }));
    });
    const app = express();
    app.use('/bbm', createWebhookRouter({ keys: [KEY], dispatcher, logger: createLogger('info', log.stream) }));

    const body = bytes(textCallback(['one', 'two'], { actions: [{ type: 'typing', ts: 1 }] }));
    const headers = signedHeaders(body);
    const res = await sendBytes(request(app).post('/bbm/v1/chats').set(headers).set('authorization', BEARER), body);
    expect(res.status).toBe(207);

    const lines = log.entries().filter((e) => e.msg === 'callback');
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toMatchObject({ chatId: '837680', messages: 2, actions: 1, status: 207 });
    expect(typeof line.durationMs).toBe('number');
    expect(line.durationMs as number).toBeGreaterThanOrEqual(0);
    expect(typeof line.level).toBe('number');

    const all = log.text();
    expect(log.lines.length).toBeGreaterThanOrEqual(4);
    for (const secret of [headers['bbm-sig']!, MTOK, BEARER, 'secret-access-token', CLIENT_CREDENTIALS, KEY, 'copied-signature']) {
      expect(all).not.toContain(secret);
    }
    // The callback was logged, minus its token.
    const logged = log.entries().find((e) => e.msg === 'got callback') as { callback: Record<string, unknown> };
    expect(logged.callback.chatId).toBe('837680');
    expect(logged.callback.mTok).toBe('[redacted]');
  });

  it('logs nothing secret when a callback is refused', async () => {
    const log = new MemoryLog();
    const app = express();
    app.use('/bbm', createWebhookRouter({ keys: [KEY], dispatcher: new StubDispatcher(), logger: createLogger('trace', log.stream) }));
    const body = bytes(textCallback());
    const wrongSig = signBody(body, 'wrong-key');
    await sendBytes(request(app).post('/bbm/v1/chats').set({ 'content-type': 'application/json', 'bbm-sig': wrongSig }), body);
    const text = log.text();
    expect(text).not.toContain(wrongSig);
    expect(text).not.toContain(MTOK);
  });
});

describe('REDACTED_PATHS', () => {
  it('censors request headers and mTok', () => {
    const log = new MemoryLog();
    createLogger('info', log.stream).info({ req: { headers: { authorization: 'x-auth', 'bbm-sig': 'y-sig' } }, mTok: 'z-tok' }, 'r');
    const [entry] = log.entries() as [{ req: { headers: Record<string, string> }; mTok: string }];
    expect(entry.req.headers.authorization).toBe('[redacted]');
    expect(entry.req.headers['bbm-sig']).toBe('[redacted]');
    expect(entry.mTok).toBe('[redacted]');
    expect(log.text()).not.toMatch(/x-auth|y-sig|z-tok/);
  });

  it('is a list of strings pino accepts', () => {
    expect(REDACTED_PATHS.every((p) => typeof p === 'string' && p.length > 0)).toBe(true);
    expect(() => createLogger('info', new MemoryLog().stream)).not.toThrow();
  });

  it('censors a loaded configuration', () => {
    const config = loadConfig({
      envFile: false,
      env: { BBM_SIG_KEY: `${KEY},next-key`, BBM_CLIENT_CREDENTIALS: CLIENT_CREDENTIALS, BBM_TOKEN_URL: 'https://auth.example.com/oauth2/token' },
    });
    const log = new MemoryLog();
    const logger = createLogger('info', log.stream);
    logger.info({ config }, 'starting');
    logger.info(config, 'starting, flat');
    expect(log.lines).toHaveLength(2);
    for (const secret of [KEY, 'next-key', CLIENT_CREDENTIALS]) expect(log.text()).not.toContain(secret);
  });

  it('keeps the Authorization header, credentials and mTok of an HTTP client error out of the log', async () => {
    const log = new MemoryLog();
    const logger = createLogger('info', log.stream);
    // Port 1 on loopback refuses at once: a real AxiosError, carrying its request config.
    const err = await axios
      .post(`http://127.0.0.1:1/v1/chats/837680?mTok=${MTOK}`, { messages: [] }, { headers: { Authorization: BEARER }, timeout: 2_000 })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeDefined();
    logger.error({ err }, 'send failed');
    logger.error(err as Error, 'send failed, error first');
    const tokenErr = await axios
      .post('http://127.0.0.1:1/token', 'grant_type=client_credentials', {
        headers: { Authorization: `Basic ${CLIENT_CREDENTIALS}` },
        timeout: 2_000,
      })
      .then(() => undefined, (e: unknown) => e);
    logger.error({ err: tokenErr }, 'token failed');

    const text = log.text();
    for (const secret of [MTOK, 'secret-access-token', CLIENT_CREDENTIALS]) expect(text).not.toContain(secret);
    const entry = log.entries()[0] as { err: { http: { method: string; url: string }; message: string } };
    expect(entry.err.http).toMatchObject({ method: 'POST', url: 'http://127.0.0.1:1/v1/chats/837680' });
    expect(entry.err.message).toMatch(/ECONNREFUSED/);
  });

  it('serializes ordinary errors as pino does', () => {
    const out = serializeError(new TypeError('plain')) as { type: string; message: string; stack: string };
    expect(out.type).toBe('TypeError');
    expect(out.message).toBe('plain');
    expect(out.stack).toMatch(/TypeError: plain/);
    expect(serializeError('not an error')).toBe('not an error');
  });

  it('logs a deeply nested object without throwing', () => {
    const log = new MemoryLog();
    const logger = createLogger('info', log.stream);
    const root: Record<string, unknown> = {};
    let node = root;
    for (let i = 0; i < 100_000; i++) {
      const next: Record<string, unknown> = {};
      node.child = next;
      node = next;
    }
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(() => logger.info({ root, cyclic }, 'deep')).not.toThrow();
    expect(log.lines).toHaveLength(1);
    expect(log.entries()[0]!.msg).toBe('deep');
  });
});
