import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BbmError } from '../../src/protocol/errors.js';
import { CONFIG_VARIABLES, ConfigError, loadConfig, PROJECT_ROOT } from '../../src/server/config.js';

const DEFAULTS = JSON.parse(readFileSync(join(PROJECT_ROOT, 'config', 'default.json'), 'utf8')) as Record<string, string>;
const KEY = 'test-client-sig-key';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bbm-config-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The ConfigError `loadConfig` throws for `env` (no .env file). */
function configError(env: NodeJS.ProcessEnv, envFile: string | false = false): ConfigError {
  try {
    loadConfig({ env, envFile });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('takes every default from config/default.json', () => {
    const config = loadConfig({ env: { BBM_SIG_KEY: KEY }, envFile: false });
    expect(config).toEqual({
      port: Number(DEFAULTS.PORT),
      host: DEFAULTS.HOST,
      sigKeys: [KEY],
      credentials: undefined,
      apiUrl: DEFAULTS.BBM_API_URL!.replace(/\/+$/, ''),
      bot: DEFAULTS.BOT,
      botName: undefined,
      deliveryNotifications: DEFAULTS.BBM_DELIVERY_NOTIFICATIONS === 'on',
      errorDetail: false,
      logLevel: DEFAULTS.LOG_LEVEL,
      tls: undefined,
      webhookBodyLimit: 1024 * 1024,
      shutdownTimeoutMs: Number(DEFAULTS.SHUTDOWN_TIMEOUT_MS),
      handlerTimeoutMs: 60_000,
      maxChatQueue: 100,
      redisUrl: undefined,
      redisPrefix: 'bbm:',
      metrics: true,
      metricsPort: undefined,
      heapGrowingPercent: 10,
    });
    expect(DEFAULTS.WEBHOOK_BODY_LIMIT).toBe('1mb');
  });

  it('reads a .env file', () => {
    const envFile = writeFile(
      'read.env',
      [
        '# a comment',
        'PORT=4000',
        `BBM_SIG_KEY=${KEY}`,
        'LOG_LEVEL=debug',
        'BOT_NAME="Bob Bot" # inline comment',
        'BBM_DELIVERY_NOTIFICATIONS=on',
        'WEBHOOK_BODY_LIMIT=512kb',
        'NOT_A_CONFIG_VARIABLE=ignored',
      ].join('\n'),
    );
    const config = loadConfig({ env: {}, envFile });
    expect(config).toMatchObject({
      port: 4000,
      sigKeys: [KEY],
      logLevel: 'debug',
      botName: 'Bob Bot',
      deliveryNotifications: true,
      webhookBodyLimit: 512 * 1024,
    });
  });

  it('lets the environment override .env', () => {
    const envFile = writeFile('override.env', `PORT=4000\nBBM_SIG_KEY=from-file\nLOG_LEVEL=debug\n`);
    const config = loadConfig({ env: { PORT: '5000', BBM_SIG_KEY: 'from-env' }, envFile });
    expect(config.port).toBe(5000);
    expect(config.sigKeys).toEqual(['from-env']);
    expect(config.logLevel).toBe('debug');
  });

  it('reads .env from the working directory by default, and a missing file is fine', () => {
    const cwd = process.cwd();
    const sub = mkdtempSync(join(dir, 'cwd-'));
    try {
      process.chdir(sub);
      expect(loadConfig({ env: { BBM_SIG_KEY: KEY } }).port).toBe(Number(DEFAULTS.PORT));
      writeFileSync(join(sub, '.env'), 'PORT=4321\n');
      expect(loadConfig({ env: { BBM_SIG_KEY: KEY } }).port).toBe(4321);
      expect(loadConfig({ env: { BBM_SIG_KEY: KEY }, envFile: false }).port).toBe(Number(DEFAULTS.PORT));
    } finally {
      process.chdir(cwd);
    }
    expect(loadConfig({ env: { BBM_SIG_KEY: KEY }, envFile: join(dir, 'does-not-exist.env') }).port).toBe(Number(DEFAULTS.PORT));
  });

  it('splits a comma-separated BBM_SIG_KEY into the list of keys', () => {
    expect(loadConfig({ env: { BBM_SIG_KEY: ' old-key , new-key ' }, envFile: false }).sigKeys).toEqual(['old-key', 'new-key']);
  });

  it('keeps a hex-looking key as text', () => {
    const hex = '9c1d207d26f7c498b4c239bbf4e5282b9ef4fe1c18075e2e79d4db24e215904b';
    expect(loadConfig({ env: { BBM_SIG_KEY: hex }, envFile: false }).sigKeys).toEqual([hex]);
  });

  it('a missing BBM_SIG_KEY is a ConfigError naming it', () => {
    for (const value of [undefined, '', '  ', ' , ']) {
      const err = configError(value === undefined ? {} : { BBM_SIG_KEY: value });
      expect(err).toBeInstanceOf(BbmError);
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err.field).toBe('BBM_SIG_KEY');
      expect(err.message).toMatch(/^BBM_SIG_KEY /);
    }
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['LOG_LEVEL', 'verbose'],
    ['WEBHOOK_BODY_LIMIT', 'lots'],
    ['WEBHOOK_BODY_LIMIT', '0'],
    ['WEBHOOK_BODY_LIMIT', '-5mb'],
    ['BBM_DELIVERY_NOTIFICATIONS', 'maybe'],
    ['BBM_ERROR_DETAIL', 'yes'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['REDIS_URL', 'localhost:6379'],
    ['REDIS_PREFIX', 'has space:'],
    ['REDIS_PREFIX', 'glob*:'],
    ['REDIS_PREFIX', 'x'.repeat(101)],
    ['REDIS_PREFIX', 'my{bot}:'],
    ['REDIS_CLUSTER_NODES', 'redis://10.0.0.1:7000'],
    ['REDIS_CLUSTER_NODES', '10.0.0.1:7000,10.0.0.2'],
    ['METRICS', 'yes'],
    ['METRICS_PORT', 'nine'],
    ['METRICS_PORT', '70000'],
    ['HEAP_GROWING_PERCENT', '-1'],
    ['HEAP_GROWING_PERCENT', '401'],
    ['HEAP_GROWING_PERCENT', 'low'],
    ['BBM_API_URL', 'not a url'],
    ['BBM_API_URL', 'ftp://chat.example.com'],
    ['BBM_TOKEN_URL', 'token-service'],
    ['SHUTDOWN_TIMEOUT_MS', 'soon'],
    ['HANDLER_TIMEOUT_MS', '1m'],
    ['HANDLER_TIMEOUT_MS', '3600001'],
    ['MAX_CHAT_QUEUE', '-5'],
    ['BOT', '../etc'],
  ])('%s=%j is a ConfigError naming the variable', (variable, value) => {
    const env: NodeJS.ProcessEnv = { BBM_SIG_KEY: KEY, [variable]: value };
    if (variable === 'BBM_TOKEN_URL') env.BBM_CLIENT_CREDENTIALS = 'creds';
    const err = configError(env);
    expect(err.field).toBe(variable);
    expect(err.message.startsWith(`${variable} `)).toBe(true);
    expect(err.message).not.toContain('\n');
  });

  it('REDIS_URL and REDIS_CLUSTER_NODES together are one line naming both', () => {
    const err = configError({ BBM_SIG_KEY: KEY, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '127.0.0.1:7000' });
    expect(err.field).toBe('REDIS_CLUSTER_NODES');
    expect(err.message).toMatch(/^REDIS_CLUSTER_NODES and REDIS_URL are both set: /);
    expect(err.message).not.toContain('\n');
  });

  it('reads REDIS_CLUSTER_NODES as seed nodes; unset means no cluster', () => {
    const env = { BBM_SIG_KEY: KEY, REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-b:7001 ' };
    expect(loadConfig({ env, envFile: false }).redisClusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-b', port: 7001 },
    ]);
    expect(loadConfig({ env: { BBM_SIG_KEY: KEY }, envFile: false }).redisClusterNodes).toBeUndefined();
  });

  it('accepts the documented spellings', () => {
    const config = loadConfig({
      env: {
        BBM_SIG_KEY: KEY,
        PORT: '0',
        LOG_LEVEL: 'WARN',
        BBM_DELIVERY_NOTIFICATIONS: 'ON',
        WEBHOOK_BODY_LIMIT: '2048',
        REDIS_URL: 'rediss://cache.example.com:6380',
        REDIS_PREFIX: 'mybot:prod:',
        METRICS: 'ON',
        METRICS_PORT: '9464',
        BBM_API_URL: 'https://chat.example.com/',
      },
      envFile: false,
    });
    expect(config).toMatchObject({
      port: 0,
      logLevel: 'warn',
      deliveryNotifications: true,
      webhookBodyLimit: 2048,
      redisUrl: 'rediss://cache.example.com:6380',
      redisPrefix: 'mybot:prod:',
      metrics: true,
      metricsPort: 9464,
      apiUrl: 'https://chat.example.com',
    });
    expect(loadConfig({ env: { BBM_SIG_KEY: KEY, METRICS: 'off' }, envFile: false })).toMatchObject({
      metrics: false,
      metricsPort: undefined,
    });
  });

  it('METRICS_PORT conflicting with METRICS=off or with PORT names METRICS_PORT', () => {
    const off = configError({ BBM_SIG_KEY: KEY, METRICS: 'off', METRICS_PORT: '9464' });
    expect(off.field).toBe('METRICS_PORT');
    expect(off.message).toMatch(/METRICS=off/);
    const same = configError({ BBM_SIG_KEY: KEY, PORT: '3000', METRICS_PORT: '3000' });
    expect(same.field).toBe('METRICS_PORT');
    expect(same.message).toMatch(/PORT/);
    // 0 asks for any free port, for both: not a conflict.
    expect(loadConfig({ env: { BBM_SIG_KEY: KEY, PORT: '0', METRICS_PORT: '0' }, envFile: false }).metricsPort).toBe(0);
  });

  it('TLS_CERT_FILE without TLS_KEY_FILE names TLS_KEY_FILE, and the reverse', () => {
    const cert = writeFile('cert.pem', 'cert');
    const key = writeFile('key.pem', 'key');
    expect(configError({ BBM_SIG_KEY: KEY, TLS_CERT_FILE: cert }).field).toBe('TLS_KEY_FILE');
    expect(configError({ BBM_SIG_KEY: KEY, TLS_KEY_FILE: key }).field).toBe('TLS_CERT_FILE');
    expect(loadConfig({ env: { BBM_SIG_KEY: KEY, TLS_CERT_FILE: cert, TLS_KEY_FILE: key }, envFile: false }).tls).toEqual({
      certFile: cert,
      keyFile: key,
    });
  });

  it('a TLS file that does not exist names its variable', () => {
    const key = writeFile('key2.pem', 'key');
    const err = configError({ BBM_SIG_KEY: KEY, TLS_CERT_FILE: join(dir, 'missing.pem'), TLS_KEY_FILE: key });
    expect(err.field).toBe('TLS_CERT_FILE');
  });

  it('BBM_CLIENT_CREDENTIALS without BBM_TOKEN_URL names BBM_TOKEN_URL, and the reverse', () => {
    expect(configError({ BBM_SIG_KEY: KEY, BBM_CLIENT_CREDENTIALS: 'creds' }).field).toBe('BBM_TOKEN_URL');
    expect(configError({ BBM_SIG_KEY: KEY, BBM_TOKEN_URL: 'https://auth.example.com/token' }).field).toBe('BBM_CLIENT_CREDENTIALS');
    const config = loadConfig({
      env: { BBM_SIG_KEY: KEY, BBM_CLIENT_CREDENTIALS: 'creds', BBM_TOKEN_URL: 'https://auth.example.com/token' },
      envFile: false,
    });
    expect(config.credentials).toEqual({ clientCredentials: 'creds', tokenUrl: 'https://auth.example.com/token' });
  });

  it('pinned: a blank value counts as not set', () => {
    const config = loadConfig({
      env: { BBM_SIG_KEY: KEY, PORT: '', BBM_CLIENT_CREDENTIALS: '', BBM_TOKEN_URL: ' ', TLS_CERT_FILE: '', TLS_KEY_FILE: '', REDIS_URL: '' },
      envFile: false,
    });
    expect(config.port).toBe(Number(DEFAULTS.PORT));
    expect(config.credentials).toBeUndefined();
    expect(config.tls).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
  });

  it('a blank value in the environment still hides the .env value', () => {
    const envFile = writeFile('blank.env', `BBM_SIG_KEY=${KEY}\nREDIS_URL=redis://localhost:6379\n`);
    expect(loadConfig({ env: {}, envFile }).redisUrl).toBe('redis://localhost:6379');
    expect(loadConfig({ env: { REDIS_URL: '' }, envFile }).redisUrl).toBeUndefined();
  });

  it('reports the first problem and counts the others, on one line', () => {
    const err = configError({ PORT: 'abc', LOG_LEVEL: 'loud' });
    expect(err.field).toBe('PORT');
    expect(err.message).toMatch(/^PORT .*\(and 2 more problem\(s\)\)$/);
  });
});

describe('.env.example', () => {
  const examplePath = join(PROJECT_ROOT, '.env.example');
  const text = readFileSync(examplePath, 'utf8');

  it('documents every CONFIG_VARIABLES entry, each with a comment', () => {
    const lines = text.split('\n');
    for (const variable of CONFIG_VARIABLES) {
      const index = lines.findIndex((l) => new RegExp(`^#?\\s*${variable}=`).test(l));
      expect({ variable, found: index >= 0 }).toEqual({ variable, found: true });
      // A comment sits somewhere in the block just above the variable.
      const above = lines.slice(Math.max(0, index - 6), index);
      expect({ variable, commented: above.some((l) => l.startsWith('#')) }).toEqual({ variable, commented: true });
    }
  });

  it('names no variable the configuration does not know', () => {
    const named = [...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
    expect(named.filter((n) => !(CONFIG_VARIABLES as readonly string[]).includes(n!))).toEqual([]);
  });

  it('is itself a working configuration', () => {
    const config = loadConfig({ env: {}, envFile: examplePath });
    expect(config.sigKeys).toHaveLength(1);
    expect(config.port).toBe(Number(DEFAULTS.PORT));
  });
});

describe('npm start with a bad configuration', () => {
  const tsxCli = realpathSync(join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'));
  const main = join(PROJECT_ROOT, 'src', 'server', 'main.ts');

  /** Runs src/server/main.ts from an empty folder (no .env) with only `env` configured. */
  function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
    const base: NodeJS.ProcessEnv = { ...process.env };
    delete base.NODE_OPTIONS;
    for (const variable of CONFIG_VARIABLES) delete base[variable];
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [tsxCli, main], { cwd: dir, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr, stdout });
      });
    });
  }

  it('exits 1 with one stderr line naming the variable, and no stack trace', async () => {
    const [noKey, badPort] = await Promise.all([runMain({}), runMain({ BBM_SIG_KEY: KEY, PORT: 'abc' })]);

    expect(noKey.code).toBe(1);
    expect(noKey.stderr.endsWith('\n')).toBe(true);
    expect(noKey.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(noKey.stderr).toMatch(/BBM_SIG_KEY/);
    expect(noKey.stderr).not.toMatch(/\bat .*:\d+:\d+/);

    expect(badPort.code).toBe(1);
    expect(badPort.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/PORT/)]);
    expect(badPort.stderr).not.toMatch(/\bat .*:\d+:\d+/);
    expect(badPort.stdout).toBe('');
  }, 20_000);
});
