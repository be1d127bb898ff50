/**
 * `npm run dev`: the BBM emulator in this process and the bot in a child process that tsx reloads
 * on every save. The emulator lives here, outside the reloads, so the chats in the browser survive
 * them. Nothing to configure: client credentials and the sig key are generated for the session and
 * handed to the bot through its usual environment variables.
 *
 * Settings (environment or .env): BOT (default echo), PORT for the bot (3000), EMULATOR_PORT (3978),
 * BBM_DELIVERY_NOTIFICATIONS (off), LOG_LEVEL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseEnv } from 'node:util';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { BbmError } from '../protocol/errors.js';
import { PROJECT_ROOT } from './config.js';
import { availableBots } from './load-bot.js';

const HOST = '127.0.0.1';

/** One line on stderr, exit 1: the whole error story of a dev tool that failed to start. */
function fail(message: string): never {
  process.stderr.write(`npm run dev: ${message}\n`);
  process.exit(1);
}

/** The environment wins over .env, as in the bot's own configuration. */
function settingsFrom(env: NodeJS.ProcessEnv): (name: string) => string | undefined {
  const file = join(process.cwd(), '.env');
  let dotenv: Record<string, string | undefined> = {};
  try {
    if (existsSync(file)) dotenv = parseEnv(readFileSync(file, 'utf8'));
  } catch {
    fail('.env could not be read');
  }
  return (name) => {
    const v = (env[name] ?? dotenv[name])?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
}

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) fail(`${name} must be a port number (1-65535), not "${value}"`);
  return Number(value);
}

/** True when nothing listens on the port (checked by binding it for an instant). */
function portIsFree(p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(p, HOST, () => probe.close(() => resolve(true)));
  });
}

function healthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function waitHealthy(url: string, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await healthy(url)) return true;
    await new Promise((r) => setTimeout(r, 150));
  }
  return false;
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const QUIET_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v']);

/** The bot's pino lines, made readable for a terminal; anything else (tsx's own lines) as is. */
function formatBotLine(line: string): string {
  if (!line.startsWith('{')) return `[bot] ${line}`;
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `[bot] ${line}`;
  }
  const time = typeof rec.time === 'number' ? new Date(rec.time).toTimeString().slice(0, 8) : '';
  const level = typeof rec.level === 'number' ? (LEVELS[rec.level] ?? String(rec.level)) : '';
  const extra = Object.entries(rec)
    .filter(([k]) => !QUIET_FIELDS.has(k))
    .map(([k, v]) => {
      const s = typeof v === 'string' ? v : JSON.stringify(v);
      return `${k}=${s.length > 160 ? `${s.slice(0, 160)}…` : s}`;
    })
    .join(' ');
  return `[bot] ${time} ${level} ${typeof rec.msg === 'string' ? rec.msg : ''}${extra ? `  ${extra}` : ''}`;
}

/** tsx's own line when it reloads the bot after a save. */
const RELOADING = /\[tsx\] .*(Restarting|Rerunning)/;

function pipeLines(stream: NodeJS.ReadableStream | null, out: NodeJS.WriteStream, onReload: () => void): void {
  if (!stream) return;
  createInterface({ input: stream }).on('line', (line) => {
    if (RELOADING.test(line)) onReload();
    out.write(`${formatBotLine(line)}\n`);
  });
}

async function main(): Promise<void> {
  const setting = settingsFrom(process.env);
  const bot = setting('BOT') ?? 'echo';
  const bots = availableBots();
  if (!bots.includes(bot)) fail(`BOT=${bot} names no bot: there is no bots/${bot}/index.ts (available: ${bots.join(', ') || 'none'})`);
  const botPort = port(setting('PORT'), 3000, 'PORT');
  const emulatorPort = port(setting('EMULATOR_PORT'), 3978, 'EMULATOR_PORT');
  if (botPort === emulatorPort) fail(`PORT and EMULATOR_PORT are both ${botPort}: give them different ports`);
  const dn = (setting('BBM_DELIVERY_NOTIFICATIONS') ?? 'off').toLowerCase();
  if (dn !== 'on' && dn !== 'off') fail(`BBM_DELIVERY_NOTIFICATIONS must be "on" or "off", not "${dn}"`);
  if (!(await portIsFree(botPort))) fail(`port ${botPort} (the bot's, PORT) is in use: stop what uses it or run PORT=<another> npm run dev`);

  let emulator: Emulator;
  try {
    emulator = await startEmulator({
      port: emulatorPort,
      host: HOST,
      botUrl: `http://${HOST}:${botPort}/v1/chats`,
      deliveryNotifications: dn === 'on',
      sigKey: randomBytes(32).toString('hex'),
      clientCredentials: Buffer.from(`dev-bot:${randomBytes(18).toString('base64url')}`).toString('base64'),
    });
  } catch (err) {
    if (err instanceof BbmError && err.code === 'PORT_IN_USE') {
      fail(`port ${emulatorPort} (the emulator's, EMULATOR_PORT) is in use: stop what uses it or run EMULATOR_PORT=<another> npm run dev`);
    }
    fail(`the emulator did not start: ${err instanceof Error ? err.message : String(err)}`);
  }

  // The bot, from source, reloaded by tsx on every save; pointed at the emulator for everything.
  const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
  const child = spawn(process.execPath, [tsxCli, 'watch', '--clear-screen=false', 'src/server/main.ts'], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      BOT: bot,
      PORT: String(botPort),
      HOST,
      BBM_SIG_KEY: emulator.sigKey,
      BBM_CLIENT_CREDENTIALS: emulator.clientCredentials,
      BBM_TOKEN_URL: emulator.tokenUrl,
      BBM_API_URL: emulator.apiUrl,
      BBM_DELIVERY_NOTIFICATIONS: dn,
      // The emulator's inspector shows a failed handler's own error text: here it helps.
      BBM_ERROR_DETAIL: 'on',
      // Blank means "not set" to the bot's configuration: a .env meant for production cannot turn
      // on HTTPS here, where the emulator calls plain http.
      TLS_CERT_FILE: '',
      TLS_KEY_FILE: '',
    },
  });
  // The reloaded bot starts with empty memory (its store is in memory): the emulator sends each
  // chat's mTok again, so a button tapped right after a save still gets an answer.
  const onReload = () => emulator.botRestarted();
  pipeLines(child.stdout, process.stdout, onReload);
  pipeLines(child.stderr, process.stderr, onReload);

  let stopping = false;
  const stop = async (code: number, signal?: NodeJS.Signals): Promise<never> => {
    if (!stopping) {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        // Ctrl-C reaches the whole process group: the bot already has its SIGINT and is shutting
        // down gracefully. A second signal would make tsx kill it outright, so give it a moment.
        const grace = signal === 'SIGINT' ? 3000 : 0;
        const term = setTimeout(() => child.kill('SIGTERM'), grace);
        const kill = setTimeout(() => child.kill('SIGKILL'), grace + 5000);
        await exited;
        clearTimeout(term);
        clearTimeout(kill);
      }
      await emulator.close();
    }
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0, 'SIGINT'));
  process.once('SIGTERM', () => void stop(0, 'SIGTERM'));
  child.once('exit', (code, signal) => {
    if (stopping) return;
    process.stderr.write(`npm run dev: the bot process ended (${signal ?? `exit code ${code}`})\n`);
    void stop(code ?? 1);
  });

  const botUrl = `http://${HOST}:${botPort}`;
  const up = await waitHealthy(`${botUrl}/healthz`, child, 30_000);
  if (stopping) return;
  const others = bots.filter((b) => b !== bot);
  const lines = [
    '',
    '  BBM emulator ready: chat with your bot in the browser',
    '  ──────────────────────────────────────────────────────',
    `  Web chat     ${emulator.url}/`,
    `  Bot          ${bot} (bots/${bot}/index.ts) at ${botUrl}/v1/chats, reloaded when you save`,
    `  Switch bot   BOT=${others[0] ?? 'name'} npm run dev${bots.length > 1 ? `   (bots: ${bots.join(', ')})` : ''}`,
    `  Delivery     notifications ${dn}${dn === 'off' ? ' (BBM_DELIVERY_NOTIFICATIONS=on npm run dev for ✓ D R and read receipts)' : ''}`,
    '  Stop         Ctrl-C',
    '',
  ];
  if (!up) lines.splice(lines.length - 1, 0, `  ⚠ The bot is not answering at ${botUrl}/healthz yet: see its output above; tsx restarts it when you save.`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
