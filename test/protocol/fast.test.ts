/**
 * The protocol fast paths against zod, on thousands of generated inputs, valid and not: whenever a
 * fast path answers, zod must accept the same input and produce the same output (values, -0 and
 * all, key order, references of unknown values); and the fast paths must answer the common cases.
 */
import { fastCallback, fastSendMessageResult, fastSendRequest, fastSendResponseMessages } from '../../src/protocol/fast.js';
import { ChatCallbackSchema } from '../../src/protocol/inbound.js';
import { SendMessageResultSchema, SendRequestSchema, SendResponseSchema } from '../../src/protocol/outbound.js';
import { parseCallback } from '../../src/webhook/parse.js';

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Equal as zod's output must be: same keys in the same order, Object.is on leaves. */
function sameOutput(a: unknown, b: unknown, path = '$'): string | undefined {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    return Object.is(a, b) ? undefined : `${path}: ${String(a)} !== ${String(b)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array vs object`;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.join('\u0000') !== kb.join('\u0000')) return `${path}: keys [${ka.join(',')}] vs [${kb.join(',')}]`;
  for (const k of ka) {
    const d = sameOutput((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    if (d) return d;
  }
  return undefined;
}

function shuffle<T>(r: () => number, list: T[]): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list;
}

const pick = <T>(r: () => number, options: readonly T[]): T => options[Math.floor(r() * options.length)]!;
/** Mostly `good`, now and then one of `bad`: every field can break, most inputs stay valid. */
const usually = <T, U>(r: () => number, good: T, bad: readonly U[], p = 0.04): T | U => (r() < p ? pick(r, bad) : good);

/** An object from entries, in a random order, some left out (undefined) and some extra. */
function objectOf(r: () => number, entries: [string, unknown][], extras = true): Record<string, unknown> {
  const list = entries.filter(([, v]) => v !== OMIT);
  if (extras && r() < 0.25) list.push([pick(r, ['extra', 'zz', 'custom', 'x-y']), pick(r, [1, 'two', { nested: true }, [1], null, false])]);
  const o: Record<string, unknown> = {};
  for (const [k, v] of shuffle(r, list)) o[k] = v;
  return o;
}

const OMIT = Symbol('omit');
const INTS = [1, 0, -0, 42, 1_700_000_000_000, '12', '-3', 1.5, Number.NaN, 2 ** 53, -(2 ** 53 - 1), 'x', null, OMIT];
const IDS = ['c1', '837680', '', 'x'.repeat(256), 'x'.repeat(257), 5, null, OMIT];

function genAction(r: () => number): unknown {
  if (r() < 0.05) return pick(r, ['typing', null, 3, []]);
  const type = usually(r, pick(r, ['typing', 'typing', 'typing', 'leave', 'dlv', 'read']), ['postback', 'text', 'unknownthing', 7, OMIT], 0.1);
  const fields: [string, unknown][] = [
    ['type', type],
    ['ts', r() < 0.6 ? usually(r, 1_700_000_000_000 + Math.floor(r() * 1000), INTS, 0.15) : OMIT],
  ];
  if (type === 'dlv' || type === 'read' || r() < 0.05) {
    fields.push(['mids', usually(r, pick(r, [['m1'], ['m1', 'm2']]), [[], ['m1', 3], 'm1', Array.from({ length: 1001 }, (_, i) => `m${i}`), OMIT], 0.1)]);
  }
  if (type === 'postback') fields.push(['postback', pick(r, [{ data: 'a=1' }, { data: 3 }, OMIT])]);
  return objectOf(r, fields);
}

function genMessage(r: () => number): unknown {
  if (r() < 0.05) return pick(r, ['text', null, 3, []]);
  const type = usually(r, pick(r, ['text', 'text', 'text', 'audio', 'video']), ['image', 5, OMIT], 0.1);
  const fields: [string, unknown][] = [
    ['type', type],
    ['mid', usually(r, `m${Math.floor(r() * 1e6)}`, ['', 'x'.repeat(257), 'x'.repeat(256), 12, OMIT])],
    ['index', r() < 0.6 ? usually(r, 1 + Math.floor(r() * 3), INTS, 0.15) : OMIT],
    ['ts', r() < 0.6 ? usually(r, 1_700_000_000_000, INTS, 0.15) : OMIT],
  ];
  if (type === 'text' || r() < 0.05) fields.push(['text', usually(r, pick(r, ['hello', '', 'héllo 😀']), [3, OMIT])]);
  if (type === 'image') fields.push(['image', pick(r, [{ url: 'u' }, { url: 'u', preview: 'p' }, { url: 3 }, OMIT])]);
  if (type === 'audio') fields.push(['audio', { url: 'https://a/1.ogg' }]);
  return objectOf(r, fields);
}

function genUserInfos(r: () => number, from: unknown): unknown {
  const roll = r();
  if (roll < 0.03) return pick(r, [null, [], 'x', OMIT]);
  const count = roll > 0.99 ? 51 : 1 + Math.floor(r() * 3);
  const entries: [string, unknown][] = [];
  for (let i = 0; i < count; i++) {
    const id = i === 0 && typeof from === 'string' ? from : `u${i}`;
    const info =
      r() < 0.03
        ? pick(r, [null, 'x', []])
        : objectOf(r, [
            ['name', usually(r, pick(r, ['Alice', '']), [5, OMIT])],
            ['avatar', r() < 0.08 ? pick(r, [[], [{ url: 'a' }], 'x']) : OMIT],
          ]);
    entries.push([id, info]);
  }
  return objectOf(r, entries, false);
}

function genCallback(r: () => number): unknown {
  if (r() < 0.01) return pick(r, [null, [], 'x', 1]);
  const from = usually(r, '100006006205', IDS);
  const fields: [string, unknown][] = [
    ['mType', usually(r, 'message', [1, OMIT])],
    ['chId', r() < 0.7 ? usually(r, 'C00012B1E', [7, null]) : OMIT],
    ['chatId', usually(r, `chat-${Math.floor(r() * 1000)}`, IDS)],
    ['from', from],
    ['to', usually(r, '31045128202', IDS)],
    ['mTok', r() < 0.7 ? usually(r, 'MS4xNDc2', ['x'.repeat(8193), 'x'.repeat(8192), 9]) : OMIT],
    ['actions', r() < 0.5 ? (r() < 0.03 ? 'x' : Array.from({ length: Math.floor(r() * 3) }, () => genAction(r))) : OMIT],
    ['messages', r() < 0.6 ? (r() < 0.03 ? {} : Array.from({ length: Math.floor(r() * 3) }, () => genMessage(r))) : OMIT],
    ['userInfos', genUserInfos(r, from)],
  ];
  return objectOf(r, fields);
}

describe('fastCallback', () => {
  it('answers only as zod would, on 20,000 generated callbacks', () => {
    const r = rng(1);
    let fast = 0;
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      const value = genCallback(r);
      const zod = ChatCallbackSchema.safeParse(value);
      const mine = fastCallback(value);
      if (zod.success) valid++;
      if (mine === undefined) continue;
      fast++;
      expect(zod.success).toBe(true);
      const diff = sameOutput(mine, zod.data);
      if (diff) throw new Error(`${diff} for ${JSON.stringify(value)}`);
    }
    // The generator aims at edges; still, a good share of the valid callbacks take the fast path.
    expect(valid).toBeGreaterThan(2000);
    expect(fast).toBeGreaterThan(valid / 4);
  });

  it('takes the fast path for the callbacks BBM sends, unknown values by reference', () => {
    const extra = { deep: [1, 2] };
    const audio = { url: 'https://a/1.ogg', duration: 3 };
    const value = {
      mType: 'message',
      chId: 'C1',
      chatId: '837680',
      from: 'u1',
      to: 'bot',
      mTok: 't',
      actions: [{ type: 'typing', ts: 1 }, { type: 'read', mids: ['a'] }],
      messages: [
        { index: 1, type: 'text', mid: 'm1', ts: 2, text: 'hi', extra },
        { type: 'audio', mid: 'm2', audio },
      ],
      userInfos: { u1: { name: 'Alice', locale: 'fr' } },
      future: extra,
    };
    const mine = fastCallback(value);
    expect(mine).toBeDefined();
    expect(sameOutput(mine, ChatCallbackSchema.parse(value))).toBeUndefined();
    expect((mine as unknown as { future: unknown }).future).toBe(extra);
    expect((mine!.messages![1] as unknown as { audio: unknown }).audio).toBe(audio);
  });

  it('leaves to zod what it does not cover: coercions, defaults, avatars, images, postbacks', () => {
    const base = { mType: 'message', chatId: 'c', from: 'u', to: 'b', userInfos: { u: { name: 'A' } } };
    for (const value of [
      { ...base, messages: [{ type: 'text', mid: 'm', text: 'x', index: '1' }] },
      { ...base, userInfos: { u: {} } },
      { ...base, userInfos: { u: { name: 'A', avatar: [] } } },
      { ...base, messages: [{ type: 'image', mid: 'm', image: { url: 'u' } }] },
      { ...base, actions: [{ type: 'postback', postback: { data: 'a=1' } }] },
    ]) {
      expect(fastCallback(value)).toBeUndefined();
      expect(ChatCallbackSchema.safeParse(value).success).toBe(true);
    }
  });

  it('parseCallback gives the same answers with and without it', () => {
    const r = rng(7);
    for (let i = 0; i < 3000; i++) {
      const value = genCallback(r);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;
      const outcome = parseCallback(Buffer.from(JSON.stringify(value)));
      const zod = ChatCallbackSchema.safeParse(JSON.parse(JSON.stringify(value)));
      if (zod.success) {
        expect(outcome.ok && outcome.rejected === undefined).toBe(true);
        if (outcome.ok) expect(sameOutput(outcome.callback, zod.data)).toBeUndefined();
      } else {
        // Only a callback whose faults all lie in single messages is accepted, those messages set aside.
        if (outcome.ok) expect(outcome.rejected?.length).toBeGreaterThan(0);
      }
    }
  });
});

function genOutMessage(r: () => number): unknown {
  if (r() < 0.02) return pick(r, [null, 'text']);
  const type = usually(r, 'text', ['image', 'link', 'buttons', 'nope', OMIT], 0.1);
  const fields: [string, unknown][] = [
    ['type', type],
    ['index', r() < 0.7 ? usually(r, 1 + Math.floor(r() * 2), [0, -1, 1.5, '1', 2 ** 53, undefined], 0.1) : OMIT],
    ['text', type === 'text' || r() < 0.05 ? usually(r, pick(r, ['hi', 'x'.repeat(2000), '😀'.repeat(1500)]), ['', 'x'.repeat(2001), '😀'.repeat(2001), 4, undefined], 0.1) : OMIT],
  ];
  if (type === 'image') fields.push(['image', { url: 'https://i/1.png' }]);
  if (type === 'link') fields.push(['link', { url: 'https://l' }]);
  return objectOf(r, fields, r() < 0.05);
}

function genOutAction(r: () => number): unknown {
  const type = usually(r, pick(r, ['typing', 'read']), ['dlv', OMIT], 0.1);
  const fields: [string, unknown][] = [['type', type]];
  if (type === 'read' || r() < 0.05) fields.push(['mids', usually(r, pick(r, [['m1'], ['m1', 'm2']]), [[], [''], ['m', 2], 'm', undefined], 0.1)]);
  return objectOf(r, fields, r() < 0.05);
}

function genSendBody(r: () => number): unknown {
  const from = usually(r, '31045128202', ['', 4, 'constructor']);
  const userInfos: [string, unknown][] = [];
  if (r() < 0.95 && typeof from === 'string') userInfos.push([from, objectOf(r, [['name', usually(r, 'EchoBot', ['', 3, undefined])]], r() < 0.05)]);
  if (r() < 0.15) userInfos.push(['other', pick(r, [{ name: 'X' }, { name: 'Y' }, { name: '' }, null])]);
  const fields: [string, unknown][] = [
    ['mType', usually(r, pick(r, ['bot', 'bot', 'bot', 'message', 'private', 'retract', 'timed']), ['other', 1])],
    ['chId', r() < 0.5 ? usually(r, 'C1', ['', 3, undefined]) : OMIT],
    ['chatId', usually(r, 'c1', ['', 5])],
    ['from', from],
    ['to', usually(r, 'u1', ['', null])],
    ['sessionId', r() < 0.2 ? usually(r, 's', ['', undefined], 0.2) : OMIT],
    ['actions', r() < 0.4 ? (r() < 0.03 ? {} : Array.from({ length: Math.floor(r() * 3) }, () => genOutAction(r))) : OMIT],
    ['messages', r() < 0.8 ? (r() < 0.03 ? 'x' : Array.from({ length: Math.floor(r() * 3) }, () => genOutMessage(r))) : OMIT],
    ['userInfos', r() < 0.03 ? pick(r, [null, [], OMIT]) : objectOf(r, userInfos, false)],
  ];
  return objectOf(r, fields, r() < 0.05);
}

describe('fastSendRequest', () => {
  it('answers only as zod would, on 20,000 generated sends', () => {
    const r = rng(2);
    let fast = 0;
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      const body = genSendBody(r);
      const zod = SendRequestSchema.safeParse(body);
      const mine = fastSendRequest(body);
      if (zod.success) valid++;
      if (mine === undefined) continue;
      fast++;
      expect(zod.success).toBe(true);
      const diff = sameOutput(mine, zod.data);
      if (diff) throw new Error(`${diff} for ${JSON.stringify(body)}`);
      // And the bytes that go on the wire.
      expect(JSON.stringify(mine)).toBe(JSON.stringify(zod.data));
    }
    expect(valid).toBeGreaterThan(1000);
    expect(fast).toBeGreaterThan(valid / 3);
  });

  it('takes the fast path for what the echo bot sends', () => {
    const body = { mType: 'bot', chatId: 'c', from: 'b', to: 'u', chId: 'C1', messages: [{ type: 'text', text: 'hi', index: 1 }], userInfos: { b: { name: 'EchoBot' } } };
    const mine = fastSendRequest(body);
    expect(mine).toBeDefined();
    expect(JSON.stringify(mine)).toBe(JSON.stringify(SendRequestSchema.parse(body)));
  });
});

describe('fast send answers', () => {
  it('SendResponse and SendMessageResult as zod, on generated answers', () => {
    const r = rng(3);
    let fast = 0;
    for (let i = 0; i < 20_000; i++) {
      const entry =
        r() < 0.05
          ? pick(r, [null, 'x', [], 3])
          : objectOf(r, [
              ['index', r() < 0.8 ? pick(r, INTS) : OMIT],
              ['type', r() < 0.5 ? pick(r, ['result', 3, null]) : OMIT],
              ['mid', r() < 0.8 ? pick(r, ['fake1', '', 7, null]) : OMIT],
              ['ts', r() < 0.5 ? pick(r, INTS) : OMIT],
              [
                'result',
                r() < 0.05
                  ? pick(r, [null, 'x', OMIT])
                  : objectOf(r, [
                      ['code', pick(r, [200, 200, 202, 500, '200', 1.5, null, OMIT])],
                      ['error', r() < 0.3 ? pick(r, ['bad', 4, null]) : OMIT],
                    ]),
              ],
            ]);
      const zod = SendMessageResultSchema.safeParse(entry);
      const mine = fastSendMessageResult(entry);
      if (mine === undefined) continue;
      fast++;
      expect(zod.success).toBe(true);
      // The client reads these fields only.
      const z = zod.data!;
      expect([mine.index, mine.mid, mine.ts, mine.result.code, mine.result.error]).toEqual([z.index, z.mid, z.ts, z.result.code, z.result.error]);
    }
    expect(fast).toBeGreaterThan(1000);

    for (const json of [{}, { messages: [] }, { messages: [1, 'x'] }, { messages: undefined }, { messages: null }, { messages: {} }, [], null, 'x', { other: 1 }]) {
      const zod = SendResponseSchema.safeParse(json);
      const mine = fastSendResponseMessages(json);
      if (mine === undefined) continue;
      expect(zod.success).toBe(true);
      expect(mine.messages).toEqual(zod.data!.messages);
    }
  });
});

// Found by the property suite: zod reads enumerable inherited keys too (a strict object refuses
// them, a loose one copies them into its output), while the fast paths read own keys only.
describe('objects whose prototype is not Object.prototype are left to zod', () => {
  const inheriting = (own: Record<string, unknown>) => Object.assign(Object.create({ polluted: true }) as Record<string, unknown>, own);

  it('a send whose userInfos entry inherits an unknown key: refused by zod, so not accepted by the fast path', () => {
    const body = { mType: 'bot', chatId: 'c', from: 'b', to: 'u', messages: [{ type: 'text', text: 'hi' }], userInfos: { b: inheriting({ name: 'Bot' }) } };
    expect(SendRequestSchema.safeParse(body).success).toBe(false);
    expect(fastSendRequest(body)).toBeUndefined();
  });

  it('a callback whose userInfos entry inherits a key: zod copies it, the fast path answers nothing', () => {
    const value = { mType: 'message', chatId: 'c', from: 'u', to: 'b', userInfos: { u: inheriting({ name: 'A' }) } };
    expect(Object.keys(ChatCallbackSchema.parse(value).userInfos.u!)).toEqual(['name', 'polluted']);
    expect(fastCallback(value)).toBeUndefined();
  });
});
