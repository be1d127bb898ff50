/**
 * The conversation scenario's numbers: what its subject process (subjects/conversation.ts) reports,
 * and the medians, table and ratio lines the bench prints from it.
 */

/** One measured round of one subject: 3 turns of every chat. */
export interface SubjectRound {
  /** Wall time per turn, µs (the process is alone on its core: with the memory store, nearly all CPU). */
  usPerTurn: number;
  /** This process's CPU per turn, µs (with Redis, Redis's own work is not in it). */
  cpuUsPerTurn: number;
  /** CPU the rest of the machine used meanwhile (this process and the bench's redis-server left out), % of one core; /proc ticks are 10 ms. */
  otherCpuPct?: number;
  /** Commands Redis ran per turn (scripts' inner commands included); with Redis only. */
  redisCommandsPerTurn?: number;
}

export interface ConversationSubject {
  name: 'stateless' | 'session-machine' | 'conversation';
  rounds: SubjectRound[];
  /** Chats whose last reply was not the expected confirmation, and replies missing or extra. */
  wrongReplies: number;
  /** Turns answered with another code than 200. */
  failedTurns: number;
}

export interface ConversationReport {
  store: 'memory' | 'redis';
  chats: number;
  turnsPerRound: number;
  rounds: number;
  warmupRounds: number;
  concurrency: number;
  elapsedS: number;
  subjects: ConversationSubject[];
}

/** Medians of one subject's rounds. */
export interface ConversationRow {
  store: ConversationReport['store'];
  subject: ConversationSubject['name'];
  usPerTurn: number;
  turnsPerS: number;
  cpuUsPerTurn: number;
  /** Spread of the rounds' wall µs per turn: (max − min) / median. */
  spread: number;
  redisCommandsPerTurn: number | undefined;
  /** Median over the rounds: other work on the machine while this subject ran, % of one core. */
  otherCpuPct: number | undefined;
  wrongReplies: number;
  failedTurns: number;
}

/** conversation over a baseline, per store: medians divided. */
export interface ConversationRatio {
  store: ConversationReport['store'];
  of: string;
  usPerTurn: number;
  cpuUsPerTurn: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * One row per subject: the medians of its rounds.
 * @example const rows = reports.flatMap(conversationRows);
 */
export function conversationRows(report: ConversationReport): ConversationRow[] {
  return report.subjects.map((s) => {
    const wall = s.rounds.map((r) => r.usPerTurn);
    const us = median(wall);
    const commands = s.rounds.map((r) => r.redisCommandsPerTurn).filter((n): n is number => n !== undefined);
    const other = s.rounds.map((r) => r.otherCpuPct).filter((n): n is number => n !== undefined);
    return {
      store: report.store,
      subject: s.name,
      usPerTurn: round(us, 1),
      turnsPerS: Math.round(1e6 / us),
      cpuUsPerTurn: round(median(s.rounds.map((r) => r.cpuUsPerTurn)), 1),
      spread: round((Math.max(...wall) - Math.min(...wall)) / us, 2),
      redisCommandsPerTurn: commands.length ? round(median(commands), 2) : undefined,
      otherCpuPct: other.length ? Math.round(median(other)) : undefined,
      wrongReplies: s.wrongReplies,
      failedTurns: s.failedTurns,
    };
  });
}

/**
 * conversation over session-machine and over stateless, per store.
 * @example conversationRatios(rows).find((r) => r.store === 'memory' && r.of === 'conversation/session-machine')?.usPerTurn;
 */
export function conversationRatios(rows: ConversationRow[]): ConversationRatio[] {
  const out: ConversationRatio[] = [];
  for (const store of ['memory', 'redis'] as const) {
    const get = (name: ConversationSubject['name']) => rows.find((r) => r.store === store && r.subject === name);
    const conv = get('conversation');
    if (!conv) continue;
    for (const base of ['session-machine', 'stateless'] as const) {
      const b = get(base);
      if (!b) continue;
      out.push({ store, of: `conversation/${base}`, usPerTurn: round(conv.usPerTurn / b.usPerTurn, 2), cpuUsPerTurn: round(conv.cpuUsPerTurn / b.cpuUsPerTurn, 2) });
    }
  }
  return out;
}

const pad = (s: string, n: number, left = false) => (left ? s.padEnd(n) : s.padStart(n));

/**
 * The table and its ratio lines, as `npm run bench` prints them.
 * @example console.log(conversationTable([memoryReport, redisReport]));
 */
export function conversationTable(reports: ConversationReport[]): string {
  const rows = reports.flatMap(conversationRows);
  const head = ['store', 'subject', 'µs/turn', 'turns/s', 'CPU µs/turn', 'spread', 'Redis cmds/turn', 'other CPU%', 'wrong', 'failed'];
  const widths = [8, 16, 9, 9, 12, 7, 16, 11, 6, 7];
  const line = (cells: string[]) => `  ${cells.map((c, i) => pad(c, widths[i]!, i < 2)).join(' ')}`;
  const out = [line(head)];
  for (const r of rows) {
    out.push(
      line([
        r.store,
        r.subject,
        r.usPerTurn.toFixed(1),
        String(r.turnsPerS),
        r.cpuUsPerTurn.toFixed(1),
        r.spread.toFixed(2),
        r.redisCommandsPerTurn?.toFixed(2) ?? '-',
        r.otherCpuPct === undefined ? '-' : String(r.otherCpuPct),
        String(r.wrongReplies),
        String(r.failedTurns),
      ]),
    );
  }
  for (const x of conversationRatios(rows)) {
    out.push(`  ${pad(x.store, 8, true)} ${pad(x.of, 34, true)} µs/turn ${x.usPerTurn.toFixed(2)}×   CPU µs/turn ${x.cpuUsPerTurn.toFixed(2)}×`);
  }
  const r0 = reports[0];
  if (r0) {
    const rounds = reports.map((r) => `${r.rounds} (${r.store})`).join(', ');
    out.push(
      `  (${r0.chats} chats × 3 turns per round, ${r0.concurrency} callbacks at a time through bot.dispatch, a sender that answers at once; ` +
        `medians of ${rounds} rounds after ${r0.warmupRounds} warm-up, subjects interleaved; spread = (max − min) / median; ` +
        `other CPU% = the rest of the machine meanwhile, on either core: µs/turn well above CPU µs/turn in memory means the subject lost its core)`,
    );
  }
  return out.join('\n');
}
