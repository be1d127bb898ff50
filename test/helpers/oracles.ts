/**
 * What the property tests compare against: zod's output compared exactly (key order, -0), the body
 * parseCallback must see once dangerous keys are dropped, JSON depth, and the prototype checks.
 */
type Obj = Record<string, unknown>;

/** Equal as zod's output must be: same keys in the same order, Object.is on leaves. */
export function sameOutput(a: unknown, b: unknown, path = '$'): string | undefined {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    return Object.is(a, b) ? undefined : `${path}: ${String(a)} !== ${String(b)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array vs object`;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.join('\u0000') !== kb.join('\u0000')) return `${path}: keys [${ka.join(',')}] vs [${kb.join(',')}]`;
  for (const k of ka) {
    const d = sameOutput((a as Obj)[k], (b as Obj)[k], `${path}.${k}`);
    if (d) return d;
  }
  return undefined;
}

/** The keys parseCallback drops at every level before validating (see src/webhook/parse.ts). */
const DROPPED = new Set(['__proto__', 'constructor', 'prototype']);

/** JSON text → the value parseCallback validates, written independently of its reviver. */
export function withoutDroppedKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(withoutDroppedKeys);
  const out: Obj = {};
  for (const k of Object.keys(value)) if (!DROPPED.has(k)) out[k] = withoutDroppedKeys((value as Obj)[k]);
  return out;
}

/** Nesting of objects and arrays, the way the body's brackets count it. */
export function jsonDepth(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let deepest = 0;
  for (const v of Object.values(value)) deepest = Math.max(deepest, jsonDepth(v));
  return deepest + 1;
}

/**
 * Problems with a parsed value's objects: a prototype other than Object's or Array's, an own
 * `__proto__`, or one of `expected` fields only inherited. Empty when sound.
 */
export function prototypeProblems(value: unknown, expected: (path: string) => readonly string[], path = '$'): string[] {
  if (value === null || typeof value !== 'object') return [];
  const problems: string[] = [];
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== (Array.isArray(value) ? Array.prototype : Object.prototype)) problems.push(`${path}: unexpected prototype`);
  if (Object.hasOwn(value, '__proto__')) problems.push(`${path}: own __proto__`);
  for (const k of expected(path)) if (!Object.hasOwn(value, k)) problems.push(`${path}.${k}: not an own property`);
  for (const [k, v] of Object.entries(value)) {
    const child = Array.isArray(value) ? `${path}[]` : `${path}.${k}`;
    problems.push(...prototypeProblems(v, expected, child));
  }
  return problems;
}

/** Own fields every parsed callback object has, by (generic) path. */
export function callbackFields(path: string): readonly string[] {
  if (path === '$') return ['mType', 'chatId', 'from', 'to', 'userInfos'];
  if (path === '$.messages[]') return ['type', 'mid'];
  if (path === '$.actions[]') return ['type'];
  if (/^\$\.userInfos\.[^.]+$/.test(path)) return ['name'];
  return [];
}

/** Own fields every validated send object has. */
export function sendFields(path: string): readonly string[] {
  if (path === '$') return ['mType', 'chatId', 'from', 'to', 'userInfos'];
  if (path === '$.messages[]' || path === '$.actions[]') return ['type'];
  if (/^\$\.userInfos\.[^.]+$/.test(path)) return ['name'];
  return [];
}

/** Object.prototype's and Array.prototype's own keys, to compare before and after a run. */
export function prototypeKeys(): string {
  return [...Reflect.ownKeys(Object.prototype), '|', ...Reflect.ownKeys(Array.prototype)].map(String).join(',');
}
