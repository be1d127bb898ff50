import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { SERVER_TIMEOUTS, startServer, type RunningServer, type ServerOptions } from '../../src/server/http-server.js';
import { Lifecycle } from '../../src/webhook/lifecycle.js';
import {
  bytes,
  deferred,
  KEY,
  MemoryLog,
  rawRequest,
  signedHeaders,
  silentLogger,
  sleep,
  StubDispatcher,
  textCallback,
  type RawRequestOptions,
} from '../webhook/helpers.js';

const started: RunningServer[] = [];

async function serve(options: Partial<ServerOptions> = {}): Promise<RunningServer> {
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    sigKeys: [KEY],
    dispatcher: new StubDispatcher(),
    logger: silentLogger(),
    bodyLimit: 64 * 1024,
    ...options,
  });
  started.push(server);
  return server;
}

afterAll(async () => {
  await Promise.all(started.map((s) => s.close(500)));
});

function postCallback(server: RunningServer, value: unknown = textCallback(), extra: RawRequestOptions = {}, path = '/v1/chats') {
  const body = bytes(value);
  return rawRequest(`${server.url}${path}`, { method: 'POST', headers: signedHeaders(body), body, ...extra });
}

/**
 * Opens a raw connection, writes `head`, then one character of `drip` every `everyMs`. Resolves with
 * what the server sent once it closes the connection, or after `giveUpMs`.
 */
function dribble(port: number, head: string, drip: string, everyMs: number, giveUpMs = 4_000) {
  return new Promise<{ data: string; elapsedMs: number; closedByServer: boolean }>((resolve) => {
    const t0 = Date.now();
    const socket = connect(port, '127.0.0.1');
    let data = '';
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closedByServer: boolean) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ data, elapsedMs: Date.now() - t0, closedByServer });
    };
    const giveUp = setTimeout(() => finish(false), giveUpMs);
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (i < drip.length && socket.writable) socket.write(drip[i++]!);
      }, everyMs);
    });
    socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true));
  });
}

describe('startServer: routes', () => {
  let server: RunningServer;
  const dispatcher = new StubDispatcher();
  beforeAll(async () => {
    server = await serve({ dispatcher });
  });

  it('answers a signed callback on /v1/chats', async () => {
    const res = await postCallback(server);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.json).toEqual({ messages: [{ mid: 'm1', result: { code: 200 } }] });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('answers callbacks under any prefix ending in /v1/chats, query strings ignored', async () => {
    expect((await postCallback(server, textCallback(), {}, '/bbm/v1/chats?x=1')).status).toBe(200);
  });

  it('answers 401 to an unsigned callback', async () => {
    const res = await rawRequest(`${server.url}/v1/chats`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(401);
  });

  it('serves /healthz and /readyz, 405 and 404 otherwise', async () => {
    expect((await rawRequest(`${server.url}/healthz`)).json).toEqual({ status: 'ok' });
    expect((await rawRequest(`${server.url}/readyz`)).status).toBe(200);
    expect((await rawRequest(`${server.url}/healthz`, { method: 'HEAD' })).status).toBe(200);
    const get = await rawRequest(`${server.url}/v1/chats`);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect((await rawRequest(`${server.url}/nothing-here`)).status).toBe(404);
  });

  it('answers 413 over the limit, declared or chunked', async () => {
    const big = bytes(textCallback(['x'.repeat(100 * 1024)]));
    const declared = await rawRequest(`${server.url}/v1/chats`, { method: 'POST', headers: signedHeaders(big), body: big });
    expect(declared.status).toBe(413);
    expect(declared.json).toMatchObject({ error: 'body_too_large' });

    const chunked = await rawRequest(`${server.url}/v1/chats`, {
      method: 'POST',
      headers: { ...signedHeaders(big), 'transfer-encoding': 'chunked' },
      body: big,
    });
    expect(chunked.status).toBe(413);
  });

  it('answers 415 to an unknown Content-Encoding', async () => {
    const body = bytes(textCallback());
    const res = await rawRequest(`${server.url}/v1/chats`, {
      method: 'POST',
      headers: { ...signedHeaders(body), 'content-encoding': 'gzip' },
      body,
    });
    expect(res.status).toBe(415);
    expect(res.json).toMatchObject({ error: 'unsupported_encoding' });
  });

  it('answers 500 when the dispatcher throws, and keeps serving', async () => {
    const log = new MemoryLog();
    const failing = await serve({ dispatcher: new StubDispatcher(() => Promise.reject(new Error('boom'))), logger: log.logger() });
    expect((await postCallback(failing)).status).toBe(500);
    expect((await rawRequest(`${failing.url}/healthz`)).status).toBe(200);
    expect(log.entries().some((e) => e.level === 50)).toBe(true);
  });
});

describe('startServer: slow clients', () => {
  it('uses timeouts far below Node defaults', async () => {
    const server = await serve();
    expect(server.server.headersTimeout).toBe(SERVER_TIMEOUTS.headersTimeoutMs);
    expect(server.server.requestTimeout).toBe(SERVER_TIMEOUTS.requestTimeoutMs);
    expect(SERVER_TIMEOUTS.headersTimeoutMs).toBeLessThan(60_000);
    expect(SERVER_TIMEOUTS.requestTimeoutMs).toBeLessThan(300_000);
  });

  it('cuts off a client dribbling its body once requestTimeout passes', async () => {
    const dispatcher = new StubDispatcher();
    const server = await serve({ dispatcher, timeouts: { requestTimeoutMs: 300, headersTimeoutMs: 200 } });
    expect(server.server.requestTimeout).toBe(300);
    const body = bytes(textCallback());
    const head =
      `POST /v1/chats HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `BBM-Sig: ${signedHeaders(body)['bbm-sig']}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const result = await dribble(server.port, head, body.toString('latin1'), 50);
    expect(result.closedByServer).toBe(true);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(250);
    expect(result.elapsedMs).toBeLessThan(2_500);
    if (result.data.length > 0) expect(result.data).toMatch(/^HTTP\/1\.1 408 /);
    expect(dispatcher.calls).toHaveLength(0);
  });

  it('cuts off a client dribbling its headers once headersTimeout passes', async () => {
    const server = await serve({ timeouts: { headersTimeoutMs: 200, requestTimeoutMs: 1_000 } });
    const result = await dribble(server.port, 'POST /v1/chats HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: ' + 'a'.repeat(200), 40);
    expect(result.closedByServer).toBe(true);
    expect(result.elapsedMs).toBeLessThan(2_500);
    if (result.data.length > 0) expect(result.data).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('keeps a headers timeout no longer than the request timeout', async () => {
    const server = await serve({ timeouts: { requestTimeoutMs: 400 } });
    expect(server.server.headersTimeout).toBeLessThanOrEqual(400);
  });
});

describe('startServer: HTTPS', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bbm-tls-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS with the configured certificate', async () => {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
    });
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    writeFileSync(certFile, pems.cert);
    writeFileSync(keyFile, pems.private);

    const server = await serve({ tls: { certFile, keyFile } });
    expect(server.url).toBe(`https://127.0.0.1:${server.port}`);

    // Trusting exactly this certificate: the handshake and the name check both pass.
    const health = await rawRequest(`${server.url}/healthz`, { tls: { ca: pems.cert } });
    expect(health.status).toBe(200);
    const insecure = await rawRequest(`${server.url}/healthz`, { tls: { rejectUnauthorized: false } });
    expect(insecure.status).toBe(200);

    const callback = await postCallback(server, textCallback(), { tls: { ca: pems.cert } });
    expect(callback.status).toBe(200);
    expect(callback.json).toEqual({ messages: [{ mid: 'm1', result: { code: 200 } }] });

    // Plain HTTP to the HTTPS port is not served.
    await expect(rawRequest(`http://127.0.0.1:${server.port}/healthz`, { timeoutMs: 2_000 })).rejects.toThrow();
  });
});

describe('startServer: graceful shutdown', () => {
  it('answers 503 on /v1/chats and /readyz while the shared lifecycle drains', async () => {
    const lifecycle = new Lifecycle();
    const server = await serve({ lifecycle });
    await lifecycle.drain(0);
    const res = await postCallback(server);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect((await rawRequest(`${server.url}/readyz`)).status).toBe(503);
    expect((await rawRequest(`${server.url}/healthz`)).status).toBe(200);
  });

  it('finishes a callback in flight, refuses new ones, and resolves true', async () => {
    const entered = deferred();
    const dispatcher = new StubDispatcher(async (cb) => {
      entered.resolve();
      await sleep(200);
      return [{ mid: cb.messages![0]!.mid, result: { code: 200 } }];
    });
    const server = await serve({ dispatcher });
    const agent = new Agent({ keepAlive: true });
    try {
      // A keep-alive connection that is idle when shutdown starts.
      expect((await rawRequest(`${server.url}/healthz`, { agent })).status).toBe(200);

      const inFlight = postCallback(server, textCallback(), { agent });
      await entered.promise;
      const t0 = Date.now();
      const closing = server.close(5_000);
      expect(server.lifecycle.draining).toBe(true);

      // New work during the drain: refused with 503, or the connection itself is refused.
      const late = await postCallback(server, textCallback(), { timeoutMs: 2_000 }).then(
        (res) => res.status,
        (err: NodeJS.ErrnoException) => err.code,
      );
      expect([503, 'ECONNREFUSED', 'ECONNRESET']).toContain(late);

      const answer = await inFlight;
      expect(answer.status).toBe(200);
      expect(answer.headers.connection).toBe('close');
      expect(answer.json).toEqual({ messages: [{ mid: 'm1', result: { code: 200 } }] });
      await expect(closing).resolves.toBe(true);
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(server.server.listening).toBe(false);
      expect(dispatcher.calls).toHaveLength(1);
    } finally {
      agent.destroy();
    }
  });

  it('waits for work the dispatcher tracks past its answer', async () => {
    let backgroundDone = false;
    const dispatcher = new StubDispatcher((cb, ctx) => {
      expect(ctx.track).toBeDefined();
      ctx.track?.(sleep(250).then(() => void (backgroundDone = true)));
      return [{ mid: cb.messages![0]!.mid, result: { code: 200 } }];
    });
    const server = await serve({ dispatcher });
    expect((await postCallback(server)).status).toBe(200);
    expect(backgroundDone).toBe(false);
    await expect(server.close(2_000)).resolves.toBe(true);
    expect(backgroundDone).toBe(true);
  });

  it('gives up on a dispatcher that never finishes: resolves false after about timeoutMs', async () => {
    const entered = deferred();
    const never = new StubDispatcher(() => {
      entered.resolve();
      return new Promise(() => undefined);
    });
    const server = await serve({ dispatcher: never });
    const stuck = postCallback(server, textCallback(), { timeoutMs: 3_000 }).then(
      (res) => res.status,
      (err: Error) => err.message,
    );
    await entered.promise;
    const t0 = Date.now();
    const finished = await server.close(300);
    const elapsed = Date.now() - t0;
    expect(finished).toBe(false);
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(1_500);
    expect(server.server.listening).toBe(false);
    // The stuck client is cut off rather than left hanging.
    expect(typeof (await stuck)).toBe('string');
  });

  it('close() is idempotent', async () => {
    const server = await serve();
    const [a, b] = await Promise.all([server.close(200), server.close(200)]);
    expect(a).toBe(true);
    expect(b).toBe(true);
  });
});
