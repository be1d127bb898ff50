/**
 * What `expectReply` accepts and how it decides: a text, a RegExp over a text reply, or a deep
 * pattern of the wire message. The pattern type follows the wire types (so a typo in a field name
 * does not compile) and the matching follows jest's `toMatchObject`, which bot authors already
 * know: an object matches when every field it names matches, arrays match element by element with
 * the same length, a RegExp matches a string. A message or an action built with the bot's own
 * builders (`buttons(...)`, `postback({ label, data })`) is a pattern as it is.
 */
import type { OutboundMessage } from '../protocol/outbound.js';

/**
 * A deep pattern of `T`: every field optional; literal fields (`type: 'buttons'`) stay literal so
 * they pick the member of a union; other strings may be a RegExp; arrays are patterns element-wise.
 */
export type DeepPattern<T> = T extends string
  ? string extends T
    ? string | RegExp
    : T
  : T extends readonly (infer E)[]
    ? readonly DeepPattern<E>[]
    : T extends object
      ? { [K in keyof T]?: DeepPattern<T[K]> }
      : T;

/** One pattern per kind of message: `{ type: 'buttons', buttons: { title: 'Menu' } }`. */
export type MessagePattern = OutboundMessage extends infer M ? (M extends OutboundMessage ? DeepPattern<M> : never) : never;

/** What `expectReply` takes: the text of a text reply, a RegExp over it, or a message pattern. */
export type ReplyPattern = string | RegExp | MessagePattern;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

/** Whether `actual` matches the pattern `expected` (see the module comment for the rules). */
export function matchesPattern(expected: unknown, actual: unknown): boolean {
  if (expected instanceof RegExp) {
    if (typeof actual !== 'string') return false;
    expected.lastIndex = 0;
    return expected.test(actual);
  }
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => matchesPattern(e, actual[i]));
  }
  if (isObject(expected)) {
    if (!isObject(actual) || Array.isArray(actual)) return false;
    return Object.entries(expected).every(([k, v]) => v === undefined ? actual[k] === undefined : Object.hasOwn(actual, k) && matchesPattern(v, actual[k]));
  }
  return Object.is(expected, actual);
}

/** Whether a reply matches what `expectReply` was given. */
export function replyMatches(expected: ReplyPattern, actual: OutboundMessage): boolean {
  if (typeof expected === 'string') return actual.type === 'text' && actual.text === expected;
  if (expected instanceof RegExp) return actual.type === 'text' && matchesPattern(expected, actual.text);
  return matchesPattern(expected, actual);
}

/**
 * The actual value seen through the pattern: only the fields the pattern names (so the diff shows
 * no noise), and where a part matches, the pattern's own part (so a RegExp that matched shows no
 * difference either). What is left differing is exactly what made the match fail.
 */
export function projectOnto(expected: unknown, actual: unknown): unknown {
  if (matchesPattern(expected, actual)) return expected;
  if (Array.isArray(expected) && Array.isArray(actual)) {
    return actual.map((a, i) => (i < expected.length ? projectOnto(expected[i], a) : a));
  }
  if (isObject(expected) && !(expected instanceof RegExp) && isObject(actual) && !Array.isArray(actual)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(expected)) if (Object.hasOwn(actual, k)) out[k] = projectOnto(expected[k], actual[k]);
    return out;
  }
  return actual;
}
