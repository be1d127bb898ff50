/**
 * The context of one turn: one action or one message of a callback, the chat and the user it came
 * from, and helpers that read like the chat (`reply`, `markRead`, `typing`, `withTyping`, `sleep`).
 */
import type { Logger } from 'pino';
import type { SendResult } from '../client/index.js';
import { image as imageMessage, read as readAction, text as textMessage, typing as typingAction } from '../client/builders.js';
import type { OutboundAction, OutboundMessage } from '../protocol/outbound.js';
import type { Avatar, ChatCallback, Image, InboundAction, InboundMessage, PostbackAction } from '../protocol/inbound.js';
import { OutgoingTypingRules } from '../protocol/typing-rules.js';
import type { Clock } from './clock.js';
import type { DialogControl } from './plugin.js';
import { BbmError } from '../protocol/errors.js';
import { toPostback, type Delivery, type EventName, type Postback } from './events.js';
import type { TypingStopReason } from './typing-tracker.js';

/** The conversation a turn belongs to. */
export interface Chat {
  id: string;
  /** The latest message token for the chat: required to send. */
  mTok: string | undefined;
  /** The BBM channel id, when BBM sent it. */
  channel: string | undefined;
  /** The bot's own BBM id in this chat (the callback's `to`). */
  botId: string;
}

export interface User {
  id: string;
  name: string;
  avatars: readonly Avatar[];
}

/** One thing to say: text, a built message, or an image (`{url, preview?}`, e.g. one the user sent). */
export type ReplyItem = string | OutboundMessage | Image;
/** One thing to say, or several. */
export type ReplyContent = ReplyItem | readonly ReplyItem[];

/** What a turn needs from its bot: a way to send into this chat, and its settings. */
export interface TurnServices {
  send(chat: Chat, user: User, messages: readonly OutboundMessage[], actions: readonly OutboundAction[]): Promise<SendResult>;
  readonly deliveryNotifications: boolean;
  /** The bot's clock: `withTyping`'s timers run on it (tests pass a FakeClock). */
  readonly clock: Clock;
  /** The conversations plugin, when the bot has one mounted (see plugin.ts). */
  readonly dialogs?: DialogControl;
}

/** `ctx.enter` or `ctx.conversation` on a bot with no conversation mounted. */
export class NoConversationsError extends BbmError {
  constructor(name?: string) {
    super(
      'NO_CONVERSATIONS',
      name === undefined
        ? 'this bot has no conversations: mount one with bot.use(conversation(name, fn))'
        : `no conversation named ${JSON.stringify(name)}: mount it with bot.use(conversation(${JSON.stringify(name)}, fn))`,
      { field: 'name' },
    );
  }
}

export interface TurnInit {
  /** Undefined for turns the bot starts itself (a typing timeout, a delivery at send time). */
  callback: ChatCallback | undefined;
  chat: Chat;
  user: User;
  events: ReadonlySet<EventName>;
  message?: InboundMessage;
  action?: InboundAction;
  delivery?: Delivery;
  typingStop?: { reason: TypingStopReason };
  log: Logger;
  services: TurnServices;
}

export class Context<Session = undefined> {
  /** The whole callback this turn came in, as parsed (unknown properties kept); undefined for turns the bot starts itself. */
  readonly callback: ChatCallback | undefined;
  readonly chat: Chat;
  readonly user: User;
  /** The message of a message turn. */
  readonly message: InboundMessage | undefined;
  /** The action of an action turn. */
  readonly action: InboundAction | undefined;
  /** A logger bound to the chat id (and the message id on message turns). */
  readonly log: Logger;
  /** The events this turn fires, most specific first (`text`, `message`). */
  readonly events: ReadonlySet<EventName>;
  /** Set by `bot.hears` with a RegExp: the match. */
  match: RegExpExecArray | undefined;
  /** Per-chat state, when the bot has sessions; saved after the turn if the turn succeeds. */
  session!: Session;
  /** On `delivered` and `read` turns: the message the bot sent and what became of it. */
  readonly delivery: Delivery | undefined;
  /** On `typingStop` turns: why the typing ended. */
  readonly typingStop: { reason: TypingStopReason } | undefined;
  private cleared = false;

  private readonly services: TurnServices;
  private pendingRead: string[] = [];
  private replies = 0;
  private postbackCache: Postback | undefined;
  private readonly onReplyCallbacks = new Set<() => void>();
  /** `withTyping`'s typing, by the spec's outgoing rules; one per turn, so nested or successive calls share rule 1's 30 s. */
  private typingRules: OutgoingTypingRules | undefined;
  /** How many `withTyping` works are running: the turn counts as typing while any is. */
  private typingWorks = 0;

  constructor(init: TurnInit) {
    this.callback = init.callback;
    this.chat = init.chat;
    this.user = init.user;
    this.message = init.message;
    this.action = init.action;
    this.log = init.log;
    this.events = init.events;
    this.services = init.services;
    this.match = undefined;
    this.delivery = init.delivery;
    this.typingStop = init.typingStop;
    if (init.message && init.services.deliveryNotifications) this.pendingRead = [init.message.mid];
  }

  /** Deletes this chat's session when the turn ends (the next turn starts from the initial value). */
  clearSession(): void {
    this.cleared = true;
  }

  /** @internal Whether clearSession() was called. */
  get sessionCleared(): boolean {
    return this.cleared;
  }

  /**
   * Starts the conversation `name` in this chat (ending one that runs) and runs it until it first
   * waits for the user. `arg` (JSON) is the dialog's argument.
   *
   * @example bot.postback('action=book', (ctx) => ctx.enter('booking'));
   */
  enter(name: string, arg?: unknown): Promise<void> {
    const dialogs = this.services.dialogs;
    if (!dialogs) return Promise.reject(new NoConversationsError(name));
    return dialogs.enter(this as Context<unknown>, name, arg);
  }

  /**
   * The conversation of this chat: which one runs, and a way to end it (a global "cancel").
   *
   * @example bot.hears('cancel', async (ctx) => { if (await ctx.conversation.active()) await ctx.conversation.exit(); });
   */
  get conversation(): { active(): Promise<string | undefined>; exit(): Promise<void> } {
    const dialogs = this.services.dialogs;
    const self = this as Context<unknown>;
    return {
      active: () => (dialogs ? dialogs.active(self) : Promise.resolve(undefined)),
      exit: () => (dialogs ? dialogs.exit(self) : Promise.resolve()),
    };
  }

  /** True when this turn fires `event`. */
  is(event: EventName): boolean {
    return this.events.has(event);
  }

  /** The text of a text message, or of a tapped `text` button. */
  get text(): string | undefined {
    if (this.message?.type === 'text') return (this.message as { text: string }).text;
    if (this.action?.type === 'text') return (this.action as { text: { text: string } }).text.text;
    return undefined;
  }

  /** The image of an image message. */
  get image(): Image | undefined {
    return this.message?.type === 'image' ? (this.message as { image: Image }).image : undefined;
  }

  /** The postback of a postback action, with its data parsed as a query string. */
  get postback(): Postback | undefined {
    if (this.action?.type !== 'postback') return undefined;
    if (!this.postbackCache) {
      this.postbackCache = toPostback(this.action as PostbackAction);
    }
    return this.postbackCache;
  }

  /** How many sends this turn has made. */
  get replyCount(): number {
    return this.replies;
  }

  /**
   * Sends text, a built message, or several, to the user in this chat; with delivery notifications
   * on, the first reply of a message turn also carries the read receipt for that message.
   */
  async reply(...content: ReplyContent[]): Promise<SendResult> {
    const messages = normalizeReply(content);
    if (messages.length === 0) throw new TypeError('reply() needs at least one message');
    return this.sendNow(messages, []);
  }

  /** Sends the read receipt for this turn's message now (delivery notifications on only). */
  async markRead(): Promise<void> {
    if (this.pendingRead.length === 0) return;
    await this.sendNow([], []);
  }

  /** Shows "is typing…" to the user; BBM clears it after 30 s or at the next message. */
  async typing(): Promise<void> {
    await this.services.send(this.chat, this.user, [], [typingAction()]);
  }

  /**
   * Runs slow work while the user sees "is typing…", by the spec's outgoing typing rules: the work
   * running is the typing, so a typing action goes out 5 s after it starts, then at 40 s, 75 s …
   * (30 s after each, another is scheduled with the 5 s delay). Work done within 5 s shows no
   * typing at all. Nothing is sent once the work settles or a reply goes out; a failed typing
   * action is logged, never thrown.
   *
   * @example const offer = await ctx.withTyping(() => fetchOffer(ctx.text));
   */
  async withTyping<T>(work: () => Promise<T> | T): Promise<T> {
    const rules = this.typingRules ?? this.startTypingRules();
    this.typingWorks++;
    rules.typing();
    try {
      return await work();
    } finally {
      // The last work settling ends the typing: no timer of the rules fires after this.
      if (--this.typingWorks === 0) rules.stop();
    }
  }

  /**
   * Waits `ms` on the bot's clock: a pause that reads like the chat ("placing your order…"). A test
   * harness with a FakeClock skips it with `clock.advance(ms)` instead of waiting for real.
   *
   * @example await ctx.reply('Placing your order…'); await ctx.sleep(2000); await ctx.reply('Done!');
   */
  sleep(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) return Promise.reject(new RangeError(`ctx.sleep: ms must be a finite number ≥ 0, got ${String(ms)}`));
    return new Promise((resolve) => this.services.clock.setTimeout(resolve, ms));
  }

  private startTypingRules(): OutgoingTypingRules {
    const rules = new OutgoingTypingRules({
      clock: this.services.clock,
      send: () => this.typing(),
      onError: (err) => this.log.warn({ err }, 'typing action failed'),
    });
    // A reply is the message of rules 2 and 5: a pending typing action is cancelled, and works
    // still running show no more typing. The turn's end does the same.
    this.onReplyCallbacks.add(() => rules.messageSent());
    this.typingRules = rules;
    return rules;
  }

  /** Called by the bot when the turn's handlers finished: a read receipt nobody sent goes out alone. */
  async finishTurn(): Promise<void> {
    for (const stop of [...this.onReplyCallbacks]) stop();
    if (this.pendingRead.length > 0) await this.sendNow([], []);
  }

  private async sendNow(messages: readonly OutboundMessage[], actions: readonly OutboundAction[]): Promise<SendResult> {
    const reading = this.pendingRead;
    const withRead = reading.length > 0 ? [readAction(reading), ...actions] : actions;
    this.pendingRead = [];
    if (messages.length > 0) {
      this.replies++;
      for (const stop of [...this.onReplyCallbacks]) stop();
    }
    try {
      return await this.services.send(this.chat, this.user, messages, withRead);
    } catch (error) {
      // The reply carrying the receipt failed (refused by validation, or gave up): the receipt is
      // still owed, so the turn's end sends it alone.
      if (messages.length > 0 && reading.length > 0) this.pendingRead = [...reading, ...this.pendingRead];
      throw error;
    }
  }
}

const isMessage = (item: OutboundMessage | Image): item is OutboundMessage => typeof (item as { type?: unknown }).type === 'string';

export function normalizeReply(content: readonly ReplyContent[]): OutboundMessage[] {
  const out: OutboundMessage[] = [];
  const add = (item: ReplyItem) => {
    if (typeof item === 'string') out.push(textMessage(item));
    else if (isMessage(item)) out.push(item);
    else out.push(imageMessage(item.preview === undefined ? { url: item.url } : { url: item.url, preview: item.preview }));
  };
  for (const c of content) {
    if (Array.isArray(c)) for (const item of c as readonly ReplyItem[]) add(item);
    else add(c as ReplyItem);
  }
  return out;
}
