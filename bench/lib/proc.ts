/** Child processes pinned to a core, and what /proc says about them (RSS, CPU time). */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const TASKSET = hasTaskset();
export const PROC = existsSync('/proc/self/status');

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Moves every thread of this process onto `core` (the load generator's). */
export function pinSelf(core: number): boolean {
  if (!TASKSET) return false;
  try {
    execFileSync('taskset', ['-a', '-cp', String(core), String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
}

/** `node <args>` on `core` (through taskset, which execs: the pid is node's). */
export function spawnNode(
  core: number,
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { quiet?: boolean; cwd?: string; reportPipe?: boolean } = {},
): Child {
  const [cmd, argv] = TASKSET ? ['taskset', ['-c', String(core), process.execPath, ...args]] : [process.execPath, args];
  const proc = spawn(cmd, argv, {
    env,
    cwd: options.cwd,
    // A subject's stdout (its per-callback log lines) goes to /dev/null; errors stay visible.
    stdio: ['ignore', options.quiet ? 'ignore' : 'pipe', 'inherit', ...(options.reportPipe ? (['pipe'] as const) : [])],
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, pid: proc.pid!, exited };
}

export async function stopChild(child: Child, timeoutMs = 8000): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), timeoutMs);
  await child.exited;
  clearTimeout(timer);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Resident set size in bytes, or undefined without /proc. */
export function rssBytes(pid: number): number | undefined {
  if (!PROC) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU time of a process in seconds, or undefined without /proc. */
export function cpuSeconds(pid: number): number | undefined {
  if (!PROC) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime); the slice starts at field 3.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Polls `url` until it answers 200. */
export async function waitReady(url: string, child: Child, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`${url}: the process exited before it was ready`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} was not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What this machine is: CPU model, cores, memory, kernel, Node. */
export function describeMachine(): Record<string, string> {
  const out: Record<string, string> = { node: process.version, platform: `${process.platform} ${process.arch}` };
  try {
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    out.cpu = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
    const mem = /MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (mem) out.memory = `${Math.round(Number(mem[1]) / 1024 / 1024)} GiB`;
    out.kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // not Linux
  }
  try {
    out.cores = execFileSync('nproc', ['--all'], { encoding: 'utf8' }).trim();
  } catch {
    // no nproc
  }
  return out;
}

/** Busy CPU seconds of the whole machine (all cores), from /proc/stat; undefined without /proc. */
export function machineBusySeconds(): number | undefined {
  if (!PROC) return undefined;
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [, ...fields] = line.trim().split(/\s+/);
    const v = fields.map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = v[0]! + v[1]! + v[2]! + v[5]! + v[6]! + v[7]!;
    return busy / CLK_TCK;
  } catch {
    return undefined;
  }
}
