/**
 * The test kit for bot authors: a bot behind the real webhook (signed callbacks over real HTTP) and
 * a fake Chat API that captures what it sends and follows the platform's chat rules, so a bot is
 * tested in a few lines:
 *
 *   const h = await createTestHarness(bot);
 *   await h.userSays('hi');
 *   h.expectReply('Hello Alice!');
 *   h.expectNoReply();
 *   await h.close();
 *
 * Expectations are kept per chat (see ReplyExpectations); the types are in harness-types.ts.
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import type { Bot } from '../bot/bot.js';
import { ChatClient } from '../client/index.js';
import { ChatRefusedError } from '../protocol/chat-access.js';
import type { ReplyPattern } from './reply-pattern.js';
import { startServer, type RunningServer } from '../server/http-server.js';
import { MemoryStore } from '../state/memory.js';
import { postSigned } from './callback-poster.js';
import { startFakeChatApi } from './fake-chat-api.js';
import type { HarnessBot, HarnessOptions, TestHarness } from './harness-types.js';
import { ReplyExpectations } from './reply-expectations.js';
import { FakeClock } from './fake-clock.js';
import { dialogTimersSettled } from '../conversation/timers.js';

export type { CallbackAnswer } from './callback-poster.js';
export type { AnyBot, BotHarness, HarnessBot, HarnessOptions, HarnessUser, TestHarness } from './harness-types.js';

const leaves = (fields: Record<string, unknown>): boolean =>
  Array.isArray(fields.actions) && fields.actions.some((a: unknown) => (a as { type?: unknown } | null)?.type === 'leave');

/**
 * Starts `bot` behind a real webhook on a local port, with a fake Chat API and token service.
 *
 * @example
 * let h: TestHarness<typeof bot>;
 * beforeAll(async () => { h = await createTestHarness(bot); });
 * beforeEach(() => h.newChat());
 * afterAll(() => h.close());
 */
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
  bot.init({
    sender: client,
    store,
    logger,
    deliveryNotifications: options.deliveryNotifications ?? false,
    shared: options.shared ?? false,
    errorDetail: options.errorDetail ?? true,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const server: RunningServer = await startServer({ port: 0, host: '127.0.0.1', sigKeys: [key], dispatcher: bot, logger, bodyLimit: 1024 * 1024 });

  const expectations = new ReplyExpectations(() => api.sends);
  let chatId = '';
  let mTok = '';
  const newToken = () => randomBytes(24).toString('base64url');
  const chatBase = 100_000_000 + Math.floor(Math.random() * 800_000_000);
  let chatCount = 0;
  const newChat = (): string => {
    // Unique per harness (a counter after a random base): two tests never share a chat's session.
    chatId = String(chatBase + ++chatCount);
    mTok = newToken();
    api.chatIssued(chatId, mTok);
    return chatId;
  };
  newChat();
  let midCounter = 0;

  const post = (fields: Record<string, unknown>) => {
    const sentTok = 'mTok' in fields ? fields.mTok : mTok;
    // A raw callback may name another chat: the platform's records follow the chat it names.
    const target = typeof fields.chatId === 'string' ? fields.chatId : chatId;
    if (typeof sentTok === 'string' && sentTok !== '') {
      // The platform issued this token: the fake Chat API takes it from now on (a reopen, if closed and new).
      api.chatIssued(target, sentTok);
      if (target === chatId) mTok = sentTok;
    }
    // As on BBM, a leave closes the chat at once, before the bot hears of it.
    if (leaves(fields)) api.userLeft(target);
    const callback = { mType: 'message', chId: 'C00012B1E', chatId, from: user.id, to: botId, mTok, userInfos: { [user.id]: { name: user.name } }, ...fields };
    return postSigned(`${server.url}/v1/chats`, JSON.stringify(callback), key);
  };
  const userMay = (caller: (...args: never[]) => unknown) => {
    const refusal = api.chat(chatId)?.userActionRefusal(user.name);
    if (!refusal) return;
    const error = new ChatRefusedError(refusal);
    Error.captureStackTrace(error, caller);
    throw error;
  };
  const nextMid = () => `m${Date.now().toString(16)}${(++midCounter).toString(16).padStart(4, '0')}`;
  const message = (m: Record<string, unknown>) => post({ messages: [{ index: 1, mid: nextMid(), ts: Date.now(), ...m }] });
  const action = (a: Record<string, unknown>) => post({ actions: [{ ts: Date.now(), ...a }] });

  // Named functions, so a failure's stack starts at the test's own call of them.
  async function userSays(text: string) {
    userMay(userSays);
    return message({ type: 'text', text });
  }
  async function userSendsImage(image: { url: string; preview?: string }) {
    userMay(userSendsImage);
    return message({ type: 'image', image });
  }
  async function userTaps(data: string, label = data.slice(0, 20)) {
    userMay(userTaps);
    return action({ type: 'postback', postback: { label, data } });
  }
  async function userTypes() {
    userMay(userTypes);
    return action({ type: 'typing' });
  }
  async function userLeaves() {
    userMay(userLeaves);
    return action({ type: 'leave' });
  }
  function userReopens() {
    const access = api.chat(chatId);
    const token = newToken();
    const refusal = access?.reopen(token);
    if (refusal) {
      const error = new ChatRefusedError(refusal);
      Error.captureStackTrace(error, userReopens);
      throw error;
    }
    mTok = token;
  }
  function expectReply(expected: ReplyPattern) {
    return expectations.expect(chatId, expected, expectReply);
  }
  function expectNoReply() {
    expectations.expectNone(chatId, expectNoReply);
  }
  function skipReplies(count?: number) {
    return expectations.skip(chatId, count, skipReplies);
  }

  return {
    bot: bot as HarnessBot<S>,
    api,
    get chatId() {
      return chatId;
    },
    get mTok() {
      return mTok;
    },
    get replies() {
      return expectations.replies();
    },
    get unchecked() {
      return expectations.unchecked(chatId);
    },
    get sends() {
      return api.sends;
    },
    userSays,
    userSendsImage,
    userTaps,
    userTypes,
    userLeaves,
    userReopens,
    post,
    expectReply,
    expectNoReply,
    skipReplies,
    clear() {
      api.reset();
      expectations.reset();
    },
    async waitForReplies(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (expectations.replies().length < count) {
        if (Date.now() > deadline) {
          const got = expectations.replies().map((m) => (m.type === 'text' ? JSON.stringify(m.text) : JSON.stringify(m)));
          throw new Error(`expected ${count} replies within ${timeoutMs} ms, got ${got.join(', ') || 'none'}`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      return expectations.replies();
    },
    async advance(ms, timeoutMs = 5000) {
      const clock = options.clock;
      if (!(clock instanceof FakeClock)) throw new TypeError('h.advance needs the harness to run on a FakeClock: createTestHarness(bot, { clock: new FakeClock() })');
      clock.advance(ms);
      // The timers due in that span started turns (dialog timeouts, typing ends): wait for their replies.
      const settled = (await dialogTimersSettled(clock, timeoutMs)) && (await bot.idle(timeoutMs));
      if (!settled) throw new Error(`h.advance(${ms}): the turns its timers started were still running after ${timeoutMs} ms`);
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
