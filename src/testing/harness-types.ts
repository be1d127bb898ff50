/**
 * The types of the test harness: its options and the `TestHarness` a test holds. `TestHarness` is
 * named for a bot directly (`TestHarness<typeof bot>`), whatever its session, so a shared harness
 * can be declared before `beforeAll` creates it; the session type works too (`TestHarness<Session>`).
 */
import type { Logger } from 'pino';
import type { Bot } from '../bot/bot.js';
import type { Clock } from '../protocol/clock.js';
import type { OutboundMessage } from '../protocol/outbound.js';
import type { StateStore } from '../state/store.js';
import type { CallbackAnswer } from './callback-poster.js';
import type { FakeChatApi, RecordedSend } from './fake-chat-api.js';
import type { ReplyPattern } from './reply-pattern.js';

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
  /**
   * The bot's clock (a FakeClock): `ctx.sleep`, `ctx.withTyping`, typing timeouts and the handler
   * timeout run on it, so a test skips a handler's waits with `clock.advance(ms)`. Wins over the
   * `clock` given to createBot. Default: the bot's own.
   */
  clock?: Clock;
}

/** The part of every bot that does not depend on its session type: what `TestHarness` (no type argument) holds. */
export type AnyBot = Pick<Bot<unknown>, 'name' | 'idle' | 'close' | 'isTyping' | 'deliveryState' | 'queueDepth' | 'dispatch'>;

/** The bot type of `TestHarness<T>`: T is a bot type, a session type, or left out (any bot). */
export type HarnessBot<T> = [T] extends [Bot<infer S>] ? Bot<S> : unknown extends T ? AnyBot : Bot<T>;

/**
 * A bot under test and the platform around it. `T` is the bot's type (`TestHarness<typeof bot>`) or
 * its session type; without it, a harness of any bot.
 */
export type TestHarness<T = unknown> = BotHarness<HarnessBot<T>>;

/**
 * The harness of a bot of type `B` (what `TestHarness<T>` names). An alias over this interface,
 * rather than an interface over `T`, so the harnesses of one bot are one type however they are
 * named, and every harness is a `TestHarness`.
 */
export interface BotHarness<B> {
  readonly bot: B;
  readonly api: FakeChatApi;
  /** The current chat: where the user acts and whose replies the expectations check. */
  readonly chatId: string;
  /** The current chat's message token. */
  readonly mTok: string;
  /** Every message the platform took from the bot, in every chat, in order (refused sends are not replies). */
  readonly replies: OutboundMessage[];
  /** The current chat's replies not yet checked by `expectReply` or `skipReplies`. */
  readonly unchecked: OutboundMessage[];
  /** Every request the bot made to the Chat API. */
  readonly sends: RecordedSend[];
  /** @example await h.userSays('hi'); */
  userSays(text: string): Promise<CallbackAnswer>;
  /** @example await h.userSendsImage({ url: 'https://example.com/a.png' }); */
  userSendsImage(image: { url: string; preview?: string }): Promise<CallbackAnswer>;
  /** @example await h.userTaps('size=large'); */
  userTaps(postbackData: string, label?: string): Promise<CallbackAnswer>;
  /** @example await h.userTypes(); */
  userTypes(): Promise<CallbackAnswer>;
  /**
   * The user leaves: the chat closes at once (the fake Chat API then answers sends 404
   * `chat_closed`, as BBM does) and the bot gets the leave action. Later user actions in this chat
   * throw ChatRefusedError until `userReopens()`.
   *
   * @example await h.userLeaves(); expect(h.api.chat(h.chatId)?.open).toBe(false);
   */
  userLeaves(): Promise<CallbackAnswer>;
  /**
   * The user opens the chat they left again: same chat id, a new token (the old one is refused).
   * The next message carries the new token to the bot.
   *
   * @example await h.userLeaves(); h.userReopens(); await h.userSays('back');
   */
  userReopens(): void;
  /**
   * Posts a callback with these fields over the defaults (chat, user, token), signed. An `mTok`
   * in it is the platform issuing that token; a leave action in it closes the chat.
   *
   * @example await h.post({ mTok: undefined, actions: [{ type: 'read', mids: [mid] }] });
   */
  post(fields: Record<string, unknown>): Promise<CallbackAnswer>;
  /**
   * Asserts that the current chat's next unchecked reply matches, checks it off and returns it: a
   * string is the exact text, a RegExp tests the text, an object is a deep pattern of the message
   * (fields it names must match; arrays element by element; a RegExp for a string). Messages and
   * actions made with the builders are patterns too. A failure throws ReplyMismatchError at this
   * line, with a diff of expected against actual.
   *
   * @example h.expectReply({ type: 'buttons', buttons: { title: 'Size?', actions: [postback({ label: 'Large', data: 'size=l' })] } });
   */
  expectReply(expected: ReplyPattern): OutboundMessage;
  /**
   * Asserts that the current chat has no unchecked reply.
   *
   * @example await h.userTypes(); h.expectNoReply();
   */
  expectNoReply(): void;
  /**
   * Checks off the current chat's next `count` unchecked replies without looking (all of them
   * when left out) and returns them; throws if there are fewer.
   *
   * @example await h.userSays('menu'); h.skipReplies(1); h.expectReply(/Size/);
   */
  skipReplies(count?: number): OutboundMessage[];
  /**
   * Forgets every send and reply so far, in every chat, and any scripted answers: for a harness
   * shared by several tests (`beforeEach(() => h.clear())`). Chats, tokens and the bot's state stay.
   *
   * @example beforeEach(() => h.clear());
   */
  clear(): void;
  /**
   * Waits (bounded) until the bot has sent `count` replies in all chats; returns all of them.
   *
   * @example const [first] = await h.waitForReplies(1);
   */
  waitForReplies(count: number, timeoutMs?: number): Promise<OutboundMessage[]>;
  /**
   * Moves the harness's FakeClock (`options.clock`) forward by `ms`, firing the timers due on the
   * way, and waits (bounded by `timeoutMs` of real time, default 5 s) until the turns they started
   * have finished and their replies are recorded: a dialog's timeout, a `conv.sleep`, a typing
   * end. Timers set by those turns are not fired in the same call: advance again.
   *
   * @example await h.userTaps('action=book'); await h.advance(300_000); h.expectReply(/still there/);
   */
  advance(ms: number, timeoutMs?: number): Promise<void>;
  /**
   * Starts a new conversation (new chat id and token) and returns its id. Expectations follow the
   * new chat from an empty queue; the old chat's replies, late ones included, stay with it.
   *
   * @example beforeEach(() => h.newChat());
   */
  newChat(): string;
  /** @example afterAll(() => h.close()); */
  close(): Promise<void>;
}
