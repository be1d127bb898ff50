/**
 * What Redis did for the framework during a run, read from the servers themselves so nothing in
 * the measured process changes: `INFO stats commandstats` on every node before and after, the
 * difference divided by the callbacks handled.
 *
 * - commands: the sum of `calls` over every command, the ones a Lua script runs and MULTI/EXEC with
 *   their queued commands included (that is what Redis executes and pays for). The bench's own INFO
 *   calls are left out.
 * - scripts: EVAL/EVALSHA calls (each one request from the client, several commands inside).
 * - round trips: `total_reads_processed`, the read events Redis handled on client connections: one
 *   for every write of the client that reached it separately. One callback at a time, that is the
 *   number of round trips on a callback's path; under load, commands of several callbacks issued in
 *   the same tick share a write (auto-pipelining), so the figure is lower.
 * commandstats' `usec` is not used: a script's time includes the commands inside it, which count
 * their own time too. Redis's CPU per callback comes from /proc instead (run.ts), for the servers the
 * bench started.
 */
import type { Redis } from 'ioredis';

export interface RedisCounters {
  commands: number;
  scripts: number;
  reads: number;
  /** Calls by command name (for the report's breakdown). */
  byCommand: Record<string, number>;
}

const ZERO: RedisCounters = { commands: 0, scripts: 0, reads: 0, byCommand: {} };

/** Parses one node's `INFO stats commandstats`. */
export function parseCounters(info: string): RedisCounters {
  const out: RedisCounters = { ...ZERO, byCommand: {} };
  for (const line of info.split('\n')) {
    const stat = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (stat) {
      const [, name, calls] = stat;
      // The bench's own INFO, and replicas' acknowledgements on a cluster with replicas, are not the framework's.
      if (name === 'info' || name === 'replconf') continue;
      out.commands += Number(calls);
      out.byCommand[name!] = Number(calls);
      if (name === 'eval' || name === 'evalsha') out.scripts += Number(calls);
      continue;
    }
    const reads = /^total_reads_processed:(\d+)/.exec(line);
    if (reads) out.reads = Number(reads[1]);
  }
  return out;
}

/** The counters summed over every node (a single server is a list of one). */
export async function readCounters(nodes: readonly Redis[]): Promise<RedisCounters> {
  const each = await Promise.all(nodes.map(async (n) => parseCounters(String(await n.call('INFO', 'stats', 'commandstats')))));
  return each.reduce((sum, one) => add(sum, one), { ...ZERO, byCommand: {} });
}

function add(a: RedisCounters, b: RedisCounters, sign = 1): RedisCounters {
  const byCommand = { ...a.byCommand };
  for (const [k, v] of Object.entries(b.byCommand)) byCommand[k] = (byCommand[k] ?? 0) + sign * v;
  return {
    commands: a.commands + sign * b.commands,
    scripts: a.scripts + sign * b.scripts,
    reads: a.reads + sign * b.reads,
    byCommand,
  };
}

/**
 * After minus before. The "after" INFO's own request is one read on every node (the "before" one's
 * was counted before its snapshot was taken): taken off.
 */
export function diffCounters(after: RedisCounters, before: RedisCounters, nodes: number): RedisCounters {
  const d = add(after, before, -1);
  d.reads = Math.max(0, d.reads - nodes);
  for (const [k, v] of Object.entries(d.byCommand)) if (v === 0) delete d.byCommand[k];
  return d;
}

/** Per callback, as the report shows it. */
export interface RedisPerCallback {
  commands: number;
  scripts: number;
  roundTrips: number;
  /** CPU time of the redis-server processes per callback, when the bench started them. */
  cpuUs: number | undefined;
  /** The most frequent commands, `name×calls per callback`. */
  top: string;
}

const r2 = (n: number) => Math.round(n * 100) / 100;

export function perCallback(d: RedisCounters, callbacks: number, cpuSeconds: number | undefined): RedisPerCallback {
  const per = (n: number) => (callbacks > 0 ? r2(n / callbacks) : 0);
  const top = Object.entries(d.byCommand)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([name, calls]) => `${name}×${per(calls)}`)
    .join(' ');
  return {
    commands: per(d.commands),
    scripts: per(d.scripts),
    roundTrips: per(d.reads),
    cpuUs: cpuSeconds === undefined || callbacks === 0 ? undefined : r2((cpuSeconds * 1e6) / callbacks),
    top,
  };
}
