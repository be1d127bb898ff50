/**
 * `startEmulator()`: BBM's token service, Chat API and callback delivery on one local port, with
 * the web chat and its JSON API beside them. A bot written with this framework (or any other)
 * points BBM_TOKEN_URL / BBM_API_URL here and gets callbacks at its `/v1/chats`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OUTBOUND_LIMITS } from '../protocol/limits.js';
import { CallbackSender, type CallbackRetryOptions } from './callbacks.js';
import type { DialogInspectorOptions } from './dialogs.js';
import { EmulatorStartError, HttpError } from './errors.js';
import { FaultQueue, FaultSpecSchema, type FaultSpec } from './faults.js';
import { HostGuard } from './host-guard.js';
import { delay, flatHeaders, readBody, sendHttpError, sendJson } from './http.js';
import type { EmulatedChat, EmulatedUser, EmulatorConfigView, EmulatorEvent, EmulatorState, Fault, TrafficEntry, UserItem } from './model.js';
import { NameSchema, parseInput, Platform, type Pending } from './platform.js';
import { isStaticPath, serveStatic } from './static.js';
import { TokenService, type Reply } from './tokens.js';
import { bodyForLog, TrafficLog } from './traffic.js';
import { SPEC_TYPING, type TypingTimings } from './typing.js';
import { EventHub, handleUiApi } from './ui-api.js';

export interface EmulatorOptions extends DialogInspectorOptions {
  /** Port to listen on; 0 picks a free one. Default 3978. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1: the emulator is a local tool. */
  host?: string;
  /** The bot's callback URL (`…/v1/chats` is appended when missing). Without it, callbacks fail visibly. */
  botUrl?: string;
  /** The Client Sig key callbacks are signed with. Generated when omitted. */
  sigKey?: string;
  /** The base64 `id:secret` the token service accepts. Generated when omitted. */
  clientCredentials?: string;
  /** Access token lifetime, seconds. Default 3600. */
  tokenTtlSeconds?: number;
  /** The emulated channel's delivery notifications: sends answer 202, then dlv/read follow. Default off. */
  deliveryNotifications?: boolean;
  /** The bot's BBM id. Generated when omitted. */
  botId?: string;
  /** The bot's display name until it names itself in a send's userInfos. Without it the web chat says "the bot". */
  botName?: string;
  /** The channel id (`chId`). Generated when omitted. */
  channelId?: string;
  /** Users created at start, each with one open chat. Default ["Alice"]. */
  users?: string[];
  /** How long one callback attempt may take. Default 10 s. */
  callbackTimeoutMs?: number;
  /** Callback retries on 5xx / timeout / refused connection, and of messages a 207 says to retry. */
  callbackRetry?: CallbackRetryOptions;
  /** The user's typing rules' timings (tests shorten them). Default the spec's 5 s / 30 s. */
  typing?: Partial<TypingTimings>;
  /** How long the bot's "is typing…" lasts. Default 30 s. */
  botTypingTimeoutMs?: number;
  /** Inspector entries kept. Default 500. */
  trafficLimit?: number;
  /** Largest accepted request body. Default 1 MiB. */
  bodyLimit?: number;
  /** The clock tokens expire by (tests move it instead of waiting). Default Date.now. */
  now?: () => number;
}

export interface Emulator {
  /** Where the web chat is, e.g. `http://127.0.0.1:3978`. */
  readonly url: string;
  readonly port: number;
  /** BBM_TOKEN_URL for the bot. */
  readonly tokenUrl: string;
  /** BBM_API_URL for the bot (the Chat API is `<apiUrl>/v1/chats/<chatId>`). */
  readonly apiUrl: string;
  /** BBM_CLIENT_CREDENTIALS for the bot. */
  readonly clientCredentials: string;
  /** BBM_SIG_KEY for the bot. */
  readonly sigKey: string;
  readonly botId: string;
  readonly channelId: string;
  readonly deliveryNotifications: boolean;
  readonly botUrl: string | undefined;
  /** Points callbacks at another bot (or none). */
  setBotUrl(url: string | undefined): void;
  /** The bot restarted and forgot its chats: each chat's next callback carries its mTok again. */
  botRestarted(): void;
  state(): EmulatorState;
  users(): EmulatedUser[];
  chats(): EmulatedChat[];
  chat(chatId: string): EmulatedChat;
  /** The chat's current mTok (tools and tests; the web UI never shows it). */
  mTokOf(chatId: string): string;
  createUser(name: string): EmulatedUser;
  openChat(userId: string): EmulatedChat;
  /** The user sends `{text}` or `{image:{url,preview?}}`; `done` settles once the bot has answered. */
  userSends(chatId: string, content: { text: string } | { image: { url: string; preview?: string } }): Pending<UserItem>;
  /** The user taps action `actionIndex` of the bot's buttons message `mid`. */
  userTaps(chatId: string, mid: string, actionIndex: number): Pending<UserItem> & { url?: string };
  userPostback(chatId: string, postback: { data: string; label?: string; text?: string }): Pending<UserItem>;
  userTyping(chatId: string, options?: { immediate?: boolean }): void;
  userLeaves(chatId: string): Promise<void>;
  userReopens(chatId: string): EmulatedChat;
  /** The user's client got the bot's messages (dlv; delivery notifications on). Returns the mids. */
  markDelivered(chatId: string, mids?: string[]): Promise<string[]>;
  /** The user read the bot's messages (dlv where needed, then read). Returns the mids. */
  markRead(chatId: string, mids?: string[]): Promise<string[]>;
  injectFault(spec: FaultSpec): Fault;
  clearFaults(): void;
  faults(): Fault[];
  /** Inspector entries, newest first, optionally for one chat. */
  traffic(chatId?: string): TrafficEntry[];
  clearTraffic(): void;
  /** Every event the UI gets; returns an unsubscribe function. */
  onEvent(listener: (event: EmulatorEvent) => void): () => void;
  /** Resolves with the first truthy value `check` returns, re-checked after every event; rejects after `timeoutMs`. */
  waitFor<T>(check: () => T | undefined | null | false, timeoutMs?: number, what?: string): Promise<T>;
  /** Stops everything: pending callbacks and retries end, the event streams close. */
  close(): Promise<void>;
}

const DEFAULT_PORT = 3978;

/** `http://host:port` → `http://host:port/v1/chats`; a URL already ending so is kept. */
export function normalizeBotUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new EmulatorStartError('BAD_OPTION', `botUrl is not a URL: ${url}`, { field: 'botUrl' });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new EmulatorStartError('BAD_OPTION', `botUrl must be http(s): ${url}`, { field: 'botUrl' });
  }
  const path = parsed.pathname.replace(/\/+$/, '');
  parsed.pathname = path.endsWith('/v1/chats') ? path : `${path}/v1/chats`;
  return parsed.toString();
}

const digits = (n: number): string => Array.from(randomBytes(n), (b, i) => String(i === 0 ? 1 + (b % 9) : b % 10)).join('');

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const sigKey = options.sigKey ?? randomBytes(32).toString('hex');
  const clientCredentials =
    options.clientCredentials ?? Buffer.from(`emulator-bot:${randomBytes(18).toString('base64url')}`).toString('base64');
  if (sigKey === '') throw new EmulatorStartError('BAD_OPTION', 'sigKey must not be empty', { field: 'sigKey' });
  if (clientCredentials === '') throw new EmulatorStartError('BAD_OPTION', 'clientCredentials must not be empty', { field: 'clientCredentials' });
  const tokenTtlSeconds = options.tokenTtlSeconds ?? 3600;
  if (!Number.isInteger(tokenTtlSeconds) || tokenTtlSeconds < 1) {
    throw new EmulatorStartError('BAD_OPTION', 'tokenTtlSeconds must be a whole number of seconds, at least 1', { field: 'tokenTtlSeconds' });
  }
  const initialUsers = options.users ?? ['Alice'];
  for (const name of initialUsers) {
    if (!NameSchema.safeParse(name).success) {
      throw new EmulatorStartError('BAD_OPTION', `users: "${name}" is not a user name (1 to 40 characters)`, { field: 'users' });
    }
  }
  const deliveryNotifications = options.deliveryNotifications ?? false;
  const botId = options.botId ?? digits(11);
  const channelId = options.channelId ?? `C${randomBytes(4).toString('hex').toUpperCase()}`;
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  let botUrl = options.botUrl === undefined ? undefined : normalizeBotUrl(options.botUrl);
  let baseUrl = '';

  const listeners = new Set<(event: EmulatorEvent) => void>();
  const emit = (event: EmulatorEvent): void => {
    for (const l of listeners) {
      try {
        l(event);
      } catch {
        // One broken listener must not stop the others (or the platform).
      }
    }
  };
  const hub = new EventHub();
  listeners.add((e) => hub.broadcast(e));

  const abort = new AbortController();
  const traffic = new TrafficLog(options.trafficLimit ?? 500, (entry) => emit({ type: 'traffic', entry }));
  const faults = new FaultQueue((list) => emit({ type: 'faults', faults: list }));
  const tokens = new TokenService(clientCredentials, tokenTtlSeconds, options.now);
  const callbacks = new CallbackSender({
    botUrl: () => botUrl,
    sigKey,
    timeoutMs: options.callbackTimeoutMs ?? 10_000,
    retry: {
      attempts: options.callbackRetry?.attempts ?? 3,
      backoffMs: options.callbackRetry?.backoffMs ?? 1000,
      maxRetryAfterMs: options.callbackRetry?.maxRetryAfterMs ?? 30_000,
    },
    traffic,
    signal: abort.signal,
  });
  const configView = (): EmulatorConfigView => ({
    botUrl,
    botId,
    botName: platform.botName,
    botNameKnown: platform.botNameKnown,
    channelId,
    deliveryNotifications,
    tokenUrl: `${baseUrl}/oauth/token`,
    apiUrl: baseUrl,
    tokenTtlSeconds,
    limits: { text: OUTBOUND_LIMITS.text },
  });
  const platform: Platform = new Platform({
    botId,
    botName: options.botName ?? 'Bot',
    botNameKnown: options.botName !== undefined,
    channelId,
    deliveryNotifications,
    baseUrl: () => baseUrl,
    callbacks,
    faults,
    typing: { ...SPEC_TYPING, ...options.typing },
    botTypingTimeoutMs: options.botTypingTimeoutMs ?? 30_000,
    maxItemsPerChat: 500,
    emit,
    onBotNameChange: () => emit({ type: 'config', config: configView() }),
  });
  const state = (): EmulatorState => ({
    config: configView(),
    users: platform.listUsers(),
    chats: platform.listChats(),
    faults: faults.list(),
    traffic: traffic.list(),
  });

  /** Token service and Chat API: answered, and recorded for the inspector with secrets masked. */
  const handleBbm = async (req: IncomingMessage, res: ServerResponse, url: URL, kind: 'token' | 'api'): Promise<void> => {
    const started = performance.now();
    let raw: Buffer = Buffer.alloc(0);
    let reply: Reply;
    const chatMatch = /^\/v1\/chats\/([^/]+)$/.exec(url.pathname);
    let chatId: string | undefined;
    try {
      chatId = chatMatch ? decodeURIComponent(chatMatch[1]!) : undefined;
    } catch {
      chatId = undefined;
    }
    try {
      raw = await readBody(req, bodyLimit);
      if (kind === 'token') {
        reply = tokens.issue(req.headers.authorization, raw.toString('utf8'));
      } else {
        reply = await handleChatApi(req, url, chatId, raw);
      }
    } catch (err) {
      const e = err instanceof HttpError ? err : new HttpError(500, 'internal_error', 'the emulator failed to handle this request');
      reply = { status: e.status, body: e.toBody(), headers: { ...e.headers } };
    }
    const responseHeaders = { 'content-type': 'application/json; charset=utf-8', ...reply.headers };
    sendJson(res, reply.status, reply.body ?? {}, reply.headers ?? {});
    traffic.add({
      kind,
      ...(chatId !== undefined ? { chatId } : {}),
      method: req.method ?? 'POST',
      url: url.pathname + url.search,
      status: reply.status,
      durationMs: Math.round(performance.now() - started),
      requestHeaders: flatHeaders(req.headers),
      requestBody: bodyForLog(raw),
      responseHeaders,
      responseBody: reply.body ?? {},
      notes: reply.notes ?? [],
    });
  };

  const handleChatApi = async (req: IncomingMessage, url: URL, chatId: string | undefined, raw: Buffer): Promise<Reply> => {
    const latency = faults.take(['latency']);
    if (latency?.latencyMs) await delay(latency.latencyMs);
    const notes = latency ? [`injected fault: answered ${latency.latencyMs} ms late`] : [];
    if (chatId === undefined) throw new HttpError(404, 'chat_not_found', 'send to /v1/chats/<chatId>?mTok=<token>');
    tokens.check(req.headers.authorization);
    const fault = faults.take(['429', '503']);
    if (fault) {
      const headers: Record<string, string> = fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
      const body =
        fault.kind === '429'
          ? { error: 'too_many_requests', message: 'injected fault: too many requests' }
          : { error: 'service_unavailable', message: 'injected fault: service unavailable' };
      return { status: Number(fault.kind), body, headers, chatId, notes: [...notes, `injected fault: ${fault.kind}`] };
    }
    const reply = platform.handleSend(chatId, url.searchParams.get('mTok'), raw);
    return { ...reply, notes: [...notes, ...(reply.notes ?? [])] };
  };

  const host = options.host ?? '127.0.0.1';
  const requestedPort = options.port ?? DEFAULT_PORT;
  // Every route, BBM's and the page's, answers only to the names this emulator is served under.
  const guard = new HostGuard(host, () => (server.address() as AddressInfo).port);

  const route = (req: IncomingMessage, res: ServerResponse): void => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://emulator.local');
    } catch {
      sendHttpError(res, new HttpError(400, 'bad_request', 'malformed request URL'));
      return;
    }
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const fail = (err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError(500, 'internal_error', 'the emulator failed to handle this request');
      sendHttpError(res, e);
    };
    try {
      // On the parsed path: an absolute-form request line (`POST http://x/api/…`) is routed by it too.
      guard.check(req, path);
    } catch (err) {
      req.resume();
      fail(err);
      return;
    }
    if (path === '/oauth/token' || path.startsWith('/v1/chats')) {
      if (method !== 'POST') {
        req.resume();
        sendHttpError(res, new HttpError(405, 'method_not_allowed', `use POST for ${path}`, { headers: { allow: 'POST' } }));
        return;
      }
      handleBbm(req, res, url, path === '/oauth/token' ? 'token' : 'api').catch(fail);
      return;
    }
    if (path.startsWith('/api/')) {
      handleUiApi(req, res, url, { platform, faults, traffic, hub, state, bodyLimit, setBotUrl: (u) => api.setBotUrl(u), dialogs: options }).catch(fail);
      return;
    }
    if (method === 'GET' || method === 'HEAD') {
      if (isStaticPath(path)) {
        serveStatic(path, res, method === 'HEAD').catch(fail);
        return;
      }
      const avatar = /^\/avatars\/(\d{1,20})\.svg$/.exec(path);
      const svg = avatar ? platform.avatar(avatar[1]!) : undefined;
      if (svg !== undefined) {
        res.writeHead(200, { 'content-type': 'image/svg+xml', 'content-length': String(Buffer.byteLength(svg)), 'cache-control': 'max-age=3600' });
        res.end(method === 'HEAD' ? undefined : svg);
        return;
      }
      if (path === '/healthz') {
        sendJson(res, 200, { status: 'ok' });
        return;
      }
    }
    req.resume();
    sendHttpError(res, new HttpError(404, 'not_found', `nothing is served at ${method} ${path}`));
  };

  const server: Server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    try {
      route(req, res);
    } catch {
      sendHttpError(res, new HttpError(500, 'internal_error', 'the emulator failed to handle this request'));
    }
  });
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new EmulatorStartError('PORT_IN_USE', `port ${requestedPort} is already in use`, { field: 'port', cause: err }));
      } else reject(new EmulatorStartError('LISTEN_FAILED', `cannot listen on ${host}:${requestedPort}: ${err.message}`, { field: 'port', cause: err }));
    });
    server.listen(requestedPort, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  baseUrl = `http://${shownHost}:${port}`;

  for (const name of initialUsers) platform.openChat(platform.createUser(name).id);

  let closing: Promise<void> | undefined;
  const api: Emulator = {
    url: baseUrl,
    port,
    tokenUrl: `${baseUrl}/oauth/token`,
    apiUrl: baseUrl,
    clientCredentials,
    sigKey,
    botId,
    channelId,
    deliveryNotifications,
    get botUrl() {
      return botUrl;
    },
    setBotUrl(url) {
      botUrl = url === undefined ? undefined : normalizeBotUrl(url);
      emit({ type: 'config', config: configView() });
    },
    botRestarted: () => platform.botRestarted(),
    state,
    users: () => platform.listUsers(),
    chats: () => platform.listChats(),
    chat: (chatId) => platform.getChat(chatId),
    mTokOf: (chatId) => platform.mTokOf(chatId),
    createUser: (name) => platform.createUser(name),
    openChat: (userId) => platform.openChat(userId),
    userSends: (chatId, content) => platform.userSends(chatId, content),
    userTaps: (chatId, mid, actionIndex) => platform.userTaps(chatId, mid, actionIndex),
    userPostback: (chatId, postback) => platform.userPostback(chatId, postback),
    userTyping: (chatId, opts) => {
      platform.userTyping(chatId, opts?.immediate ?? false);
    },
    userLeaves: async (chatId) => {
      await platform.userLeaves(chatId);
    },
    userReopens: (chatId) => platform.userReopens(chatId),
    markDelivered: (chatId, mids) => platform.markDelivered(chatId, mids),
    markRead: (chatId, mids) => platform.markRead(chatId, mids),
    injectFault: (spec) => faults.arm(parseInput(FaultSpecSchema, spec, 'the fault')),
    clearFaults: () => faults.clear(),
    faults: () => faults.list(),
    traffic: (chatId) => traffic.list(chatId),
    clearTraffic: () => {
      traffic.clear();
      emit({ type: 'traffic-cleared' });
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waitFor(check, timeoutMs = 5000, what = 'the condition') {
      return new Promise((resolve, reject) => {
        const first = check();
        if (first) {
          resolve(first);
          return;
        }
        const finish = () => {
          clearTimeout(timer);
          listeners.delete(listener);
        };
        const listener = () => {
          const v = check();
          if (v) {
            finish();
            resolve(v);
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        listeners.add(listener);
      });
    },
    close() {
      closing ??= (async () => {
        abort.abort();
        platform.stop();
        hub.close();
        listeners.clear();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
  return api;
}
