/**
 * `npm run dev`'s runner killed outright (SIGKILL, so none of its handlers run) takes `tsx watch`
 * and the bot with it: within two seconds the bot's port is free again and none of the runner's
 * processes remain. Before, both were re-parented and kept running: the bot answered /healthz on
 * its port with its state store gone, and the next `npm run dev` failed on "port in use".
 * Twice: with the bot up, and with the bot down on an error (only tsx watch left, waiting
 * for the fix), which no check inside the bot could cover.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { portIsFree } from '../../src/dev/settings.js';
import { freePort } from '../e2e/fault-kit.js';
import { until } from '../helpers/until.js';
import { healthy } from './dev-kit.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** tsx's loader, so the runner is this test's child itself (`tsx main.ts` would put tsx's cli between). */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const BOT = `devgone-${randomBytes(4).toString('hex')}`;
const BOT_DIR = join(ROOT, 'bots', BOT);
const GOOD = `import { createBot } from '../../src/index.js';\nexport default createBot({ name: 'Gone' });\n`;
// Fails as it loads, not as it compiles: another test run's build of bots/ meanwhile stays green.
const BROKEN = `throw new Error('broken on purpose');\nexport {};\n`;
/** How soon everything must be gone once the runner is. */
const GONE_WITHIN_MS = 2000;

/** Every process below `pid` now (tsx watch, the bot, esbuild's service), from `ps`. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const line of execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' }).trim().split('\n')) {
    const [child, parent] = line.trim().split(/\s+/).map(Number) as [number, number];
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const found: number[] = [];
  const visit = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      found.push(c);
      visit(c);
    }
  };
  visit(pid);
  return found;
}

/** Running, or stopped: anything but gone or a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    return !execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim().startsWith('Z');
  } catch {
    return false; // ps exits 1 when there is no such process
  }
}

let runner: ChildProcess | undefined;
let left: number[] = [];

beforeEach(() => {
  mkdirSync(BOT_DIR, { recursive: true });
  writeFileSync(join(BOT_DIR, 'index.ts'), GOOD);
});

afterEach(() => {
  // Only after a failure: what was left is killed, so no bot keeps its port after this test.
  if (runner && runner.exitCode === null && runner.signalCode === null) runner.kill('SIGKILL');
  for (const pid of left.filter(alive)) process.kill(pid, 'SIGKILL');
  left = [];
  rmSync(BOT_DIR, { recursive: true, force: true });
});

/** `npm run dev` with the test's bot, once its bot is answering; the runner's output so far. */
async function startRunner(): Promise<{ botPort: number; output: () => string }> {
  const [botPort, emuPort] = [await freePort(), await freePort()];
  const { NODE_OPTIONS: _jestVm, ...env } = process.env;
  let output = '';
  runner = spawn(process.execPath, ['--import', TSX_LOADER, 'src/dev/main.ts'], {
    cwd: ROOT,
    env: { ...env, BOT, PORT: String(botPort), EMULATOR_PORT: String(emuPort), LOG_LEVEL: 'warn', REDIS_URL: '', REDIS_CLUSTER_NODES: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  runner.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  runner.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  await until(() => output.includes('Stop         Ctrl-C'), 'the dev banner', 30_000, 50);
  await until(() => healthy(`http://127.0.0.1:${botPort}/healthz`), 'the bot to answer', 10_000, 50);
  return { botPort, output: () => output };
}

/** SIGKILLs the runner; resolves when its port is free and none of its processes remain. */
async function killRunner(botPort: number): Promise<void> {
  const pids = descendants(runner!.pid!);
  left = pids;
  expect(pids.length).toBeGreaterThanOrEqual(1);
  runner!.kill('SIGKILL');
  await until(async () => pids.every((pid) => !alive(pid)) && (await portIsFree(botPort)), 'tsx watch and the bot to exit', GONE_WITHIN_MS, 50);
  left = [];
}

it('takes the bot and tsx watch with it when killed outright', async () => {
  const { botPort } = await startRunner();
  // tsx watch and the bot under it (esbuild's service may add one more).
  expect(descendants(runner!.pid!).length).toBeGreaterThanOrEqual(2);
  await killRunner(botPort);
}, 60_000);

it('takes tsx watch with it when the bot is down, failing to load', async () => {
  const { botPort, output } = await startRunner();
  writeFileSync(join(BOT_DIR, 'index.ts'), BROKEN);
  await until(() => output().includes('Startup failed'), 'the broken bot to be reloaded and fail', 20_000, 50);
  await until(async () => !(await healthy(`http://127.0.0.1:${botPort}/healthz`)), 'the bot to stop', 5_000, 50);
  await killRunner(botPort);
}, 60_000);
