/**
 * The test kit for bot authors: a bot behind the real webhook (signed callbacks over real HTTP) and
 * a fake Chat API that captures what it sends, so a bot is tested in a few lines:
 *
 *   const h = await createTestHarness(bot);
 *   await h.userSays('hi');
 *   h.expectReply('Hello Alice!');
 *   h.expectNoReply();
 *   await h.close();
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { pino, type Logger } from 'pino';
import type { Bot } from '../bot/bot.js';
import { ChatClient } from '../client/index.js';
import type { CallbackResponse } from '../protocol/inbound.js';
import type { OutboundMessage } from '../protocol/outbound.js';
import { startServer, type RunningServer } from '../server/http-server.js';
import { MemoryStore } from '../state/memory.js';
import type { StateStore } from '../state/store.js';
import { signBody } from '../webhook/signature.js';
import { startFakeChatApi, type FakeChatApi, type RecordedSend } from './fake-chat-api.js';

export interface HarnessUser {
  id: string;
  name: string;
}

export interface HarnessOptions {
  /** The user who talks to the bot. Default Alice. */
  user?: HarnessUser;
  /** Simulate a channel provisioned with delivery notifications on. */
  deliveryNotifications?: boolean;
  store?: StateStore;
  /**
   * Run the bot as one of several instances sharing `store` (a RedisStore in production): chat
   * turns ordered through the store, typing state in it, replies through the durable outbox.
   */
  shared?: boolean;
  logger?: Logger;
  /** The bot's own BBM id. */
  botId?: string;
  /**
   * Put a failed handler's own error text in the callback's results (BotRuntime.errorDetail).
   * Default true here, where the detail helps; production servers send a generic text.
   */
  errorDetail?: boolean;
}

export interface CallbackAnswer {
  status: number;
  body: CallbackResponse & { error?: string; message?: string };
}

type ExpectedReply = string | RegExp | Partial<OutboundMessage>;

export interface TestHarness<S = unknown> {
  readonly bot: Bot<S>;
  readonly api: FakeChatApi;
  readonly chatId: string;
  readonly mTok: string;
  /** Every message the bot sent, in order. */
  readonly replies: OutboundMessage[];
  /** Every request the bot made to the Chat API. */
  readonly sends: RecordedSend[];
  userSays(text: string): Promise<CallbackAnswer>;
  userSendsImage(image: { url: string; preview?: string }): Promise<CallbackAnswer>;
  userTaps(postbackData: string, label?: string): Promise<CallbackAnswer>;
  userTypes(): Promise<CallbackAnswer>;
  userLeaves(): Promise<CallbackAnswer>;
  /** Posts a callback with these fields over the defaults (chat, user, token), signed. */
  post(fields: Record<string, unknown>): Promise<CallbackAnswer>;
  /** Asserts that the next reply not yet checked matches, and consumes it. */
  expectReply(expected: ExpectedReply): OutboundMessage;
  /** Asserts that every reply has been checked. */
  expectNoReply(): void;
  /** Waits (bounded) until the bot has sent `count` replies in all. */
  waitForReplies(count: number, timeoutMs?: number): Promise<OutboundMessage[]>;
  /** Starts a new conversation: new chat id and token. */
  newChat(): void;
  close(): Promise<void>;
}

function describe(m: OutboundMessage | undefined): string {
  if (!m) return '(nothing)';
  return m.type === 'text' ? JSON.stringify(m.text) : JSON.stringify(m);
}

function matches(actual: OutboundMessage, expected: ExpectedReply): boolean {
  if (typeof expected === 'string') return actual.type === 'text' && actual.text === expected;
  if (expected instanceof RegExp) return actual.type === 'text' && expected.test(actual.text);
  return isSubset(expected, actual);
}

function isSubset(expected: unknown, actual: unknown): boolean {
  if (expected === null || typeof expected !== 'object') return Object.is(expected, actual);
  if (actual === null || typeof actual !== 'object') return false;
  return Object.entries(expected).every(([k, v]) => isSubset(v, (actual as Record<string, unknown>)[k]));
}

export async function createTestHarness<S>(bot: Bot<S>, options: HarnessOptions = {}): Promise<TestHarness<S>> {
  const user = options.user ?? { id: '100006006205', name: 'Alice' };
  const botId = options.botId ?? '31045128202';
  const key = randomBytes(32).toString('hex');
  const logger = options.logger ?? pino({ enabled: false });
  const api = await startFakeChatApi({ deliveryNotifications: options.deliveryNotifications ?? false });
  const store = options.store ?? new MemoryStore();
  const client = new ChatClient({
    apiUrl: api.apiUrl,
    tokenUrl: api.tokenUrl,
    clientCredentials: api.clientCredentials,
    botName: bot.options.name,
    store,
    logger,
    retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 20, maxRetryTimeMs: 500 },
  });
  bot.init({ sender: client, store, logger, deliveryNotifications: options.deliveryNotifications ?? false, shared: options.shared ?? false, errorDetail: options.errorDetail ?? true });
  const server: RunningServer = await startServer({
    port: 0,
    host: '127.0.0.1',
    sigKeys: [key],
    dispatcher: bot,
    logger,
    bodyLimit: 1024 * 1024,
  });

  let chatId = '';
  let mTok = '';
  const newChat = () => {
    chatId = String(100000 + Math.floor(Math.random() * 900000));
    mTok = randomBytes(24).toString('base64url');
  };
  newChat();
  let midCounter = 0;
  let checked = 0;
  const replies = (): OutboundMessage[] => api.sends.flatMap((s) => (s.body.messages ?? []) as OutboundMessage[]);

  const postRaw = (body: string): Promise<CallbackAnswer> =>
    new Promise((resolve, reject) => {
      const req = request(
        `${server.url}/v1/chats`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8', 'bbm-sig': signBody(body, key), 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as CallbackAnswer['body']) : {} });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const post = (fields: Record<string, unknown>) =>
    postRaw(
      JSON.stringify({
        mType: 'message',
        chId: 'C00012B1E',
        chatId,
        from: user.id,
        to: botId,
        mTok,
        userInfos: { [user.id]: { name: user.name } },
        ...fields,
      }),
    );
  const nextMid = () => `m${Date.now().toString(16)}${(++midCounter).toString(16).padStart(4, '0')}`;
  const message = (m: Record<string, unknown>) => post({ messages: [{ index: 1, mid: nextMid(), ts: Date.now(), ...m }] });
  const action = (a: Record<string, unknown>) => post({ actions: [{ ts: Date.now(), ...a }] });

  return {
    bot,
    api,
    get chatId() {
      return chatId;
    },
    get mTok() {
      return mTok;
    },
    get replies() {
      return replies();
    },
    get sends() {
      return api.sends;
    },
    userSays: (text) => message({ type: 'text', text }),
    userSendsImage: (image) => message({ type: 'image', image }),
    userTaps: (data, label = data.slice(0, 20)) => action({ type: 'postback', postback: { label, data } }),
    userTypes: () => action({ type: 'typing' }),
    userLeaves: () => action({ type: 'leave' }),
    post,
    expectReply(expected) {
      const all = replies();
      const actual = all[checked];
      if (!actual || !matches(actual, expected)) {
        const wanted = typeof expected === 'string' ? JSON.stringify(expected) : expected instanceof RegExp ? String(expected) : JSON.stringify(expected);
        const rest = all.slice(checked).map(describe).join(', ') || 'nothing';
        throw new Error(`expected the bot to reply ${wanted}, but its next reply was ${describe(actual)} (unchecked replies: ${rest})`);
      }
      checked++;
      return actual;
    },
    expectNoReply() {
      const rest = replies().slice(checked);
      if (rest.length > 0) throw new Error(`expected no more replies, but the bot sent ${rest.map(describe).join(', ')}`);
    },
    async waitForReplies(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (replies().length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} replies within ${timeoutMs} ms, got ${replies().map(describe).join(', ') || 'none'}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return replies();
    },
    newChat,
    async close() {
      await server.close(2000);
      await bot.close();
      await client.close();
      await api.close();
    },
  };
}
