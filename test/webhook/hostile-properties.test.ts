/**
 * Hostile input as properties (fast-check): thousands of generated callbacks, sends and send
 * answers, valid, near-valid and plainly wrong, for the pure parsers; a few hundred through the
 * real webhook over HTTP. What must hold:
 * - each fast path answers exactly as zod would, or not at all;
 * - parseCallback never throws and agrees with zod (a callback whose faults all lie in single
 *   messages is accepted with those messages set aside);
 * - the webhook answers JSON with a status it documents, never a 5xx; a forged signature never
 *   reaches the dispatcher; per-message results come one per message, in order;
 * - nothing reaches Object.prototype, and parsed objects hold their fields as own properties.
 *
 * The seed is logged; FC_SEED=<seed> (and FC_PATH=<path> from a failure report) replay a run.
 * test/protocol/fast.test.ts and test/webhook/hostile.test.ts hold the hand-picked cases.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import express from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { fastCallback, fastSendMessageResult, fastSendRequest, fastSendResponseMessages } from '../../src/protocol/fast.js';
import { ChatCallbackSchema } from '../../src/protocol/inbound.js';
import { INBOUND_LIMITS } from '../../src/protocol/limits.js';
import { SendMessageResultSchema, SendRequestSchema, SendResponseSchema } from '../../src/protocol/outbound.js';
import { parseCallback, type ParseOutcome } from '../../src/webhook/parse.js';
import { createWebhookRouter } from '../../src/webhook/router.js';
import { signBody } from '../../src/webhook/signature.js';
import { logSeed, runOptions, SCALE } from '../helpers/arbitraries.js';
import {
  callbackFields,
  jsonDepth,
  prototypeKeys,
  prototypeProblems,
  sameOutput,
  sendFields,
  withoutDroppedKeys,
} from '../helpers/oracles.js';
import { hostileBody, hostileCallback, hostileSend, hostileSendResult } from '../helpers/wire-arbitraries.js';
import { KEY, sendBytes, silentLogger, StubDispatcher } from './helpers.js';

const protoBefore = prototypeKeys();

beforeAll(() => logSeed('hostile-properties'));

afterEach(() => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(([] as unknown as Record<string, unknown>).polluted).toBeUndefined();
  expect(prototypeKeys()).toBe(protoBefore);
});

/**
 * For `numRuns` generated values: `fast(v)` is undefined, or zod accepts `v` and gives exactly the
 * same output (`more` checks the rest). Counts the valid values and the fast answers.
 */
function expectAgreement<T>(
  values: fc.Arbitrary<unknown>,
  schema: { safeParse(v: unknown): { success: boolean; data?: T } },
  fast: (v: unknown) => T | undefined,
  numRuns: number,
  more: (mine: T, zod: T) => void = () => {},
): { valid: number; fast: number } {
  const counts = { valid: 0, fast: 0 };
  fc.assert(
    fc.property(values, (value) => {
      const zod = schema.safeParse(value);
      const mine = fast(value);
      if (zod.success) counts.valid++;
      if (mine === undefined) return;
      counts.fast++;
      expect(zod.success).toBe(true);
      expect(sameOutput(mine, zod.data)).toBeUndefined();
      more(mine, zod.data!);
    }),
    runOptions(numRuns),
  );
  return counts;
}

describe('fast paths agree with zod', () => {
  it('fastCallback: undefined, or exactly ChatCallbackSchema.safeParse(v).data', () => {
    const { valid, fast } = expectAgreement(hostileCallback, ChatCallbackSchema, fastCallback, 2500);
    // Most generated callbacks are valid, and the fast path takes a good share of those.
    expect(valid).toBeGreaterThan(900);
    expect(fast).toBeGreaterThan(valid / 5);
  });

  it('fastSendRequest: undefined, or exactly SendRequestSchema.safeParse(v).data, bytes too', () => {
    const { valid, fast } = expectAgreement(hostileSend, SendRequestSchema, fastSendRequest, 2500, (mine, zod) => {
      expect(JSON.stringify(mine)).toBe(JSON.stringify(zod));
      expect(prototypeProblems(mine, sendFields)).toEqual([]);
    });
    expect(valid).toBeGreaterThan(600);
    expect(fast).toBeGreaterThan(valid / 5);
  });

  it('fastSendMessageResult and fastSendResponseMessages: the fields the client reads, as zod gives them', () => {
    let fast = 0;
    fc.assert(
      fc.property(hostileSendResult, (entry) => {
        const zod = SendMessageResultSchema.safeParse(entry);
        const mine = fastSendMessageResult(entry);
        // The entry itself comes back (by reference), so only the fields the client reads can match.
        if (mine !== undefined) {
          fast++;
          expect(zod.success).toBe(true);
          const z = zod.data!;
          const read = (r: typeof z) => [r.index, r.type, r.mid, r.ts, r.result.code, r.result.error];
          expect(sameOutput(read(mine), read(z))).toBeUndefined();
        }
        const answer = { messages: [entry] };
        const messages = fastSendResponseMessages(answer);
        if (messages !== undefined) expect(messages.messages).toEqual(SendResponseSchema.parse(answer).messages);
      }),
      runOptions(1500),
    );
    expect(fast).toBeGreaterThan(150);
  });
});

/** The outcome parseCallback must give for `text`, computed from zod alone. */
function expectAgreesWithZod(outcome: ParseOutcome, text: string): void {
  const raw = JSON.parse(text) as unknown;
  if (jsonDepth(raw) > INBOUND_LIMITS.jsonDepth) {
    expect(outcome).toMatchObject({ ok: false, error: 'invalid_json' });
    return;
  }
  const value = withoutDroppedKeys(raw);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    expect(outcome).toMatchObject({ ok: false, error: 'invalid_callback' });
    return;
  }
  const zod = ChatCallbackSchema.safeParse(value);
  if (zod.success) {
    expect(outcome.ok && outcome.rejected === undefined).toBe(true);
    if (outcome.ok) expect(sameOutput(outcome.callback, zod.data)).toBeUndefined();
  } else if (!outcome.ok) {
    expect(outcome.error).toBe('invalid_callback');
    expect(outcome.issues?.length).toBeGreaterThan(0);
  } else {
    // Accepted only with the faulty messages set aside: the rest is what zod makes of the callback without them.
    const rejected = outcome.rejected ?? [];
    expect(rejected.length).toBeGreaterThan(0);
    const messages = (value as { messages: unknown[] }).messages;
    const positions = rejected.map((r) => r.position);
    expect(positions).toEqual([...new Set(positions)].sort((a, b) => a - b));
    const kept = messages.filter((_, i) => !positions.includes(i));
    const without = ChatCallbackSchema.safeParse({ ...value, messages: kept });
    expect(without.success).toBe(true);
    expect(sameOutput(outcome.callback, without.data)).toBeUndefined();
  }
  if (outcome.ok) expect(prototypeProblems(outcome.callback, callbackFields)).toEqual([]);
}

/** JSON text with the dangerous key names spelled through \u escapes now and then (same meaning). */
const escaped = (text: string, escape: boolean) =>
  escape ? text.replaceAll('"__proto__"', '"\\u005f_proto__"').replaceAll('"constructor"', '"constructo\\u0072"') : text;

describe('parseCallback', () => {
  it('never throws, and agrees with zod on the body without its dropped keys', () => {
    fc.assert(
      fc.property(hostileCallback, fc.boolean(), (value, escape) => {
        const json = JSON.stringify(value);
        if (json === undefined) return;
        const text = escaped(json, escape);
        expectAgreesWithZod(parseCallback(Buffer.from(text, 'utf8')), text);
      }),
      runOptions(1500),
    );
  });

  it('never throws on arbitrary bytes: truncated, flipped or random', () => {
    fc.assert(
      fc.property(hostileBody, (body) => {
        const outcome = parseCallback(body);
        if (!outcome.ok) expect(['invalid_json', 'invalid_callback']).toContain(outcome.error);
      }),
      runOptions(800),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Through the real webhook, over HTTP.

const BODY_LIMIT = 16 * 1024;
const CODES = [200, 400, 409, 500, 503] as const;
const ANSWERED = new Set([200, 207, 400, 401, 413, 415]);

/** How the request is spoiled, if at all. */
const forgery = fc.constantFrom('none', 'none', 'none', 'wrong-key', 'flipped-body', 'flipped-signature', 'missing');
const encoding = fc.option(fc.constantFrom('identity', 'gzip', 'br', 'x-made-up'), { freq: 8, nil: undefined });

function forge(body: Buffer, kind: string): { sent: Buffer; signature: string | undefined } {
  const signature = signBody(body, KEY);
  if (kind === 'wrong-key') return { sent: body, signature: signBody(body, `${KEY}x`) };
  if (kind === 'missing') return { sent: body, signature: undefined };
  if (kind === 'flipped-body') {
    const sent = Buffer.from(body.length > 0 ? body : Buffer.from(' '));
    sent[sent.length >> 1]! ^= 0x20;
    return { sent, signature };
  }
  if (kind === 'flipped-signature') {
    const at = body.length % 43;
    return { sent: body, signature: signature.slice(0, at) + (signature[at] === 'A' ? 'B' : 'A') + signature.slice(at + 1) };
  }
  return { sent: body, signature };
}

describe('the webhook over HTTP', () => {
  // Each message answered with one of the spec's codes, chosen by its position.
  const dispatcher = new StubDispatcher((callback) =>
    (callback.messages ?? []).map((m, i) => ({ mid: m.mid, result: { code: CODES[(i + m.mid.length) % CODES.length]! } })),
  );
  const app = express();
  app.use('/bbm', createWebhookRouter({ keys: [KEY], dispatcher, bodyLimit: BODY_LIMIT, logger: silentLogger() }));
  const server = createServer(app);

  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('answers JSON with a documented status, never a 5xx; forged signatures stop at 401; one result per message, in order', async () => {
    await fc.assert(
      fc.asyncProperty(hostileBody, forgery, encoding, async (body, kind, enc) => {
        const calls = dispatcher.calls.length;
        const { sent, signature } = forge(body, kind);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (signature !== undefined) headers['bbm-sig'] = signature;
        if (enc !== undefined) headers['content-encoding'] = enc;
        const res = await sendBytes(request(server).post('/bbm/v1/chats').set(headers), sent);

        expect(ANSWERED.has(res.status)).toBe(true);
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        const reached = dispatcher.calls.length - calls;
        // A request spoiled in several ways may be refused for any of them (the order of checks is the handler's).
        const refusals = new Set<number>();
        if (enc !== undefined && enc !== 'identity') refusals.add(415);
        if (sent.length > BODY_LIMIT) refusals.add(413);
        if (kind !== 'none') refusals.add(401);
        if (refusals.size > 0) {
          expect(refusals.has(res.status)).toBe(true);
          if (res.status === 401) expect(res.body.error).toBe('invalid_signature');
          return expect(reached).toBe(0);
        }

        const outcome = parseCallback(body);
        if (!outcome.ok) return expect([res.status, reached, res.body.error]).toEqual([400, 0, outcome.error]);
        expect(reached).toBe(1);
        const { callback } = dispatcher.calls.at(-1)!;
        expect(prototypeProblems(callback, callbackFields)).toEqual([]);
        const dispatched = callback.messages ?? [];
        const rejected = outcome.rejected ?? [];
        const results = (res.body as { messages?: { mid?: string; result: { code: number } }[] }).messages ?? [];
        expect(results).toHaveLength(dispatched.length + rejected.length);
        // Built from raw positions, not with mergeRejected (under test): position p holds the rejected
        // message that stood there (400), else the next dispatched message's answer.
        const rejectedAt = new Map(rejected.map((r) => [r.position, r]));
        const expected: [string | undefined, number][] = [];
        let next = 0;
        for (let p = 0; p < dispatched.length + rejected.length; p++) {
          const r = rejectedAt.get(p);
          if (r) expected.push([r.mid, 400]);
          else {
            const m = dispatched[next]!;
            expected.push([m.mid, CODES[(next + m.mid.length) % CODES.length]!]);
            next++;
          }
        }
        expect(results.map((r) => [r.mid, r.result.code])).toEqual(expected);
        for (const r of results) expect(CODES).toContain(r.result.code);
        expect(res.status).toBe(results.every((r) => r.result.code === 200) ? 200 : 207);
      }),
      runOptions(300),
    );
  }, 20_000 * Math.max(1, SCALE));
});
