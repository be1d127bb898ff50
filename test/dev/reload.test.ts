/**
 * `npm run dev` for real, with a bot of the test's own (a temporary bots/<name>/ folder): every
 * reload keeps the bot's sessions (they live in the runner, not in the reloaded process), and a
 * syntax error, once fixed, is reloaded every time, however the editor saves the file (in place,
 * delete and re-create, write-then-rename). Several break/fix cycles, since the failure was
 * intermittent with tsx watching imported files one by one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../e2e/fault-kit.js';
import { http, uiHttp } from '../emulator/helpers.js';
import { until } from '../helpers/until.js';
import { healthy } from './dev-kit.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = createRequire(import.meta.url).resolve('tsx/cli');
const BOT = `devtest-${randomBytes(4).toString('hex')}`;
const BOT_DIR = join(ROOT, 'bots', BOT);
const REPLY_FILE = join(BOT_DIR, 'reply.ts');

const INDEX = `import { createBot } from '../../src/index.js';
import { reply } from './reply.js';

const bot = createBot({ name: 'DevTest', session: { initial: () => ({ count: 0 }) } });
bot.on('text', (ctx) => {
  ctx.session.count += 1;
  return ctx.reply(reply(ctx.session.count));
});
export default bot;
`;
const replyModule = (version: number) => `export const reply = (count: number): string => \`v${version} count \${count}\`;\n`;
const BROKEN = 'export const reply = (count: number): string => `oops ${count`;;; (\n';

type Save = 'in place' | 'delete and re-create' | 'write then rename';
function save(mode: Save, text: string): void {
  if (mode === 'in place') return writeFileSync(REPLY_FILE, text);
  if (mode === 'delete and re-create') {
    unlinkSync(REPLY_FILE);
    return writeFileSync(REPLY_FILE, text);
  }
  writeFileSync(`${REPLY_FILE}.tmp`, text);
  renameSync(`${REPLY_FILE}.tmp`, REPLY_FILE);
}

let runner: ChildProcess | undefined;
let output = '';

beforeAll(() => {
  mkdirSync(BOT_DIR, { recursive: true });
  writeFileSync(join(BOT_DIR, 'index.ts'), INDEX);
  writeFileSync(REPLY_FILE, replyModule(1));
});

afterAll(async () => {
  if (runner && runner.exitCode === null && runner.signalCode === null) {
    const exited = new Promise((resolve) => runner!.once('exit', resolve));
    runner.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }
  rmSync(BOT_DIR, { recursive: true, force: true });
});

it('keeps sessions across reloads, and reloads a fixed syntax error however it is saved', async () => {
  const [botPort, emuPort] = [await freePort(), await freePort()];
  const { NODE_OPTIONS: _jestVm, ...env } = process.env;
  runner = spawn(process.execPath, [TSX, 'src/dev/main.ts'], {
    cwd: ROOT,
    env: { ...env, BOT, PORT: String(botPort), EMULATOR_PORT: String(emuPort), LOG_LEVEL: 'warn', REDIS_URL: '', REDIS_CLUSTER_NODES: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  runner.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  runner.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const health = `http://127.0.0.1:${botPort}/healthz`;
  const base = `http://127.0.0.1:${emuPort}`;
  await until(() => output.includes('Stop         Ctrl-C'), 'the dev banner', 30_000, 50);
  expect(output).toMatch(/State {8}in memory, in this process: sessions and chats survive a reload/);

  const state = (await http('GET', `${base}/api/state`)).json as unknown as { chats: { chatId: string }[]; config: { botName: string; botNameKnown: boolean } };
  // The web chat names the bot from the start, not "Bot" until its first send.
  expect(state.config).toMatchObject({ botName: 'DevTest', botNameKnown: true });
  const chatId = state.chats[0]!.chatId;
  const botTexts = async (): Promise<string[]> => {
    const chat = (await http('GET', `${base}/api/chats/${chatId}`)).json.chat as { items: { from: string; message?: { text?: string } }[] };
    return chat.items.filter((i) => i.from === 'bot').map((i) => i.message?.text ?? '');
  };
  /** Sends a text and resolves with the bot's reply to it. */
  const talk = async (): Promise<string> => {
    const before = (await botTexts()).length;
    await uiHttp('POST', `${base}/api/chats/${chatId}/messages?wait=1`, { body: { text: 'hi' } });
    await until(async () => (await botTexts()).length > before, 'the reply', 5_000, 20);
    return (await botTexts()).at(-1)!;
  };

  expect(await talk()).toBe('v1 count 1');
  expect(await talk()).toBe('v1 count 2');

  const modes: Save[] = ['delete and re-create', 'in place', 'write then rename', 'delete and re-create'];
  let count = 2;
  for (const [i, mode] of modes.entries()) {
    const version = i + 2;
    const failures = output.split('Startup failed').length;
    save(mode, BROKEN);
    await until(() => output.split('Startup failed').length > failures, `the broken save (${mode}, cycle ${version}) to be reloaded and fail`, 20_000, 50);
    expect(await healthy(health)).toBe(false);
    save(mode, replyModule(version));
    await until(() => healthy(health), `the fixed save (${mode}, cycle ${version}) to be reloaded`, 20_000, 100);
    count += 1;
    // The fixed code answers, and the session counted on through both reloads.
    expect(await talk()).toBe(`v${version} count ${count}`);
  }

  // Ctrl-C's sibling: the bot, the store and the emulator all stop, and the runner exits 0.
  const exited = new Promise<number | null>((resolve) => runner!.once('exit', resolve));
  runner.kill('SIGTERM');
  await until(() => runner!.exitCode !== null || runner!.signalCode !== null, 'the runner to exit', 15_000, 50);
  expect(await exited).toBe(0);
}, 180_000);
