/** Shared by the webhook, protocol and server tests: a stub dispatcher, signing, a memory logger, raw HTTP. */
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest, type RequestOptions as HttpsRequestOptions } from 'node:https';
import { Writable } from 'node:stream';
import { pino, type Level, type Logger } from 'pino';
import type { CallbackMessageResult, ChatCallback } from '../../src/protocol/inbound.js';
import type { CallbackDispatcher, DispatchContext } from '../../src/webhook/dispatcher.js';
import { signBody } from '../../src/webhook/signature.js';

/** The Client Sig key printed in the spec's Java sample: a 64-character hex string, used as text. */
export const KEY = '9c1d207d26f7c498b4c239bbf4e5282b9ef4fe1c18075e2e79d4db24e215904b';

export type DispatchFn = (
  callback: ChatCallback,
  context: DispatchContext,
) => Promise<readonly CallbackMessageResult[]> | readonly CallbackMessageResult[];

/** Every message handled: one 200 result per message, none for actions. */
export const acceptAll: DispatchFn = (callback) =>
  (callback.messages ?? []).map((m) => ({ mid: m.mid, result: { code: 200 } }));

/** A dispatcher that records what it got and answers with `impl`. */
export class StubDispatcher implements CallbackDispatcher {
  readonly calls: { callback: ChatCallback; context: DispatchContext }[] = [];

  constructor(public impl: DispatchFn = acceptAll) {}

  async dispatch(callback: ChatCallback, context: DispatchContext): Promise<readonly CallbackMessageResult[]> {
    this.calls.push({ callback, context });
    return this.impl(callback, context);
  }
}

export const MTOK = 'MS4xNDc2ODM4MDk3LjdkZDk4MjkxM2ZjNDBhMDc5YzI0ODJmYTQ5OTQ0OTg2';

/** A valid callback with one text message per given text (ids `m1`, `m2`...). */
export function textCallback(texts: string[] = ['Hello World!'], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    mType: 'message',
    chId: 'C00012B1E',
    chatId: '837680',
    from: '100006006205',
    to: '31045128202',
    mTok: MTOK,
    messages: texts.map((text, i) => ({ index: i + 1, type: 'text', mid: `m${i + 1}`, ts: 1332394961610 + i, text })),
    userInfos: { '100006006205': { name: 'Alice' } },
    ...extra,
  };
}

/** A callback with actions and no messages. */
export function actionsCallback(actions: unknown[] = [{ type: 'typing', ts: 1332394963010 }]): Record<string, unknown> {
  return {
    mType: 'message',
    chId: 'C00012B1E',
    chatId: '837680',
    from: '100006006205',
    to: '31045128202',
    actions,
    userInfos: { '100006006205': { name: 'Alice' } },
  };
}

export const bytes = (value: unknown): Buffer =>
  Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');

/** Headers of a genuine BBM callback for `body`. */
export function signedHeaders(body: Buffer, key: string = KEY): Record<string, string> {
  return { 'content-type': 'application/json; charset=utf-8', 'bbm-sig': signBody(body, key) };
}

/**
 * Sends `body` byte for byte through supertest: superagent would otherwise JSON-serialize a Buffer
 * sent with a JSON content type.
 */
export function sendBytes<T extends { serialize(fn: (obj: unknown) => string): T; send(data: unknown): T }>(
  test: T,
  body: Buffer,
): T {
  return test.serialize((data) => data as string).send(body);
}

/** A pino logger writing JSON lines into memory. */
export class MemoryLog {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer | string, _encoding, done) => {
      for (const line of String(chunk).split('\n')) if (line.length > 0) this.lines.push(line);
      done();
    },
  });

  /** A plain pino logger (no redaction) over this memory. */
  logger(level: Level = 'info'): Logger {
    return pino({ level }, this.stream);
  }

  entries(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  text(): string {
    return this.lines.join('\n');
  }
}

export const silentLogger = (): Logger => pino({ enabled: false });

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: unknown;
}

export interface RawRequestOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | string;
  /** Give up (reject) after this long. Default 5 s. */
  timeoutMs?: number;
  /** For https URLs. */
  tls?: Pick<HttpsRequestOptions, 'ca' | 'rejectUnauthorized' | 'servername'>;
  /** Default: a fresh connection per request, so tests do not share sockets. */
  agent?: HttpsRequestOptions['agent'];
}

/** One request over node:http(s), bounded in time; resolves with the whole answer. */
export function rawRequest(url: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<RawResponse>((resolve, reject) => {
    const req = send(
      target,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: options.agent ?? false,
        ...(options.tls ?? {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text.length > 0 ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`request to ${url} timed out`));
    }, options.timeoutMs ?? 5_000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(options.body);
  });
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise and the function that settles it. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
