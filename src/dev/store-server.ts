/**
 * Serves a StateStore to other processes on localhost (the other end is state/remote.ts): the dev
 * runner keeps the bot's MemoryStore here, so a reloaded bot finds its chats and sessions again.
 * Each request runs one whole store method, so the store's atomic steps stay atomic. Requests must
 * carry the per-run random secret: any local process can reach the port, only the bot has it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serialize } from 'node:v8';
import { decodeArgs, isRemoteMethod, type RemoteAnswer } from '../state/remote.js';
import type { StateStore } from '../state/store.js';

/** A session's records are small; this only keeps a runaway body from filling the memory. */
const BODY_LIMIT = 64 * 1024 * 1024;

export interface StoreServer {
  /** Where the store answers, e.g. `http://127.0.0.1:41234/`. */
  url: string;
  /** The bearer token every request must carry. */
  secret: string;
  /** Stops listening (the store itself stays open: its owner closes it). */
  close(): Promise<void>;
}

function reply(res: ServerResponse, status: number, body: Buffer | string): void {
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function authorized(req: IncomingMessage, expected: Buffer): boolean {
  const given = Buffer.from(req.headers.authorization ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= BODY_LIMIT) chunks.push(c);
    });
    req.on('end', () => resolve(size <= BODY_LIMIT ? Buffer.concat(chunks) : undefined));
    req.on('error', reject);
  });
}

/** `{ method, args }` when the body is one, else the reason it is not. */
function parseCall(raw: Buffer): { method: string; args: (string | null)[] } | string {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return 'the body is not JSON';
  }
  const { method, args } = (body ?? {}) as { method?: unknown; args?: unknown };
  if (!isRemoteMethod(method)) return `method: ${JSON.stringify(method)} is not a StateStore method this endpoint serves`;
  if (!Array.isArray(args) || !args.every((a) => a === null || typeof a === 'string')) return 'args: must be an array of JSON texts (null for undefined)';
  return { method, args: args as (string | null)[] };
}

async function handle(store: StateStore, secret: Buffer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST' || req.url !== '/') return reply(res, 404, 'POST / only');
  if (!authorized(req, secret)) return reply(res, 401, 'wrong or missing authorization');
  const raw = await readBody(req);
  if (raw === undefined) return reply(res, 413, `the body is over ${BODY_LIMIT} bytes`);
  const call = parseCall(raw);
  if (typeof call === 'string') return reply(res, 400, call);
  let answer: RemoteAnswer;
  try {
    const fn = (store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[call.method]!;
    answer = { ok: true, value: await fn.apply(store, decodeArgs(call.args)) };
  } catch (error) {
    answer = { ok: false, error };
  }
  let body: Buffer;
  try {
    body = serialize(answer);
  } catch {
    // An error carrying something V8 cannot copy: its class, message and code still can be.
    const err = answer.ok ? new Error('the result could not be serialized') : answer.error;
    body = serialize({ ok: false, error: err instanceof Error ? Object.assign(new Error(err.message), { name: err.name }) : new Error(String(err)) });
  }
  reply(res, 200, body);
}

/**
 * Serves `store` on `host` (a free port), behind a fresh random secret.
 *
 * @example
 * const served = await serveStore(new MemoryStore());
 * spawn(node, [bot], { env: { DEV_STORE_URL: served.url, DEV_STORE_SECRET: served.secret } });
 */
export async function serveStore(store: StateStore, host = '127.0.0.1'): Promise<StoreServer> {
  const secret = randomBytes(24).toString('hex');
  const expected = Buffer.from(`Bearer ${secret}`);
  const server = createServer((req, res) => {
    handle(store, expected, req, res).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, err instanceof Error ? err.message : String(err));
      else res.destroy();
    });
  });
  // Keep-alive connections from the bot: a reload closes them from the bot's side.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/`,
    secret,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
