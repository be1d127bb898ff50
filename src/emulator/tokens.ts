/**
 * The token service: OAuth 2.0 client-credentials grant with HTTP Basic client authentication,
 * answering opaque random bearer tokens that expire after a configurable lifetime.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { HttpError } from './errors.js';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  chatId?: string;
  notes?: string[];
}

/** Keeps the map bounded even when a misbehaving bot asks for a token per send. */
const MAX_LIVE_TOKENS = 10_000;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export class TokenService {
  private readonly tokens = new Map<string, number>();
  private readonly expected: Buffer;

  constructor(
    clientCredentials: string,
    readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.expected = digest(clientCredentials);
  }

  /** `POST <tokenUrl>`: checks the Basic credentials and the grant, issues a token. */
  issue(authorization: string | undefined, rawBody: string): Reply {
    const m = /^Basic\s+(\S+)\s*$/i.exec(authorization ?? '');
    // Compared as fixed-length digests, in constant time: the answer must not leak how close a guess was.
    if (!m || !timingSafeEqual(digest(m[1]!), this.expected)) {
      return {
        status: 401,
        body: { error: 'invalid_client', error_description: 'the Basic client credentials are missing or wrong' },
        headers: { 'www-authenticate': 'Basic realm="bbm-token-service"' },
      };
    }
    const grant = grantType(rawBody);
    if (grant !== 'client_credentials') {
      return {
        status: 400,
        body: {
          error: grant === undefined ? 'invalid_request' : 'unsupported_grant_type',
          error_description: 'send grant_type=client_credentials (application/x-www-form-urlencoded)',
        },
      };
    }
    this.prune();
    const token = randomBytes(48).toString('base64url');
    this.tokens.set(token, this.now() + this.ttlSeconds * 1000);
    return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: this.ttlSeconds } };
  }

  /** Throws 401 unless `authorization` is `Bearer <a live token>`. */
  check(authorization: string | undefined): void {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const unauthorized = (why: string, error: string) =>
      new HttpError(401, 'unauthorized', why, { headers: { 'www-authenticate': `Bearer error="${error}"` } });
    if (!m) throw unauthorized('the Authorization header must be "Bearer <access token>"', 'invalid_request');
    const expiresAt = this.tokens.get(m[1]!);
    if (expiresAt === undefined) throw unauthorized('the access token is not one this token service issued', 'invalid_token');
    if (this.now() >= expiresAt) {
      this.tokens.delete(m[1]!);
      throw unauthorized('the access token has expired: get a new one from the token service', 'invalid_token');
    }
  }

  /** Ends every token at once (tests, and "revoke" from code). */
  revokeAll(): void {
    this.tokens.clear();
  }

  private prune(): void {
    const now = this.now();
    for (const [t, exp] of this.tokens) if (exp <= now) this.tokens.delete(t);
    // Oldest first (Map keeps insertion order).
    while (this.tokens.size >= MAX_LIVE_TOKENS) {
      const first = this.tokens.keys().next();
      if (first.done) break;
      this.tokens.delete(first.value);
    }
  }
}

function grantType(raw: string): string | undefined {
  const text = raw.trim();
  if (text.startsWith('{')) {
    try {
      const v = JSON.parse(text) as unknown;
      if (v !== null && typeof v === 'object' && 'grant_type' in v && typeof v.grant_type === 'string') return v.grant_type;
    } catch {
      return undefined;
    }
    return undefined;
  }
  return new URLSearchParams(text).get('grant_type') ?? undefined;
}
