/**
 * A real HTTP server on 127.0.0.1 playing both the BBM token service and the Chat API, for client
 * tests: every request is recorded, answers can be scripted per request, and by default it behaves
 * like a healthy service (tokens issued, bearer checked, every message answered 200).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatClientOptions } from '../../src/client/index.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  raw: string;
  /** Parsed body when it was JSON. */
  json: unknown;
  /** Decoded from `/v1/chats/<chatId>`. */
  chatId: string | undefined;
  /** performance.now() when the request arrived. */
  at: number;
}

export interface ScriptedReply {
  status: number;
  /** Objects are sent as JSON, strings verbatim. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Answer only after this. */
  delayMs?: number;
  /** Answer only once this settles. */
  gate?: Promise<unknown>;
  /** Drop the connection instead of answering. */
  hangUp?: boolean;
}

/** Returns a reply, or undefined to fall through to the default behaviour. */
export type Responder = (req: RecordedRequest) => ScriptedReply | undefined | Promise<ScriptedReply | undefined>;

interface SentMessage {
  index?: number | string;
  type?: string;
}

export interface OutboundBody {
  mType?: string;
  chatId?: string;
  from?: string;
  to?: string;
  actions?: { type: string }[];
  messages?: (SentMessage & Record<string, unknown>)[];
  userInfos?: Record<string, { name: string }>;
}

/** A 200/207 body answering each message in order with the given code (200/202 get mid and ts). */
export function resultsBody(codes: readonly (number | { code: number; error?: string })[], midPrefix = 'mid'): unknown {
  return {
    messages: codes.map((c, i) => {
      const code = typeof c === 'number' ? c : c.code;
      const ok = code === 200 || code === 202;
      return {
        index: i + 1,
        type: 'result',
        ...(ok ? { mid: `${midPrefix}-${i + 1}`, ts: String(1_700_000_000_000 + i) } : {}),
        result: { code, ...(typeof c === 'object' && c.error ? { error: c.error } : {}) },
      };
    }),
  };
}

export class FakeChatApi {
  readonly clientCredentials = Buffer.from('test-client:test-secret').toString('base64');
  readonly tokenRequests: RecordedRequest[] = [];
  readonly chatRequests: RecordedRequest[] = [];
  /** Tokens the Chat API accepts. */
  readonly validTokens = new Set<string>();
  /** `expires_in` of issued tokens, seconds. */
  expiresIn = 3600;
  tokenResponder: Responder | undefined;
  chatResponder: Responder | undefined;

  private readonly tokenQueue: ScriptedReply[] = [];
  private readonly chatQueue: ScriptedReply[] = [];
  private issued = 0;
  private mids = 0;

  private constructor(
    private readonly server: http.Server,
    readonly baseUrl: string,
  ) {}

  static async start(): Promise<FakeChatApi> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const api = new FakeChatApi(server, `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => {
      void api.handle(req, res);
    });
    return api;
  }

  get tokenUrl(): string {
    return `${this.baseUrl}/oauth/token`;
  }

  get apiUrl(): string {
    return this.baseUrl;
  }

  /** Bodies of the Chat API requests, parsed. */
  get sentBodies(): OutboundBody[] {
    return this.chatRequests.map((r) => r.json as OutboundBody);
  }

  /** Next token-service answers, in order; then the default. */
  queueToken(...replies: ScriptedReply[]): this {
    this.tokenQueue.push(...replies);
    return this;
  }

  /** Next Chat API answers, in order; then the default. */
  queueChat(...replies: ScriptedReply[]): this {
    this.chatQueue.push(...replies);
    return this;
  }

  revokeAll(): void {
    this.validTokens.clear();
  }

  reset(): void {
    this.tokenRequests.length = 0;
    this.chatRequests.length = 0;
    this.tokenQueue.length = 0;
    this.chatQueue.length = 0;
    this.tokenResponder = undefined;
    this.chatResponder = undefined;
    this.expiresIn = 3600;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Default Chat API answer: 401 for an unknown bearer, else 200 with a result per message. */
  defaultChatReply(req: RecordedRequest): ScriptedReply {
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ') || !this.validTokens.has(auth.slice('Bearer '.length))) {
      return { status: 401, body: { error: 'invalid token' } };
    }
    const body = req.json as OutboundBody | undefined;
    const messages = body?.messages ?? [];
    return {
      status: 200,
      body: {
        messages: messages.map((m) => ({
          index: m.index,
          type: 'result',
          mid: `m${++this.mids}`,
          ts: String(Date.now()),
          result: { code: 200 },
        })),
      },
    };
  }

  private defaultTokenReply(req: RecordedRequest): ScriptedReply {
    if (req.headers.authorization !== `Basic ${this.clientCredentials}` || req.raw !== 'grant_type=client_credentials') {
      return { status: 401, body: { error: 'invalid_client' } };
    }
    const token = `tok-${++this.issued}`;
    this.validTokens.add(token);
    return { status: 200, body: { access_token: token, expires_in: this.expiresIn, token_type: 'Bearer' } };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.baseUrl);
    let json: unknown;
    try {
      json = raw ? JSON.parse(raw) : undefined;
    } catch {
      json = undefined;
    }
    const m = /^\/v1\/chats\/([^/]+)$/.exec(url.pathname);
    const rec: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      raw,
      json,
      chatId: m?.[1] === undefined ? undefined : decodeURIComponent(m[1]),
      at: performance.now(),
    };

    let reply: ScriptedReply | undefined;
    if (url.pathname === '/oauth/token' && req.method === 'POST') {
      this.tokenRequests.push(rec);
      reply = this.tokenQueue.shift() ?? (await this.tokenResponder?.(rec)) ?? this.defaultTokenReply(rec);
      // A scripted token answer is still a usable token.
      const body = reply.body as { access_token?: unknown } | undefined;
      if (reply.status === 200 && typeof body?.access_token === 'string') this.validTokens.add(body.access_token);
    } else if (m && req.method === 'POST') {
      this.chatRequests.push(rec);
      reply = this.chatQueue.shift() ?? (await this.chatResponder?.(rec)) ?? this.defaultChatReply(rec);
    } else {
      reply = { status: 404, body: { error: 'no such endpoint' } };
    }

    if (reply.gate) await reply.gate;
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    if (reply.hangUp) {
      req.socket.destroy();
      return;
    }
    const payload = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    if (res.destroyed) return;
    res.writeHead(reply.status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(payload),
      ...reply.headers,
    });
    res.end(payload);
  }
}

/** A promise with its resolve exposed: to hold a scripted answer until the test says so. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Resolves once `cond` holds, polling; rejects after `timeoutMs` so no test waits forever. */
export async function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Like {@link waitFor} with an async condition. */
export async function eventually(cond: () => Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Retries fast enough for tests: the same rules, milliseconds instead of seconds. */
export const FAST_RETRY = { retries: 3, minTimeoutMs: 5, maxTimeoutMs: 20, maxRetryTimeMs: 3000, maxRetryAfterMs: 1500 };

/** Options for a ChatClient against `api` as BobBot, with FAST_RETRY and a 2 s timeout; `extra` overrides. */
export function clientOptionsFor(api: FakeChatApi, extra: Partial<ChatClientOptions> = {}): ChatClientOptions {
  return {
    apiUrl: api.apiUrl,
    tokenUrl: api.tokenUrl,
    clientCredentials: api.clientCredentials,
    botName: 'BobBot',
    retry: FAST_RETRY,
    timeoutMs: 2000,
    ...extra,
  } as ChatClientOptions;
}
