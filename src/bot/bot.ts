/**
 * A bot: middleware and handlers registered on it, and the dispatcher the webhook hands callbacks
 * to. Each action and each message of a callback is its own turn through the middleware, actions
 * first, then messages in index order; one chat's callbacks are handled one at a time.
 */
import { pino, type Logger } from 'pino';
import type { SendOptions, SendRequest, SendResult } from '../client/index.js';
import { UserGoneError } from '../client/errors.js';
import { BbmError } from '../protocol/errors.js';
import type { CallbackMessageResult, ChatCallback, InboundAction, InboundMessage } from '../protocol/inbound.js';
import type { OutboundAction, OutboundMessage } from '../protocol/outbound.js';
import { MemoryStore } from '../state/memory.js';
import type { StateStore } from '../state/store.js';
import type { CallbackDispatcher, DispatchContext } from '../webhook/dispatcher.js';
import { KeyedQueue } from '../state/keyed-queue.js';
import { ChatRegistry, type ChatRecord } from './chat-registry.js';
import { systemClock, type Clock } from './clock.js';
import type { Middleware } from './compose.js';
import { Composer, routeInfo } from './composer.js';
import { Context, normalizeReply, type Chat, type ReplyContent, type TurnInit, type TurnServices, type User } from './context.js';
import { DeliveryTracker, type DeliveryState, type SentMessage } from './delivery-tracker.js';
import { eventsOfAction, eventsOfMessage, type EventName } from './events.js';
import { RedeliveryGuard, type MessageOutcome } from './redelivery.js';
import { errorText, HandlerError, isFinalResult, resultCodeOf } from './results.js';

export { HandlerError };
import { SessionStore, type SessionOptions, type SessionTurns as SessionTurnsOf } from './session.js';
import { ChatOrder, type ChatTurn } from './chat-order.js';
import { Outbox } from './outbox.js';
import { LocalTyping, TypingState, type IncomingTyping } from './typing-state.js';
import { ChatBusyError, HandlerTimeoutError, TurnTimer, type TurnFence } from './turn-bounds.js';
import type { TypingStopReason } from './typing-tracker.js';
import type { BotPlugin, PluginHost } from './plugin.js';

export type { ContextFor, Handler, HearsContext, PostbackMatchContext } from './composer.js';
export type ErrorHandler<S> = (error: unknown, ctx: Context<S>) => unknown;

/** What a bot needs to send: the Chat API client (or anything that sends like it). */
export interface Sender {
  /** `options.guard` is asked before every retry (see ChatClient.send); a Sender without retries may ignore it. */
  send(request: SendRequest, options?: SendOptions): Promise<SendResult>;
  /** Marks the chat closed (the user left): later sends with this chat id and token are refused. */
  closeChat(chatId: string, mTok: string | undefined): Promise<void>;
}

/** What the server (or the test kit) gives a bot before it handles callbacks. */
export interface BotRuntime {
  sender: Sender;
  store?: StateStore;
  logger?: Logger;
  /** As provisioned with BBM: when on, the bot sends read receipts for every handled message. */
  deliveryNotifications?: boolean;
  /** Display name in outbound userInfos; overrides the name given to createBot. */
  botName?: string;
  /**
   * The store is shared with other instances (Redis): order each chat's callbacks across
   * instances, and send replies through a durable outbox any instance can finish.
   */
  shared?: boolean;
  /** Counters the bot reports to (the server's Prometheus metrics). */
  metrics?: BotMetricsHooks;
  /** HANDLER_TIMEOUT_MS, for a bot whose code sets no `handlerTimeoutMs`. */
  handlerTimeoutMs?: number;
  /** MAX_CHAT_QUEUE, for a bot whose code sets no `maxChatQueue`. */
  maxChatQueue?: number;
  /**
   * Put a failed handler's own error text in the callback's per-message result. Off by default:
   * BBM then gets a generic text and the detail stays in the log, so internal messages never
   * leave the process. `npm run dev` turns it on, where the emulator shows it.
   */
  errorDetail?: boolean;
  /** The bot's clock, over `BotOptions.clock` (the test kit passes its FakeClock here). */
  clock?: Clock;
}

/** What the bot reports; the server's Metrics implements it. */
export interface BotMetricsHooks {
  /** A message arrived again (BBM retried) and was answered from its earlier result. */
  redeliveryHit(): void;
}

export interface BotOptions<S = undefined> {
  /** The bot's display name, sent in userInfos with every message. */
  name: string;
  /** Per-chat state in `ctx.session`, saved after each turn that succeeds. */
  session?: SessionOptions<S>;
  /**
   * Handle the rest of a callback's messages after one failed. Default false: later messages get
   * 409, as the Chat API itself does.
   */
  continueOnError?: boolean;
  /**
   * BBM waits for the callback's answer. After this long, every message without a final result is
   * answered 503 (BBM sends it again): a handler already running goes on in the background and its
   * result answers the retry; a message not yet started is left to the retry. Default 4000 ms; 0
   * waits forever.
   */
  deadlineMs?: number;
  /**
   * A turn still running after this long is abandoned: the chat's next callback runs, the
   * handler's sends fail with TurnAbandonedError, `bot.catch` gets a HandlerTimeoutError and the
   * message is answered 503. Default HANDLER_TIMEOUT_MS, else 60000; 0 never abandons.
   */
  handlerTimeoutMs?: number;
  /**
   * Callbacks one chat may have waiting on this instance; beyond that the webhook answers 503 with
   * Retry-After. Default MAX_CHAT_QUEUE, else 100; 0 is no bound.
   */
  maxChatQueue?: number;
  /**
   * @deprecated Ignored: `ctx.withTyping` now follows the spec's outgoing typing rules (a typing
   * action 5 s after the work starts, then at 40 s, 75 s …), the same ones `TypingRelay` and the
   * emulator use. Kept so code that sets it still compiles.
   */
  typingRepeatMs?: number;
  /** Time source for typing timeouts and `ctx.withTyping`; injectable for tests. */
  clock?: Clock;
}

export class BotNotStartedError extends BbmError {
  constructor() {
    super('BOT_NOT_STARTED', 'the bot has no sender yet: start it with the server, the test kit, or bot.init()');
  }
}


interface Started {
  sender: Sender;
  store: StateStore;
  logger: Logger;
  deliveryNotifications: boolean;
  botName: string;
  registry: ChatRegistry;
  redelivery: RedeliveryGuard;
  deliveries: DeliveryTracker;
  sessions: SessionStore<unknown> | undefined;
  services: TurnServices;
  typing: IncomingTyping;
  order: ChatOrder | undefined;
  outbox: Outbox | undefined;
  metrics: BotMetricsHooks | undefined;
  errorDetail: boolean;
  turns: TurnTimer;
  /** Callbacks a chat may have waiting behind its running one (maxChatQueue); 0: no bound. */
  maxChatQueue: number;
}

/** Results of one callback, filled in as its messages finish; read when the deadline answers early. */
interface Progress {
  results: (CallbackMessageResult | undefined)[];
  answered: boolean;
  /** When the deadline answers (ms since the epoch); Infinity without one. */
  deadlineAt: number;
}

/** How long BBM is asked to wait before sending a callback again after a 503. */
const RETRY_AFTER_SECONDS = 5;

/** The result of a message without a final one when the callback is answered. */
const notHandled = (mid: string, reason = 'not handled in time; retry later'): CallbackMessageResult => ({ mid, result: { code: 503, error: reason } });

/** The outcome of a message whose turn was abandoned (HandlerTimeoutError is retryable: 503). */
const timedOut: MessageOutcome = { code: 503, error: 'the handler ran past HANDLER_TIMEOUT_MS; retry later' };

/** A turn's input, with the bound of the chat's turn it runs in (absent outside one). */
type TurnInput = TurnInit & { fence?: TurnFence };
type TurnBase = Omit<TurnInput, 'events'>;

/**
 * A bot: the root Composer of its routing tree (`use`, `on`, `hears`, `postback`, `filter`,
 * `branch`, `errorBoundary`), and the dispatcher the webhook hands callbacks to.
 *
 * @example
 * const bot = createBot({ name: 'Echo' });
 * bot.on('text', (ctx) => ctx.reply(`You said: ${ctx.message.text}`));
 */
export class Bot<S = undefined> extends Composer<S> implements CallbackDispatcher {
  readonly options: Readonly<BotOptions<S>>;
  private errorHandler: ErrorHandler<S> | undefined;
  private started: Started | undefined;
  private readonly queue = new KeyedQueue();
  private clock: Clock;
  private readonly background = new Set<Promise<unknown>>();

  constructor(options: BotOptions<S>) {
    super();
    if (!options.name) throw new TypeError('createBot: a name is required (it is shown to users)');
    this.options = { ...options };
    this.clock = options.clock ?? systemClock;
  }

  /** Sees every error a handler throws, on the webhook path and in the background. Without one, errors are logged. */
  catch(handler: ErrorHandler<S>): this {
    this.errorHandler = handler;
    return this;
  }

  /** Connects the bot to a sender, a store and a logger. The server and the test kit call this. */
  init(runtime: BotRuntime): this {
    const store = runtime.store ?? new MemoryStore();
    const deliveryNotifications = runtime.deliveryNotifications ?? false;
    const logger = runtime.logger ?? pino({ enabled: false });
    this.clock = runtime.clock ?? this.options.clock ?? systemClock;
    if (this.options.typingRepeatMs !== undefined) {
      logger.warn('typingRepeatMs is ignored: ctx.withTyping follows the spec typing rules (typing at 5 s, then every 35 s)');
    }
    // init is synchronous: a previous runtime's drains finish on their own.
    void this.close();
    const outbox = runtime.shared ? new Outbox(store, runtime.sender, { logger }) : undefined;
    const order = runtime.shared ? new ChatOrder(store) : undefined;
    if (order) order.onLeaseLost = (err) => logger.warn({ err }, 'chat ordering lease lost');
    this.started = {
      sender: outbox ?? runtime.sender,
      typing: runtime.shared
        ? new TypingState(store, this.clock, (chatId, reason) => this.typingStopped(chatId, reason), (work) => this.keep(work))
        : new LocalTyping(this.clock, (chatId, reason) => this.typingStopped(chatId, reason)),
      order,
      outbox,
      metrics: runtime.metrics,
      errorDetail: runtime.errorDetail ?? false,
      turns: new TurnTimer(this.options.handlerTimeoutMs ?? runtime.handlerTimeoutMs ?? 60_000, this.clock, (fence, error) => this.abandoned(fence, error)),
      maxChatQueue: this.options.maxChatQueue ?? runtime.maxChatQueue ?? 100,
      store,
      logger,
      deliveryNotifications,
      botName: runtime.botName ?? this.options.name,
      registry: new ChatRegistry(store),
      redelivery: new RedeliveryGuard(store),
      deliveries: new DeliveryTracker(store),
      sessions: this.options.session ? new SessionStore(store, this.options.session as SessionOptions<unknown>) : undefined,
      services: {
        deliveryNotifications,
        clock: this.clock,
        send: (chat, user, messages, actions) => this.sendInto(chat, user, messages, actions),
        ...(this.dialogs() ? { dialogs: this.dialogs() } : {}),
      },
    };
    const host: PluginHost = {
      store,
      clock: this.clock,
      logger,
      shared: runtime.shared ?? false,
      ownTurn: (chatId, work) => this.ownTurn(chatId, work),
    };
    for (const plugin of this.plugins()) plugin.start(host);
    return this;
  }

  get name(): string {
    return this.started?.botName ?? this.options.name;
  }

  /** Whether the user in this chat is typing now (a typing action in the last 30 s, no message since). */
  isTyping(chatId: string): Promise<boolean> {
    return this.requireStarted().typing.isTyping(chatId);
  }

  /** Replies queued in the durable outbox and not yet accepted by the Chat API (0 without one). */
  async queueDepth(): Promise<number> {
    return (await this.started?.outbox?.depth()) ?? 0;
  }

  /**
   * What became of a message the bot sent in a chat: accepted, delivered or read; undefined when
   * unknown or expired.
   *
   * @example const state = await bot.deliveryState(chatId, result.messages[0].mid);
   */
  async deliveryState(chatId: string, mid: string): Promise<DeliveryState | undefined> {
    // Before 0.2 this took the mid alone; a record is now found only within its chat.
    if (mid === undefined) throw new TypeError('bot.deliveryState(chatId, mid): the chat id comes first, then the mid');
    return (await this.requireStarted().deliveries.get(chatId, mid))?.state;
  }

  /**
   * Writes to a chat later in a conversation the user started, with the chat's latest mTok.
   * Throws when the bot has never seen the chat.
   */
  async send(chatId: string, ...content: ReplyContent[]): Promise<SendResult> {
    const record = await this.requireRecord(chatId);
    return this.sendInto(record.chat, record.user, normalizeReply(content), []);
  }

  /** Shows "is typing…" in a known chat (for operator relays: see TypingRelay). */
  async typing(chatId: string): Promise<void> {
    const record = await this.requireRecord(chatId);
    await this.sendInto(record.chat, record.user, [], [{ type: 'typing' }]);
  }

  /** Background work (handlers past the deadline, delivery events) still running. */
  get pendingWork(): number {
    return this.background.size;
  }

  /** Waits for background work, at most `timeoutMs`; true when it all finished. */
  async idle(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.background.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.background]),
        new Promise((r) => (timer = setTimeout(r, left))),
      ]);
      clearTimeout(timer);
    }
    return true;
  }

  /**
   * Stops the typing timer and the outbox sweeper, and waits (at most the outbox's close timeout,
   * 5 s) for a reply on the wire to be acknowledged. Await it before closing the store: a reply
   * sent but still in the shared outbox would be sent again by another instance.
   *
   * @example await bot.close(); await store.close();
   */
  async close(): Promise<void> {
    this.started?.typing.stop();
    this.started?.redelivery.close();
    if (this.started) await Promise.all(this.plugins().map((p) => p.close()));
    await this.started?.outbox?.close();
  }

  /**
   * CallbackDispatcher: handle a verified callback, one result per incoming message. Throws
   * ChatBusyError (the webhook's 503 + Retry-After) when the chat already has maxChatQueue waiting.
   */
  async dispatch(callback: ChatCallback, context: DispatchContext): Promise<readonly CallbackMessageResult[]> {
    const { maxChatQueue } = this.requireStarted();
    const chatId = callback.chatId;
    // The chat's queue here: its running work and what waits behind it (no store round trip).
    if (maxChatQueue > 0 && this.queue.size(chatId) > maxChatQueue) throw new ChatBusyError(chatId, maxChatQueue, RETRY_AFTER_SECONDS);
    const deadlineMs = this.options.deadlineMs ?? 4000;
    const progress: Progress = {
      results: new Array(callback.messages?.length ?? 0),
      answered: false,
      deadlineAt: deadlineMs > 0 ? Date.now() + deadlineMs : Infinity,
    };
    const work = this.inChat(chatId, (turn, fence) => this.handleCallback(callback, context, progress, turn, fence), () => this.readsFor(callback))
      .catch((err: unknown) => this.unfinished(err, callback, progress));
    if (deadlineMs <= 0) return work;

    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), deadlineMs);
    });
    const first = await Promise.race([work, late]);
    clearTimeout(timer);
    if (first) return first;

    // Past the deadline: what is not finished is a 503 (BBM retries). A handler already running
    // goes on and records its result for the retry; a message not yet started is left to it.
    progress.answered = true;
    const rest = work.catch((err: unknown) => context.log.error({ err }, 'background handling failed'));
    this.keep(rest);
    context.track?.(rest);
    context.log.warn({ deadlineMs }, 'callback answered 503 at the deadline for what was not finished; BBM retries it');
    return (callback.messages ?? []).map((m, i) => progress.results[i] ?? notHandled(m.mid));
  }

  /**
   * A callback whose turn failed as a whole: retryable failures (the chat's turn could not be
   * taken, it was abandoned) are a 503 for every message without a result; others are the webhook's 500.
   */
  private unfinished(err: unknown, callback: ChatCallback, progress: Progress): CallbackMessageResult[] {
    if ((err as { retryable?: unknown } | null)?.retryable !== true) throw err;
    // The timeout's own text names the setting and the message; other causes stay in the log.
    const reason = err instanceof HandlerTimeoutError ? err.message : undefined;
    return (callback.messages ?? []).map((m, i) => progress.results[i] ?? notHandled(m.mid, reason));
  }

  private async handleCallback(
    callback: ChatCallback,
    context: DispatchContext,
    progress: Progress,
    turn: ChatTurn | undefined,
    fence: TurnFence,
  ): Promise<CallbackMessageResult[]> {
    const results = progress.results as CallbackMessageResult[];
    // Answered at the deadline before its turn came: BBM's retry handles all of it.
    if (progress.answered) return results;
    const started = this.requireStarted();
    const { chat, user } = await started.registry.remember(callback, turn);
    const session = started.sessions ? await started.sessions.load(chat.id) : undefined;
    const base: TurnBase = { callback, chat, user, services: this.servicesFor(fence), log: context.log, fence };

    for (const action of callback.actions ?? []) {
      if (progress.answered || fence.abandoned) return results;
      await this.handleAction(action, base, session, turn);
    }

    const messages = callback.messages ?? [];
    let failed = false;
    for (const i of indexOrder(messages)) {
      const message = messages[i]!;
      // Not started by the deadline (or after the turn was abandoned): left to BBM's retry.
      if (progress.answered || fence.abandoned) break;
      if (failed && !this.options.continueOnError && !progress.answered) {
        results[i] = { mid: message.mid, result: { code: 409, error: 'not handled: an earlier message in this callback failed' } };
        continue;
      }
      // A message from the user ends their typing.
      await this.started!.typing.message(chat.id, turn);
      const outcome = await this.handleMessage(message, base, session, progress.deadlineAt);
      if (outcome.code !== 200) failed = true;
      results[i] = { mid: message.mid, result: outcome.error === undefined ? { code: outcome.code } : { code: outcome.code, error: outcome.error } };
    }
    return results;
  }

  private async handleAction(
    action: InboundAction,
    base: TurnBase,
    session: SessionTurns | undefined,
    turn?: ChatTurn,
  ): Promise<void> {
    const started = this.started!;
    const chatId = base.chat.id;
    if (action.type === 'typing' && (await started.typing.typing(chatId, turn)) && this.listens('typingStart')) {
      await this.turn({ ...base, action, events: new Set<EventName>(['typingStart']) }, session);
    }
    if (action.type === 'leave' && base.chat.mTok !== undefined) {
      // The user is gone: nothing more may be sent with this chat and token, not even from the
      // leave handlers themselves (their sends fail with UserGoneError). Without a known token
      // (the store forgot the chat) there is nothing to close: the bot cannot write to the chat, and
      // a later message brings a new token, which is a new conversation.
      await started.sender.closeChat(chatId, base.chat.mTok);
    }
    // A read action is one `read` turn per message id (below), not a turn of its own for `read`.
    const events = action.type === 'read' ? new Set<EventName>(['action']) : eventsOfAction(action);
    await this.turn({ ...base, action, events }, session);
    if (action.type === 'dlv' || action.type === 'read') {
      const target: DeliveryState = action.type === 'dlv' ? 'delivered' : 'read';
      for (const mid of (action as { mids: string[] }).mids) {
        const moved = await started.deliveries.advance(chatId, mid, target);
        for (const state of moved?.reached ?? []) {
          await this.deliveryTurn(base, session, action, state === 'delivered' ? 'delivered' : 'read', moved!.record);
        }
        // A read for a message we do not know still fires `read`, once, without the original.
        if (!moved && target === 'read') {
          const known = await started.deliveries.get(chatId, mid);
          if (!known) await this.deliveryTurn(base, session, action, 'read', undefined, mid);
        }
      }
    }
  }

  private async deliveryTurn(
    base: TurnBase,
    session: SessionTurns | undefined,
    action: InboundAction | undefined,
    event: 'delivered' | 'read',
    record: SentMessage | undefined,
    mid = record?.mid,
  ): Promise<void> {
    if (!this.listens(event)) return;
    await this.turn(
      {
        ...base,
        ...(action ? { action } : {}),
        events: new Set<EventName>([event]),
        delivery: { mid: mid!, message: record?.message, state: record?.state ?? (event === 'read' ? 'read' : 'delivered') },
      },
      session,
    );
  }

  private async handleMessage(message: InboundMessage, base: TurnBase, session: SessionTurns | undefined, deadlineAt: number): Promise<MessageOutcome> {
    const guard = this.started!.redelivery;
    // An earlier delivery still handling this mid is waited for only until this one's deadline.
    const claim = await guard.claim(base.chat.id, message.mid, deadlineAt === Infinity ? undefined : { waitMs: deadlineAt - Date.now() });
    if (claim.kind === 'done') {
      this.started!.metrics?.redeliveryHit();
      return claim.outcome;
    }
    if (claim.kind === 'pending') return { code: 503, error: 'an earlier delivery of this message is still being handled; retry later' };
    const failure = await this.turn(
      { ...base, message, events: eventsOfMessage(message), log: base.log.child({ mid: message.mid }) },
      session,
    );
    const outcome: MessageOutcome = failure ?? { code: 200 };
    // Abandoned, the claim was given back at the timeout; a retry may hold it by now.
    if (base.fence?.abandoned) return outcome;
    // A retryable failure gives the claim back, so BBM's retry of this mid runs the handlers again.
    if (isFinalResult(outcome.code)) await guard.complete(base.chat.id, message.mid, outcome);
    else await guard.release(base.chat.id, message.mid);
    return outcome;
  }

  /**
   * Runs one turn through the middleware, with the chat's session; a thrown error becomes the turn's
   * failure outcome and leaves the session as it was, except UserGoneError (see below).
   */
  private async turn(init: TurnInput, session: SessionTurns | undefined, own?: (ctx: Context<S>) => Promise<void>): Promise<MessageOutcome | undefined> {
    const run: Middleware<Context<S>> = own ?? this.middleware();
    const ctx = new Context<S>(init);
    if (session) ctx.session = session.begin() as S;
    const fence = init.fence;
    if (fence) {
      fence.mid = init.message?.mid;
      fence.ctx = ctx;
    }
    try {
      for (const plugin of this.plugins()) if (plugin.beforeTurn) await plugin.beforeTurn(ctx as Context<unknown>);
      await run(ctx, noNext);
      await ctx.finishTurn();
      // Abandoned meanwhile (bot.catch has been told): the turn's session is not saved.
      if (fence?.abandoned) return timedOut;
      if (session) await session.commit(ctx.session, ctx.sessionCleared);
      return undefined;
    } catch (error) {
      if (fence?.abandoned) return timedOut;
      // No read receipt for a failed message: BBM sends it again, and that turn marks it read.
      await this.reportError(error, ctx);
      if (userGoneHere(error, ctx)) {
        // This chat's user left (before or during the turn): no reply reaches them, but what the turn did
        // stands. Its session is saved (with what bot.catch changed) and its message counts as
        // handled: a retry from BBM would run the handlers, and apply their changes, again.
        if (session) await session.commit(ctx.session, ctx.sessionCleared);
        return undefined;
      }
      const code = resultCodeOf(error);
      return { code, error: errorText(error, code, this.started?.errorDetail ?? false) };
    }
  }

  /**
   * A turn ran past handlerTimeoutMs (TurnTimer): its chat has moved on already. Tell bot.catch with
   * the context of the turn running then, and give the message's claim back for BBM's retry.
   */
  private abandoned(fence: TurnFence, error: HandlerTimeoutError): void {
    const started = this.started;
    if (!started) return;
    const ctx = fence.ctx as Context<S> | undefined;
    if (ctx) void this.reportError(error, ctx);
    else started.logger.error({ err: error }, 'turn abandoned');
    if (fence.mid !== undefined) this.keep(started.redelivery.release(fence.chatId, fence.mid));
  }

  private async reportError(error: unknown, ctx: Context<S>): Promise<void> {
    if (!this.errorHandler) {
      // A user leaving is part of a chat, not a fault of the bot.
      if (userGoneHere(error, ctx)) ctx.log.warn({ err: error }, 'the user is gone: the turn could not send; its session is saved');
      else ctx.log.error({ err: error }, 'handler failed');
      return;
    }
    try {
      await this.errorHandler(error, ctx);
    } catch (handlerError) {
      ctx.log.error({ err: handlerError, cause: error instanceof Error ? error.message : String(error) }, 'bot.catch handler failed');
    }
  }

  private async sendInto(chat: Chat, user: User, messages: readonly OutboundMessage[], actions: readonly OutboundAction[]): Promise<SendResult> {
    const started = this.requireStarted();
    if (chat.mTok === undefined) throw new UserGoneError(chat.id, 'no_token');
    let result: SendResult;
    try {
      result = await started.sender.send({
        chatId: chat.id,
        mTok: chat.mTok,
        from: chat.botId,
        to: user.id,
        ...(chat.channel === undefined ? {} : { chId: chat.channel }),
        userInfos: { [chat.botId]: { name: started.botName } },
        ...(messages.length ? { messages } : {}),
        ...(actions.length ? { actions } : {}),
      });
    } catch (error) {
      // One error for a gone user, also when another instance's outbox made the send.
      throw UserGoneError.from(error, chat.id) ?? error;
    }
    if (messages.length > 0) {
      const delivered = await started.deliveries.recordSent(chat.id, messages, result.messages, this.listens('delivered') || this.listens('read'));
      if (delivered.length > 0 && this.listens('delivered')) {
        // Runs after the current turn: the chat queue is busy with it now.
        const record: ChatRecord = { chat, user };
        this.keep(
          this.inChat(chat.id, async (_turn, fence) => {
            const session = started.sessions ? await started.sessions.load(chat.id) : undefined;
            const base = { callback: undefined, ...record, services: this.servicesFor(fence), log: started.logger.child({ chatId: chat.id }), fence };
            for (const sent of delivered) await this.deliveryTurn(base, session, undefined, 'delivered', sent);
          }),
        );
      }
    }
    return result;
  }

  /** The turn services whose sends fail with TurnAbandonedError once `fence`'s turn is abandoned. */
  private servicesFor(fence: TurnFence): TurnServices {
    const services = this.requireStarted().services;
    return {
      ...services,
      send: (chat, user, messages, actions) => {
        fence.check();
        return services.send(chat, user, messages, actions);
      },
    };
  }

  private dialogs() {
    return this.plugins().find((p) => p.dialogs)?.dialogs;
  }

  /** Plugins found anywhere in the routing tree (conversations), started with the bot. */
  private plugins(): readonly BotPlugin[] {
    return routeInfo(this).plugins;
  }

  /** Whether some `on` in the tree listens for `event` (turns nobody listens for are not run). */
  private listens(event: EventName): boolean {
    return routeInfo(this).listens.has(event);
  }

  /** PluginHost.ownTurn: a turn of the bot's own in a known chat, ordered with its callbacks. */
  private ownTurn(chatId: string, work: (ctx: Context<unknown>) => Promise<void>): Promise<boolean> {
    const started = this.requireStarted();
    return this.inChat(chatId, async (_turn, fence) => {
      const record = await started.registry.get(chatId);
      if (!record) return false;
      const session = started.sessions ? await started.sessions.load(chatId) : undefined;
      await this.turn(
        { callback: undefined, ...record, services: this.servicesFor(fence), fence, log: started.logger.child({ chatId }), events: new Set<EventName>() },
        session,
        work as (ctx: Context<S>) => Promise<void>,
      );
      return true;
    });
  }

  private typingStopped(chatId: string, reason: TypingStopReason): void {
    const started = this.started;
    if (!started || !this.listens('typingStop')) return;
    this.keep(
      this.inChat(chatId, async (_turn, fence) => {
        const record = await started.registry.get(chatId);
        if (!record) return;
        const session = started.sessions ? await started.sessions.load(chatId) : undefined;
        await this.turn(
          {
            callback: undefined,
            ...record,
            services: this.servicesFor(fence),
            fence,
            log: started.logger.child({ chatId }),
            events: new Set<EventName>(['typingStop']),
            typingStop: { reason },
          },
          session,
        );
      }),
    );
  }

  /**
   * One chat's work, one at a time: in this process, and across instances when the store is
   * shared. On a shared store the work gets the chat's turn, with the keys `reads` names read
   * along with the ticket. A turn still running after handlerTimeoutMs gives the chat up (the
   * next work runs) and is fenced: see TurnFence.
   */
  private inChat<T>(chatId: string, work: (turn: ChatTurn | undefined, fence: TurnFence) => Promise<T>, reads?: () => string[]): Promise<T> {
    const started = this.requireStarted();
    const bounded = (turn?: ChatTurn): Promise<T> => {
      const fence = started.turns.start(chatId);
      return fence.guard(work(turn, fence)).finally(() => fence.stop());
    };
    const order = started.order;
    if (!order) return this.queue.run(chatId, () => bounded());
    return this.queue.run(chatId, () => order.run(chatId, bounded, reads?.()));
  }

  /** What a callback's turn reads first: the chat's record, and its typing record for a typing action. */
  private readsFor(callback: ChatCallback): string[] {
    const started = this.requireStarted();
    const reads = [started.registry.key(callback.chatId)];
    if (started.typing instanceof TypingState && callback.actions?.some((a) => a.type === 'typing')) reads.push(started.typing.key(callback.chatId));
    return reads;
  }

  private keep(work: Promise<unknown>): void {
    const tracked = work.catch((err: unknown) => this.started?.logger.error({ err }, 'background turn failed'));
    this.background.add(tracked);
    void tracked.then(() => this.background.delete(tracked));
  }

  private requireStarted(): Started {
    if (!this.started) throw new BotNotStartedError();
    return this.started;
  }

  private async requireRecord(chatId: string): Promise<ChatRecord> {
    const record = await this.requireStarted().registry.get(chatId);
    if (!record) throw new BbmError('CHAT_UNKNOWN', `no conversation with chat ${chatId} is known to this bot`, { field: 'chatId' });
    return record;
  }
}

type SessionTurns = SessionTurnsOf<unknown>;

/** The `next` of the tree's last middleware: nothing after it. */
const noNext = (): Promise<void> => Promise.resolve();

/** Message positions in `index` order (messages without an index keep their place). */
function indexOrder(messages: readonly InboundMessage[]): number[] {
  const order = messages.map((_, i) => i);
  if (messages.every((m, i) => m.index === undefined || m.index === i + 1)) return order;
  return order.sort((a, b) => (messages[a]!.index ?? a + 1) - (messages[b]!.index ?? b + 1));
}

/** The turn's own user is gone (a UserGoneError about another chat is an ordinary failure). */
function userGoneHere(error: unknown, ctx: { chat: { id: string } }): error is UserGoneError {
  return error instanceof UserGoneError && error.chatId === ctx.chat.id;
}

/** Creates a bot. With `session.initial`, `ctx.session` is typed by what it returns. */
export function createBot<S = undefined>(options: BotOptions<S>): Bot<S> {
  return new Bot<S>(options);
}
