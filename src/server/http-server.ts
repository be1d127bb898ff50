/**
 * The production server: `node:http` (or `node:https` when a certificate is configured) with a
 * tiny path switch in front of the webhook handler. No Express on the hot path: the webhook needs
 * none of it, and a framework earns its place by being cheaper than the handler it replaces.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from 'pino';
import type { CallbackDispatcher } from '../webhook/dispatcher.js';
import { createWebhookHandler } from '../webhook/handler.js';
import { answerHealth, answerReadiness, type ReadinessCheck } from '../webhook/health.js';
import { Lifecycle } from '../webhook/lifecycle.js';
import { sendError } from '../webhook/respond.js';
import { listen } from './listen.js';

export interface ServerOptions {
  port: number;
  host: string;
  sigKeys: readonly string[];
  dispatcher: CallbackDispatcher;
  logger: Logger;
  bodyLimit: number;
  tls?: { certFile: string; keyFile: string } | undefined;
  readiness?: ReadinessCheck;
  lifecycle?: Lifecycle;
  /** Extra routes (metrics, the emulator's pages...), tried before the 404. Return true when handled. */
  extraRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Overrides for {@link SERVER_TIMEOUTS} (tests use short ones to prove slow clients are cut off). */
  timeouts?: Partial<ServerTimeouts>;
}

export interface ServerTimeouts {
  /** Longest wait for the complete request headers. */
  headersTimeoutMs: number;
  /** Longest wait for the complete request, body included. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
}

export interface RunningServer {
  server: Server;
  lifecycle: Lifecycle;
  /** `http://127.0.0.1:PORT` or `https://...`: where the server answers. */
  url: string;
  port: number;
  /** Stops accepting, waits for in-flight work (at most `timeoutMs`), closes sockets. True when all work finished. */
  close(timeoutMs: number): Promise<boolean>;
}

/** Node's defaults (5 min per request) let a slow client hold a socket far too long. */
export const SERVER_TIMEOUTS: Readonly<ServerTimeouts> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
};

/**
 * Node enforces headersTimeout/requestTimeout from a periodic sweep (every 30 s by default), so a
 * timeout is only as precise as that sweep: run it often enough that the limits mean what they say.
 */
function sweepIntervalMs(t: ServerTimeouts): number {
  const shortest = Math.min(t.headersTimeoutMs || Infinity, t.requestTimeoutMs || Infinity);
  return Number.isFinite(shortest) ? Math.max(25, Math.min(1_000, Math.floor(shortest / 4))) : 1_000;
}

/** Status lines Node itself would send for these parser errors (it sends 400 for the rest). */
const CLIENT_ERROR_STATUS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
};

/** Grace for answered keep-alive connections to close by themselves once all work has finished. */
const CLOSE_GRACE_MS = 250;

const WEBHOOK_SUFFIX = '/v1/chats';

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const lifecycle = options.lifecycle ?? new Lifecycle();
  const webhook = createWebhookHandler({
    keys: options.sigKeys,
    dispatcher: options.dispatcher,
    bodyLimit: options.bodyLimit,
    logger: options.logger,
    lifecycle,
  });

  const route = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path.endsWith(WEBHOOK_SUFFIX)) {
      if (req.method === 'POST') webhook(req, res);
      else sendError(res, 405, 'method_not_allowed', 'callbacks are POSTed to /v1/chats', {}, { allow: 'POST' });
      return;
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (path === '/healthz') return answerHealth(res);
      if (path === '/readyz') return answerReadiness(res, lifecycle, options.readiness);
    }
    if (options.extraRoutes?.(req, res)) return;
    sendError(res, 404, 'not_found', `nothing is served at ${req.method ?? 'GET'} ${path}`);
  };

  const timeouts: ServerTimeouts = { ...SERVER_TIMEOUTS };
  for (const [name, value] of Object.entries(options.timeouts ?? {}) as [keyof ServerTimeouts, number | undefined][]) {
    if (value !== undefined) timeouts[name] = value;
  }
  // Node rejects a headers timeout longer than the request timeout; the request one bounds both.
  if (timeouts.requestTimeoutMs > 0 && timeouts.headersTimeoutMs > timeouts.requestTimeoutMs) {
    timeouts.headersTimeoutMs = timeouts.requestTimeoutMs;
  }
  const httpOptions = {
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    connectionsCheckingInterval: sweepIntervalMs(timeouts),
  };
  const server: Server = options.tls
    ? createHttpsServer(
        { ...httpOptions, cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile) },
        route,
      )
    : createHttpServer(httpOptions, route);
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    options.logger.debug({ err: { message: err.message, code: err.code } }, 'client error');
    // Answer only when no response has started on this socket, or the reply would corrupt it.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const status = CLIENT_ERROR_STATUS[err.code ?? ''] ?? '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    } else socket.destroy();
  });

  const { port, shownHost } = await listen(server, options.port, options.host);
  const scheme = options.tls ? 'https' : 'http';

  let closing: Promise<boolean> | undefined;
  const close = (timeoutMs: number): Promise<boolean> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const finished = await lifecycle.drain(timeoutMs);
      if (finished) {
        // Every answer has been written; let the sockets flush and close instead of cutting them.
        server.closeIdleConnections();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([stopped, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
        clearTimeout(timer);
      }
      server.closeAllConnections();
      await stopped;
      return finished;
    })();
    return closing;
  };

  return { server, lifecycle, url: `${scheme}://${shownHost}:${port}`, port, close };
}
