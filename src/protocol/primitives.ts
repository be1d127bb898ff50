import { z } from 'zod';

/**
 * Integer fields (`index`, `ts`, result `code`) arrive as numbers or as numeric strings in the
 * platform's own samples: accept both and coerce to a number.
 */
export const LenientInt = z.union(
  [
    z.number().int(),
    z
      .string()
      .regex(/^-?\d{1,16}$/, 'expected an integer or a string of digits')
      .transform((s) => Number(s)),
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
