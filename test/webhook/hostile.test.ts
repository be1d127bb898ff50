/**
 * Hostile input: each is answered with a 4xx and a JSON error, never a 500 or a crash. Bodies are
 * correctly signed unless the signature is what is under attack, so each reaches the check it targets.
 */
import express from 'express';
import request from 'supertest';
import { MAX_REPORTED_ISSUES } from '../../src/webhook/parse.js';
import { createWebhookRouter } from '../../src/webhook/router.js';
import { signBody } from '../../src/webhook/signature.js';
import { bytes, KEY, sendBytes, signedHeaders, silentLogger, StubDispatcher, textCallback } from './helpers.js';

const dispatcher = new StubDispatcher();
const app = express();
app.use('/bbm', createWebhookRouter({ keys: [KEY], dispatcher, logger: silentLogger() }));

beforeEach(() => {
  dispatcher.calls.length = 0;
});

function post(body: Buffer, headers: Record<string, string> = signedHeaders(body)) {
  return sendBytes(request(app).post('/bbm/v1/chats').set(headers), body);
}

/** A 4xx with a JSON error body; the dispatcher never ran. */
function expectRejected(res: request.Response, status: number, error?: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(typeof res.body.error).toBe('string');
  expect(typeof res.body.message).toBe('string');
  if (error) expect(res.body.error).toBe(error);
  expect(dispatcher.calls).toHaveLength(0);
}

const HEAD = '{"mType":"message","chatId":"837680","from":"100006006205","to":"31045128202","userInfos":{}';

describe('hostile signatures', () => {
  const body = bytes(textCallback());

  it('a signature of the wrong length → 401', async () => {
    const sig = signBody(body, KEY);
    expectRejected(await post(body, { 'content-type': 'application/json', 'bbm-sig': `${sig}AAAA` }), 401, 'invalid_signature');
    expectRejected(await post(body, { 'content-type': 'application/json', 'bbm-sig': sig.slice(0, -2) }), 401);
  });

  it('a signature that is not base64 → 401', async () => {
    expectRejected(await post(body, { 'content-type': 'application/json', 'bbm-sig': '%'.repeat(44) }), 401);
    expectRejected(await post(body, { 'content-type': 'application/json', 'bbm-sig': 'not a signature' }), 401);
  });
});

describe('hostile bodies (validly signed)', () => {
  it('invalid JSON → 400 invalid_json', async () => {
    for (const text of ['{', '{"mType":}', 'nul', '{"a":1}}', '']) {
      expectRejected(await post(Buffer.from(text)), 400, 'invalid_json');
    }
  });

  it.each([['42'], ['"a string"'], ['null'], ['true']])('a JSON primitive (%s) → 400', async (text) => {
    const res = await post(Buffer.from(text));
    expectRejected(res, 400, 'invalid_callback');
    expect(res.body.message).toMatch(/must be a JSON object/);
  });

  it('an array → 400', async () => {
    const res = await post(bytes([textCallback()]));
    expectRejected(res, 400, 'invalid_callback');
    expect(res.body.message).toMatch(/array/);
  });

  it('a body starting with a UTF-8 byte order mark → 400', async () => {
    const res = await post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes(textCallback())]));
    expectRejected(res, 400, 'invalid_json');
    expect(res.body.message).toMatch(/byte order mark/);
  });

  it('__proto__ and constructor keys neither pollute Object.prototype nor replace the callback prototype', async () => {
    const text =
      `${HEAD.slice(0, -"\"userInfos\":{}".length)}` +
      '"userInfos":{"100006006205":{"name":"Alice","__proto__":{"isAdmin":true}},"__proto__":{"name":"x","polluted":true}},' +
      '"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},' +
      '"messages":[{"type":"text","mid":"m1","text":"hi","__proto__":{"polluted":true},"constructor":{"polluted":true}}]}';
    const res = await post(Buffer.from(text));
    expect(res.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    const { callback } = dispatcher.calls[0]!;
    for (const obj of [callback, callback.messages![0]!, callback.userInfos, callback.userInfos['100006006205']!]) {
      expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
      expect(Object.hasOwn(obj, '__proto__')).toBe(false);
      expect(Object.hasOwn(obj, 'constructor')).toBe(false);
      expect((obj as Record<string, unknown>).polluted).toBeUndefined();
    }
    expect(Object.keys(callback.userInfos)).toEqual(['100006006205']);
  });

  it('the same keys spelled with \\u escapes are dropped too', async () => {
    const text =
      `${HEAD},"\\u005f_proto__":{"polluted":true},"constructo\\u0072":{"polluted":true},` +
      '"messages":[{"type":"text","mid":"m1","text":"hi","__pro\\u0074o__":{"polluted":true}}]}';
    const res = await post(Buffer.from(text));
    expect(res.status).toBe(200);
    const { callback } = dispatcher.calls[0]!;
    expect(Object.getPrototypeOf(callback)).toBe(Object.prototype);
    expect(Object.hasOwn(callback, 'constructor')).toBe(false);
    expect(callback.constructor).toBe(Object);
    expect(Object.getPrototypeOf(callback.messages![0])).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('JSON nested 100,000 levels deep → 400 without overflowing the stack', async () => {
    const depth = 100_000;
    const arrays = Buffer.from(`${HEAD},"x":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    const started = Date.now();
    const res = await post(arrays);
    expectRejected(res, 400, 'invalid_json');
    expect(res.body.message).toMatch(/nested deeper/);
    const objects = Buffer.from(`${HEAD},"x":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`);
    expectRejected(await post(objects), 400, 'invalid_json');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('brackets inside strings do not count as nesting', async () => {
    const res = await post(bytes(textCallback(['['.repeat(5_000) + '{'.repeat(5_000)])));
    expect(res.status).toBe(200);
  });

  it('more messages than the schema allows → 400 naming messages, quickly', async () => {
    const body = bytes(textCallback([], { messages: Array.from({ length: 100_000 }, () => ({})) }));
    const started = Date.now();
    const res = await post(body);
    expectRejected(res, 400, 'invalid_callback');
    expect(res.body.issues[0].path).toBe('messages');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('thousands of invalid entries give a bounded answer', async () => {
    const userInfos = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`u${i}`, { name: i }]));
    const res = await post(bytes(textCallback(['hi'], { userInfos })));
    expectRejected(res, 400, 'invalid_callback');
    expect(res.body.issues.length).toBeLessThanOrEqual(MAX_REPORTED_ISSUES);
    expect(res.body.message).toMatch(/more\)$/);
    expect(res.text.length).toBeLessThan(10_000);
  });

  it('an unknown Content-Encoding → 415', async () => {
    const body = bytes(textCallback());
    for (const encoding of ['gzip', 'br', 'deflate, gzip', 'x-made-up']) {
      const res = await post(body, { ...signedHeaders(body), 'content-encoding': encoding });
      expectRejected(res, 415, 'unsupported_encoding');
    }
    // identity is no encoding at all.
    const ok = await post(body, { ...signedHeaders(body), 'content-encoding': 'identity' });
    expect(ok.status).toBe(200);
  });

  it('invalid UTF-8 inside a string is not a 500', async () => {
    const body = Buffer.concat([Buffer.from(`${HEAD},"messages":[{"type":"text","mid":"m1","text":"`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}]}')]);
    const res = await post(body);
    expect(res.status).toBeLessThan(500);
  });

  it('wrong types in known fields → 400 naming each path', async () => {
    const res = await post(
      bytes(
        textCallback([], {
          chatId: 42,
          messages: [{ type: 'text', mid: 'm1', text: { not: 'a string' } }, { type: 'image', mid: 'm2', image: 'url' }],
          actions: [{ type: 'dlv', mids: 'm1' }],
        }),
      ),
    );
    expectRejected(res, 400, 'invalid_callback');
    const paths = (res.body.issues as { path: string }[]).map((i) => i.path).sort();
    expect(paths).toEqual(['actions.0.mids', 'chatId', 'messages.0.text', 'messages.1.image']);
  });
});
