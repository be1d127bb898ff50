import { pino, stdSerializers, symbols, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths pino censors wherever they appear in a log object. The framework never logs these on
 * purpose; this is the safety net for user code that logs a request, a callback or a config.
 */
export const REDACTED_PATHS = [
  'mTok',
  '*.mTok',
  '*.*.mTok',
  'headers.authorization',
  'headers.Authorization',
  'headers["bbm-sig"]',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.headers["bbm-sig"]',
  'req.headers.authorization',
  'req.headers["bbm-sig"]',
  'config.headers.Authorization',
  'config.headers.authorization',
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
  if (out === null || typeof out !== 'object') return out;
  const record = out as Record<string, unknown>;
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

/** The options createLogger gives pino. */
export function loggerOptions(level: LoggerOptions['level'] = 'info'): LoggerOptions {
  return {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError },
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
