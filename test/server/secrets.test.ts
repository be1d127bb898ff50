/**
 * No secret ever reaches a startup error or a log line. Every setting that carries a secret is one
 * line of SECRET_SETTINGS; each is checked against (a) the configuration errors, the Redis connect
 * errors and the line `npm start` prints when startup fails, and (b) everything a real server logs
 * at trace level while it answers signed callbacks, fetches a token, sends with the chat's mTok,
 * retries and fails a send, refuses a bad signature, and while user code logs the requests, URLs
 * and headers it sees. (c) lists the shapes user code logs, one line each, through the real logger.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import {
  ConfigError,
  createBot,
  loadConfig,
  RedisStore,
  signBody,
  startBotServer,
  startFakeChatApi,
  type FakeChatApi,
} from '../../src/index.js';
import { PROJECT_ROOT } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
import { deleteKeysUnder, randomPrefix, REDIS_URL, redisForTests } from '../state/redis-helpers.js';
import { MemoryLog } from '../webhook/helpers.js';

const redisUp = await redisForTests('the secrets tests with a real Redis');
/** host:port of the test Redis, and of a port where nothing answers. */
const LIVE_REDIS = new URL(REDIS_URL).host;
const DEAD_REDIS = '127.0.0.1:1';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const SIG_KEY = `sigkey${hex(12)}`;
const CLIENT_SECRET = `clientsecret${hex(8)}`;
const CREDENTIALS = Buffer.from(`bot-id:${CLIENT_SECRET}`).toString('base64');
const REDIS_PW = `redispw${hex(8)}`;

interface SecretSetting {
  variable: string;
  /** How the secret is written in the setting (for the test names). */
  form: string;
  /** The setting's value; `redis` is the host:port of a Redis. */
  value: (redis: string) => string;
  /** What must never be printed or logged. */
  secrets: readonly string[];
}

/** Every setting that carries a secret, each way it can carry it. Adding a setting is one line. */
const SECRET_SETTINGS: readonly SecretSetting[] = [
  { variable: 'BBM_SIG_KEY', form: 'a key', value: () => SIG_KEY, secrets: [SIG_KEY] },
  { variable: 'BBM_CLIENT_CREDENTIALS', form: 'base64 of id:secret', value: () => CREDENTIALS, secrets: [CREDENTIALS, CLIENT_SECRET] },
  { variable: 'REDIS_URL', form: 'user:password@', value: (r) => `redis://bbm-user:${REDIS_PW}@${r}`, secrets: [REDIS_PW] },
  { variable: 'REDIS_URL', form: ':password@', value: (r) => `redis://:${REDIS_PW}@${r}`, secrets: [REDIS_PW] },
  { variable: 'REDIS_URL', form: '?password=', value: (r) => `redis://${r}/?password=${REDIS_PW}`, secrets: [REDIS_PW] },
  { variable: 'REDIS_URL', form: '?username=&password=', value: (r) => `redis://${r}/0?username=bbm-user&password=${REDIS_PW}`, secrets: [REDIS_PW] },
];
const ALL_SECRETS = SECRET_SETTINGS.flatMap((s) => s.secrets);

/** Every secret setting at its first form, then `row` as given. */
function secretEnv(row: SecretSetting, redis: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const s of SECRET_SETTINGS) env[s.variable] ??= s.value(redis);
  env[row.variable] = row.value(redis);
  return env;
}

/** The secrets found in `text`, each with what surrounds it: [] when there is none. */
function leaks(text: string, secrets: readonly string[]): string[] {
  return secrets
    .filter((s) => s.length > 0 && text.includes(s))
    .map((s) => {
      const at = text.indexOf(s);
      return `${s} in …${text.slice(Math.max(0, at - 120), at + s.length + 40)}…`;
    });
}

const name = (row: SecretSetting) => `${row.variable} (${row.form})`;

let api: FakeChatApi;
beforeAll(async () => {
  api = await startFakeChatApi({ clientCredentials: CREDENTIALS });
});
afterAll(async () => {
  await api.close();
});

/** The contract variables around the secret ones: local, silent, against the fake Chat API. */
function baseEnv(): Record<string, string> {
  return { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', BBM_TOKEN_URL: api.tokenUrl, BBM_API_URL: api.apiUrl };
}

/** Ways to make loadConfig refuse a configuration that holds the secrets. */
const CONFIG_FAULTS: Record<string, (env: Record<string, string>) => Record<string, string>> = {
  'another setting is wrong': () => ({ PORT: 'not-a-port' }),
  'the credentials lack BBM_TOKEN_URL': () => ({ BBM_TOKEN_URL: '' }),
  'REDIS_URL has the wrong scheme': (env) => ({ REDIS_URL: (env.REDIS_URL ?? '').replace(/^redis:/, 'http:') }),
  'the sig key list is only commas': () => ({ BBM_SIG_KEY: ',' }),
};

describe('startup errors never show a secret', () => {
  describe.each(SECRET_SETTINGS.map((row) => [name(row), row] as const))('%s', (_name, row) => {
    it.each(Object.keys(CONFIG_FAULTS))('ConfigError when %s', (fault) => {
      const env = { ...baseEnv(), ...secretEnv(row, DEAD_REDIS) };
      Object.assign(env, CONFIG_FAULTS[fault]!(env));
      let error: unknown;
      try {
        loadConfig({ envFile: false, env });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect(leaks(`${(error as Error).message} ${String(error)} ${JSON.stringify(error)}`, ALL_SECRETS)).toEqual([]);
    });
  });

  const redisRows = SECRET_SETTINGS.filter((row) => row.variable === 'REDIS_URL');
  it.each(redisRows.map((row) => [name(row), row] as const))(
    'RedisConnectError and its log line, %s: a Redis that does not answer, and the real one',
    async (_name, row) => {
      const log = new MemoryLog();
      const logger = createLogger('trace', log.stream);
      const seen: string[] = [];
      for (const redis of redisUp ? [DEAD_REDIS, LIVE_REDIS] : [DEAD_REDIS]) {
        try {
          const store = await RedisStore.connect(row.value(redis), { connectTimeoutMs: 2_000, logger });
          await store.close();
        } catch (err) {
          seen.push((err as Error).message);
          logger.error({ err }, 'startup failed');
        }
      }
      expect(seen.length).toBeGreaterThan(0);
      expect(seen[0]).toMatch(/^REDIS_URL redis:\/\/.*127\.0\.0\.1:1.* does not answer/);
      expect(leaks(`${seen.join('\n')}\n${log.text()}`, row.secrets)).toEqual([]);
    },
    15_000,
  );

  /** Runs `src/server/main.ts` as `npm start` runs the build: its exit code and everything it printed. */
  function runMain(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
    const tsx = createRequire(import.meta.url).resolve('tsx/cli');
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [tsx, 'src/server/main.ts'], {
        cwd: PROJECT_ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`main.ts did not exit within 20 s:\n${output}`));
      }, 20_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  }

  // One process per distinct environment: the rows of other variables repeat the first Redis form.
  const environments = new Map<string, [string, Record<string, string>]>();
  for (const row of SECRET_SETTINGS) {
    const env = secretEnv(row, DEAD_REDIS);
    environments.set(JSON.stringify(env), [name(row), env]);
  }
  it.each([...environments.values()])('"Startup failed: …" from main.ts, %s set, Redis not answering', async (_name, env) => {
    const { code, output } = await runMain({ ...baseEnv(), LOG_LEVEL: 'trace', ...env });
    expect(code).toBe(1);
    expect(output).toMatch(/Startup failed: REDIS_URL .* does not answer/);
    expect(leaks(output, ALL_SECRETS)).toEqual([]);
  }, 25_000);

  it('"Configuration error: …" from main.ts with every secret set', async () => {
    const env = { ...baseEnv(), ...secretEnv(SECRET_SETTINGS[0]!, DEAD_REDIS), PORT: 'not-a-port' };
    const { code, output } = await runMain(env);
    expect(code).toBe(1);
    expect(output).toMatch(/Configuration error: PORT/);
    expect(leaks(output, ALL_SECRETS)).toEqual([]);
  }, 25_000);
});

describe('a full run logs no secret', () => {
  it('trace-level logs of callbacks, a token fetch, sends with mTok, a retried and a failed send, a bad signature', async () => {
    const prefix = randomPrefix('secrets');
    const log = new MemoryLog();
    const logger = createLogger('trace', log.stream);
    const env: Record<string, string> = {
      ...baseEnv(),
      LOG_LEVEL: 'trace',
      REDIS_PREFIX: prefix,
      BBM_SIG_KEY: SIG_KEY,
      BBM_CLIENT_CREDENTIALS: CREDENTIALS,
    };
    // The brief's own example: the password in the query of REDIS_URL, against the real Redis.
    if (redisUp) env.REDIS_URL = `redis://${LIVE_REDIS}/?password=${REDIS_PW}`;
    const config = loadConfig({ envFile: false, env });

    // A bot whose handler logs what user code commonly logs: the callback, the URL it will send to.
    const bot = createBot({ name: 'SecretsBot' });
    bot.on('text', async (ctx) => {
      const sendUrl = `${api.apiUrl}/v1/chats/${ctx.chat.id}?mTok=${ctx.chat.mTok ?? ''}`;
      ctx.log.info({ callback: ctx.callback }, 'callback received');
      ctx.log.debug({ url: sendUrl }, 'replying');
      ctx.log.debug(`replying through ${sendUrl}`);
      ctx.log.debug('replying through %s', sendUrl);
      await ctx.reply(ctx.text ?? '');
    });
    const server = await startBotServer({ config, bot, logger });
    // And a request log, as an Express-style middleware writes it, over the real server's requests.
    server.server.on('request', (req) => server.logger.debug({ req }, 'request received'));

    const mToks = [`mtok${hex(10)}`, `mtok${hex(10)}`];
    const signatures: string[] = [];
    const post = async (chatId: string, mTok: string, mid: string, headers: (body: string) => Record<string, string>) => {
      const body = JSON.stringify({
        mType: 'message',
        chatId,
        from: `user-${chatId}`,
        to: 'bot-1',
        mTok,
        messages: [{ index: 1, type: 'text', mid, ts: Date.now(), text: 'hello' }],
        userInfos: { [`user-${chatId}`]: { name: 'Alice' } },
      });
      const res = await fetch(`${server.url}/v1/chats`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', ...headers(body) },
        body,
      });
      await res.arrayBuffer();
      return res.status;
    };
    const signed = (body: string) => {
      const sig = signBody(body, SIG_KEY);
      signatures.push(sig);
      // Written as the spec writes it, and with credentials a proxy might forward.
      return { 'BBM-Sig': sig, Authorization: `Basic ${CREDENTIALS}` };
    };

    try {
      expect(await post('chat-a', mToks[0]!, 'mid-a1', signed)).toBe(200);
      // The next send is refused 503 once (retried), then 403: a failed send.
      api.script(() => ({ status: 503, body: { error: 'busy' }, headers: { 'retry-after': '0' } }), () => ({ status: 403, body: { error: 'forbidden' } }));
      expect([200, 207]).toContain(await post('chat-b', mToks[1]!, 'mid-b1', signed));
      // A valid signature replayed over another body.
      expect(await post('chat-c', mToks[0]!, 'mid-c1', () => ({ 'bbm-sig': signatures[0]! }))).toBe(401);
      await api.waitForSends(3, 5_000);
      await server.bot.idle(5_000);
    } finally {
      await server.shutdown();
      if (redisUp) {
        const client = new Redis(REDIS_URL);
        await deleteKeysUnder(client, prefix);
        client.disconnect();
      }
    }

    const tokens = api.sends.map((s) => (s.authorization ?? '').replace(/^Bearer /, ''));
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    const text = log.text();
    // What was exercised is in the log, masked: the test is not passing on an empty log.
    const exercised = ['access token obtained', 'chat api request', 'chat api: request failed', 'handler failed', 'request received', 'mTok=[redacted]'];
    expect(exercised.filter((s) => !text.includes(s))).toEqual([]);
    expect(leaks(text, [...ALL_SECRETS, ...mToks, ...tokens, ...signatures])).toEqual([]);
  }, 30_000);
});

describe('what user code logs, through the real logger', () => {
  const S = `secret${hex(8)}`;
  const URL_WITH_MTOK = `https://chat.example/v1/chats/837680?mTok=${S}&x=1`;
  /** A log call's arguments, each carrying S where a secret hides. One line each. */
  const SHAPES: [string, unknown[]][] = [
    ['a URL with mTok', [{ url: URL_WITH_MTOK }]],
    ['a message quoting it', [`POST ${URL_WITH_MTOK}`]],
    ['a format argument', ['POST %s', URL_WITH_MTOK]],
    ['a nested URL', [{ send: { url: URL_WITH_MTOK } }]],
    ['an href', [{ href: URL_WITH_MTOK }]],
    ['a URL with an access_token', [{ url: `https://h/cb?access_token=${S}` }]],
    ['a URL with a password', [{ url: `redis://bbm:${S}@cache:6379` }]],
    ['headers: BBM-Sig', [{ headers: { 'BBM-Sig': S } }]],
    ['headers: bbm-sig', [{ headers: { 'bbm-sig': S } }]],
    ['headers: Authorization', [{ headers: { Authorization: `Bearer ${S}` } }]],
    ['headers: AUTHORIZATION', [{ headers: { AUTHORIZATION: `Bearer ${S}` } }]],
    ['req: url and headers', [{ req: { method: 'POST', url: `/v1/chats/1?mTok=${S}`, headers: { 'Bbm-Sig': S } } }]],
    ['req: rawHeaders', [{ req: { rawHeaders: ['BBM-Sig', S, 'Host', 'h'] } }]],
    ['request: axios-style', [{ request: { url: URL_WITH_MTOK, headers: { authorization: `Basic ${S}` } } }]],
    ['config: axios-style', [{ config: { url: URL_WITH_MTOK, headers: { Authorization: `Bearer ${S}` } } }]],
    ['response: headers as text', [{ response: { headers: `HTTP/1.1 200 OK\r\nSet-Cookie: sid=${S}\r\n` } }]],
    ['nested headers', [{ ctx: { headers: { 'BBM-Sig': S, Authorization: S } } }]],
    ['an error carrying a URL', [{ err: Object.assign(new TypeError('Invalid URL'), { input: URL_WITH_MTOK }) }]],
    ['an error message quoting a URL', [{ err: new Error(`request to ${URL_WITH_MTOK} failed`) }]],
    ['an error described as text', [{ err: `request to ${URL_WITH_MTOK} failed` }]],
  ];

  it.each(SHAPES)('%s', (_name, args) => {
    const log = new MemoryLog();
    const logger = createLogger('trace', log.stream);
    (logger.info as (...a: unknown[]) => void)(...args);
    expect(log.lines).toHaveLength(1);
    expect(leaks(log.text(), [S])).toEqual([]);
    expect(log.text()).toContain('[redacted]');
  });

  it.each(SHAPES.filter(([, args]) => typeof args[0] === 'object'))('%s, as a child binding', (_name, args) => {
    const log = new MemoryLog();
    createLogger('trace', log.stream)
      .child(args[0] as Record<string, unknown>)
      .info('line');
    expect(leaks(log.text(), [S])).toEqual([]);
  });
});
