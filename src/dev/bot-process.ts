/**
 * The bot as `npm run dev` runs it: from source, in a child process that `tsx watch` restarts on
 * every save, its output made readable (./log-format.ts).
 *
 * Why the `--include` globs: tsx watch on its own watches each file the bot imported, one file at a
 * time (chokidar on the file's inode). An editor that saves by deleting and re-creating the file
 * ends that watch, and chokidar re-arms it only when the new file has a different inode number;
 * ext4 and others often hand the same number back, so the file silently stops being watched, and
 * the next run's import of it does not re-add it (chokidar still lists it as watched). Seen as "a
 * fixed syntax error is not reloaded until another file is touched". Watching the folders (globs)
 * sees every create, change and delete in them whatever the inode; tsx drops the duplicate event.
 *
 * Why stdin is a pipe nobody writes to: its end is how tsx watch and the bot learn that the runner
 * is gone, even killed outright, and end with it (./exit-with-runner.ts, preloaded into both).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatBotLine, type LogFormatOptions } from './log-format.js';

/** What tsx watch watches beyond the files the bot imported: every source of the bot and the framework. */
export const WATCH_GLOBS = ['bots/**/*', 'src/**/*.ts'];

export interface BotProcessOptions {
  /** The project root (the child's working directory). */
  root: string;
  /** The child's whole environment. */
  env: NodeJS.ProcessEnv;
  /** How lines are formatted for the terminal. */
  format: LogFormatOptions;
}

function pipeLines(stream: NodeJS.ReadableStream | null, out: NodeJS.WritableStream, format: LogFormatOptions): void {
  if (!stream) return;
  createInterface({ input: stream }).on('line', (line) => out.write(`${formatBotLine(line, format)}\n`));
}

/**
 * Starts `tsx watch src/server/main.ts` with the given environment; its stdout and stderr go to
 * this process's, formatted.
 *
 * @example
 * const child = startBotProcess({ root, env: { ...process.env, BOT: 'echo' }, format: { root, color: true } });
 */
export function startBotProcess(options: BotProcessOptions): ChildProcess {
  const require = createRequire(import.meta.url);
  const tsxCli = require.resolve('tsx/cli');
  const include = WATCH_GLOBS.flatMap((glob) => ['--include', glob]);
  const guard = ['--import', new URL(`./exit-with-runner${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href];
  // The guard is TypeScript: tsx watch's own process gets tsx's loader first; tsx watch passes
  // node options before the script on to the bot, which has the loader already.
  const tsxLoader = ['--import', pathToFileURL(require.resolve('tsx')).href];
  const child = spawn(process.execPath, [...tsxLoader, ...guard, tsxCli, 'watch', '--clear-screen=false', ...include, ...guard, 'src/server/main.ts'], {
    cwd: options.root,
    // stdin: held open here and never written; it closes when this process ends, however it ends.
    stdio: ['pipe', 'pipe', 'pipe'],
    env: options.env,
  });
  pipeLines(child.stdout, process.stdout, options.format);
  pipeLines(child.stderr, process.stderr, options.format);
  return child;
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

/**
 * Polls `url` until it answers 200, the child exits, or `timeoutMs` passes; true when healthy.
 *
 * @example
 * const up = await waitHealthy('http://127.0.0.1:3000/healthz', child, 30_000);
 */
export async function waitHealthy(url: string, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await healthy(url)) return true;
    await new Promise((r) => setTimeout(r, 150));
  }
  return false;
}
