/**
 * Matchers: what `hears` and `postback` (of the bot or any Composer) accept, each turned once (at
 * registration) into a test the turn's text or postback is put through. Pure functions of their
 * input, so the routing rules read in one place and are tested (and reused) without a bot.
 */
import type { Postback } from './events.js';

/** What `bot.hears` matches: exact text, a RegExp, or a predicate. */
export type TextTrigger = string | RegExp | ((text: string) => boolean);
/** What `bot.postback` matches: exact data or a query string, parameters, a RegExp over the data, or a predicate. */
export type PostbackTrigger = string | RegExp | Readonly<Record<string, string>> | ((postback: Postback) => boolean);

/**
 * A text test: for a RegExp, the match (what `ctx.match` gets) or null; otherwise whether the text
 * matches. A RegExp with the `g` or `y` flag starts from the beginning every time.
 *
 * @example textMatcher(/^book (\w+)/)('book rome')?.[1] // 'rome'
 */
export function textMatcher(trigger: TextTrigger): (text: string) => RegExpExecArray | boolean | null {
  if (typeof trigger === 'string') return (text) => text === trigger;
  if (trigger instanceof RegExp) {
    return (text) => {
      trigger.lastIndex = 0;
      return trigger.exec(text);
    };
  }
  return trigger;
}

/**
 * A postback test: exact data; a query string whose every parameter the data has; an object of
 * parameters; a RegExp over the data (giving the match, what `ctx.match` gets, or null; from the
 * beginning every time, as in textMatcher); or a predicate.
 *
 * @example postbackMatcher('action=book')(toPostback(action)) // true for data 'action=book&offer=1'
 * @example postbackMatcher(/^page-(\d+)$/)(toPostback(action))?.[1] // '7' for data 'page-7'
 */
export function postbackMatcher(trigger: PostbackTrigger): (postback: Postback) => RegExpExecArray | boolean | null {
  if (typeof trigger === 'function') return trigger;
  if (trigger instanceof RegExp) {
    return (p) => {
      trigger.lastIndex = 0;
      return trigger.exec(p.data);
    };
  }
  const wanted: Readonly<Record<string, string>> =
    typeof trigger === 'string' ? Object.fromEntries(trigger.includes('=') ? new URLSearchParams(trigger) : []) : trigger;
  const entries = Object.entries(wanted);
  return (p) =>
    (typeof trigger === 'string' && p.data === trigger) ||
    (entries.length > 0 && entries.every(([k, v]) => p.params[k] === v));
}
