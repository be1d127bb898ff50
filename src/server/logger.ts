/**
 * The process's logger: pino writing JSON lines, with the secrets it can recognise masked (field
 * names by path; headers, URLs, requests and errors by serializer, see ./redact.ts; the strings of
 * a log call by a hook) and two speed-ups for the webhook's hot path that change no byte written.
 */
import { pino, stdSerializers, symbols, type DestinationStream, type Logger, type LogFn, type LoggerOptions } from 'pino';
import { censorPath, maskHeaders, maskRequest, maskUrlText, maskUrlValue } from './redact.js';

/**
 * Paths pino censors wherever they appear in a log object. The framework never logs these on
 * purpose; this is the safety net for user code that logs a request, a callback or a config.
 * A `headers` object found one level down is masked header by header, whatever the case of the
 * names, and a `url` one level down keeps everything but its secrets (see {@link censorPath});
 * at the top level the serializers below do the same. Every wildcard path costs time on every
 * object logged, so the list stays short.
 */
export const REDACTED_PATHS = [
  'mTok',
  '*.mTok',
  '*.*.mTok',
  '*.headers',
  '*.url',
  'access_token',
  '*.access_token',
  '*.*.access_token',
  'accessToken',
  '*.accessToken',
  '*.*.accessToken',
  'clientCredentials',
  '*.clientCredentials',
  '*.*.clientCredentials',
  'sigKeys',
  '*.sigKeys',
  '*.*.sigKeys',
  'token',
  '*.token',
];

/**
 * Serializers for the top-level keys (and child bindings) under which requests, URLs and headers
 * are logged: pino looks a key up here only when a line has it, so other lines pay nothing.
 */
const SECRET_SERIALIZERS: Record<string, (value: unknown) => unknown> = {
  url: maskUrlValue,
  href: maskUrlValue,
  uri: maskUrlValue,
  headers: maskHeaders,
  req: maskRequest,
  request: maskRequest,
  res: maskRequest,
  response: maskRequest,
  config: maskRequest,
};

/** What an HTTP client error (axios and the like) says about its request, secrets left out. */
const REQUEST_CARRYING_KEYS = ['config', 'request', 'response'] as const;

/** `https://host/v1/chats/1?mTok=...` → `https://host/v1/chats/1`: query strings carry tokens. */
function withoutQuery(url: unknown): string | undefined {
  return typeof url === 'string' ? url.replace(/[?#].*$/s, '') : undefined;
}

/**
 * pino's error serializer, minus what an HTTP client error drags along: its request config
 * (Authorization header, body with credentials), the raw request (headers as text, URL with mTok)
 * and the response (the same config again). Kept: method, URL without its query, status.
 */
export function serializeError(err: unknown): unknown {
  const out = stdSerializers.err(err as Error) as unknown;
  // `{ err: describeError(e) }`: a description already, which may still quote a URL.
  if (typeof out === 'string') return maskUrlText(out);
  if (out === null || typeof out !== 'object') return out;
  const record = out as Record<string, unknown>;
  // An error can quote a URL (a TypeError's `input`, a message naming the request): secrets masked.
  for (const key of Object.keys(record)) {
    const value = record[key];
    if (typeof value === 'string' && key !== 'stack') record[key] = maskUrlText(value);
  }
  if (typeof record.stack === 'string') record.stack = maskUrlText(record.stack);
  if (!REQUEST_CARRYING_KEYS.some((k) => record[k] !== undefined)) return out;
  const config = record.config as { method?: unknown; url?: unknown; baseURL?: unknown } | undefined;
  const response = record.response as { status?: unknown } | undefined;
  const safe: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (!(REQUEST_CARRYING_KEYS as readonly string[]).includes(key)) safe[key] = value;
  }
  safe.http = {
    method: typeof config?.method === 'string' ? config.method.toUpperCase() : undefined,
    url: withoutQuery(config?.url),
    status: typeof response?.status === 'number' ? response.status : undefined,
  };
  return safe;
}

type Stringifier = (value: unknown, ...rest: unknown[]) => string | undefined;

/**
 * pino runs every top-level value of a log line, and every child binding, through the redactor of
 * the paths that start with a wildcard (`*.mTok`, `*.*.token`...): about 4 µs a value, 17 µs for the
 * per-callback line, the largest cost of logging. No path can match inside a value that is not an
 * object, and for such a value the redactor answers exactly pino's own serialisation of it, so
 * those values skip it: the same output, a tenth of the cost. Objects still go through it. Applied
 * only when pino's internals are as expected; otherwise pino is left as it is.
 */
export function skipRedactionOfPrimitives(logger: Logger): boolean {
  const sym = symbols as unknown as Record<string, symbol | undefined>;
  const { stringifiersSym, stringifySym, stringifySafeSym, wildcardFirstSym } = sym;
  if (!stringifiersSym || !stringifySym || !stringifySafeSym || !wildcardFirstSym) return false;
  const internals = logger as unknown as Record<symbol, unknown>;
  const stringifiers = internals[stringifiersSym] as Record<symbol, Stringifier | undefined> | undefined;
  const stringify = internals[stringifySym] as ((value: unknown, safe: unknown) => string | undefined) | undefined;
  const stringifySafe = internals[stringifySafeSym];
  const redactor = stringifiers?.[wildcardFirstSym];
  if (!stringifiers || typeof redactor !== 'function' || typeof stringify !== 'function' || typeof stringifySafe !== 'function') {
    return false;
  }
  stringifiers[wildcardFirstSym] = (value, ...rest) =>
    value === null || typeof value !== 'object' ? stringify(value, stringifySafe) : redactor(value, ...rest);
  return true;
}

// flatChild lives beside the webhook (its only hot-path user), below the server layer.
export { flatChild } from '../webhook/log.js';

/**
 * A log call's message and format arguments with the secrets of any URL they quote masked
 * (`log.info(`POST ${url}`)`). Objects are left to the serializers and paths above. A string
 * without `=` or `@` is returned at once, so the per-callback line pays a test, not a rewrite.
 */
function maskStringArguments(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  const list = args as unknown[];
  for (let i = 0; i < list.length; i++) {
    const arg = list[i];
    if (typeof arg === 'string') list[i] = maskUrlText(arg);
  }
  // With no message, pino writes the logged error's message (`log.error({ err })`), as is: give
  // it the masked one instead. Only when masking changes it, so the line is otherwise pino's own.
  if (list.length === 1 && list[0] !== null && typeof list[0] === 'object') {
    const first = list[0] as { err?: { message?: unknown }; msg?: unknown };
    const message = first instanceof Error ? first.message : first.msg === undefined ? first.err?.message : undefined;
    if (typeof message === 'string') {
      const masked = maskUrlText(message);
      if (masked !== message) list.push(masked);
    }
  }
  method.apply(this, args);
}

/** The options createLogger gives pino. */
export function loggerOptions(level: LoggerOptions['level'] = 'info'): LoggerOptions {
  return {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: censorPath },
    serializers: { ...SECRET_SERIALIZERS, err: serializeError },
    hooks: { logMethod: maskStringArguments },
    // A deeply nested value in user data must not overflow the stack inside the logger.
    depthLimit: 8,
    edgeLimit: 100,
  };
}

export function createLogger(level: LoggerOptions['level'] = 'info', destination?: DestinationStream): Logger {
  const options = loggerOptions(level);
  const logger = destination ? pino(options, destination) : pino(options);
  skipRedactionOfPrimitives(logger);
  return logger;
}
