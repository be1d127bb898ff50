/**
 * fast-check generators for the three wire shapes the fast paths and zod both read: the callback
 * BBM posts, the send a bot makes, and one entry of the send's answer. Each `valid…` is accepted by
 * zod as generated (most of the time: a generated string may still hit a limit); `hostile…` wraps
 * it with {@link nearly} so that a share of the cases have a few slots broken.
 */
import fc, { type Arbitrary } from 'fast-check';
import { anyString, DANGEROUS_NAMES, field, intLike, junk, maybe, nearly, record } from './arbitraries.js';

/** Present about one time in `1 + absentWeight`. */
const rarely = (key: string, value: Arbitrary<unknown>, absentWeight = 6) =>
  fc.oneof({ weight: absentWeight, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: field(key, value) });

/** A valid integer field: mostly a number, sometimes the numeric string the platform's samples use. */
const int = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 0, max: 2 ** 41 }) }, { weight: 1, arbitrary: fc.integer().map(String) });

/** Ids: plain, unicode, dangerous names, and the longest allowed. */
const id = fc.oneof(
  { weight: 5, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom(...DANGEROUS_NAMES, 'x'.repeat(256), '😀', '\ud800') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }) },
);

// ---------------------------------------------------------------------------------------------
// The callback.

const action = fc.oneof(
  { weight: 12, arbitrary: record([field('type', fc.constantFrom('typing', 'leave')), maybe('ts', int)]) },
  { weight: 8, arbitrary: record([field('type', fc.constantFrom('dlv', 'read')), maybe('ts', int), field('mids', fc.array(id, { minLength: 1, maxLength: 3 }))]) },
  record([field('type', fc.constant('postback')), maybe('ts', int), field('postback', record([field('data', anyString), maybe('label', anyString), maybe('text', anyString)]))]),
  record([field('type', fc.constant('text')), field('text', record([field('text', anyString), maybe('label', anyString)]))]),
  record([field('type', fc.constant('link')), field('link', record([field('url', anyString), maybe('label', anyString), maybe('text', anyString)]))]),
  record([field('type', anyString), maybe('ts', int)]),
);

const messageBase = [maybe('index', int), field('mid', id), maybe('ts', int)];

const message = fc.oneof(
  { weight: 12, arbitrary: record([field('type', fc.constant('text')), ...messageBase, field('text', anyString)]) },
  record([field('type', fc.constant('image')), ...messageBase, field('image', record([field('url', anyString), maybe('preview', anyString)]))]),
  { weight: 2, arbitrary: record([field('type', fc.constantFrom('audio', 'video', 'richmedia')), ...messageBase, maybe('audio', record([field('url', anyString)]))]) },
  record([field('type', anyString), ...messageBase]),
);

const avatar = record([maybe('url', anyString), maybe('imageSize', int), maybe('imageType', anyString), maybe('resolution', anyString)]);

const userInfo = record([
  fc.oneof({ weight: 15, arbitrary: field('name', anyString) }, { weight: 1, arbitrary: fc.constant(null) }),
  rarely('avatar', fc.array(avatar, { maxLength: 2 }), 15),
], 1);

/** A callback zod accepts, from a pool of users: the sender first, with its userInfos entry. */
export const validCallback = fc.uniqueArray(id, { minLength: 1, maxLength: 4 }).chain((users) =>
  record([
    field('mType', fc.oneof({ weight: 4, arbitrary: fc.constantFrom('message', 'bot') }, { weight: 1, arbitrary: anyString })),
    maybe('chId', anyString),
    field('chatId', id),
    field('from', fc.constant(users[0])),
    field('to', id),
    maybe('mTok', fc.oneof(anyString, fc.constant('x'.repeat(8192)))),
    maybe('actions', fc.array(action, { maxLength: 3 })),
    maybe('messages', fc.array(message, { maxLength: 3 })),
    field('userInfos', record(users.map((u, i) => (i === 0 ? field(u, userInfo) : maybe(u, userInfo))), 1)),
  ]),
);

/** What may arrive as a callback: valid, near-valid, or anything at all. */
export const hostileCallback: Arbitrary<unknown> = fc.oneof({ weight: 12, arbitrary: nearly(validCallback) }, { weight: 1, arbitrary: junk });

// ---------------------------------------------------------------------------------------------
// The send: strict, so the valid ones have no unknown properties.

const word = fc.oneof(fc.string({ minLength: 1, maxLength: 10 }), fc.constantFrom(...DANGEROUS_NAMES, '😀', 'é'));
const strict = (entries: Parameters<typeof record>[0]) => record(entries, 0);

const outAction = fc.oneof(
  strict([field('type', fc.constant('typing'))]),
  strict([field('type', fc.constant('read')), field('mids', fc.array(word, { minLength: 1, maxLength: 3 }))]),
);

const index = maybe('index', fc.integer({ min: 1, max: 5 }));
const text = fc.oneof({ weight: 6, arbitrary: word }, { weight: 1, arbitrary: fc.constantFrom('x'.repeat(2000), '😀'.repeat(2000), '😀'.repeat(1001)) });
const label = fc.string({ minLength: 1, maxLength: 20 });

const buttonAction = fc.oneof(
  strict([field('type', fc.constant('postback')), field('postback', strict([field('label', label), field('data', word), maybe('text', word)]))]),
  strict([field('type', fc.constant('text')), field('text', strict([field('label', label), field('text', word)]))]),
  strict([field('type', fc.constant('link')), field('link', strict([field('label', label), field('url', word), maybe('text', word)]))]),
);

const outMessage = fc.oneof(
  { weight: 6, arbitrary: strict([index, field('type', fc.constant('text')), field('text', text)]) },
  strict([index, field('type', fc.constant('image')), field('image', strict([field('url', word), maybe('preview', word)]))]),
  strict([index, field('type', fc.constant('link')), field('link', strict([field('url', word), maybe('target', fc.constantFrom('def', 'ext'))]))]),
  strict([
    index,
    field('type', fc.constant('buttons')),
    field('buttons', strict([maybe('title', label), field('desc', fc.string({ minLength: 1, maxLength: 60 })), field('actions', fc.array(buttonAction, { minLength: 1, maxLength: 4 }))])),
  ]),
);

/** A send zod accepts: the bot (first of the pool) is `from` and has its userInfos entry. */
export const validSend = fc.uniqueArray(word, { minLength: 1, maxLength: 3 }).chain((users) =>
  strict([
    field('mType', fc.constantFrom('bot', 'bot', 'bot', 'message', 'private', 'retract', 'timed')),
    maybe('chId', word),
    field('chatId', word),
    field('from', fc.constant(users[0])),
    field('to', word),
    maybe('sessionId', word),
    maybe('actions', fc.array(outAction, { maxLength: 2 })),
    field('messages', fc.array(outMessage, { minLength: 1, maxLength: 3 })),
    field('userInfos', strict(users.map((u) => field(u, strict([field('name', word)]))))),
  ]),
);

export const hostileSend: Arbitrary<unknown> = fc.oneof({ weight: 12, arbitrary: nearly(validSend) }, { weight: 1, arbitrary: junk });

// ---------------------------------------------------------------------------------------------
// One entry of the send's answer.

export const hostileSendResult: Arbitrary<unknown> = nearly(
  record([
    maybe('index', fc.oneof(fc.integer({ min: 1, max: 5 }), intLike)),
    maybe('type', anyString),
    maybe('mid', anyString),
    maybe('ts', fc.oneof(int, intLike)),
    field('result', record([field('code', fc.oneof(fc.constantFrom(200, 202, 400, 500), intLike)), maybe('error', anyString)])),
  ]),
);

// ---------------------------------------------------------------------------------------------
// Raw bodies, for what reads bytes.

const toBytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value) ?? 'undefined', 'utf8');

/** Callback bodies as bytes, whole or broken: a byte changed, cut short, random, a BOM, deep nesting. */
export const hostileBody: Arbitrary<Buffer> = fc.oneof(
  { weight: 6, arbitrary: hostileCallback.map(toBytes) },
  fc.tuple(hostileCallback.map(toBytes), fc.nat(), fc.integer({ min: 1, max: 255 })).map(([b, at, x]) => {
    if (b.length > 0) b[at % b.length]! ^= x;
    return b;
  }),
  fc.tuple(hostileCallback.map(toBytes), fc.nat()).map(([b, at]) => b.subarray(0, at % (b.length + 1))),
  fc.uint8Array({ maxLength: 48 }).map((a) => Buffer.from(a)),
  validCallback.map((v) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), toBytes(v)])),
  fc.integer({ min: 1, max: 3000 }).map((d) => Buffer.from(`{"x":${'['.repeat(d)}${']'.repeat(d)}}`)),
);
