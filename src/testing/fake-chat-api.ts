/**
 * A small, real HTTP stand-in for BBM's token service and Chat API, for tests: it issues tokens
 * for one set of client credentials, accepts sends, answers each message 200 (or 202 with delivery
 * notifications on) with a fresh mid, and records everything it received. Responses can be
 * scripted per request.
 *
 * Chats it is told about (`chatIssued`, `userLeft`: the test harness tells it what the user did)
 * follow the platform's own rules, the module the emulator uses too: the current mTok only (403),
 * nothing after a leave (404 `chat_closed`), a new token on reopening. A chat it was never told
 * about is accepted with any token: the fake does not model how chats begin.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChatAccess } from '../protocol/chat-access.js';

export interface RecordedSend {
  chatId: string;
  mTok: string | null;
  authorization: string | undefined;
  /** The parsed JSON body. */
  body: {
    mType?: string;
    chatId?: string;
    from?: string;
    to?: string;
    actions?: { type: string; [k: string]: unknown }[];
    messages?: { type: string; index?: number; [k: string]: unknown }[];
    userInfos?: Record<string, { name: string }>;
    [k: string]: unknown;
  };
  /** The mids the fake assigned to the messages, in order (failed messages get none). */
  mids: (string | undefined)[];
  receivedAt: number;
  /** The HTTP status the fake answered (a 403/404 when the chat's rules refused the send). */
  status: number;
}

/** A scripted answer: status, optional body and headers. Return undefined to answer normally. */
export type SendScript = (send: RecordedSend) => { status: number; body?: unknown; headers?: Record<string, string> } | undefined;

export interface FakeChatApiOptions {
  /** The base64 `id:secret` the token service accepts. Generated when omitted. */
  clientCredentials?: string;
  /** Token lifetime the service announces, in seconds. Default 3600. */
  tokenTtlSeconds?: number;
  /** Answer messages 202 (accepted) instead of 200 (delivered). */
  deliveryNotifications?: boolean;
  /** Delay before answering each send, ms. */
  latencyMs?: number;
}

export interface FakeChatApi {
  /** Base URL, e.g. http://127.0.0.1:PORT; the Chat API is under it (BBM_API_URL). */
  apiUrl: string;
  /** BBM_TOKEN_URL. */
  tokenUrl: string;
  clientCredentials: string;
  readonly sends: RecordedSend[];
  readonly tokenRequests: number;
  /** Scripts the next answers; each script is used once, in order. */
  script(...answers: SendScript[]): void;
  /**
   * While on, sends are received (and counted in `held`) but not answered until `hold(false)`;
   * a sender that disconnects meanwhile is dropped. For testing crashes mid-send.
   */
  hold(on: boolean): void;
  /** Sends received and not yet answered because of `hold`. */
  readonly held: number;
  /** Every text message sent to a chat (or to all chats), in order. */
  textsSent(chatId?: string): string[];
  /**
   * The platform issued `mTok` for `chatId` in a callback: a new chat, the chat reopened after a
   * leave, or a new token. Sends must carry the latest one.
   *
   * @example api.chatIssued('123456', 'tok-1');
   */
  chatIssued(chatId: string, mTok: string): void;
  /**
   * The user left `chatId`: from now on a send gets 404 `chat_closed`, as from BBM.
   *
   * @example api.userLeft(h.chatId);
   */
  userLeft(chatId: string): void;
  /**
   * The rules state of a chat the fake was told about (open, current token); undefined otherwise.
   *
   * @example expect(api.chat(h.chatId)?.open).toBe(false);
   */
  chat(chatId: string): ChatAccess | undefined;
  /** Resolves when at least `count` sends have arrived; rejects after `timeoutMs`. */
  waitForSends(count: number, timeoutMs?: number): Promise<RecordedSend[]>;
  reset(): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export async function startFakeChatApi(options: FakeChatApiOptions = {}): Promise<FakeChatApi> {
  const clientCredentials = options.clientCredentials ?? Buffer.from(`fake-id:${randomBytes(8).toString('hex')}`).toString('base64');
  const tokens = new Set<string>();
  const sends: RecordedSend[] = [];
  const scripts: SendScript[] = [];
  const waiters: { count: number; resolve: (s: RecordedSend[]) => void }[] = [];
  let tokenRequests = 0;
  let midCounter = 0;
  let holding = false;
  const heldRequests: { release: () => void; gone: () => boolean }[] = [];
  const chats = new Map<string, ChatAccess>();

  const notify = () => {
    for (const w of [...waiters]) {
      if (sends.length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(sends.slice());
      }
    }
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const raw = await readBody(req);
      if (req.method === 'POST' && url.pathname === '/oauth/token') {
        tokenRequests++;
        if (req.headers.authorization !== `Basic ${clientCredentials}` || !raw.includes('grant_type=client_credentials')) {
          json(res, 401, { error: 'invalid_client' });
          return;
        }
        const token = `tok-${randomBytes(12).toString('hex')}`;
        tokens.add(token);
        json(res, 200, { access_token: token, expires_in: options.tokenTtlSeconds ?? 3600, token_type: 'Bearer' });
        return;
      }
      const match = /^\/v1\/chats\/([^/]+)$/.exec(url.pathname);
      if (req.method !== 'POST' || !match) {
        json(res, 404, { error: 'not found' });
        return;
      }
      const auth = req.headers.authorization;
      if (!auth?.startsWith('Bearer ') || !tokens.has(auth.slice(7))) {
        json(res, 401, { error: 'invalid or missing access token' });
        return;
      }
      const chatId = decodeURIComponent(match[1]!);
      const mTok = url.searchParams.get('mTok');
      let body: RecordedSend['body'] | undefined;
      try {
        body = JSON.parse(raw) as RecordedSend['body'];
      } catch {
        body = undefined;
      }
      const send: RecordedSend = { chatId, mTok, authorization: auth, body: body ?? {}, mids: [], receivedAt: Date.now(), status: 200 };
      // The platform checks the chat and its token before it reads the body.
      const refusal = chats.get(chatId)?.sendRefusal(mTok);
      if (refusal) {
        send.status = refusal.status;
        sends.push(send);
        notify();
        json(res, refusal.status, { error: refusal.code, message: refusal.message });
        return;
      }
      if (body === undefined) {
        json(res, 400, { error: 'body is not JSON' });
        return;
      }
      if (holding) {
        await new Promise<void>((release) => heldRequests.push({ release, gone: () => res.destroyed || req.socket.destroyed }));
        if (res.destroyed || req.socket.destroyed) return;
      }
      const scripted = scripts.shift()?.(send);
      if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
      if (scripted) {
        send.status = scripted.status;
        sends.push(send);
        notify();
        json(res, scripted.status, scripted.body, scripted.headers);
        return;
      }
      const code = options.deliveryNotifications ? 202 : 200;
      const results = (body.messages ?? []).map((m, i) => {
        const mid = `fake${(++midCounter).toString(16).padStart(12, '0')}`;
        send.mids.push(mid);
        return { index: m.index ?? i + 1, type: 'result', mid, ts: Date.now(), result: { code } };
      });
      sends.push(send);
      notify();
      json(res, 200, results.length ? { messages: results } : {});
    })().catch(() => {
      if (!res.headersSent) json(res, 500, { error: 'fake failed' });
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    apiUrl: base,
    tokenUrl: `${base}/oauth/token`,
    clientCredentials,
    sends,
    get tokenRequests() {
      return tokenRequests;
    },
    script(...answers) {
      scripts.push(...answers);
    },
    hold(on) {
      holding = on;
      if (!on) for (const h of heldRequests.splice(0)) h.release();
    },
    get held() {
      return heldRequests.filter((h) => !h.gone()).length;
    },
    textsSent(chatId) {
      return sends
        .filter((s) => chatId === undefined || s.chatId === chatId)
        .flatMap((s) => (s.body.messages ?? []).filter((m) => m.type === 'text').map((m) => String(m.text)));
    },
    chatIssued(chatId, mTok) {
      const access = chats.get(chatId);
      if (!access) chats.set(chatId, new ChatAccess(chatId, mTok));
      else if (access.open) access.replaceToken(mTok);
      // A left chat reopens only with a new token; its old one leaves it closed (as on BBM).
      else if (mTok !== access.mTok) access.reopen(mTok);
    },
    userLeft(chatId) {
      chats.get(chatId)?.leave();
    },
    chat(chatId) {
      return chats.get(chatId);
    },
    waitForSends(count, timeoutMs = 5000) {
      if (sends.length >= count) return Promise.resolve(sends.slice());
      return new Promise((resolve, reject) => {
        const waiter = {
          count,
          resolve: (s: RecordedSend[]) => {
            clearTimeout(timer);
            resolve(s);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`expected ${count} send(s) within ${timeoutMs} ms, got ${sends.length}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    reset() {
      sends.length = 0;
      scripts.length = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
