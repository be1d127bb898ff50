/**
 * What the logger masks inside the values it writes, where pino's path redaction cannot reach:
 * secret headers whatever their letter case (`BBM-Sig`, `bbm-sig`, `AUTHORIZATION`...), and the
 * secrets a URL carries (`?mTok=`, `?access_token=`, a password in `user:pw@`).
 *
 * Contract: every function here returns a masked copy and never changes its input. They run as
 * pino serializers for the few keys under which requests, URLs and headers are logged (`url`,
 * `headers`, `req`...), as the censor of the redaction paths, and over the string arguments of a
 * log call; nothing walks a whole log line. Why: the webhook's hot path writes a line per callback
 * and must stay cheap, while the places a secret can hide in are few and known.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { stdSerializers } from 'pino';

/** What a masked secret is written as. */
export const CENSOR = '[redacted]';

/** Header names (lower case) whose values are credentials: the webhook signature, bearer/basic tokens, cookies. */
export const SECRET_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'bbm-sig',
  'cookie',
  'set-cookie',
]);

/** Query parameters that carry a credential: the Chat API's mTok, OAuth tokens, passwords. */
const SECRET_PARAMS = 'mtok|access_token|refresh_token|token|client_secret|password|pass|pw';
const SECRET_PARAM = new RegExp(`([?&;](?:${SECRET_PARAMS})=)[^&#;\\s"'<>]*`, 'gi');
/** `scheme://user:password@`: the password part. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:)[^\s/?#@]*@/gi;
/** Cheap pre-check: a string without these cannot hold either form, and most log strings do not. */
const MAYBE_SECRET = /[=@]/;

/**
 * A string (a URL, or a message quoting one) with the values of secret query parameters and URL
 * passwords replaced by {@link CENSOR}; anything else is left as it is.
 *
 * @example
 * maskUrlText('POST https://h/v1/chats/1?mTok=abc&x=1') // 'POST https://h/v1/chats/1?mTok=[redacted]&x=1'
 */
export function maskUrlText(text: string): string {
  if (!MAYBE_SECRET.test(text)) return text;
  return text.replace(SECRET_PARAM, `$1${CENSOR}`).replace(URL_PASSWORD, `$1${CENSOR}@`);
}

/**
 * Headers as an object (any letter case), as node's `rawHeaders` list (`[name, value, ...]`) or as
 * raw text (`Name: value` lines), with the values of {@link SECRET_HEADERS} masked.
 *
 * @example
 * maskHeaders({ 'BBM-Sig': 'abc', Accept: '*' }) // { 'BBM-Sig': '[redacted]', Accept: '*' }
 */
export function maskHeaders(headers: unknown): unknown {
  if (typeof headers === 'string') {
    return headers.replace(/^([\w-]+)([ \t]*:)[^\r\n]*/gm, (line, name: string, colon: string) =>
      SECRET_HEADERS.has(name.toLowerCase()) ? `${name}${colon} ${CENSOR}` : maskUrlText(line),
    );
  }
  if (Array.isArray(headers)) {
    return headers.map((v: unknown, i) => {
      const name: unknown = i > 0 ? headers[i - 1] : undefined;
      return i % 2 === 1 && typeof name === 'string' && SECRET_HEADERS.has(name.toLowerCase()) ? CENSOR : v;
    });
  }
  if (headers === null || typeof headers !== 'object') return headers;
  const out: Record<string, unknown> = {};
  // Own keys: what JSON shows of a plain object, and where axios's AxiosHeaders keeps its headers.
  for (const name of Object.keys(headers)) {
    const value = (headers as Record<string, unknown>)[name];
    out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? CENSOR : typeof value === 'string' ? maskUrlText(value) : value;
  }
  return out;
}

/** Keys of a request-like object whose values are headers, or URL text. */
const HEADER_KEYS: ReadonlySet<string> = new Set(['headers', 'rawheaders', '_header']);

/**
 * A request, response or HTTP client configuration (`req`, `request`, `res`, `response`, `config`)
 * as safe to log: node's IncomingMessage and ServerResponse as pino's standard serializers show
 * them (method, URL, headers; status, headers), plain objects copied one level deep; in both, the
 * headers masked by {@link maskHeaders}, secret headers set directly on the object masked, and
 * URL strings masked by {@link maskUrlText}.
 *
 * @example
 * maskRequest({ method: 'POST', url: '/v1/chats/1?mTok=abc', headers: { Authorization: 'Bearer t' } })
 * // { method: 'POST', url: '/v1/chats/1?mTok=[redacted]', headers: { Authorization: '[redacted]' } }
 */
export function maskRequest(value: unknown): unknown {
  if (typeof value === 'string') return maskUrlText(value);
  if (value === null || typeof value !== 'object') return value;
  let source: object = value;
  if (value instanceof IncomingMessage) source = stdSerializers.req(value);
  else if (value instanceof ServerResponse) source = stdSerializers.res(value);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    const v = (source as Record<string, unknown>)[key];
    const lower = key.toLowerCase();
    if (HEADER_KEYS.has(lower)) out[key] = maskHeaders(v);
    else if (SECRET_HEADERS.has(lower)) out[key] = CENSOR;
    else out[key] = typeof v === 'string' ? maskUrlText(v) : v;
  }
  return out;
}

/** A value logged under a URL key (`url`, `href`...): text masked, anything else as it is. */
export function maskUrlValue(value: unknown): unknown {
  return typeof value === 'string' ? maskUrlText(value) : value;
}

/**
 * The censor of the logger's redaction paths: a `headers` object found by a path is masked header
 * by header (whatever the case of the names), a `url` string keeps everything but its secrets,
 * and anything else a path finds (`mTok`, `token`...) is replaced whole.
 */
export function censorPath(value: unknown, path: readonly string[]): unknown {
  const key = path[path.length - 1];
  if (key === 'headers') return maskHeaders(value);
  if (key === 'url') return maskUrlValue(value);
  return CENSOR;
}
