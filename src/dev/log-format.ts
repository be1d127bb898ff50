/**
 * The bot's pino lines, made readable in the `npm run dev` terminal. Ordinary fields stay on the
 * line (long values cut, so one chatty field cannot flood it); an error is never cut: its whole
 * stack follows the line, one frame a line, the bot's own frames (bots/…) first and marked, the
 * framework's (src/…) after them, and frames in node_modules or node internals folded into a
 * count. Paths are shown relative to the project, so `bots/pizza/index.ts:42:7` is what you see.
 */
import { relative, sep } from 'node:path';

export interface LogFormatOptions {
  /** The project root: frames under it are shown relative to it. */
  root: string;
  /** ANSI colours (a terminal that is not NO_COLOR). */
  color: boolean;
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const QUIET_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v']);
/** Fields of a serialized error shown in its own header, not as `key=value`. */
const ERROR_OWN_FIELDS = new Set(['type', 'message', 'stack']);
const MAX_FIELD = 160;
const INDENT = '      ';

/** A pino-serialized error: an object with a message and a stack. */
interface LoggedError {
  type?: unknown;
  message: string;
  stack: string;
  [field: string]: unknown;
}

function isLoggedError(value: unknown): value is LoggedError {
  return typeof value === 'object' && value !== null && typeof (value as LoggedError).stack === 'string' && typeof (value as LoggedError).message === 'string';
}

const paint = (color: boolean, code: string, text: string): string => (color ? `\x1b[${code}m${text}\x1b[0m` : text);

type FrameKind = 'bot' | 'framework' | 'other';

/** `    at fn (/abs/path/file.ts:3:13)` → its kind and the frame with the path made relative. */
function frame(line: string, root: string): { kind: FrameKind; text: string } {
  const text = line.trim();
  const path = /\(?((?:file:\/\/)?\/[^():]+):\d+:\d+\)?$/.exec(text)?.[1]?.replace(/^file:\/\//, '');
  if (path === undefined || path.includes(`${sep}node_modules${sep}`)) return { kind: 'other', text };
  const rel = relative(root, path);
  if (rel.startsWith('..')) return { kind: 'other', text };
  const shown = text.replace(path, rel);
  return { kind: rel.startsWith(`bots${sep}`) ? 'bot' : 'framework', text: shown };
}

/** One section of a stack (the error, or one `caused by:`): its header line, then its frames. */
function formatSection(section: string, extra: string, options: LogFormatOptions): string[] {
  const lines = section.split('\n');
  const headerEnd = lines.findIndex((l) => /^\s+at /.test(l));
  const header = (headerEnd === -1 ? lines : lines.slice(0, headerEnd)).join(' ');
  const frames = headerEnd === -1 ? [] : lines.slice(headerEnd).map((l) => frame(l, options.root));
  const out = [`${INDENT}${paint(options.color, '1;31', header)}${extra}`];
  for (const f of frames.filter((f) => f.kind === 'bot')) out.push(`${INDENT}${paint(options.color, '1;36', `› ${f.text}`)}`);
  for (const f of frames.filter((f) => f.kind === 'framework')) out.push(`${INDENT}  ${f.text}`);
  const folded = frames.filter((f) => f.kind === 'other').length;
  if (folded > 0) out.push(`${INDENT}${paint(options.color, '2', `  … ${folded} more in node_modules and node internals`)}`);
  return out;
}

/**
 * An error's block: each section (the error and its causes, as pino writes them) with its frames.
 *
 * @example
 * formatError({ type: 'Error', message: 'boom', stack: 'Error: boom\n    at h (/app/bots/pizza/index.ts:3:13)' }, { root: '/app', color: false });
 * // ['      Error: boom', '      › at h (bots/pizza/index.ts:3:13)']
 */
export function formatError(err: LoggedError, options: LogFormatOptions): string[] {
  const fields = Object.entries(err)
    .filter(([k]) => !ERROR_OWN_FIELDS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const extra = fields.length > 0 ? `  ${paint(options.color, '2', fields.join(' '))}` : '';
  const sections = err.stack.split(/\ncaused by: /);
  return sections.flatMap((section, i) => formatSection(i === 0 ? section : `caused by: ${section}`, i === 0 ? extra : '', options));
}

function field(key: string, value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return `${key}=${s.length > MAX_FIELD ? `${s.slice(0, MAX_FIELD)}…` : s}`;
}

/**
 * One line of the bot's output for the terminal: a pino JSON line becomes `[bot] time LEVEL msg
 * fields`, followed by the full stack of any error it carries; anything else (tsx's own lines, a
 * crash's stack on stderr) is prefixed and passed as it is.
 *
 * @example
 * formatBotLine('{"level":30,"time":0,"msg":"BBM bot listening","bot":"echo"}', { root: '/app', color: false });
 * // '[bot] 00:00:00 INFO  BBM bot listening  bot=echo' (in the local time zone)
 */
export function formatBotLine(line: string, options: LogFormatOptions): string {
  if (!line.startsWith('{')) return `[bot] ${line}`;
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `[bot] ${line}`;
  }
  const time = typeof rec.time === 'number' ? new Date(rec.time).toTimeString().slice(0, 8) : '';
  const level = typeof rec.level === 'number' ? (LEVELS[rec.level] ?? String(rec.level)) : '';
  const errors: string[] = [];
  const extra = Object.entries(rec)
    .filter(([k]) => !QUIET_FIELDS.has(k))
    .flatMap(([k, v]) => {
      if (!isLoggedError(v)) return [field(k, v)];
      errors.push(...formatError(v, options));
      return [];
    })
    .join(' ');
  const head = `[bot] ${time} ${level} ${typeof rec.msg === 'string' ? rec.msg : ''}${extra ? `  ${extra}` : ''}`;
  return [head, ...errors].join('\n');
}
