/**
 * A StateStore in another process, reached over a localhost HTTP endpoint: what `npm run dev`
 * gives the bot so its state (chats, sessions, delivery records…) lives in the dev runner, which
 * the bot's reloads do not restart. The serving process runs each method on a real store
 * (src/dev/store-server.ts), one whole method per request, so every atomic step stays atomic.
 *
 * Wire: `POST /` with `authorization: Bearer <secret>` and a JSON body `{ method, args }`, each
 * argument as its own JSON text, or null for `undefined` (so `get(key)` and `set(key, undefined)`
 * stay apart from a stored null). The answer is V8-serialized `{ ok: true, value }` or
 * `{ ok: false, error }`: that keeps `undefined` wherever a result carries it (the `values` of
 * takeTicket, an absent `next`) and rethrows the store's own error class (RangeError for a bad TTL).
 */
import { Agent, request } from 'node:http';
import { deserialize } from 'node:v8';
import { BbmError } from '../protocol/errors.js';
import { checkScheduleAdd, checkScheduleClaim, checkScheduleRemove } from './schedule-args.js';
import type { StateStore } from './store.js';

/** Every StateStore method the endpoint serves: all but `close` (the serving process owns the store). */
export type RemoteMethod = Exclude<keyof StateStore, 'close'>;

/** Complete by construction: a method added to StateStore does not compile until it is listed. */
const REMOTE_METHODS: Readonly<Record<RemoteMethod, true>> = {
  get: true, set: true, setIfAbsent: true, delete: true, deleteIf: true, replaceIf: true, increment: true,
  takeTicket: true, endTurn: true, swap: true, listPush: true, listRange: true, listShiftIf: true,
  listShiftIfHeld: true, listPushLeased: true, listShiftLeased: true, listLength: true, setAdd: true,
  setRemove: true, setMembers: true, scheduleAdd: true, scheduleRemove: true, scheduleClaim: true,
};

/**
 * Checked on this side too: JSON sends NaN and Infinity as null, so the serving store's error
 * would name null instead of the number the caller passed.
 */
const PRECHECKS: Partial<Record<RemoteMethod, (args: readonly unknown[]) => unknown>> = {
  scheduleAdd: (a) => checkScheduleAdd(a[1], a[2]),
  scheduleRemove: (a) => checkScheduleRemove(a[1]),
  scheduleClaim: (a) => checkScheduleClaim(a[1], a[2], a[3]),
};

/**
 * True when `name` is a method the endpoint may run.
 *
 * @example
 * if (!isRemoteMethod(body.method)) return reply(404);
 */
export function isRemoteMethod(name: unknown): name is RemoteMethod {
  return typeof name === 'string' && Object.hasOwn(REMOTE_METHODS, name);
}

/** One request: the method and its arguments, each as JSON text (null: undefined). */
export interface RemoteCall {
  method: RemoteMethod;
  args: (string | null)[];
}

/** What the endpoint answers, V8-serialized. */
export type RemoteAnswer = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Arguments as sent: JSON text each, null for undefined.
 *
 * @example
 * encodeArgs(['k', undefined]); // ['"k"', null]
 */
export function encodeArgs(args: readonly unknown[]): (string | null)[] {
  return args.map((a) => (a === undefined ? null : (JSON.stringify(a) ?? null)));
}

/**
 * Arguments as received, back to values.
 *
 * @example
 * decodeArgs(['"k"', null]); // ['k', undefined]
 */
export function decodeArgs(args: readonly (string | null)[]): unknown[] {
  return args.map((a) => (a === null ? undefined : (JSON.parse(a) as unknown)));
}

const BUILTIN_ERRORS: Readonly<Record<string, ErrorConstructor>> = { Error, RangeError, TypeError, SyntaxError, ReferenceError, EvalError, URIError };

/**
 * The store's error as this realm's class: V8 deserializes built-in errors with the classes of the
 * realm that called it, which under a test runner's sandbox are not the test's own `RangeError`.
 */
function ownRealmError(error: unknown): unknown {
  if (!(typeof error === 'object' && error !== null && 'message' in error && 'name' in error)) return error;
  const { name, message, stack } = error as { name: unknown; message: unknown; stack?: unknown };
  const Class = typeof name === 'string' && Object.hasOwn(BUILTIN_ERRORS, name) ? BUILTIN_ERRORS[name]! : Error;
  const rebuilt = new Class(String(message));
  if (Class === Error && typeof name === 'string') rebuilt.name = name;
  if (typeof stack === 'string') rebuilt.stack = stack;
  return rebuilt;
}

/** The store's endpoint did not answer, refused the secret, or answered something unreadable. */
export class RemoteStoreError extends BbmError {
  constructor(method: string, message: string, cause?: unknown) {
    super('REMOTE_STORE_FAILED', `state store ${method}: ${message}`, { field: 'DEV_STORE_URL', cause });
  }
}

export interface RemoteStoreOptions {
  /** The endpoint, e.g. `http://127.0.0.1:41234/`. */
  url: string;
  /** The endpoint's secret (sent as a bearer token). */
  secret: string;
  /** Bound on one call, in ms (default 10 s). */
  timeoutMs?: number;
}

/**
 * A StateStore whose every method runs in the process serving `url`. `close()` releases this
 * side's connections only: the data stays with the serving process.
 *
 * @example
 * const store = connectRemoteStore({ url: process.env.DEV_STORE_URL!, secret: process.env.DEV_STORE_SECRET! });
 * await store.set('session:c1', { orders: [] }, 60_000);
 */
export function connectRemoteStore(options: RemoteStoreOptions): StateStore {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const url = new URL(options.url);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const call = (method: RemoteMethod, args: readonly unknown[]): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const body = Buffer.from(JSON.stringify({ method, args: encodeArgs(args) } satisfies RemoteCall));
      const req = request(url, {
        method: 'POST',
        agent,
        timeout: timeoutMs,
        headers: { authorization: `Bearer ${options.secret}`, 'content-type': 'application/json', 'content-length': body.length },
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new RemoteStoreError(method, err.message, err)));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          if (res.statusCode !== 200) return reject(new RemoteStoreError(method, `the endpoint answered ${res.statusCode}: ${raw.toString('utf8').slice(0, 200)}`));
          let answer: RemoteAnswer;
          try {
            answer = deserialize(raw) as RemoteAnswer;
          } catch (err) {
            return reject(new RemoteStoreError(method, 'the answer could not be read', err));
          }
          if (answer.ok) resolve(answer.value);
          else reject(ownRealmError(answer.error));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => reject(new RemoteStoreError(method, `${err.message} (is npm run dev still running?)`, err)));
      req.end(body);
    });
  const store: Record<string, unknown> = {
    close: async () => agent.destroy(),
  };
  for (const method of Object.keys(REMOTE_METHODS) as RemoteMethod[]) {
    const precheck = PRECHECKS[method];
    store[method] = (...args: unknown[]) => {
      try {
        precheck?.(args);
      } catch (err) {
        return Promise.reject(err);
      }
      return call(method, args);
    };
  }
  return store as unknown as StateStore;
}

/**
 * The dev runner's store when it handed one to this process (DEV_STORE_URL and DEV_STORE_SECRET),
 * else undefined.
 *
 * @example
 * const store = devStoreFromEnvironment(process.env) ?? new MemoryStore();
 */
export function devStoreFromEnvironment(env: NodeJS.ProcessEnv): StateStore | undefined {
  const url = env.DEV_STORE_URL?.trim();
  const secret = env.DEV_STORE_SECRET?.trim();
  if (!url || !secret) return undefined;
  return connectRemoteStore({ url, secret });
}
