import { fastCallback } from '../protocol/fast.js';
import { ChatCallbackSchema, type CallbackMessageResult, type ChatCallback } from '../protocol/inbound.js';
import { INBOUND_LIMITS } from '../protocol/limits.js';
import { formatPath, toFieldIssues, type FieldIssue } from '../protocol/errors.js';

/**
 * A message of the callback that broke the wire format on its own (an image without `url`): it is
 * answered 400 by itself while the messages beside it are handled (the spec's per-message 400).
 */
export interface RejectedMessage {
  /** Where it stood in the callback's `messages`. */
  position: number;
  /** Its `mid` when it had a usable one. */
  mid: string | undefined;
  issues: FieldIssue[];
}

export type ParseOutcome =
  | { ok: true; callback: ChatCallback; rejected?: RejectedMessage[] }
  | { ok: false; error: string; message: string; issues?: FieldIssue[] };

const OPEN_CURLY = 0x7b;
const OPEN_SQUARE = 0x5b;
const CLOSE_CURLY = 0x7d;
const CLOSE_SQUARE = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Deepest nesting of objects and arrays in JSON bytes, stopping early once past `max`. */
export function jsonDepthExceeds(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_CURLY || b === OPEN_SQUARE) {
      if (++depth > max) return true;
    } else if (b === CLOSE_CURLY || b === CLOSE_SQUARE) depth--;
  }
  return false;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Drops keys that could reach a prototype if some later code merged the object carelessly. */
function dropPrototypeKeys(this: unknown, key: string, value: unknown): unknown {
  return FORBIDDEN_KEYS.has(key) ? undefined : value;
}

function mayHideDangerousKey(text: string): boolean {
  return text.includes('__proto__') || text.includes('constructor') || text.includes('prototype') || text.includes('\\u');
}

/** Most field problems listed in a 400 answer. */
export const MAX_REPORTED_ISSUES = 20;

/**
 * Verified bytes → a parsed callback, or a reason naming what is wrong. Never throws.
 *
 * Faults of the callback itself (its own fields, the list of messages as a whole, the JSON) give
 * `ok: false`: a 400 for the whole body. Faults inside single messages do not: those messages are
 * left out of `callback.messages` and listed in `rejected`, each to be answered with its own 400
 * in its place (see mergeRejected), while the others are handled.
 *
 * @example
 * const outcome = parseCallback(rawBody);
 * if (!outcome.ok) return send400(outcome.message);
 * const results = mergeRejected(await handle(outcome.callback), outcome.rejected);
 */
export function parseCallback(body: Buffer): ParseOutcome {
  if (body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) {
    return { ok: false, error: 'invalid_json', message: 'body starts with a UTF-8 byte order mark; send plain JSON' };
  }
  if (jsonDepthExceeds(body, INBOUND_LIMITS.jsonDepth)) {
    return { ok: false, error: 'invalid_json', message: `JSON nested deeper than ${INBOUND_LIMITS.jsonDepth} levels` };
  }
  const text = body.toString('utf8');
  let value: unknown;
  try {
    // The reviver costs a full walk, so it runs only when a dangerous key could be present: spelled
    // out, or hidden behind \u escapes (`"\u005f_proto__"` contains none of the words).
    value = mayHideDangerousKey(text) ? JSON.parse(text, dropPrototypeKeys) : JSON.parse(text);
  } catch (err) {
    return { ok: false, error: 'invalid_json', message: `body is not valid JSON: ${(err as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return { ok: false, error: 'invalid_callback', message: `body must be a JSON object, got ${kind}` };
  }
  // The common callback, checked by hand with zod's exact result; anything else by zod itself.
  const fast = fastCallback(value);
  if (fast !== undefined) return { ok: true, callback: fast };
  const parsed = ChatCallbackSchema.safeParse(value);
  if (parsed.success) return { ok: true, callback: parsed.data };
  return withoutBadMessages(value as Record<string, unknown>, parsed.error.issues) ?? invalid(parsed.error.issues);
}

type ZodIssues = readonly { path: readonly PropertyKey[]; message: string }[];

function invalid(zodIssues: ZodIssues): ParseOutcome {
  // A body of thousands of bad entries must not become an answer many times its size.
  const all = toFieldIssues(zodIssues);
  const issues = all.slice(0, MAX_REPORTED_ISSUES);
  const more = all.length > issues.length ? ` (and ${all.length - issues.length} more)` : '';
  return {
    ok: false,
    error: 'invalid_callback',
    message: issues.map((i) => `${i.path}: ${i.message}`).join('; ') + more,
    issues,
  };
}

/**
 * When every problem lies inside single messages (`messages.<i>.…`), the callback itself is sound:
 * those messages are set aside to be answered 400 each, and the rest is parsed again. Any problem
 * in the callback's own fields (or in the list as a whole: too many messages) keeps the whole-body 400.
 */
function withoutBadMessages(value: Record<string, unknown>, zodIssues: ZodIssues): ParseOutcome | undefined {
  const messages = value.messages;
  if (!Array.isArray(messages)) return undefined;
  const byPosition = new Map<number, FieldIssue[]>();
  for (const issue of zodIssues) {
    const [head, position, ...rest] = issue.path;
    if (head !== 'messages' || typeof position !== 'number') return undefined;
    let list = byPosition.get(position);
    if (!list) byPosition.set(position, (list = []));
    list.push({ path: rest.length === 0 ? '(message)' : formatPath(rest), message: issue.message });
  }
  const kept = messages.filter((_, i) => !byPosition.has(i));
  const reparsed = ChatCallbackSchema.safeParse({ ...value, messages: kept });
  if (!reparsed.success) return undefined;
  const rejected: RejectedMessage[] = [...byPosition]
    .sort(([a], [b]) => a - b)
    .map(([position, issues]) => ({ position, mid: usableMid(messages[position]), issues: issues.slice(0, MAX_REPORTED_ISSUES) }));
  return { ok: true, callback: reparsed.data, rejected };
}

function usableMid(message: unknown): string | undefined {
  if (message === null || typeof message !== 'object' || !Object.prototype.hasOwnProperty.call(message, 'mid')) return undefined;
  const mid = (message as { mid?: unknown }).mid;
  return typeof mid === 'string' && mid.length >= 1 && mid.length <= INBOUND_LIMITS.idLength ? mid : undefined;
}

/**
 * The answer's results in the callback's own order: the dispatcher's, one per kept message, with a
 * 400 naming the problem put back where each rejected message stood.
 *
 * @example mergeRejected([{ mid: 'm1', result: { code: 200 } }], [{ position: 0, mid: 'bad', issues }])
 * // → [{ mid: 'bad', result: { code: 400, error: '…' } }, { mid: 'm1', result: { code: 200 } }]
 */
export function mergeRejected(
  results: readonly CallbackMessageResult[],
  rejected: readonly RejectedMessage[] | undefined,
): readonly CallbackMessageResult[] {
  if (!rejected || rejected.length === 0) return results;
  const merged: CallbackMessageResult[] = [];
  let next = 0;
  for (const r of rejected) {
    while (merged.length < r.position && next < results.length) merged.push(results[next++]!);
    const error = `this message contains invalid parameters: ${r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
    merged.push(r.mid === undefined ? { result: { code: 400, error } } : { mid: r.mid, result: { code: 400, error } });
  }
  while (next < results.length) merged.push(results[next++]!);
  return merged;
}
