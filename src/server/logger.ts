import { pino, stdSerializers, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

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

export function createLogger(level: LoggerOptions['level'] = 'info', destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError },
    // A deeply nested value in user data must not overflow the stack inside the logger.
    depthLimit: 8,
    edgeLimit: 100,
  };
  return destination ? pino(options, destination) : pino(options);
}
