/**
 * Fast paths for the three schemas every echo runs through (the callback, the send, the send's
 * answer). Each accepts only the common shapes it can be sure of and returns exactly what zod's
 * `safeParse(...).data` would: the same values, the same defaults, keys in the same order (the
 * schema's, then unknown ones in input order), unknown values by reference. Anything else, valid
 * or not, gets `undefined`, and the caller asks zod, which stays the definition of what is valid.
 *
 * Why: in the server, where zod's generic code serves many schemas, these parses cost about 40 µs
 * (callback) and 35 µs (send and answer) per echoed message, more than a tenth of the whole
 * request; the checks here cost a few µs. test/protocol/fast.test.ts holds them to zod's answers.
 */
import type { ChatCallback } from './inbound.js';
import { INBOUND_LIMITS, OUTBOUND_LIMITS } from './limits.js';
import type { SendMessageResult, SendRequest } from './outbound.js';
import { codePointLength } from './primitives.js';

type Obj = Record<string, unknown>;

/**
 * A plain object, as JSON.parse and object literals make. zod also reads enumerable keys a
 * prototype provides (`Object.create(template)`), which these paths do not, so any other object is
 * left to zod.
 */
const isObject = (v: unknown): v is Obj => {
  if (v === null || typeof v !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/** A LenientInt given as a number (numeric strings are left to zod, which coerces them). */
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

const isId = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= INBOUND_LIMITS.idLength;

/**
 * Unknown keys of `input` (those not in `known`) copied onto `out`, in input order; undefined for a
 * `__proto__` key, which an assignment would not copy (parseCallback drops those before anyway).
 */
function copyRest(input: Obj, known: ReadonlySet<string>, out: Obj): Obj | undefined {
  for (const key in input) {
    if (known.has(key) || !Object.prototype.hasOwnProperty.call(input, key)) continue;
    if (key === '__proto__') return undefined;
    out[key] = input[key];
  }
  return out;
}

/** `key` of a shape: absent, or present with a value that `ok` accepts (never explicitly undefined). */
function optional(input: Obj, key: string, ok: (v: unknown) => boolean): boolean {
  if (!Object.prototype.hasOwnProperty.call(input, key)) return true;
  const v = input[key];
  return v !== undefined && ok(v);
}

// ---------------------------------------------------------------------------------------------
// The callback.

const CALLBACK_KEYS = new Set(['mType', 'chId', 'chatId', 'from', 'to', 'mTok', 'actions', 'messages', 'userInfos']);
const ACTION_KEYS = new Set(['type', 'ts']);
const MIDS_ACTION_KEYS = new Set(['type', 'ts', 'mids']);
const MESSAGE_KEYS = new Set(['type', 'index', 'mid', 'ts']);
const TEXT_KEYS = new Set(['type', 'index', 'mid', 'ts', 'text']);
const USER_INFO_KEYS = new Set(['name', 'avatar']);

function fastAction(a: unknown): Obj | undefined {
  if (!isObject(a) || !optional(a, 'ts', isInt)) return undefined;
  const type = a.type;
  if (type === 'typing' || type === 'leave') {
    const out: Obj = { type };
    if (a.ts !== undefined) out.ts = a.ts;
    return copyRest(a, ACTION_KEYS, out);
  }
  if (type === 'dlv' || type === 'read') {
    const mids = a.mids;
    if (!Array.isArray(mids) || mids.length < 1 || mids.length > INBOUND_LIMITS.mids) return undefined;
    for (const m of mids) if (typeof m !== 'string') return undefined;
    const out: Obj = { type };
    if (a.ts !== undefined) out.ts = a.ts;
    out.mids = mids.slice();
    return copyRest(a, MIDS_ACTION_KEYS, out);
  }
  // postback, buttons taps, unknown types: zod's.
  return undefined;
}

function fastMessage(m: unknown): Obj | undefined {
  if (!isObject(m) || !isId(m.mid) || !optional(m, 'index', isInt) || !optional(m, 'ts', isInt)) return undefined;
  const type = m.type;
  if (typeof type !== 'string' || type === 'image') return undefined;
  const out: Obj = { type };
  if (m.index !== undefined) out.index = m.index;
  out.mid = m.mid;
  if (m.ts !== undefined) out.ts = m.ts;
  if (type === 'text') {
    if (typeof m.text !== 'string') return undefined;
    out.text = m.text;
    return copyRest(m, TEXT_KEYS, out);
  }
  // audio, video, richmedia...: delivered as they are.
  return copyRest(m, MESSAGE_KEYS, out);
}

function fastUserInfos(u: unknown): Obj | undefined {
  if (!isObject(u)) return undefined;
  const out: Obj = {};
  let count = 0;
  for (const id in u) {
    if (!Object.prototype.hasOwnProperty.call(u, id)) continue;
    const info = u[id];
    // Avatars, and a missing name (zod's default), are left to zod.
    if (id === '__proto__' || !isObject(info) || typeof info.name !== 'string' || Object.prototype.hasOwnProperty.call(info, 'avatar')) {
      return undefined;
    }
    const parsed = copyRest(info, USER_INFO_KEYS, { name: info.name });
    if (!parsed) return undefined;
    out[id] = parsed;
    count++;
  }
  return count <= INBOUND_LIMITS.userInfos ? out : undefined;
}

function fastList(list: unknown, max: number, item: (v: unknown) => Obj | undefined): Obj[] | undefined {
  if (!Array.isArray(list) || list.length > max) return undefined;
  const out: Obj[] = new Array<Obj>(list.length);
  for (let i = 0; i < list.length; i++) {
    const parsed = item(list[i]);
    if (parsed === undefined) return undefined;
    out[i] = parsed;
  }
  return out;
}

/**
 * The routing fields of a callback or a send, already checked, in the order zod outputs them:
 * mType, chId when present, chatId, from, to, then `last` (mTok or sessionId) when present.
 */
function routing(v: Obj, last: 'mTok' | 'sessionId'): Obj {
  const out: Obj = { mType: v.mType };
  if (v.chId !== undefined) out.chId = v.chId;
  out.chatId = v.chatId;
  out.from = v.from;
  out.to = v.to;
  if (v[last] !== undefined) out[last] = v[last];
  return out;
}

/** `ChatCallbackSchema.safeParse(value).data` for a common, valid callback; otherwise undefined. */
export function fastCallback(value: unknown): ChatCallback | undefined {
  if (!isObject(value)) return undefined;
  const v = value;
  if (typeof v.mType !== 'string' || !isId(v.chatId) || !isId(v.from) || !isId(v.to)) return undefined;
  if (!optional(v, 'chId', (x) => typeof x === 'string')) return undefined;
  if (!optional(v, 'mTok', (x) => typeof x === 'string' && x.length <= INBOUND_LIMITS.tokenLength)) return undefined;
  const out = routing(v, 'mTok');
  if (Object.prototype.hasOwnProperty.call(v, 'actions')) {
    const actions = fastList(v.actions, INBOUND_LIMITS.actions, fastAction);
    if (!actions) return undefined;
    out.actions = actions;
  }
  if (Object.prototype.hasOwnProperty.call(v, 'messages')) {
    const messages = fastList(v.messages, INBOUND_LIMITS.messages, fastMessage);
    if (!messages) return undefined;
    out.messages = messages;
  }
  const userInfos = fastUserInfos(v.userInfos);
  if (!userInfos) return undefined;
  out.userInfos = userInfos;
  return copyRest(v, CALLBACK_KEYS, out) as ChatCallback | undefined;
}

// ---------------------------------------------------------------------------------------------
// The send.

const M_TYPES = new Set(['bot', 'message', 'private', 'retract', 'timed']);
const REQUEST_KEYS = new Set(['mType', 'chId', 'chatId', 'from', 'to', 'sessionId', 'actions', 'messages', 'userInfos']);

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length >= 1;

/** Every own key of `o` is in `allowed` (a strict object), none of them explicitly undefined. */
function strictKeys(o: Obj, allowed: ReadonlySet<string>): boolean {
  for (const key in o) {
    if (!Object.prototype.hasOwnProperty.call(o, key)) continue;
    if (!allowed.has(key) || o[key] === undefined) return false;
  }
  return true;
}

const TYPING_KEYS = new Set(['type']);
const READ_KEYS = new Set(['type', 'mids']);
const OUT_TEXT_KEYS = new Set(['index', 'type', 'text']);
const NAME_KEYS = new Set(['name']);

function fastOutAction(a: unknown): Obj | undefined {
  if (!isObject(a)) return undefined;
  if (a.type === 'typing') return strictKeys(a, TYPING_KEYS) ? { type: 'typing' } : undefined;
  if (a.type === 'read' && strictKeys(a, READ_KEYS) && Array.isArray(a.mids) && a.mids.length >= 1) {
    for (const m of a.mids) if (!nonEmpty(m)) return undefined;
    return { type: 'read', mids: a.mids.slice() };
  }
  return undefined;
}

function fastOutMessage(m: unknown): Obj | undefined {
  // Text only; images, links and buttons are zod's.
  if (!isObject(m) || m.type !== 'text' || !strictKeys(m, OUT_TEXT_KEYS)) return undefined;
  const text = m.text;
  if (typeof text !== 'string' || text.length < 1) return undefined;
  if (text.length > OUTBOUND_LIMITS.text && codePointLength(text) > OUTBOUND_LIMITS.text) return undefined;
  const out: Obj = {};
  if (m.index !== undefined) {
    if (!isInt(m.index) || m.index < 1) return undefined;
    out.index = m.index;
  }
  out.type = 'text';
  out.text = text;
  return out;
}

/** `SendRequestSchema.safeParse(body).data` for a common, valid send; otherwise undefined. */
export function fastSendRequest(body: unknown): SendRequest | undefined {
  if (!isObject(body) || !strictKeys(body, REQUEST_KEYS)) return undefined;
  const b = body;
  if (typeof b.mType !== 'string' || !M_TYPES.has(b.mType)) return undefined;
  if (!nonEmpty(b.chatId) || !nonEmpty(b.from) || !nonEmpty(b.to)) return undefined;
  if ((b.chId !== undefined && !nonEmpty(b.chId)) || (b.sessionId !== undefined && !nonEmpty(b.sessionId))) return undefined;
  const out = routing(b, 'sessionId');
  let items = 0;
  if (b.actions !== undefined) {
    const actions = fastList(b.actions, Number.POSITIVE_INFINITY, fastOutAction);
    if (!actions) return undefined;
    out.actions = actions;
    items += actions.length;
  }
  if (b.messages !== undefined) {
    const messages = fastList(b.messages, Number.POSITIVE_INFINITY, fastOutMessage);
    if (!messages) return undefined;
    out.messages = messages;
    items += messages.length;
  }
  const u = b.userInfos;
  if (!isObject(u) || items === 0 || !Object.prototype.hasOwnProperty.call(u, b.from)) return undefined;
  const userInfos: Obj = {};
  for (const id in u) {
    if (!Object.prototype.hasOwnProperty.call(u, id)) continue;
    const info = u[id];
    if (id === '__proto__' || !isObject(info) || !strictKeys(info, NAME_KEYS) || !nonEmpty(info.name)) return undefined;
    userInfos[id] = { name: info.name };
  }
  out.userInfos = userInfos;
  return out as SendRequest;
}

// ---------------------------------------------------------------------------------------------
// The send's answer.

/** The answer's `messages` (zod: SendResponseSchema) when it is plainly there or absent; else undefined. */
export function fastSendResponseMessages(json: unknown): { messages: unknown[] | undefined } | undefined {
  if (!isObject(json)) return undefined;
  const messages = json.messages;
  if (messages === undefined) return Object.prototype.hasOwnProperty.call(json, 'messages') ? undefined : { messages: undefined };
  return Array.isArray(messages) ? { messages } : undefined;
}

/**
 * One result entry as SendMessageResultSchema would give it, for the plain case (integers as
 * numbers, strings as strings). The entry itself is returned: the client only reads its fields.
 */
export function fastSendMessageResult(entry: unknown): SendMessageResult | undefined {
  if (!isObject(entry)) return undefined;
  const e = entry;
  if (!optional(e, 'index', isInt) || !optional(e, 'ts', isInt)) return undefined;
  if (!optional(e, 'type', (x) => typeof x === 'string') || !optional(e, 'mid', (x) => typeof x === 'string')) return undefined;
  const r = e.result;
  if (!isObject(r) || !isInt(r.code) || !optional(r, 'error', (x) => typeof x === 'string')) return undefined;
  return e as SendMessageResult;
}
