/**
 * fast-check generators for hostile input: callbacks and sends that are valid, near-valid (a few
 * slots of a valid one replaced, deleted or given another prototype), or plainly wrong, with the
 * values that have broken parsers before: numbers as strings, unsafe integers, unknown properties
 * and types, keys such as `__proto__` or `toString`, unicode and lone surrogates, deep nesting.
 *
 * Why fast-check rather than a hand-rolled PRNG: a failing case shrinks to a minimal
 * counter-example, and the seed (and path) it prints replay it exactly; see {@link runOptions}.
 */
import fc, { type Arbitrary, type Parameters } from 'fast-check';

type Obj = Record<string, unknown>;

/**
 * The run options of every property: FC_SEED (and FC_PATH, both printed by a failure) replay a
 * run; without them the seed is drawn once per process and logged by {@link logSeed}. A failure
 * also prints its shrunk counter-example.
 */
export const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : (Date.now() ^ (Math.random() * 0x100000000)) | 0;

/** FC_SCALE=10 runs ten times as many cases, for a longer search than `npm test` affords. */
export const SCALE = Number(process.env.FC_SCALE ?? 1);

export function runOptions<T>(numRuns: number): Parameters<T> {
  const path = process.env.FC_PATH;
  return { seed: SEED, numRuns: Math.max(1, Math.round(numRuns * SCALE)), ...(path !== undefined ? { path } : {}) };
}

/** One line per test file, so that a run whose failure was elsewhere can still be replayed. */
export function logSeed(file: string): void {
  process.stdout.write(`[fast-check] ${file}: seed ${SEED} (replay with FC_SEED=${SEED})\n`);
}

// ---------------------------------------------------------------------------------------------
// Leaves.

/** Names that reach Object.prototype or shadow what it provides when used as keys or ids. */
export const DANGEROUS_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__'];

const unicode = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('héllo 😀', '\u0000', '\ud800', 'a\udc00b', '\u202e', '[{"', '\\u005f'),
);

/** Any string, weighted towards the interesting ones. */
export const anyString: Arbitrary<string> = fc.oneof(fc.string({ maxLength: 12 }), unicode, fc.constantFrom(...DANGEROUS_NAMES, ''));

/** Lengths on both sides of the limits: ids (256), mTok (8192), outbound text (2000 code points). */
const longString = fc.constantFrom('x'.repeat(256), 'x'.repeat(257), 'x'.repeat(8193), 'x'.repeat(2000), 'x'.repeat(2001), '😀'.repeat(2000), '😀'.repeat(2001));

/** An integer as the wire may carry it: a number, a numeric string, or a near miss of either. */
export const intLike: Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.integer() },
  fc.maxSafeInteger(),
  fc.integer().map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.constantFrom(0, -0, 2 ** 53, -(2 ** 53), 2 ** 53 - 1, 1e21, 1.5, Number.NaN, Number.POSITIVE_INFINITY),
  fc.constantFrom('9007199254740991', '9007199254740992', '9999999999999999', '-0', '00', '1e3', ' 1', '0x10', '', '+1', '1.0', '١٢'),
);

/** Values put where something else belongs; `polluted` marks what must never reach a prototype. */
export const junk: Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(undefined, null, true, false, 0, -0, 1.5, '', [], {}, { polluted: true }, [{ polluted: true }]),
  // One past the inbound limits: 101 messages or actions, 1001 mids, 51 userInfos.
  fc.constantFrom(
    Array.from({ length: 101 }, (_, i) => ({ type: 'text', mid: `m${i}`, text: 'x' })),
    Array.from({ length: 1001 }, (_, i) => `m${i}`),
    Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`u${i}`, { name: 'x' }])),
  ),
  anyString,
  intLike,
  longString,
  fc.integer({ min: 1, max: 120 }).map(nested),
  fc.jsonValue({ maxDepth: 2 }),
);

/** `[[[…]]]` nested `depth` levels, around the parser's limit of 64. */
export function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { a: v };
  return v;
}

// ---------------------------------------------------------------------------------------------
// Objects built from entries, so that key order and own `__proto__` keys are under control.

type Entry = readonly [key: string, value: unknown, order: number];

/** A key always present. */
export const field = (key: string, value: Arbitrary<unknown>): Arbitrary<Entry | null> => fc.tuple(fc.constant(key), value, fc.nat(8));

/** A key present or not. */
export const maybe = (key: string, value: Arbitrary<unknown>): Arbitrary<Entry | null> => fc.option(field(key, value), { nil: null });

const unknownKey = fc.oneof(fc.constantFrom(...DANGEROUS_NAMES, 'extra', 'x-y', 'type', 'mid', 'text', 'polluted'), fc.string({ maxLength: 6 }));
const unknownEntry: Arbitrary<Entry> = fc.tuple(unknownKey, junk, fc.nat(8));

/**
 * An object of the given entries in a generated order, plus up to `extras` unknown properties.
 * Every key becomes an own, enumerable property, `__proto__` included (as JSON.parse makes it).
 */
export function record(entries: Arbitrary<Entry | null>[], extras = 2): Arbitrary<Obj> {
  return fc.tuple(fc.tuple(...entries), fc.array(unknownEntry, { maxLength: extras })).map(([known, more]) => {
    const list = [...known, ...more].filter((e): e is Entry => e !== null);
    list.sort((a, b) => a[2] - b[2]);
    const o: Obj = {};
    for (const [k, v] of list) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    return o;
  });
}

// ---------------------------------------------------------------------------------------------
// Mutations: a few slots of a valid value changed, so most inputs stay near the accepted shape.

interface Mutation {
  slot: number;
  op: 'replace' | 'delete' | 'null-prototype' | 'inherit';
  value: unknown;
}

const mutation: Arbitrary<Mutation> = fc.record({
  slot: fc.nat(),
  op: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'null-prototype', 'inherit'),
  value: junk,
});

/** Every (container, key) in the tree, parents before children. */
function slots(root: unknown): [Obj | unknown[], string | number][] {
  const out: [Obj | unknown[], string | number][] = [];
  const walk = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== 'object' || depth > 8) return;
    const keys: (string | number)[] = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
    for (const k of keys) {
      out.push([v as Obj, k]);
      walk((v as Obj)[k], depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

function apply(root: unknown, m: Mutation): unknown {
  const all = slots(root);
  if (all.length === 0) return m.op === 'replace' ? copy(m.value) : root;
  const [container, key] = all[m.slot % all.length]!;
  const current = (container as Obj)[key];
  // A copy: fast-check hands out the same constant objects again, and later mutations write into them.
  if (m.op === 'replace') (container as Obj)[key] = copy(m.value);
  else if (m.op === 'delete') {
    if (Array.isArray(container)) container.splice(key as number, 1);
    else delete container[key as string];
  } else if (current !== null && typeof current === 'object' && !Array.isArray(current)) {
    // The same own properties on another prototype: null, or one that offers values of its own.
    const proto = m.op === 'null-prototype' ? null : { polluted: true, name: 'inherited', type: 'text', mid: 'inherited', text: 'inherited' };
    (container as Obj)[key] = Object.assign(Object.create(proto) as Obj, current);
  }
  return root;
}

/** `valid`, mostly untouched, else with one to three of its slots mutated. */
export function nearly<T>(valid: Arbitrary<T>): Arbitrary<unknown> {
  return fc.tuple(valid, fc.array(mutation, { maxLength: 3 }), fc.nat(3)).map(([v, mutations, keep]) =>
    // About one case in four stays valid as generated.
    keep === 0 ? v : mutations.reduce<unknown>((acc, m) => apply(acc, m), copy(v)),
  );
}

/** A deep copy of plain data that keeps an own `__proto__` key an own key. */
function copy(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(copy);
  const o: Obj = {};
  for (const k of Object.keys(v)) Object.defineProperty(o, k, { value: copy((v as Obj)[k]), enumerable: true, writable: true, configurable: true });
  return o;
}
