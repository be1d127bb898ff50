/**
 * The two ways people start the emulator: `npm run emulator` (alone, for any bot) and `npm run dev`
 * (the emulator plus a bot from bots/, reloaded on save), run for real as child processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCliArgs } from '../../src/emulator/cli.js';
import { http, uiHttp } from './helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = createRequire(import.meta.url).resolve('tsx/cli');

describe('npm run emulator: arguments', () => {
  it('maps every flag to an option', () => {
    expect(
      parseCliArgs(
        ['--bot-url', 'http://localhost:8080', '--sig-key', 'k', '--port', '4000', '--delivery-notifications', 'on', '--token-ttl', '60', '--user', 'Ann', '--user', 'Ben'],
        {},
      ),
    ).toEqual({ botUrl: 'http://localhost:8080', sigKey: 'k', port: 4000, deliveryNotifications: true, tokenTtlSeconds: 60, users: ['Ann', 'Ben'] });
    expect(parseCliArgs([], { EMULATOR_PORT: '4100' })).toEqual({ port: 4100 });
    expect(parseCliArgs(['--help'], {})).toBe('help');
  });

  it.each([
    [['--port', 'abc'], /--port must be a whole number/],
    [['--delivery-notifications', 'yes'], /--delivery-notifications must be "on" or "off"/],
    [['--token-ttl', '0'], /--token-ttl must be at least 1/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('refuses %j with one line', (argv, message) => {
    expect(() => parseCliArgs(argv, {})).toThrow(message);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  // Jest's NODE_OPTIONS (vm modules) is not for the children.
  const { NODE_OPTIONS: _n, ...env } = process.env;
  return { ...env, LOG_LEVEL: 'warn', ...extra };
}

/** Resolves with everything printed once `pattern` shows up on stdout. */
function output(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${out}\n${err}`)), timeoutMs);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${pattern}:\n${out}\n${err}`));
    });
  });
}

function exited(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('npm run emulator', () => {
  it('prints what to give a bot, and serves the web chat', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [TSX, 'src/emulator/cli.ts', '--port', String(port), '--sig-key', 'my-key', '--bot-url', 'http://127.0.0.1:9/'], {
      cwd: ROOT,
      env: childEnv({}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const out = await output(child, /Ctrl-C stops/, 15_000);
      expect(out).toContain(`web chat: http://127.0.0.1:${port}/`);
      expect(out).toContain(`BBM_TOKEN_URL=http://127.0.0.1:${port}/oauth/token`);
      expect(out).toContain(`BBM_API_URL=http://127.0.0.1:${port}`);
      expect(out).toMatch(/BBM_CLIENT_CREDENTIALS=[A-Za-z0-9+/=]{20,}/);
      expect(out).toContain('BBM_SIG_KEY=my-key');
      expect(out).toContain('Callbacks go to http://127.0.0.1:9/v1/chats');
      expect((await http('GET', `http://127.0.0.1:${port}/`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect((await exited(child, 5000)).code).toBe(0);
  }, 20_000);
});

describe('npm run dev', () => {
  it('starts the emulator and the echo bot, wired together with no configuration; SIGTERM stops both', async () => {
    const [botPort, emuPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, [TSX, 'src/dev/main.ts'], {
      cwd: ROOT,
      env: childEnv({ PORT: String(botPort), EMULATOR_PORT: String(emuPort), BOT: 'echo', BBM_DELIVERY_NOTIFICATIONS: 'off' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const base = `http://127.0.0.1:${emuPort}`;
    try {
      const out = await output(child, /Stop {9}Ctrl-C/, 30_000);
      expect(out).toContain(`Web chat     ${base}/`);
      expect(out).toContain(`Bot          echo (bots/echo/index.ts) at http://127.0.0.1:${botPort}/v1/chats`);
      expect(out).toContain('Switch bot   BOT=showcase npm run dev');

      const state = (await http('GET', `${base}/api/state`)).json as unknown as { chats: { chatId: string }[] };
      const chatId = state.chats[0]!.chatId;
      const sent = await uiHttp('POST', `${base}/api/chats/${chatId}/messages?wait=1`, { body: { text: 'hello' } });
      expect((sent.json.item as { state: string }).state).toBe('read');
      const deadline = Date.now() + 5000;
      let texts: string[] = [];
      while (Date.now() < deadline) {
        const chat = (await http('GET', `${base}/api/chats/${chatId}`)).json.chat as { items: { from: string; message?: { text?: string } }[] };
        texts = chat.items.filter((i) => i.from === 'bot').map((i) => i.message?.text ?? '');
        if (texts.includes('hello')) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(texts).toContain('hello');
    } finally {
      child.kill('SIGTERM');
    }
    expect((await exited(child, 15_000)).code).toBe(0);
    // Both are gone: the ports are free again.
    await expect(http('GET', `${base}/healthz`)).rejects.toThrow();
    await expect(http('GET', `http://127.0.0.1:${botPort}/healthz`)).rejects.toThrow();
  }, 45_000);

  it('fails with one clear line for a bot that does not exist', async () => {
    const child = spawn(process.execPath, [TSX, 'src/dev/main.ts'], {
      cwd: ROOT,
      env: childEnv({ BOT: 'nosuchbot', PORT: String(await freePort()), EMULATOR_PORT: String(await freePort()) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { code, stderr } = await exited(child, 15_000);
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(/^npm run dev: BOT=nosuchbot names no bot: there is no bots\/nosuchbot\/index\.ts \(available: .*echo.*\)$/);
  }, 20_000);

  it('fails with one clear line when the emulator\'s port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as AddressInfo).port;
    try {
      const child = spawn(process.execPath, [TSX, 'src/dev/main.ts'], {
        cwd: ROOT,
        env: childEnv({ BOT: 'echo', PORT: String(await freePort()), EMULATOR_PORT: String(taken) }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const { code, stderr } = await exited(child, 15_000);
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(`npm run dev: port ${taken} (the emulator's, EMULATOR_PORT) is in use: stop what uses it or run EMULATOR_PORT=<another> npm run dev`);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  }, 20_000);
});
