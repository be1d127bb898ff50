/**
 * Shared by the emulator tests: raw HTTP over real sockets, a scriptable stand-in bot that records
 * every callback, and builders for valid Chat API sends.
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startEmulator, type AppConfig, type Emulator, type EmulatorOptions } from '../../src/index.js';
import { localBotConfig } from '../helpers/config.js';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown> & { messages?: Record<string, unknown>[]; issues?: { path: string; message: string }[]; error?: string };
}

export function http(
  method: string,
  url: string,
  options: { headers?: Record<string, string>; body?: string | object } = {},
): Promise<HttpAnswer> {
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const headers: Record<string, string> = {
    ...(body !== undefined && typeof options.body === 'object' ? { 'content-type': 'application/json' } : {}),
    // Node sends DELETE bodies without framing unless the length is given.
    ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
    ...options.headers,
  };
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: HttpAnswer['json'] = {};
        try {
          json = text ? (JSON.parse(text) as HttpAnswer['json']) : {};
        } catch {
          // not JSON: tests look at text
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A UI API call as the web chat makes it: state-changing calls carry the page's Origin, which the
 * emulator requires of them.
 */
export const uiHttp = (method: string, url: string, options: { headers?: Record<string, string>; body?: string | object } = {}) =>
  http(method, url, { ...options, headers: { origin: new URL(url).origin, ...options.headers } });

/** POSTs to the emulator's UI API (JSON, same origin). */
export const uiPost = (emu: Emulator, path: string, body: object = {}) => uiHttp('POST', `${emu.url}${path}`, { body });

export async function getToken(emu: Emulator): Promise<string> {
  const res = await http('POST', emu.tokenUrl, {
    headers: { authorization: `Basic ${emu.clientCredentials}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.text}`);
  return String(res.json.access_token);
}

export interface RecordedCallback {
  raw: string;
  headers: IncomingHttpHeaders;
  body: {
    mType: string;
    chId?: string;
    chatId: string;
    from: string;
    to: string;
    mTok?: string;
    actions?: Record<string, unknown>[] & { type: string }[];
    messages?: (Record<string, unknown> & { mid: string; type: string; text?: string })[];
    userInfos: Record<string, { name: string; avatar?: Record<string, unknown>[] }>;
  };
  at: number;
}

/** An answer the fake bot gives: a status and body, optionally late; 'hang' never answers. */
export type BotAnswer = { status: number; body?: unknown; delayMs?: number; headers?: Record<string, string> } | 'hang';
export type BotScript = (cb: RecordedCallback) => BotAnswer;

/** Answers 200 with a result per message: what a well-behaved bot does. */
export const okAnswer: BotScript = (cb) => ({
  status: 200,
  body: cb.body.messages ? { messages: cb.body.messages.map((m) => ({ mid: m.mid, result: { code: 200 } })) } : {},
});

export interface FakeBot {
  url: string;
  callbacks: RecordedCallback[];
  /** The next answers, used once each in order; then `fallback`. */
  script(...answers: BotScript[]): void;
  fallback: BotScript;
  waitFor(count: number, timeoutMs?: number): Promise<RecordedCallback[]>;
  close(): Promise<void>;
}

export async function startFakeBot(): Promise<FakeBot> {
  const callbacks: RecordedCallback[] = [];
  const scripts: BotScript[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const cb: RecordedCallback = { raw, headers: req.headers, body: JSON.parse(raw) as RecordedCallback['body'], at: Date.now() };
      callbacks.push(cb);
      for (const w of waiters) w();
      const answer = (scripts.shift() ?? bot.fallback)(cb);
      if (answer === 'hang') return;
      const send = () => {
        const text = answer.body === undefined ? '' : JSON.stringify(answer.body);
        res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', ...answer.headers });
        res.end(text);
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chats`;
  const bot: FakeBot = {
    url,
    callbacks,
    fallback: okAnswer,
    script: (...answers) => void scripts.push(...answers),
    waitFor(count, timeoutMs = 3000) {
      if (callbacks.length >= count) return Promise.resolve(callbacks.slice());
      return new Promise((resolve, reject) => {
        const check = () => {
          if (callbacks.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(callbacks.slice());
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} callback(s) within ${timeoutMs} ms, got ${callbacks.length}`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return bot;
}

export interface Setup {
  emu: Emulator;
  bot: FakeBot;
  chatId: string;
  userId: string;
  close(): Promise<void>;
}

/** An emulator on a free port with fast retries, driving a fake bot; one open chat (Alice). */
export async function setup(options: EmulatorOptions = {}): Promise<Setup> {
  const bot = await startFakeBot();
  const emu = await startEmulator({
    port: 0,
    botUrl: bot.url,
    callbackRetry: { attempts: 3, backoffMs: 20 },
    callbackTimeoutMs: 2000,
    ...options,
  });
  const chat = emu.chats()[0]!;
  return {
    emu,
    bot,
    chatId: chat.chatId,
    userId: chat.userId,
    close: async () => {
      await emu.close();
      await bot.close();
    },
  };
}

/** A valid send body for the chat, with the given messages/actions. */
export function sendBody(
  s: Pick<Setup, 'emu' | 'chatId' | 'userId'>,
  content: { messages?: unknown[]; actions?: unknown[] },
  botName = 'TestBot',
): Record<string, unknown> {
  return {
    mType: 'bot',
    chId: s.emu.channelId,
    chatId: s.chatId,
    from: s.emu.botId,
    to: s.userId,
    ...content,
    userInfos: { [s.emu.botId]: { name: botName } },
  };
}

/** POSTs a send to the Chat API with a fresh token and the chat's current mTok (overridable). */
export async function send(
  s: Pick<Setup, 'emu' | 'chatId' | 'userId'>,
  body: unknown,
  options: { token?: string | null; mTok?: string | null; chatId?: string } = {},
): Promise<HttpAnswer> {
  const token = options.token === undefined ? await getToken(s.emu) : options.token;
  const mTok = options.mTok === undefined ? s.emu.mTokOf(s.chatId) : options.mTok;
  const chatId = options.chatId ?? s.chatId;
  const query = mTok === null ? '' : `?mTok=${encodeURIComponent(mTok)}`;
  return http('POST', `${s.emu.apiUrl}/v1/chats/${encodeURIComponent(chatId)}${query}`, {
    headers: { 'content-type': 'application/json; charset=utf-8', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export const text = (t: string, index?: number) => ({ ...(index !== undefined ? { index } : {}), type: 'text', text: t });

/** The configuration `npm run dev` gives a bot behind this emulator (port 0, silent logs). */
export function botConfigFor(emu: Emulator, deliveryNotifications: boolean): AppConfig {
  return localBotConfig(emu, { BBM_DELIVERY_NOTIFICATIONS: deliveryNotifications ? 'on' : 'off' });
}
