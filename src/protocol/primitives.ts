import { z } from 'zod';

/**
 * Integer fields (`index`, `ts`, result `code`) arrive as numbers or as numeric strings in the
 * platform's own samples: accept both and coerce to a number. Either form must be a safe integer:
 * beyond 2^53 a double cannot hold the value, so two different ids or timestamps would compare equal.
 */
export const LenientInt = z.union(
  [
    z.number().int(),
    z
      .string()
      .regex(/^-?\d{1,16}$/, 'expected an integer or a string of digits')
      // "9999999999999999" has 16 digits but no exact double: refuse it as the number form is refused.
      .transform((s, ctx) => {
        const n = Number(s);
        if (Number.isSafeInteger(n)) return n;
        ctx.addIssue({ code: 'custom', message: 'integer is outside the safe range (±2^53−1)' });
        return z.NEVER;
      }),
  ],
  { error: 'expected an integer or a string of digits' },
);

/** Counts Unicode code points, not UTF-16 units: "characters" in the spec's limits. */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** A string of at most `max` code points. */
export function limitedString(max: number) {
  return z.string().refine((s) => s.length <= max || codePointLength(s) <= max, {
    message: `must be at most ${max} characters`,
  });
}

/** True for an absolute http: or https: URL. */
export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * `map[key]` for maps read off the wire (userInfos, type tables): own properties only, so an id
 * such as `constructor` or `toString` finds nothing rather than a function on Object.prototype.
 *
 * @example ownValue(callback.userInfos, callback.from)?.name
 */
export function ownValue<T>(map: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return map !== undefined && Object.prototype.hasOwnProperty.call(map, key) ? map[key] : undefined;
}
