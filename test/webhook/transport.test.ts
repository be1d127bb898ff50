/**
 * Refusals reach the sender: a callback refused before its body is read (413 over the limit, 401
 * without a usable BBM-Sig) is answered, then the rest of the body is read and discarded (bounded)
 * before the connection closes. Closing with unread bytes makes the kernel reset the connection,
 * and a sender still writing then sees EPIPE/ECONNRESET instead of the status.
 *
 * Raw sockets on purpose: the sender's view (what it read, which write failed) is what is tested.
 * Each case runs under our node:http server and under the Express router.
 */
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import express from 'express';
import { startServer } from '../../src/server/http-server.js';
import { createWebhookRouter } from '../../src/webhook/router.js';
import { bytes, KEY, rawRequest, signedHeaders, silentLogger, StubDispatcher, textCallback } from './helpers.js';

const LIMIT = 1024 * 1024;
const MiB = 1024 * 1024;

interface Host {
  port: number;
  close(): Promise<void>;
}

async function nodeHost(): Promise<Host> {
  const running = await startServer({
    port: 0,
    host: '127.0.0.1',
    sigKeys: [KEY],
    dispatcher: new StubDispatcher(),
    logger: silentLogger(),
    bodyLimit: LIMIT,
  });
  return { port: running.port, close: async () => void (await running.close(500)) };
}

async function expressHost(): Promise<Host> {
  const app = express();
  app.use(createWebhookRouter({ keys: [KEY], dispatcher: new StubDispatcher(), logger: silentLogger(), bodyLimit: LIMIT }));
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface SendPlan {
  /** Body bytes to send; `Infinity` keeps writing until the server closes. */
  total: number;
  chunk: number;
  /** Pause between chunks: slow enough that the server answers while the sender still writes. */
  gapMs: number;
  /** Chunked transfer encoding instead of a declared length. */
  chunked?: boolean;
  /** Declared Content-Length (defaults to `total`). */
  declared?: number;
  withSignature?: string | null;
  /** Write only the headers, wait for the answer (bounded), then send the body. */
  waitForStatusFirst?: boolean;
  giveUpMs?: number;
}

interface Exchange {
  status: number | undefined;
  received: string;
  /** Code of the sender's socket error, if any, and whether the status had been read by then. */
  error: string | undefined;
  statusBeforeError: boolean;
  /** Whether the status arrived before any body byte was written. */
  statusBeforeBody: boolean;
  written: number;
  wroteAll: boolean;
  /** Milliseconds from the status to the connection closing. */
  closedAfterStatusMs: number | undefined;
  timedOut: boolean;
}

/** One POST over a raw socket, following `plan`; settles when the connection closes or after giveUpMs. */
function send(port: number, plan: SendPlan): Promise<Exchange> {
  const declared = plan.declared ?? plan.total;
  const sig = plan.withSignature === undefined ? signedHeaders(Buffer.from('x'))['bbm-sig'] : plan.withSignature;
  const head =
    'POST /v1/chats HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
    (sig === null ? '' : `BBM-Sig: ${sig}\r\n`) +
    (plan.chunked ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${declared}\r\n`) +
    '\r\n';
  return new Promise<Exchange>((resolve) => {
    // Half-open allowed: like most HTTP clients, keep sending the body after the server's answer.
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const out: Exchange = {
      status: undefined,
      received: '',
      error: undefined,
      statusBeforeError: false,
      statusBeforeBody: false,
      written: 0,
      wroteAll: false,
      closedAfterStatusMs: undefined,
      timedOut: false,
    };
    let statusAt = 0;
    let onStatus: (() => void) | undefined;
    const payload = Buffer.alloc(plan.chunk, 'x');
    const finish = () => {
      clearTimeout(giveUp);
      clearTimeout(waitTimer);
      socket.destroy();
      if (out.status !== undefined) out.closedAfterStatusMs = Date.now() - statusAt;
      resolve(out);
    };
    const giveUp = setTimeout(() => {
      out.timedOut = true;
      finish();
    }, plan.giveUpMs ?? 5_000);
    let waitTimer: NodeJS.Timeout | undefined;

    const writeNext = (): void => {
      if (socket.destroyed || !socket.writable) return;
      if (out.written >= plan.total) {
        if (plan.chunked) socket.write('0\r\n\r\n');
        out.wroteAll = true;
        if (socket.readableEnded) socket.end();
        return;
      }
      const n = Math.min(plan.chunk, plan.total - out.written);
      const data = n === payload.length ? payload : payload.subarray(0, n);
      const framed = plan.chunked ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), data, Buffer.from('\r\n')]) : data;
      socket.write(framed, (err) => {
        if (err) return;
        out.written += n;
        setTimeout(writeNext, plan.gapMs);
      });
    };

    socket.on('connect', () => {
      socket.write(head);
      if (!plan.waitForStatusFirst) return writeNext();
      // Body only after the answer, or after a bounded wait when none comes.
      onStatus = () => writeNext();
      waitTimer = setTimeout(() => {
        onStatus = undefined;
        writeNext();
      }, 1_000);
    });
    socket.on('data', (c: Buffer) => {
      out.received += c.toString('latin1');
      if (out.status === undefined) {
        const m = /^HTTP\/1\.1 (\d{3}) /.exec(out.received);
        if (m) {
          out.status = Number(m[1]);
          statusAt = Date.now();
          out.statusBeforeBody = out.written === 0;
          clearTimeout(waitTimer);
          onStatus?.();
        }
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      out.error ??= err.code ?? err.message;
      out.statusBeforeError = out.status !== undefined;
    });
    socket.on('end', () => {
      if (out.wroteAll) socket.end();
    });
    socket.on('close', finish);
  });
}

/** The JSON body of the answer in `received`. */
function answerBody(received: string): unknown {
  const start = received.indexOf('\r\n\r\n');
  return JSON.parse(received.slice(start + 4));
}

async function expectHealthy(host: Host): Promise<void> {
  const url = `http://127.0.0.1:${host.port}`;
  expect((await rawRequest(`${url}/healthz`)).status).toBe(200);
  const body = bytes(textCallback());
  expect((await rawRequest(`${url}/v1/chats`, { method: 'POST', headers: signedHeaders(body), body })).status).toBe(200);
}

describe.each([
  ['node:http server (startServer)', nodeHost],
  ['Express router', expressHost],
])('%s', (_name, start) => {
  let host: Host;
  beforeAll(async () => {
    host = await start();
  });
  afterAll(() => host.close());

  it.each([
    ['a declared Content-Length', false],
    ['a chunked body', true],
  ])('a 1.5 MiB callback with %s always reads 413, 20 times out of 20', async (_how, chunked) => {
    for (let i = 0; i < 20; i++) {
      const ex = await send(host.port, { total: 1.5 * MiB, chunk: 64 * 1024, gapMs: 2, chunked });
      expect({ i, status: ex.status, error: ex.error, wroteAll: ex.wroteAll }).toEqual({ i, status: 413, error: undefined, wroteAll: true });
      expect(answerBody(ex.received)).toMatchObject({ error: 'body_too_large' });
      expect(ex.received).toMatch(/\r\nconnection: close\r\n/i);
    }
    await expectHealthy(host);
  });

  it('a sender writing fast forever is cut off after a bounded number of bytes, and the server stays healthy', async () => {
    const ex = await send(host.port, { total: Infinity, chunk: 64 * 1024, gapMs: 0, declared: 1_000 * MiB, giveUpMs: 10_000 });
    expect(ex.timedOut).toBe(false);
    expect(ex.status).toBe(413);
    expect(ex.error === undefined || ex.statusBeforeError).toBe(true);
    // The server reads 4 MiB past the refusal, then cuts; kernel buffers hold a few more.
    expect(ex.written).toBeGreaterThan(4 * MiB);
    expect(ex.written).toBeLessThan(64 * MiB);
    await expectHealthy(host);
  });

  it('a sender dribbling forever is cut off after a bounded time, and the server stays healthy', async () => {
    const ex = await send(host.port, { total: Infinity, chunk: 1024, gapMs: 20, declared: 1_000 * MiB, giveUpMs: 8_000 });
    expect(ex.timedOut).toBe(false);
    expect(ex.status).toBe(413);
    expect(ex.error === undefined || ex.statusBeforeError).toBe(true);
    // Read for the time bound (2 s), then cut: neither at once nor for as long as the sender likes.
    expect(ex.closedAfterStatusMs).toBeGreaterThanOrEqual(1_500);
    expect(ex.closedAfterStatusMs).toBeLessThan(4_000);
    await expectHealthy(host);
  });

  it('a callback without BBM-Sig gets 401 before its body is sent, and can then send it without error', async () => {
    // Under the limit: only the missing header can explain an answer before the body.
    const ex = await send(host.port, { total: 900 * 1024, chunk: 64 * 1024, gapMs: 1, withSignature: null, waitForStatusFirst: true });
    expect(ex.statusBeforeBody).toBe(true);
    expect(ex.status).toBe(401);
    expect(answerBody(ex.received)).toMatchObject({ error: 'invalid_signature', message: expect.stringMatching(/missing/) });
    expect({ error: ex.error, wroteAll: ex.wroteAll }).toEqual({ error: undefined, wroteAll: true });
    await expectHealthy(host);
  });

  it('a sender without BBM-Sig writing forever is cut off after about one body limit, not the 4 MiB a signed one may drain', async () => {
    const ex = await send(host.port, { total: Infinity, chunk: 64 * 1024, gapMs: 0, declared: 1_000 * MiB, withSignature: null, giveUpMs: 10_000 });
    expect(ex.timedOut).toBe(false);
    expect(ex.status).toBe(401);
    expect(ex.error === undefined || ex.statusBeforeError).toBe(true);
    // The server drops at most LIMIT bytes, then cuts; kernel buffers hold a few MiB more, the same
    // for both senders: measured against a signed oversized sender, which may drain LIMIT + 4 MiB.
    const signed = await send(host.port, { total: Infinity, chunk: 64 * 1024, gapMs: 0, declared: 1_000 * MiB, giveUpMs: 10_000 });
    expect(signed.status).toBe(413);
    expect(signed.written - ex.written).toBeGreaterThan(2 * MiB);
    await expectHealthy(host);
  });

  it.each([
    ['43 characters', 'A'.repeat(42) + '='],
    ['45 characters', 'A'.repeat(44) + '='],
    ['a character outside base64', 'A'.repeat(42) + '%='],
    ['URL-safe base64', 'A'.repeat(42) + '_='],
    ['padding in the middle', 'A'.repeat(20) + '=' + 'A'.repeat(23)],
  ])('a BBM-Sig of %s gets 401 before the body is sent', async (_what, sig) => {
    const ex = await send(host.port, { total: 256 * 1024, chunk: 64 * 1024, gapMs: 1, withSignature: sig, waitForStatusFirst: true, giveUpMs: 2_000 });
    expect(ex.statusBeforeBody).toBe(true);
    expect(ex.status).toBe(401);
    expect(answerBody(ex.received)).toMatchObject({ error: 'invalid_signature', message: expect.stringMatching(/malformed/) });
  });
});
