/**
 * One typed configuration object, from (lowest to highest precedence) `config/default.json`, an
 * optional `.env` file, and the environment. Validated once at startup: a bad value becomes a
 * {@link ConfigError} naming the variable, which `main` prints as one line before exiting 1.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { isHttpUrl } from '../protocol/primitives.js';
import { BbmError } from '../protocol/errors.js';
import { parseClusterNodes, type ClusterNode } from '../state/redis-connection.js';
import { parseByteSize } from '../webhook/body.js';
import { parseKeyList } from '../webhook/signature.js';

export class ConfigError extends BbmError {
  constructor(variable: string, message: string) {
    super('CONFIG_INVALID', `${variable} ${message}`, { field: variable });
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be between ${min} and ${max}`);

const httpUrl = z
  .string()
  .trim()
  .refine(isHttpUrl, 'must be an http(s) URL')
  .transform((s) => s.replace(/\/+$/, ''));

/** An "on"/"off" switch (any case), as a boolean. */
const onOff = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => v === 'on' || v === 'off', 'must be "on" or "off"')
  .transform((v) => v === 'on');

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((s) => (s === '' ? undefined : s));

const fileSetting = optionalText.refine((p) => p === undefined || existsSync(p), 'names a file that does not exist');

const EnvSchema = z
  .object({
    PORT: integer(0, 65535),
    HOST: z.string().trim().min(1, 'must not be empty'),
    BBM_SIG_KEY: z
      .string({ error: 'is required: the Client Sig key BBM issued when the bot was provisioned' })
      .transform(parseKeyList)
      .refine((keys) => keys.length > 0, 'is required: the Client Sig key BBM issued when the bot was provisioned'),
    BBM_CLIENT_CREDENTIALS: optionalText,
    BBM_TOKEN_URL: httpUrl.optional(),
    BBM_API_URL: httpUrl,
    BOT: z
      .string()
      .trim()
      .regex(/^[a-z0-9][a-z0-9_-]*$/i, 'must be the name of a folder under bots/ (letters, digits, - and _)'),
    BOT_NAME: optionalText,
    BBM_DELIVERY_NOTIFICATIONS: onOff,
    BBM_ERROR_DETAIL: onOff,
    LOG_LEVEL: z
      .string()
      .trim()
      .toLowerCase()
      .refine((v): v is (typeof LOG_LEVELS)[number] => (LOG_LEVELS as readonly string[]).includes(v), {
        message: `must be one of ${LOG_LEVELS.join(', ')}`,
      }),
    TLS_CERT_FILE: fileSetting,
    TLS_KEY_FILE: fileSetting,
    WEBHOOK_BODY_LIMIT: z
      .string()
      .transform((s) => parseByteSize(s) ?? Number.NaN)
      .refine((n) => !Number.isNaN(n), 'must be a size such as 1mb, 512kb or 1048576'),
    SHUTDOWN_TIMEOUT_MS: integer(0, 600_000),
    HANDLER_TIMEOUT_MS: integer(0, 3_600_000),
    MAX_CHAT_QUEUE: integer(0, 100_000),
    REDIS_URL: optionalText.refine(
      (s) => s === undefined || /^rediss?:\/\//.test(s),
      'must be a redis:// or rediss:// URL',
    ),
    REDIS_CLUSTER_NODES: optionalText.transform((s, ctx) => {
      if (s === undefined) return undefined;
      try {
        return parseClusterNodes(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
    REDIS_PREFIX: z
      .string()
      // A brace would become the keys' Redis Cluster hash tag in place of the chat id (state/keys.ts).
      .refine((s) => !/[{}]/.test(s), 'must not contain { or }: on Redis Cluster they would make the prefix the hash tag of every key')
      .regex(/^[^\s*?[\]]{1,100}$/, 'must be 1 to 100 characters without spaces or * ? [ ] (e.g. bbm: or mybot:)'),
    METRICS: onOff,
    METRICS_PORT: integer(0, 65535).optional(),
    HEAP_GROWING_PERCENT: integer(0, 400),
  })
  .superRefine((env, ctx) => {
    if ((env.TLS_CERT_FILE === undefined) !== (env.TLS_KEY_FILE === undefined)) {
      const missing = env.TLS_CERT_FILE === undefined ? 'TLS_CERT_FILE' : 'TLS_KEY_FILE';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'must be set too: HTTPS needs both TLS_CERT_FILE and TLS_KEY_FILE' });
    }
    if (!env.METRICS && env.METRICS_PORT !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['METRICS_PORT'], message: 'is set but METRICS=off: remove one of them' });
    }
    if (env.METRICS_PORT !== undefined && env.METRICS_PORT !== 0 && env.METRICS_PORT === env.PORT) {
      ctx.addIssue({ code: 'custom', path: ['METRICS_PORT'], message: 'must differ from PORT (leave it blank to serve /metrics on PORT)' });
    }
    if (env.REDIS_URL !== undefined && env.REDIS_CLUSTER_NODES !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_CLUSTER_NODES'], message: 'and REDIS_URL are both set: use REDIS_URL for one Redis server or REDIS_CLUSTER_NODES for a Redis Cluster, not both' });
    }
    if ((env.BBM_CLIENT_CREDENTIALS === undefined) !== (env.BBM_TOKEN_URL === undefined)) {
      const missing = env.BBM_CLIENT_CREDENTIALS === undefined ? 'BBM_CLIENT_CREDENTIALS' : 'BBM_TOKEN_URL';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'must be set too: sending needs both BBM_CLIENT_CREDENTIALS and BBM_TOKEN_URL' });
    }
  });

/** Every variable the operator can set: the public interface, documented in .env.example. */
export const CONFIG_VARIABLES = [
  'PORT', 'HOST', 'BBM_SIG_KEY', 'BBM_CLIENT_CREDENTIALS', 'BBM_TOKEN_URL', 'BBM_API_URL', 'BOT', 'BOT_NAME',
  'BBM_DELIVERY_NOTIFICATIONS', 'BBM_ERROR_DETAIL', 'LOG_LEVEL', 'TLS_CERT_FILE', 'TLS_KEY_FILE', 'WEBHOOK_BODY_LIMIT',
  'SHUTDOWN_TIMEOUT_MS', 'HANDLER_TIMEOUT_MS', 'MAX_CHAT_QUEUE', 'REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_PREFIX', 'METRICS', 'METRICS_PORT', 'HEAP_GROWING_PERCENT',
] as const;

export interface AppConfig {
  port: number;
  host: string;
  /** Every valid Client Sig key (rotation), as UTF-8 strings. */
  sigKeys: string[];
  /** Present when the bot can send: both the credentials and the token URL are set. */
  credentials: { clientCredentials: string; tokenUrl: string } | undefined;
  apiUrl: string;
  bot: string;
  botName: string | undefined;
  deliveryNotifications: boolean;
  /** Send handler error texts to BBM in per-message results (BBM_ERROR_DETAIL); off outside `npm run dev`. */
  errorDetail: boolean;
  logLevel: (typeof LOG_LEVELS)[number];
  tls: { certFile: string; keyFile: string } | undefined;
  webhookBodyLimit: number;
  shutdownTimeoutMs: number;
  /** A turn running longer is abandoned and its message answered 503 (HANDLER_TIMEOUT_MS); 0: never. */
  handlerTimeoutMs: number;
  /** Callbacks one chat may have waiting per instance before 503 + Retry-After (MAX_CHAT_QUEUE); 0: no bound. */
  maxChatQueue: number;
  redisUrl: string | undefined;
  /** Seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES); never set together with `redisUrl`. */
  redisClusterNodes: ClusterNode[] | undefined;
  /** Put in front of every Redis key (REDIS_PREFIX), so several bots can share one Redis. */
  redisPrefix: string;
  /** Whether GET /metrics is served (METRICS). */
  metrics: boolean;
  /** Serve /metrics on this port instead of PORT (METRICS_PORT); undefined: on PORT. */
  metricsPort: number | undefined;
  /** How far V8 lets the heap grow past the live data before collecting (HEAP_GROWING_PERCENT); 0: V8's own policy. */
  heapGrowingPercent: number;
}

/** Where `config/` and `bots/` live, whether running from src/ (tsx) or dist/ (compiled). */
export const PROJECT_ROOT = findRootFrom(dirname(fileURLToPath(import.meta.url)));

/** The package root: the nearest folder above this file that has a package.json. */
function findRootFrom(dir: string): string {
  let d = dir;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'package.json'))) return d;
    d = dirname(d);
  }
  return process.cwd();
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** The .env file to read; default `.env` in the working directory. Missing is fine. */
  envFile?: string | false;
  defaultsFile?: string;
}

/**
 * A reader of settings by name: the environment, then the `.env` file (default `.env` in the working
 * directory; missing is fine; an unreadable one throws). The environment wins over .env even when
 * blank; a blank value means "not set" (`BBM_TOKEN_URL=` copied from .env.example), so undefined.
 * The bot's configuration and `npm run dev` read their settings through it.
 *
 * @example const setting = settingReader(process.env); const bot = setting('BOT') ?? 'echo';
 */
export function settingReader(env: NodeJS.ProcessEnv, envFile: string | false = join(process.cwd(), '.env')): (name: string) => string | undefined {
  let fromFile: Record<string, string | undefined> = {};
  if (envFile && existsSync(envFile)) fromFile = parseEnv(readFileSync(envFile, 'utf8'));
  return (name) => {
    const v = env[name] ?? fromFile[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
}

export function loadConfig(options: LoadConfigOptions = {}): AppConfig {
  const defaults = JSON.parse(
    readFileSync(options.defaultsFile ?? join(PROJECT_ROOT, 'config', 'default.json'), 'utf8'),
  ) as Record<string, string>;
  const setting = settingReader(options.env ?? process.env, options.envFile);

  const merged: Record<string, string | undefined> = { ...defaults };
  for (const key of CONFIG_VARIABLES) {
    const v = setting(key);
    if (v !== undefined) merged[key] = v;
  }
  const parsed = EnvSchema.safeParse(merged);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    const variable = String(first.path[0] ?? 'configuration');
    const rest = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more problem(s))` : '';
    throw new ConfigError(variable, `${first.message}${rest}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    sigKeys: e.BBM_SIG_KEY,
    credentials:
      e.BBM_CLIENT_CREDENTIALS && e.BBM_TOKEN_URL
        ? { clientCredentials: e.BBM_CLIENT_CREDENTIALS, tokenUrl: e.BBM_TOKEN_URL }
        : undefined,
    apiUrl: e.BBM_API_URL,
    bot: e.BOT,
    botName: e.BOT_NAME,
    deliveryNotifications: e.BBM_DELIVERY_NOTIFICATIONS,
    errorDetail: e.BBM_ERROR_DETAIL,
    logLevel: e.LOG_LEVEL as AppConfig['logLevel'],
    tls: e.TLS_CERT_FILE && e.TLS_KEY_FILE ? { certFile: e.TLS_CERT_FILE, keyFile: e.TLS_KEY_FILE } : undefined,
    webhookBodyLimit: e.WEBHOOK_BODY_LIMIT,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    handlerTimeoutMs: e.HANDLER_TIMEOUT_MS,
    maxChatQueue: e.MAX_CHAT_QUEUE,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES,
    redisPrefix: e.REDIS_PREFIX,
    metrics: e.METRICS,
    metricsPort: e.METRICS_PORT,
    heapGrowingPercent: e.HEAP_GROWING_PERCENT,
  };
}
