/**
 * Sends messages and actions to the BBM Chat API: validated before anything goes on the wire,
 * authorised with a cached, self-refreshing token, retried when the server says so, and answered
 * per message. A message the server already took (200/202) is never sent twice.
 */
import type { AxiosInstance, AxiosResponse } from 'axios';
import pRetry, { AbortError } from 'p-retry';
import type { Logger } from 'pino';
import { BbmError, ValidationError, toFieldIssues, type FieldIssue } from '../protocol/errors.js';
import { fastSendMessageResult, fastSendRequest, fastSendResponseMessages } from '../protocol/fast.js';
import { ownValue } from '../protocol/primitives.js';
import {
  SendMessageResultSchema,
  SendRequestSchema,
  SendResponseSchema,
  type OutboundAction,
  type OutboundMessage,
  type OutboundMType,
  type OutboundUserInfo,
  type SendMessageResult,
  type SendRequest,
} from '../protocol/outbound.js';
import { MemoryStore } from '../state/memory.js';
import { KeyedQueue } from '../state/keyed-queue.js';
import type { StateStore } from '../state/store.js';
import { ClosedChats } from './closed-chats.js';
import { ChatApiError, SendFencedError, UserGoneError } from './errors.js';
import {
  bodyText,
  createHttpStack,
  describeError,
  headerString,
  parseRetryAfter,
  sleep,
  transportFailure,
  type HttpStack,
} from './http.js';
import { stateOf, type MessageResult, type SendResult } from './send-result.js';
import {
  TokenProvider,
  type AccessTokenSource,
  type TokenFetchEvent,
  type TokenRetryOptions,
} from './token-provider.js';

export interface ChatClientRetryOptions {
  /** Retries after the first attempt. Default 5. */
  retries?: number;
  /** First backoff; doubles each retry, with jitter. Default 250 ms. */
  minTimeoutMs?: number;
  /** Largest single backoff. Default 10 s. */
  maxTimeoutMs?: number;
  /** Bound on one send, retries and waits included. Default 60 s. */
  maxRetryTimeMs?: number;
  /**
   * Longest `Retry-After` we wait for. A longer one (or one past `maxRetryTimeMs`) ends the send
   * with the server's error rather than retrying early against its wish. Default 30 s.
   */
  maxRetryAfterMs?: number;
}

/** Reported after every HTTP request to the Chat API (metrics, benchmarks, tests). */
export interface SendAttemptEvent {
  chatId: string;
  /** 0 when no HTTP answer came (timeout, connection error). */
  status: number;
  durationMs: number;
  messages: number;
  actions: number;
  /** Request number within this send, from 1. */
  attempt: number;
}

interface BaseOptions {
  /** BBM_API_URL, e.g. `https://chat-beta.bbm.blackberry.com`. */
  apiUrl: string;
  /** The bot's display name, put in `userInfos[from]`. */
  botName: string;
  /** Where closed chats are remembered; an in-memory store by default. */
  store?: StateStore;
  /** How long a closed chat is remembered. Default 7 days. */
  closedChatTtlMs?: number;
  retry?: ChatClientRetryOptions;
  /** Per-request timeout. Default 10 s. */
  timeoutMs?: number;
  /** Sockets per origin. Default 128. */
  maxSockets?: number;
  logger?: Logger;
  onSend?: (event: SendAttemptEvent) => void;
  /** Reported after every request to the token service (metrics); only for the client's own token provider. */
  onTokenFetch?: (event: TokenFetchEvent) => void;
  /** Wall clock in ms (token expiry, `Retry-After` dates, closed-chat records); injectable for tests. */
  now?: () => number;
}

export type ChatClientOptions = BaseOptions &
  (
    | { tokenProvider: AccessTokenSource }
    | {
        /** BBM_TOKEN_URL. */
        tokenUrl: string;
        /** BBM_CLIENT_CREDENTIALS. */
        clientCredentials: string;
        tokenRetry?: TokenRetryOptions;
      }
  );

export interface SendInput {
  chatId: string;
  /** The message token from the user's latest callback; required to send. */
  mTok: string;
  /** The bot's BBM id. */
  from: string;
  /** The user's BBM id. */
  to: string;
  chId?: string;
  sessionId?: string;
  /** Default `bot`. */
  mType?: OutboundMType;
  actions?: readonly OutboundAction[];
  /** `index` is assigned from 1 in this order; any given is replaced. */
  messages?: readonly OutboundMessage[];
  /** `userInfos[from]` defaults to `{ name: botName }`. */
  userInfos?: Readonly<Record<string, OutboundUserInfo>>;
}

/** How one send may be stopped from outside. */
export interface SendOptions {
  /**
   * Asked before every retry (never before the first attempt); when it resolves false the send
   * stops with SendFencedError and nothing more goes out. The durable outbox passes a check of its
   * lease, so an instance that lost a chat cannot keep resending into it.
   *
   * @example client.send(input, { guard: () => store.replaceIf(leaseKey, lease, lease, 5_000) })
   */
  guard?: () => Promise<boolean>;
}

/** Per-message codes worth sending again: the server could not take the message just now. */
const RETRYABLE_CODES: ReadonlySet<number> = new Set([429, 500, 503]);
/**
 * The Chat API's "chat or user no longer exists": a 404, unless it is an HTML page (a wrong
 * BBM_API_URL, a proxy's error page), which stays a ChatApiError: a misconfiguration fails
 * loudly instead of reading as every user having left. The spec does not fix the 404's body, so
 * an empty, JSON or plain-text 404 is the API's.
 */
function isChatGone(status: number, contentType: string | undefined): boolean {
  return status === 404 && !/html/i.test(contentType ?? '');
}

/** The ChatApiErrors that were the Chat API's "gone" 404 (isChatGone), for send()'s catch. */
const chatGoneAnswers = new WeakSet<ChatApiError>();

/** Whole-request statuses worth retrying. Everything else (400, 403, 404, ...) is final. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 503]);

/** The checks p-retry makes of its options before a first attempt (it throws a TypeError otherwise). */
function validRetryOptions(r: Required<ChatClientRetryOptions>): boolean {
  const ok = (v: number, allowInfinity: boolean) =>
    typeof v === 'number' && !Number.isNaN(v) && v >= 0 && (allowInfinity || Number.isFinite(v));
  return ok(r.retries, true) && ok(r.minTimeoutMs, false) && ok(r.maxTimeoutMs, true) && ok(r.maxRetryTimeMs, true);
}

/** Some messages of a 200/207 must be sent again; internal to the retry loop. */
class PartialResend extends Error {
  constructor(
    readonly count: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`${count} message(s) to resend`);
  }
}

/** Mutable state of one `send` across its attempts. */
interface Delivery {
  chatId: string;
  url: string;
  body: SendRequest;
  /** Positions (in `body.messages`) still to be sent, in order. */
  pending: number[];
  results: (MessageResult | undefined)[];
  /** Actions go with requests until the server has answered one per message (200/207). */
  includeActions: boolean;
  attempts: number;
}

export class ChatClient {
  private readonly http: AxiosInstance;
  private readonly stack: HttpStack;
  private readonly tokens: AccessTokenSource;
  private readonly ownTokens: TokenProvider | undefined;
  private readonly apiBase: string;
  private readonly botName: string;
  private readonly store: StateStore;
  private readonly ownStore: boolean;
  private readonly closed: ClosedChats;
  private readonly retry: Required<ChatClientRetryOptions>;
  private readonly logger: Logger | undefined;
  private readonly onSend: ((event: SendAttemptEvent) => void) | undefined;
  private readonly now: () => number;
  /** Whether p-retry accepts the retry options (otherwise every send goes to it, to fail as it does). */
  private readonly retryOptionsValid: boolean;
  /** Sends to one chat go one after another, so a retried message is never overtaken. */
  private readonly queue = new KeyedQueue();

  constructor(options: ChatClientOptions) {
    if (!options.apiUrl) throw new TypeError('ChatClient: apiUrl is required');
    if (!options.botName) throw new TypeError('ChatClient: botName is required');
    this.stack = createHttpStack({ timeoutMs: options.timeoutMs ?? 10_000, maxSockets: options.maxSockets });
    this.http = this.stack.http;
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    if ('tokenProvider' in options) {
      this.tokens = options.tokenProvider;
      this.ownTokens = undefined;
    } else {
      this.ownTokens = new TokenProvider({
        tokenUrl: options.tokenUrl,
        clientCredentials: options.clientCredentials,
        http: this.http,
        now: this.now,
        retry: options.tokenRetry,
        logger: options.logger,
        onFetch: options.onTokenFetch,
      });
      this.tokens = this.ownTokens;
    }
    this.apiBase = `${options.apiUrl.replace(/\/+$/, '')}/v1/chats/`;
    this.botName = options.botName;
    this.ownStore = options.store === undefined;
    this.store = options.store ?? new MemoryStore();
    this.closed = new ClosedChats(this.store, { ttlMs: options.closedChatTtlMs, now: this.now });
    this.retry = {
      retries: options.retry?.retries ?? 5,
      minTimeoutMs: options.retry?.minTimeoutMs ?? 250,
      maxTimeoutMs: options.retry?.maxTimeoutMs ?? 10_000,
      maxRetryTimeMs: options.retry?.maxRetryTimeMs ?? 60_000,
      maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? 30_000,
    };
    this.onSend = options.onSend;
    this.retryOptionsValid = validRetryOptions(this.retry);
  }

  /** Builds a client from BBM_API_URL, BBM_TOKEN_URL and BBM_CLIENT_CREDENTIALS. */
  static fromEnv(
    options: Omit<BaseOptions, 'apiUrl'> & { env?: NodeJS.ProcessEnv; apiUrl?: string; tokenRetry?: TokenRetryOptions },
  ): ChatClient {
    const env = options.env ?? process.env;
    const apiUrl = options.apiUrl ?? env.BBM_API_URL;
    const tokenUrl = env.BBM_TOKEN_URL;
    const clientCredentials = env.BBM_CLIENT_CREDENTIALS;
    const missing = [
      apiUrl ? undefined : 'BBM_API_URL',
      tokenUrl ? undefined : 'BBM_TOKEN_URL',
      clientCredentials ? undefined : 'BBM_CLIENT_CREDENTIALS',
    ].filter((v): v is string => v !== undefined);
    if (!apiUrl || !tokenUrl || !clientCredentials) {
      throw new BbmError('CONFIG_MISSING', `Missing configuration: ${missing.join(', ')}`, { field: missing[0] });
    }
    const { env: _env, ...rest } = options;
    return new ChatClient({ ...rest, apiUrl, tokenUrl, clientCredentials });
  }

  /** The closed-chat registry this client consults before every send. */
  get closedChats(): ClosedChats {
    return this.closed;
  }

  /** The user left: refuse further sends to this chat (for `mTok`, or for any token when omitted). */
  closeChat(chatId: string, mTok?: string): Promise<void> {
    return this.closed.close(chatId, mTok, 'left');
  }

  /** A user message arrived with `mTok`: the chat may be written to again. */
  reopenChat(chatId: string, mTok: string): Promise<void> {
    return this.closed.reopen(chatId, mTok);
  }

  /**
   * Sends actions and messages to one chat. Resolves with a result per message (per-message
   * failures included); rejects with ValidationError (nothing sent), UserGoneError (the user left:
   * refused before sending, or the Chat API answered 404), ChatApiError (the request as a whole
   * failed otherwise) or TokenError.
   */
  send(input: SendInput, options: SendOptions = {}): Promise<SendResult> {
    let body: SendRequest;
    try {
      body = this.buildBody(input);
    } catch (err) {
      return Promise.reject(err);
    }
    const url = `${this.apiBase}${encodeURIComponent(input.chatId)}?mTok=${encodeURIComponent(input.mTok)}`;
    return this.queue.run(input.chatId, () => this.deliver(body, input.mTok, url, options.guard));
  }

  /** Releases sockets (and the store, if the client made it). Pending sends may fail. */
  async close(): Promise<void> {
    this.stack.close();
    this.ownTokens?.close();
    if (this.ownStore) await this.store.close();
  }

  /** Assembles and validates the wire body; throws ValidationError listing every issue. */
  private buildBody(input: SendInput): SendRequest {
    const body: Record<string, unknown> = {
      mType: input.mType ?? 'bot',
      chatId: input.chatId,
      from: input.from,
      to: input.to,
    };
    if (input.chId !== undefined) body.chId = input.chId;
    if (input.sessionId !== undefined) body.sessionId = input.sessionId;
    if (input.actions !== undefined && input.actions.length > 0) body.actions = input.actions;
    if (input.messages !== undefined && input.messages.length > 0) {
      body.messages = input.messages.map((m, i) => ({ ...m, index: i + 1 }));
    }
    const from: unknown = input.from;
    body.userInfos =
      typeof from === 'string'
        ? { ...input.userInfos, [from]: ownValue(input.userInfos, from) ?? { name: this.botName } }
        : { ...input.userInfos };

    // The common send, checked by hand with zod's exact result; anything else by zod itself.
    const fast = fastSendRequest(body);
    const parsed = fast !== undefined ? ({ success: true, data: fast } as const) : SendRequestSchema.safeParse(body);
    const issues: FieldIssue[] = parsed.success ? [] : toFieldIssues(parsed.error.issues);
    const mTok: unknown = input.mTok;
    if (typeof mTok !== 'string' || mTok.length === 0) issues.push({ path: 'mTok', message: 'must be a non-empty string' });
    if (!parsed.success || issues.length > 0) throw new ValidationError('Outbound request', issues);
    return parsed.data;
  }

  private async deliver(body: SendRequest, mTok: string, url: string, guard?: () => Promise<boolean>): Promise<SendResult> {
    const chatId = body.chatId;
    const closed = await this.closed.closedFor(chatId, mTok);
    if (closed) throw new UserGoneError(chatId, closed.reason === 'left' ? 'left' : 'closed_by_platform');

    const count = body.messages?.length ?? 0;
    const d: Delivery = {
      chatId,
      url,
      body,
      pending: Array.from({ length: count }, (_, i) => i),
      results: new Array<MessageResult | undefined>(count),
      includeActions: true,
      attempts: 0,
    };
    const started = performance.now();
    const once = async (): Promise<void> => {
      try {
        await this.attempt(d, mTok);
      } catch (err) {
        if (err instanceof PartialResend || (err instanceof ChatApiError && err.retryable)) throw err;
        throw new AbortError(err instanceof Error ? err : new Error(String(err)));
      }
    };
    try {
      // Almost every send succeeds at the first attempt: it is made without p-retry's machinery
      // (option checks, closures: more than the rest of the client costs), and p-retry takes over
      // from a first failure as if it had made that attempt itself: attempt 1 is that failure, and
      // its time limit is what is left of the send's.
      let first: { error: unknown } | undefined;
      if (this.retryOptionsValid) {
        try {
          await once();
          return this.finish(d);
        } catch (error) {
          first = { error };
        }
      }
      const failed = first;
      await pRetry(
        (attemptNumber) => (attemptNumber === 1 && failed ? Promise.reject(failed.error) : once()),
        {
          retries: this.retry.retries,
          minTimeout: this.retry.minTimeoutMs,
          maxTimeout: this.retry.maxTimeoutMs,
          maxRetryTime: failed ? Math.max(0, this.retry.maxRetryTimeMs - (performance.now() - started)) : this.retry.maxRetryTimeMs,
          randomize: true,
          onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
            const retryAfterMs =
              error instanceof PartialResend || error instanceof ChatApiError ? error.retryAfterMs : undefined;
            this.logger?.warn(
              {
                chatId,
                attempt: attemptNumber,
                retriesLeft,
                status: error instanceof ChatApiError ? error.status : 207,
                retryAfterMs,
              },
              error instanceof PartialResend ? 'chat api: resending failed messages' : 'chat api: request failed',
            );
            if (retriesLeft > 0 && retryAfterMs !== undefined && retryAfterMs > 0) {
              const remaining = this.retry.maxRetryTimeMs - (performance.now() - started);
              // Retrying before the server's Retry-After would only be refused again: give up instead.
              if (retryAfterMs > this.retry.maxRetryAfterMs || retryAfterMs > remaining) throw error;
              await sleep(retryAfterMs);
            }
            // Last, right before the retry: a sender that lost the chat meanwhile sends nothing more.
            if (retriesLeft > 0 && guard && !(await guard())) throw new SendFencedError(chatId);
          },
        },
      );
    } catch (err) {
      if (err instanceof PartialResend) return this.finish(d);
      if (err instanceof ChatApiError && d.results.some((r) => r !== undefined)) {
        // Some messages were already answered: report them, and mark the rest with this failure.
        for (const pos of d.pending) {
          d.results[pos] = { index: pos + 1, code: err.status, error: err.body || err.message, state: 'failed' };
        }
        err.result = this.finish(d);
      }
      // A 404 closed the chat (attempt): the user is gone, the one error for that.
      if (err instanceof ChatApiError && chatGoneAnswers.has(err)) {
        throw new UserGoneError(chatId, 'closed_by_platform', { cause: err, ...(err.result ? { result: err.result } : {}) });
      }
      throw err;
    }
    return this.finish(d);
  }

  /** One request: sends what is pending, records the answers, and decides what (if anything) to resend. */
  private async attempt(d: Delivery, mTok: string): Promise<void> {
    const all = d.body.messages ?? [];
    const wire: OutboundMessage[] =
      d.pending.length === all.length
        ? all
        : d.pending.map((pos, i) => ({ ...(all[pos] as OutboundMessage), index: i + 1 }));
    const actions = d.includeActions ? d.body.actions : undefined;
    if (wire.length === 0 && (actions === undefined || actions.length === 0)) return;

    const payload: SendRequest = { ...d.body };
    if (wire.length > 0) payload.messages = wire;
    else delete payload.messages;
    if (actions !== undefined && actions.length > 0) payload.actions = actions;
    else delete payload.actions;

    const res = await this.post(d, JSON.stringify(payload), wire.length, actions?.length ?? 0);
    const status = res.status;

    if (status >= 200 && status < 300) {
      d.includeActions = false;
      const retryAfterMs = parseRetryAfter(headerString(res.headers, 'retry-after'), this.now());
      const resend = this.record(d, status, res.data);
      if (resend.length > 0) {
        d.pending = resend;
        throw new PartialResend(resend.length, retryAfterMs);
      }
      d.pending = [];
      return;
    }

    const text = bodyText(res.data);
    const gone = isChatGone(status, headerString(res.headers, 'content-type'));
    if (gone) {
      // The chat or the user is gone: nothing will ever be accepted for it again.
      await this.closed.close(d.chatId, mTok, 'not-found');
    }
    const error = new ChatApiError({
      status,
      body: text,
      retryable: RETRYABLE_STATUSES.has(status),
      kind: 'http',
      chatId: d.chatId,
      retryAfterMs: parseRetryAfter(headerString(res.headers, 'retry-after'), this.now()),
    });
    if (gone) chatGoneAnswers.add(error);
    throw error;
  }

  /** POSTs with the current token; on 401, drops it, gets a fresh one and tries exactly once more. */
  private async post(d: Delivery, payload: string, messages: number, actions: number): Promise<AxiosResponse<unknown>> {
    const token = await this.tokens.getToken();
    const res = await this.postOnce(d, payload, token, messages, actions);
    if (res.status !== 401) return res;
    this.tokens.invalidate(token);
    const fresh = await this.tokens.getToken();
    return this.postOnce(d, payload, fresh, messages, actions);
  }

  private async postOnce(
    d: Delivery,
    payload: string,
    token: string,
    messages: number,
    actions: number,
  ): Promise<AxiosResponse<unknown>> {
    const attempt = ++d.attempts;
    const t0 = performance.now();
    let status = 0;
    try {
      // The stack's prepared POST: the same request as this.http.post, without re-merging axios's
      // configuration every time.
      const res = await this.stack.post(d.url, payload, {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json; charset=utf-8',
      });
      status = res.status;
      return res;
    } catch (err) {
      const t = transportFailure(err);
      throw new ChatApiError({
        status: 0,
        body: '',
        retryable: t !== undefined,
        kind: t?.kind ?? 'network',
        chatId: d.chatId,
        detail: t?.detail ?? describeError(err),
      });
    } finally {
      const durationMs = performance.now() - t0;
      this.logger?.debug({ chatId: d.chatId, status, attempt, durationMs }, 'chat api request');
      if (this.onSend) {
        try {
          this.onSend({ chatId: d.chatId, status, durationMs, messages, actions, attempt });
        } catch (hookErr) {
          this.logger?.warn({ err: describeError(hookErr) }, 'onSend hook threw');
        }
      }
    }
  }

  /**
   * Records the per-message answers of a 2xx and returns the positions to send again: messages
   * answered 429/500/503, and the 409s that follow them (stopped by that failure). Anything else is
   * final, so nothing the server took is ever sent twice.
   */
  private record(d: Delivery, status: number, data: unknown): number[] {
    const wirePositions = d.pending;
    const n = wirePositions.length;
    const matched = this.matchResults(d.chatId, data, n);
    const resend: number[] = [];
    let resending = false;
    for (let i = 0; i < n; i++) {
      const pos = wirePositions[i] as number;
      const r = matched[i];
      let result: MessageResult;
      if (r !== undefined) {
        const code = r.result.code;
        result = { index: pos + 1, code, state: stateOf(code) };
        if (r.mid !== undefined) result.mid = r.mid;
        if (r.ts !== undefined) result.ts = r.ts;
        if (r.result.error !== undefined) result.error = r.result.error;
      } else if (status === 207) {
        // Unknown fate: it may have been taken, so it is not resent.
        result = { index: pos + 1, code: 0, state: 'failed', error: 'no result for this message in the answer' };
      } else {
        // A plain 2xx means every message went through even if the body does not say so.
        result = { index: pos + 1, code: status, state: stateOf(status) };
      }
      d.results[pos] = result;
      if (RETRYABLE_CODES.has(result.code)) {
        resending = true;
        resend.push(pos);
      } else if (result.code === 409 && resending) {
        resend.push(pos);
      } else if (result.state === 'failed') {
        resending = false;
      }
    }
    return resend;
  }

  /** Result entries by position in the request: by `index` when given, else by order. */
  private matchResults(chatId: string, data: unknown, n: number): (SendMessageResult | undefined)[] {
    const matched = new Array<SendMessageResult | undefined>(n);
    if (n === 0) return matched;
    let json: unknown;
    try {
      json = typeof data === 'string' ? (data.length === 0 ? {} : JSON.parse(data)) : data;
    } catch {
      json = undefined;
    }
    // The plain answer is checked by hand (with zod's result); anything else by zod itself.
    let entries: readonly unknown[];
    const fast = fastSendResponseMessages(json);
    if (fast !== undefined) {
      entries = fast.messages ?? [];
    } else {
      const parsed = SendResponseSchema.safeParse(json);
      if (!parsed.success) {
        this.logger?.warn({ chatId }, 'chat api: unparseable send response');
        return matched;
      }
      entries = parsed.data.messages ?? [];
    }
    for (let k = 0; k < entries.length; k++) {
      let entry = fastSendMessageResult(entries[k]);
      if (entry === undefined) {
        const checked = SendMessageResultSchema.safeParse(entries[k]);
        if (!checked.success) {
          this.logger?.warn({ chatId, entry: k }, 'chat api: malformed message result ignored');
          continue;
        }
        entry = checked.data;
      }
      const slot = entry.index !== undefined ? entry.index - 1 : k;
      if (slot < 0 || slot >= n || matched[slot] !== undefined) {
        this.logger?.warn({ chatId, entry: k }, 'chat api: message result matches no message sent');
        continue;
      }
      matched[slot] = entry;
    }
    return matched;
  }

  private finish(d: Delivery): SendResult {
    const messages = Array.from(d.results, (r, pos): MessageResult =>
      r ?? { index: pos + 1, code: 0, state: 'failed', error: 'not sent' },
    );
    return { ok: messages.every((m) => m.state !== 'failed'), messages, attempts: d.attempts };
  }
}
