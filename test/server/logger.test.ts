/**
 * The logger's two speed-ups must not change a byte of what is written: primitives skip pino's
 * wildcard redactor, and children of a callback logger are made from its parent.
 */
import { pino, type Logger } from 'pino';
import { createLogger, flatChild, loggerOptions, skipRedactionOfPrimitives } from '../../src/server/logger.js';
import { MemoryLog } from '../webhook/helpers.js';

/** Two loggers with createLogger's options and no timestamps: one as pino makes it, one sped up. */
function pair(level: 'trace' | 'info' = 'trace'): { plain: Logger; fast: Logger; plainLog: MemoryLog; fastLog: MemoryLog } {
  const plainLog = new MemoryLog();
  const fastLog = new MemoryLog();
  const options = { ...loggerOptions(level), timestamp: false, base: { pid: 1 } };
  const plain = pino(options, plainLog.stream);
  const fast = pino(options, fastLog.stream);
  expect(skipRedactionOfPrimitives(fast)).toBe(true);
  return { plain, fast, plainLog, fastLog };
}

const SECRET = 's3cr3t-value';

/** Every kind of value, at the top level and nested, secrets where the redaction paths look. */
const CORPUS: Record<string, unknown>[] = [
  { messages: 1, actions: 0, status: 200, durationMs: 1.23 },
  { n: -0, inf: Infinity, nan: NaN, big: 12345678901234567890n, t: true, f: false, nul: null, undef: undefined },
  { s: 'plain', quote: 'say "hi"\n\ttab', unicode: 'héllo ✓ 😀', lone: '\ud800x', empty: '', ctrl: '\u0001\u001f' },
  { sym: Symbol('x'), fn: () => 1 },
  { mTok: SECRET, token: SECRET, access_token: SECRET, accessToken: SECRET, clientCredentials: SECRET, sigKeys: [SECRET] },
  { callback: { chatId: 'c', mTok: SECRET, nested: { mTok: SECRET, access_token: SECRET } } },
  { req: { headers: { authorization: SECRET, 'bbm-sig': SECRET, other: 'kept' } } },
  { config: { headers: { Authorization: SECRET }, url: 'https://x/v1?mTok=1' } },
  { headers: { authorization: SECRET, Authorization: SECRET, 'bbm-sig': SECRET } },
  { list: [1, 'two', { mTok: SECRET }, [{ token: 'too deep for the paths' }]], date: new Date(0) },
  { deep: { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } } },
  { err: Object.assign(new Error('boom'), { config: { headers: { Authorization: SECRET } }, code: 'E1' }) },
];

describe('skipRedactionOfPrimitives', () => {
  it('writes exactly what pino writes, for every kind of value, secrets redacted the same', () => {
    const { plain, fast, plainLog, fastLog } = pair();
    for (const obj of CORPUS) {
      plain.info(obj, 'line');
      fast.info(obj, 'line');
      plain.warn(obj);
      fast.warn(obj);
    }
    plain.info('msg only %s', 'arg');
    fast.info('msg only %s', 'arg');
    expect(fastLog.lines).toEqual(plainLog.lines);
    expect(fastLog.lines.length).toBe(CORPUS.length * 2 + 1);
    expect(fastLog.text()).not.toContain(SECRET);
  });

  it('binds children exactly as pino does, primitives and objects alike', () => {
    const { plain, fast, plainLog, fastLog } = pair();
    const bindings: Record<string, unknown>[] = [
      { chatId: 'chat-1' },
      { mid: 'm1', n: 2, big: 3n, flag: false },
      { mTok: SECRET },
      { ctx: { mTok: SECRET, keep: 1 } },
      { s: 'quote " and \\ backslash' },
    ];
    for (const b of bindings) {
      plain.child(b).info({ x: 1 }, 'child');
      fast.child(b).info({ x: 1 }, 'child');
      plain.child(b).child({ more: 'yes' }).info('grandchild');
      fast.child(b).child({ more: 'yes' }).info('grandchild');
    }
    expect(fastLog.lines).toEqual(plainLog.lines);
    expect(fastLog.text()).not.toContain(SECRET);
  });

  it('is applied by createLogger, and leaves a logger without redaction alone', () => {
    const log = new MemoryLog();
    const logger = createLogger('info', log.stream);
    logger.info({ mTok: SECRET, status: 200 }, 'x');
    expect(log.entries()[0]).toMatchObject({ mTok: '[redacted]', status: 200, msg: 'x' });
    expect(skipRedactionOfPrimitives(pino({ enabled: false }))).toBe(false);
  });
});

describe('flatChild', () => {
  it('writes the same lines as nested children', () => {
    const { plain, fast, plainLog, fastLog } = pair();
    const nested = plain.child({ chatId: 'c1' });
    const flat = flatChild(fast, { chatId: 'c1' });
    for (const [a, b] of [
      [nested, flat],
      [nested.child({ mid: 'm1' }), flat.child({ mid: 'm1' })],
      [nested.child({ mid: 'm1' }).child({ turn: 2 }), flat.child({ mid: 'm1' }).child({ turn: 2 })],
      [nested.child({ mTok: SECRET }), flat.child({ mTok: SECRET })],
      // Edge cases fall back to pino's own child: a binding named twice, child options.
      [nested.child({ chatId: 'again' }), flat.child({ chatId: 'again' })],
      [nested.child({ mid: 'm2' }, { msgPrefix: '[p] ' }), flat.child({ mid: 'm2' }, { msgPrefix: '[p] ' })],
    ] as [Logger, Logger][]) {
      a.info({ k: 1 }, 'hello');
      b.info({ k: 1 }, 'hello');
      a.debug('debug line');
      b.debug('debug line');
      expect(b.bindings()).toEqual(a.bindings());
    }
    expect(fastLog.lines).toEqual(plainLog.lines);
    expect(fastLog.text()).not.toContain(SECRET);
  });

  it("keeps the callback logger's level for children made after it changed", () => {
    const { plain, fast, plainLog, fastLog } = pair('info');
    const nested = plain.child({ chatId: 'c1' });
    const flat = flatChild(fast, { chatId: 'c1' });
    nested.level = 'debug';
    flat.level = 'debug';
    nested.child({ mid: 'm' }).debug('shown');
    flat.child({ mid: 'm' }).debug('shown');
    expect(fastLog.lines).toEqual(plainLog.lines);
    expect(fastLog.lines).toHaveLength(1);
  });

  it('makes grandchildren from the parent, not from the child', () => {
    const log = createLogger('info', new MemoryLog().stream);
    const child = flatChild(log, { chatId: 'c' });
    const grandchild = child.child({ mid: 'm' });
    expect(Object.getPrototypeOf(grandchild)).toBe(log);
  });
});
