/**
 * BBM access tokens via the OAuth 2.0 client-credentials grant: one cached token, refreshed in the
 * background shortly before it expires, one request to the token service however many callers wait.
 */
import type { AxiosInstance } from 'axios';
import pRetry, { AbortError } from 'p-retry';
import type { Logger } from 'pino';
import { z } from 'zod';
import { TokenError } from './errors.js';
import { bodyText, createHttpStack, describeError, transportFailure, type HttpStack } from './http.js';

/** What the chat client needs from a token source; a fixed token or a test double can stand in. */
export interface AccessTokenSource {
  getToken(): Promise<string>;
  /** Drops `token` if it is still the current one (the Chat API answered 401 to it). */
  invalidate(token: string): void;
}

export interface TokenRetryOptions {
  /** Retries after the first attempt. Default 3. */
  retries?: number;
  minTimeoutMs?: number;
  maxTimeoutMs?: number;
  /** Bound on the whole fetch, retries included. */
  maxRetryTimeMs?: number;
}

export interface TokenProviderOptions {
  /** BBM_TOKEN_URL. */
  tokenUrl: string;
  /** BBM_CLIENT_CREDENTIALS: already base64 of `id:secret`. */
  clientCredentials: string;
  /** An axios instance to share (ChatClient passes its own); otherwise one is created. */
  http?: AxiosInstance;
  /** Per-request timeout when the provider builds its own HTTP stack. Default 10 s. */
  timeoutMs?: number;
  /** Clock in ms; injectable so tests move time instead of sleeping. */
  now?: () => number;
  /** Refresh this long before expiry at most. Default 60 s. */
  maxSkewMs?: number;
  /** ...or this fraction of the token's lifetime, whichever is smaller. Default 0.1. */
  skewRatio?: number;
  /** Lifetime assumed when the answer has no `expires_in`. Default 300 s. */
  defaultExpiresInS?: number;
  retry?: TokenRetryOptions;
  logger?: Logger;
  /** Called after every request to the token service (metrics). */
  onFetch?: (event: TokenFetchEvent) => void;
}

/** One request to the token service: whether it produced a token, and how long it took. */
export interface TokenFetchEvent {
  ok: boolean;
  durationMs: number;
}

interface CachedToken {
  token: string;
  /** Not usable from here on. */
  expiresAt: number;
  /** Refresh in the background from here on. */
  refreshAt: number;
}

/** Lenient like every answer we parse: `expires_in` may come as a string. */
const TokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  expires_in: z
    .union([z.number().positive(), z.string().regex(/^\d{1,10}(\.\d+)?$/).transform(Number)])
    .optional(),
  token_type: z.string().optional(),
});

const GRANT_BODY = 'grant_type=client_credentials';

export class TokenProvider implements AccessTokenSource {
  private readonly http: AxiosInstance;
  private readonly ownStack: HttpStack | undefined;
  private readonly tokenUrl: string;
  private readonly headers: Record<string, string>;
  private readonly now: () => number;
  private readonly maxSkewMs: number;
  private readonly skewRatio: number;
  private readonly defaultExpiresInMs: number;
  private readonly retry: Required<TokenRetryOptions>;
  private readonly logger: Logger | undefined;
  private readonly onFetch: ((event: TokenFetchEvent) => void) | undefined;

  private current: CachedToken | undefined;
  private inflight: Promise<CachedToken> | undefined;
  private fetches = 0;

  constructor(options: TokenProviderOptions) {
    if (!options.tokenUrl) throw new TypeError('TokenProvider: tokenUrl is required');
    if (!options.clientCredentials) throw new TypeError('TokenProvider: clientCredentials is required');
    if (options.http) {
      this.http = options.http;
      this.ownStack = undefined;
    } else {
      this.ownStack = createHttpStack({ timeoutMs: options.timeoutMs ?? 10_000, maxSockets: 4 });
      this.http = this.ownStack.http;
    }
    this.tokenUrl = options.tokenUrl;
    // Built once; the credentials never appear anywhere else (logs, errors).
    this.headers = {
      Authorization: `Basic ${options.clientCredentials}`,
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    };
    this.now = options.now ?? Date.now;
    this.maxSkewMs = options.maxSkewMs ?? 60_000;
    this.skewRatio = options.skewRatio ?? 0.1;
    this.defaultExpiresInMs = (options.defaultExpiresInS ?? 300) * 1000;
    this.retry = {
      retries: options.retry?.retries ?? 3,
      minTimeoutMs: options.retry?.minTimeoutMs ?? 200,
      maxTimeoutMs: options.retry?.maxTimeoutMs ?? 5_000,
      maxRetryTimeMs: options.retry?.maxRetryTimeMs ?? 30_000,
    };
    this.logger = options.logger;
    this.onFetch = options.onFetch;
  }

  /** Requests made to the token service so far (for metrics and tests). */
  get fetchCount(): number {
    return this.fetches;
  }

  getToken(): Promise<string> {
    const cur = this.current;
    if (cur !== undefined) {
      const now = this.now();
      if (now < cur.expiresAt) {
        // Still valid: answer at once, and start the next token early so no send ever waits for it.
        if (now >= cur.refreshAt) this.refreshInBackground();
        return Promise.resolve(cur.token);
      }
    }
    return this.refresh().then((t) => t.token);
  }

  invalidate(token: string): void {
    // Only the token that failed: concurrent 401s for the same old token cause one refresh.
    if (this.current?.token === token) this.current = undefined;
  }

  /** Releases the HTTP stack if the provider built its own. */
  close(): void {
    this.ownStack?.close();
  }

  private refreshInBackground(): void {
    if (this.inflight) return;
    this.refresh().catch((err: unknown) => {
      // The current token is still valid; the next getToken tries again.
      this.logger?.warn({ err: describeError(err) }, 'background token refresh failed');
    });
  }

  /** Single flight: every caller during a fetch shares its promise. */
  private refresh(): Promise<CachedToken> {
    if (this.inflight) return this.inflight;
    const p = this.fetchWithRetry().then(
      (t) => {
        this.current = t;
        this.inflight = undefined;
        return t;
      },
      (err: unknown) => {
        this.inflight = undefined;
        throw err;
      },
    );
    this.inflight = p;
    return p;
  }

  /** A throwing hook must not cost the token it reports on. */
  private reportFetch(ok: boolean, started: number): void {
    if (!this.onFetch) return;
    try {
      this.onFetch({ ok, durationMs: performance.now() - started });
    } catch (err) {
      this.logger?.warn({ err: describeError(err) }, 'onFetch hook threw');
    }
  }

  private fetchWithRetry(): Promise<CachedToken> {
    return pRetry(
      async () => {
        const started = performance.now();
        try {
          const token = await this.fetchOnce();
          this.reportFetch(true, started);
          return token;
        } catch (err) {
          this.reportFetch(false, started);
          if (err instanceof TokenError && !err.retryable) throw new AbortError(err);
          throw err;
        }
      },
      {
        retries: this.retry.retries,
        minTimeout: this.retry.minTimeoutMs,
        maxTimeout: this.retry.maxTimeoutMs,
        maxRetryTime: this.retry.maxRetryTimeMs,
        randomize: true,
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
          this.logger?.warn(
            { attempt: attemptNumber, retriesLeft, status: error instanceof TokenError ? error.status : undefined },
            'token request failed',
          );
        },
      },
    );
  }

  private async fetchOnce(): Promise<CachedToken> {
    const startedAt = this.now();
    this.fetches++;
    let status: number;
    let data: unknown;
    try {
      const res = await this.http.post<unknown>(this.tokenUrl, GRANT_BODY, { headers: this.headers });
      status = res.status;
      data = res.data;
    } catch (err) {
      const t = transportFailure(err);
      if (t) throw new TokenError(0, '', { retryable: true, detail: t.detail });
      throw new TokenError(0, '', { retryable: false, detail: describeError(err) });
    }
    if (status < 200 || status >= 300) {
      const retryable = status === 429 || status >= 500;
      throw new TokenError(status, bodyText(data), { retryable });
    }
    let json: unknown;
    try {
      json = typeof data === 'string' ? JSON.parse(data) : data;
    } catch {
      json = undefined;
    }
    const parsed = TokenResponseSchema.safeParse(json);
    if (!parsed.success) {
      // The body may hold a token: it is not repeated in the error.
      throw new TokenError(status, '', { retryable: true, detail: 'unparseable token response' });
    }
    if (parsed.data.token_type !== undefined && parsed.data.token_type.toLowerCase() !== 'bearer') {
      this.logger?.warn({ tokenType: parsed.data.token_type }, 'token service returned a non-bearer token type');
    }
    const lifetimeMs =
      parsed.data.expires_in !== undefined ? parsed.data.expires_in * 1000 : this.defaultExpiresInMs;
    // Counted from when we asked, so network time only makes us refresh earlier.
    const expiresAt = startedAt + lifetimeMs;
    const skew = Math.min(this.maxSkewMs, lifetimeMs * this.skewRatio);
    this.logger?.debug({ expiresInMs: lifetimeMs }, 'access token obtained');
    return { token: parsed.data.access_token, expiresAt, refreshAt: expiresAt - skew };
  }
}
