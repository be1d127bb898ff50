/**
 * The emulated BBM platform: users, their chats with the bot, what each side did, and the rules
 * that connect them. The web UI, the `/api` endpoints and `startEmulator()` callers all act
 * through this class; the Chat API endpoint hands it the bot's sends. It never throws anything but
 * {@link HttpError} at its callers, so bad input cannot take the process down.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { z } from 'zod';
import { ChatAccess, type ChatRefusal } from '../protocol/chat-access.js';
import { toFieldIssues } from '../protocol/errors.js';
import { OUTBOUND_LIMITS } from '../protocol/limits.js';
import { SendRequestSchema, type OutboundMessage, type SendRequest } from '../protocol/outbound.js';
import { codePointLength, isHttpUrl, ownValue } from '../protocol/primitives.js';
import { avatarSvg } from './avatar.js';
import type { CallbackOutcome, CallbackResend, CallbackSender } from './callbacks.js';
import { HttpError } from './errors.js';
import type { FaultQueue } from './faults.js';
import type {
  BotItem,
  ChatItem,
  EmulatedChat,
  EmulatedUser,
  EmulatorEvent,
  NoticeItem,
  UserContent,
  UserItem,
} from './model.js';
import type { Reply } from './tokens.js';
import { OutgoingTyping, type TypingTimings } from './typing.js';

const httpUrl = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine(isHttpUrl, 'must be an http(s) URL');

/** What a user may send: the spec's inbound message types, with the client's own limits. */
export const UserContentSchema = z.union([
  z.strictObject({
    text: z
      .string()
      .refine((s) => s.trim().length > 0, 'must not be empty')
      .refine((s) => codePointLength(s) <= OUTBOUND_LIMITS.text, `must be at most ${OUTBOUND_LIMITS.text} characters`),
  }),
  z.strictObject({
    image: z.strictObject({ url: httpUrl(OUTBOUND_LIMITS.imageUrl), preview: httpUrl(OUTBOUND_LIMITS.previewUrl).optional() }),
  }),
]);
export type UserContentInput = z.input<typeof UserContentSchema>;

export const PostbackSchema = z.strictObject({
  data: z.string().min(1, 'must not be empty').max(OUTBOUND_LIMITS.postbackData),
  label: z.string().max(OUTBOUND_LIMITS.actionLabel).optional(),
  text: z.string().max(OUTBOUND_LIMITS.actionText).optional(),
});
export type PostbackInput = z.input<typeof PostbackSchema>;

export const NameSchema = z.string().trim().min(1, 'must not be empty').max(40, 'must be at most 40 characters');

/** Parses input for an action, turning zod's complaints into a 400 that names the fields. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = toFieldIssues(r.error.issues);
  throw new HttpError(400, 'bad_request', `${what} is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
}

export interface PlatformOptions {
  botId: string;
  botName: string;
  /** False while `botName` is a placeholder: the bot's first send with `userInfos` names it. */
  botNameKnown: boolean;
  channelId: string;
  deliveryNotifications: boolean;
  /** Where the emulator answers, for avatar URLs. */
  baseUrl: () => string;
  callbacks: CallbackSender;
  faults: FaultQueue;
  typing: TypingTimings;
  /** How long the bot's "is typing…" lasts without a message. Spec: 30 s. */
  botTypingTimeoutMs: number;
  /** Older items are dropped past this many per chat. */
  maxItemsPerChat: number;
  emit: (event: EmulatorEvent) => void;
  onBotNameChange: (name: string) => void;
}

interface ChatRecord {
  view: EmulatedChat;
  /** Open or closed, the current message token and earlier ones: the platform's rules (shared with the test kit). */
  access: ChatAccess;
  /** The bot has successfully received a callback carrying the current token. */
  mTokGiven: boolean;
  /** The spec sends no typing before the first message of a new chat. */
  hasMessage: boolean;
  typing: OutgoingTyping;
  botTypingTimer: NodeJS.Timeout | undefined;
}

/** What a user action returns: the item at once, and its final state once the bot has answered. */
export interface Pending<T> {
  item: T;
  done: Promise<T>;
}

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const digits = (n: number): string => Array.from({ length: n }, (_, i) => String(randomInt(i === 0 ? 1 : 0, 10))).join('');

export class Platform {
  private readonly users = new Map<string, EmulatedUser>();
  private readonly chats = new Map<string, ChatRecord>();
  private botNameValue: string;
  private botNameKnownValue: boolean;
  private stopped = false;

  constructor(private readonly o: PlatformOptions) {
    this.botNameValue = o.botName;
    this.botNameKnownValue = o.botNameKnown;
  }

  get botName(): string {
    return this.botNameValue;
  }

  get botNameKnown(): boolean {
    return this.botNameKnownValue;
  }

  listUsers(): EmulatedUser[] {
    return [...this.users.values()].map((u) => ({ ...u }));
  }

  listChats(): EmulatedChat[] {
    return [...this.chats.values()].map((c) => this.view(c));
  }

  getUser(userId: string): EmulatedUser {
    const user = this.users.get(userId);
    if (!user) throw new HttpError(404, 'user_not_found', `there is no user ${userId}`);
    return { ...user };
  }

  getChat(chatId: string): EmulatedChat {
    return this.view(this.record(chatId));
  }

  /** The chat's current message token (for tests and tools; the UI never shows it). */
  mTokOf(chatId: string): string {
    return this.record(chatId).access.mTok;
  }

  avatar(userId: string): string | undefined {
    const user = this.users.get(userId);
    return user ? avatarSvg(user.id, user.name) : undefined;
  }

  createUser(name: string): EmulatedUser {
    const clean = parseInput(NameSchema, name, 'name');
    let id = digits(12);
    while (this.users.has(id) || id === this.o.botId) id = digits(12);
    const user: EmulatedUser = { id, name: clean, avatarUrl: `${this.o.baseUrl()}/avatars/${id}.svg` };
    this.users.set(id, user);
    this.o.emit({ type: 'user', user: { ...user } });
    return { ...user };
  }

  /** The user starts a new chat with the bot: a new chat id and a fresh mTok. */
  openChat(userId: string): EmulatedChat {
    this.getUser(userId);
    let chatId = digits(9);
    while (this.chats.has(chatId)) chatId = digits(9);
    const record: ChatRecord = {
      view: { chatId, userId, botId: this.o.botId, open: true, createdAt: Date.now(), botTyping: false, items: [] },
      access: new ChatAccess(chatId, newToken()),
      mTokGiven: false,
      hasMessage: false,
      typing: new OutgoingTyping(() => void this.sendTyping(record), this.o.typing),
      botTypingTimer: undefined,
    };
    this.chats.set(chatId, record);
    this.changed(record);
    return this.view(record);
  }

  /** The user sends a text or an image. */
  userSends(chatId: string, input: unknown): Pending<UserItem> {
    const record = this.openRecord(chatId);
    const parsed = parseInput(UserContentSchema, input, 'the message');
    const content: UserContent =
      'text' in parsed
        ? { type: 'text', text: parsed.text }
        : { type: 'image', image: { url: parsed.image.url, ...(parsed.image.preview ? { preview: parsed.image.preview } : {}) } };
    return this.sendContent(record, content);
  }

  /** The user taps an action of a buttons message; link taps also say where to go. */
  userTaps(chatId: string, mid: string, actionIndex: number): Pending<UserItem> & { url?: string } {
    const record = this.openRecord(chatId);
    const item = record.view.items.find((i): i is BotItem => i.from === 'bot' && i.id === mid);
    if (!item) throw new HttpError(404, 'message_not_found', `the bot sent no message ${mid} in chat ${chatId}`);
    if (item.message.type !== 'buttons') throw new HttpError(400, 'not_buttons', `message ${mid} is a ${item.message.type} message, not buttons`);
    const action = item.message.buttons.actions[actionIndex];
    if (!action) throw new HttpError(400, 'bad_request', `message ${mid} has no action ${actionIndex}`, { field: 'action' });
    switch (action.type) {
      case 'postback':
        return this.sendPostback(record, action.postback);
      case 'text':
        // The spec: a text action's text is sent as a message from the user.
        return this.sendContent(record, { type: 'text', text: action.text.text });
      case 'link':
        // The spec: the URL opens, and the text (or else the label) is sent as a message from the user.
        return { ...this.sendContent(record, { type: 'text', text: action.link.text ?? action.link.label }), url: action.link.url };
    }
  }

  /** A postback with the given data, as if a button carried it. */
  userPostback(chatId: string, input: unknown): Pending<UserItem> {
    const record = this.openRecord(chatId);
    return this.sendPostback(record, parseInput(PostbackSchema, input, 'the postback'));
  }

  /** The user is typing: a typing action follows the spec's outgoing rules, or goes now if `immediate`. */
  userTyping(chatId: string, immediate = false): { scheduled: boolean } {
    const record = this.openRecord(chatId);
    if (immediate) {
      void this.sendTyping(record);
      return { scheduled: true };
    }
    if (!record.hasMessage) return { scheduled: false };
    record.typing.keystroke();
    return { scheduled: true };
  }

  /** The user leaves: the chat closes at once, and the bot is told. */
  async userLeaves(chatId: string): Promise<CallbackOutcome> {
    const record = this.openRecord(chatId);
    record.access.leave();
    record.typing.cancel();
    this.setBotTyping(record, false);
    this.addItem(record, notice(`${this.userName(record)} left the chat`));
    // A leave carries no mTok (as in the spec's samples): the bot must stop using the one it has.
    return this.callback(record, { actions: [{ type: 'leave', ts: Date.now() }] }, [], false);
  }

  /** The user opens the chat again after leaving: same chat id, new mTok. */
  userReopens(chatId: string): EmulatedChat {
    const record = this.record(chatId);
    refuseIf(record.access.reopen(newToken()));
    record.mTokGiven = false;
    record.hasMessage = false;
    this.addItem(record, notice(`${this.userName(record)} opened the chat again`));
    return this.view(record);
  }

  /** The user's client received bot messages: dlv actions (delivery notifications on only). */
  async markDelivered(chatId: string, mids?: readonly string[]): Promise<string[]> {
    const record = this.record(chatId);
    if (!this.o.deliveryNotifications || !record.access.open) return [];
    const items = this.botItems(record, mids, ['accepted']);
    if (items.length === 0) return [];
    for (const i of items) i.state = 'delivered';
    this.changed(record);
    const ids = items.map((i) => i.id);
    await this.callback(record, { actions: [{ type: 'dlv', ts: Date.now(), mids: ids }] }, [], false);
    return ids;
  }

  /** The user read bot messages: dlv (for any not yet delivered) then read actions. */
  async markRead(chatId: string, mids?: readonly string[]): Promise<string[]> {
    const record = this.record(chatId);
    if (!this.o.deliveryNotifications || !record.access.open) return [];
    const items = this.botItems(record, mids, ['accepted', 'delivered']);
    if (items.length === 0) return [];
    const undelivered = items.filter((i) => i.state === 'accepted').map((i) => i.id);
    for (const i of items) i.state = 'read';
    this.changed(record);
    const ids = items.map((i) => i.id);
    const ts = Date.now();
    const actions = [...(undelivered.length ? [{ type: 'dlv', ts, mids: undelivered }] : []), { type: 'read', ts, mids: ids }];
    await this.callback(record, { actions }, [], false);
    return ids;
  }

  /**
   * `POST /v1/chats/:chatId?mTok=`, after the bearer token was checked: the chat and its token,
   * the body against every rule of the spec, then actions first and messages in index order.
   */
  handleSend(chatId: string, mTok: string | null, raw: Buffer): Reply {
    const record = this.chats.get(chatId);
    if (!record) {
      throw new HttpError(404, 'chat_not_found', `there is no chat ${chatId}: a chat exists once a user starts it`);
    }
    refuseIf(record.access.sendRefusal(mTok));

    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpError(400, 'bad_request', 'the body is not valid JSON');
    }
    const notes: string[] = [];
    const parsed = SendRequestSchema.safeParse(coerceIndexes(json, notes));
    if (!parsed.success) {
      const issues = toFieldIssues(parsed.error.issues);
      throw new HttpError(400, 'bad_request', `the request is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
    }
    const body: SendRequest = parsed.data;
    if (body.chatId !== chatId) {
      throw new HttpError(400, 'bad_request', `chatId: must equal the chat id in the URL (${chatId})`, { issues: [{ path: 'chatId', message: `must equal the chat id in the URL (${chatId})` }] });
    }
    if (body.from !== record.view.botId) {
      throw new HttpError(403, 'forbidden', `from must be the bot's BBM id (${record.view.botId}), the "to" of its callbacks`, { field: 'from' });
    }
    if (body.to !== record.view.userId) {
      throw new HttpError(403, 'forbidden', `to must be the BBM id of the user who started this chat (${record.view.userId})`, { field: 'to' });
    }
    const name = ownValue(body.userInfos, body.from)?.name;
    if (name && (name !== this.botNameValue || !this.botNameKnownValue)) {
      this.botNameValue = name;
      this.botNameKnownValue = true;
      this.o.onBotNameChange(name);
    }

    // Actions come first and get no result.
    for (const action of body.actions ?? []) {
      if (action.type === 'typing') this.setBotTyping(record, true);
      else this.botReads(record, action.mids, notes);
    }

    const messages = orderByIndex(body.messages ?? []);
    const fault = messages.length > 0 ? this.o.faults.take(['207']) : undefined;
    const failAt = fault ? Math.min(fault.messageIndex ?? 1, messages.length) : Infinity;
    if (fault) notes.push(`injected fault: message ${failAt} fails with ${fault.code ?? 503}`);
    const ts = Date.now();
    const results = messages.map(({ message, index }, i) => {
      const n = i + 1;
      if (n === failAt) {
        return { index, type: 'result', result: { code: fault?.code ?? 503, error: 'injected failure' } };
      }
      if (n > failAt) return { index, type: 'result', result: { code: 409, error: 'a preceding message failed' } };
      const mid = hex(8);
      const item: BotItem = {
        from: 'bot',
        id: mid,
        ts,
        message: stripIndex(message),
        state: this.o.deliveryNotifications ? 'accepted' : 'delivered',
      };
      this.addItem(record, item, false);
      return { index, type: 'result', mid, ts, result: { code: this.o.deliveryNotifications ? 202 : 200 } };
    });
    if (results.some((r) => 'mid' in r)) this.setBotTyping(record, false, false);
    this.changed(record);

    const failed = results.some((r) => r.result.code >= 400);
    const headers: Record<string, string> = {};
    if (failed && fault?.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
    return { status: failed ? 207 : 200, body: results.length ? { messages: results } : {}, headers, chatId, notes };
  }

  /**
   * The bot lost what it knew (a reload in `npm run dev`, with its state in memory): the next
   * callback of every chat carries the mTok again, even one with only actions, so a tap right
   * after a reload can still be answered. The real platform cannot know this; the emulator can.
   */
  botRestarted(): void {
    for (const r of this.chats.values()) r.mTokGiven = false;
  }

  /** Stops timers; pending callbacks end through the sender's abort signal. */
  stop(): void {
    this.stopped = true;
    for (const r of this.chats.values()) {
      r.typing.cancel();
      clearTimeout(r.botTypingTimer);
    }
  }

  // ------------------------------------------------------------------------------------------

  private record(chatId: string): ChatRecord {
    const record = this.chats.get(chatId);
    if (!record) throw new HttpError(404, 'chat_not_found', `there is no chat ${chatId}`);
    return record;
  }

  private openRecord(chatId: string): ChatRecord {
    const record = this.record(chatId);
    refuseIf(record.access.userActionRefusal(this.userName(record)));
    return record;
  }

  private userName(record: ChatRecord): string {
    return this.users.get(record.view.userId)?.name ?? 'The user';
  }

  private view(record: ChatRecord): EmulatedChat {
    return { ...record.view, open: record.access.open, items: record.view.items.map((i) => structuredClone(i)) };
  }

  private changed(record: ChatRecord): void {
    if (!this.stopped) this.o.emit({ type: 'chat', chat: this.view(record) });
  }

  private addItem(record: ChatRecord, item: ChatItem, emit = true): void {
    const items = record.view.items;
    items.push(item);
    if (items.length > this.o.maxItemsPerChat) items.splice(0, items.length - this.o.maxItemsPerChat);
    if (emit) this.changed(record);
  }

  private sendContent(record: ChatRecord, content: UserContent): Pending<UserItem> {
    record.typing.messageSent();
    record.hasMessage = true;
    const item: UserItem = { from: 'user', id: hex(8), ts: Date.now(), kind: 'message', content, state: 'accepted' };
    this.addItem(record, item);
    const message = { index: 1, type: content.type, mid: item.id, ts: item.ts, ...(content.type === 'text' ? { text: content.text } : { image: content.image }) };
    const waiting: CallbackResend['onRetry'] = (_mids, { attempt, of, delayMs, reason }) => {
      item.state = 'waiting';
      item.retry = `${reason}: sending it again in ${delayMs / 1000} s (attempt ${attempt} of ${of})`;
      this.changed(record);
    };
    const done = this.callback(record, { messages: [message] }, [item.id], true, waiting).then((outcome) => {
      const result = outcome.results.get(item.id);
      // A 200 without a result for this mid still means the bot took it (lenient); a 207 without one does not.
      const code = result?.code ?? (outcome.ok && outcome.status === 200 ? 200 : undefined);
      delete item.retry;
      if (outcome.ok && code === 200) {
        item.state = this.o.deliveryNotifications ? (item.state === 'read' ? 'read' : 'delivered') : 'read';
      } else {
        const tries = result?.attempts !== undefined && result.attempts > 1 ? ` (${result.attempts} attempts)` : '';
        item.state = 'error';
        item.error = !outcome.ok
          ? (outcome.error ?? 'failed')
          : code === undefined
            ? `the bot's ${outcome.status ?? ''} answer has no result for this message`
            : `the bot answered ${code} for this message${tries}${result?.error ? `: ${result.error}` : ''}`;
      }
      this.changed(record);
      return structuredClone(item);
    });
    return { item: structuredClone(item), done };
  }

  private sendPostback(record: ChatRecord, postback: { data: string; label?: string; text?: string }): Pending<UserItem> {
    const clean = { data: postback.data, ...(postback.label ? { label: postback.label } : {}), ...(postback.text ? { text: postback.text } : {}) };
    const item: UserItem = { from: 'user', id: `pb-${hex(6)}`, ts: Date.now(), kind: 'postback', postback: clean, state: 'accepted' };
    this.addItem(record, item);
    const done = this.callback(record, { actions: [{ type: 'postback', ts: item.ts, postback: clean }] }, [], false).then((outcome) => {
      // Actions get no per-message result: the HTTP status is all there is.
      if (outcome.ok) item.state = 'delivered';
      else {
        item.state = 'error';
        item.error = outcome.error ?? 'failed';
      }
      this.changed(record);
      return structuredClone(item);
    });
    return { item: structuredClone(item), done };
  }

  private async sendTyping(record: ChatRecord): Promise<void> {
    if (!record.access.open || this.stopped) return;
    await this.callback(record, { actions: [{ type: 'typing', ts: Date.now() }] }, [], false);
  }

  /**
   * Builds, signs and delivers a callback for this chat. Messages the bot asks to get again (a 500/503
   * result) go in a new callback built at that time, so it carries the chat's mTok as it is then.
   */
  private async callback(
    record: ChatRecord,
    content: { messages?: { mid: string }[]; actions?: unknown[] },
    mids: string[],
    withToken: boolean,
    onRetry?: CallbackResend['onRetry'],
  ): Promise<CallbackOutcome> {
    let sentToken: string | undefined;
    const build = (part: { messages?: { mid: string }[]; actions?: unknown[] }): Record<string, unknown> => {
      const user = this.users.get(record.view.userId);
      // The platform sends the token with messages, and with anything until the bot has received it once.
      const includeToken = record.access.open && (withToken || !record.mTokGiven);
      sentToken = includeToken ? record.access.mTok : undefined;
      return {
        mType: 'message',
        chId: this.o.channelId,
        chatId: record.view.chatId,
        from: record.view.userId,
        to: record.view.botId,
        ...(includeToken ? { mTok: record.access.mTok } : {}),
        ...part,
        userInfos: {
          [record.view.userId]: {
            name: user?.name ?? 'User',
            avatar: [{ imageSize: Buffer.byteLength(this.avatar(record.view.userId) ?? ''), imageType: 'image/svg+xml', resolution: '60x60', url: user?.avatarUrl ?? '' }],
          },
        },
      };
    };
    const resend: CallbackResend = {
      // A chat the user left (or an emulator stopping) gets no more deliveries of old messages.
      rebuild: (again) => (record.access.open && !this.stopped ? build({ messages: (content.messages ?? []).filter((m) => again.includes(m.mid)) }) : undefined),
      ...(onRetry ? { onRetry } : {}),
    };
    const outcome = await this.o.callbacks.send(record.view.chatId, build(content), mids, resend);
    if (outcome.ok && sentToken !== undefined && record.access.mTok === sentToken) record.mTokGiven = true;
    return outcome;
  }

  private setBotTyping(record: ChatRecord, typing: boolean, emit = true): void {
    clearTimeout(record.botTypingTimer);
    record.botTypingTimer = undefined;
    if (typing) {
      record.botTypingTimer = setTimeout(() => {
        record.botTypingTimer = undefined;
        record.view.botTyping = false;
        this.changed(record);
      }, this.o.botTypingTimeoutMs);
      record.botTypingTimer.unref();
    }
    if (record.view.botTyping === typing) return;
    record.view.botTyping = typing;
    if (emit) this.changed(record);
  }

  /** The bot's read action: its mids are the user's messages in this chat. */
  private botReads(record: ChatRecord, mids: readonly string[], notes: string[]): void {
    if (!this.o.deliveryNotifications) notes.push('delivery notifications are off: the user already sees R, read actions are not needed');
    const unknown: string[] = [];
    for (const mid of mids) {
      const item = record.view.items.find((i): i is UserItem => i.from === 'user' && i.id === mid);
      if (!item) unknown.push(mid);
      else if (item.state === 'delivered' || item.state === 'accepted') item.state = 'read';
    }
    if (unknown.length) notes.push(`read names mid(s) the user did not send in this chat: ${unknown.join(', ')}`);
  }

  private botItems(record: ChatRecord, mids: readonly string[] | undefined, states: readonly BotItem['state'][]): BotItem[] {
    const wanted = mids ? new Set(mids) : undefined;
    return record.view.items.filter(
      (i): i is BotItem => i.from === 'bot' && states.includes(i.state) && (wanted === undefined || wanted.has(i.id)),
    );
  }
}

/** A refusal of the shared chat rules, answered as the emulator answers every refusal. */
function refuseIf(refusal: ChatRefusal | undefined): void {
  if (refusal) throw new HttpError(refusal.status, refusal.code, refusal.message, refusal.field === undefined ? {} : { field: refusal.field });
}

function newToken(): string {
  // Shaped like the spec's samples (base64 of "1.<seconds>.<hex>"), but random.
  return Buffer.from(`1.${Math.floor(Date.now() / 1000)}.${hex(16)}`).toString('base64');
}

function notice(text: string): NoticeItem {
  return { from: 'system', id: `n-${hex(6)}`, ts: Date.now(), text };
}

/**
 * The spec's own send samples write `"index": "1"`; the platform accepts a numeric string there
 * (lenient in what it accepts) but says so, since strict senders should not.
 */
function coerceIndexes(json: unknown, notes: string[]): unknown {
  if (json === null || typeof json !== 'object' || !('messages' in json) || !Array.isArray(json.messages)) return json;
  let coerced = false;
  const messages = (json.messages as unknown[]).map((m) => {
    if (m !== null && typeof m === 'object' && 'index' in m && typeof m.index === 'string' && /^\d{1,6}$/.test(m.index)) {
      coerced = true;
      return { ...m, index: Number(m.index) };
    }
    return m;
  });
  if (!coerced) return json;
  notes.push('index was sent as a string; accepted, but send a number');
  return { ...json, messages };
}

/** Messages in index order (the spec processes them so); those without an index keep their place. */
function orderByIndex(messages: readonly OutboundMessage[]): { message: OutboundMessage; index: number }[] {
  return messages
    .map((message, i) => ({ message, index: message.index ?? i + 1, pos: i }))
    .sort((a, b) => a.index - b.index || a.pos - b.pos)
    .map(({ message, index }) => ({ message, index }));
}

function stripIndex(message: OutboundMessage): OutboundMessage {
  const { index: _index, ...rest } = message;
  return rest as OutboundMessage;
}
