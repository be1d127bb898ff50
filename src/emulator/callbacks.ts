/**
 * Delivery of callbacks to the bot, the way the platform does it: `POST <bot>/v1/chats` with the
 * exact JSON bytes signed in `BBM-Sig`, retried on 5xx, timeouts and connection failures with
 * exponential backoff (the same bytes and signature each time), and every attempt recorded.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { CallbackResponseSchema } from '../protocol/inbound.js';
import { signBody } from '../webhook/signature.js';
import { flatHeaders } from './http.js';
import { bodyForLog, type TrafficLog } from './traffic.js';

export interface CallbackRetryOptions {
  /** Attempts in all, the first included. Default 3: the spec's "up to three times". */
  attempts?: number;
  /** Wait before the second attempt; doubles for each later one. Default 1000 ms. */
  backoffMs?: number;
}

export interface MessageOutcome {
  code: number;
  error?: string;
}

export interface CallbackOutcome {
  /** The bot answered 200 or 207. */
  ok: boolean;
  /** The last answer's status; null when none came. */
  status: number | null;
  /** Per-message results the bot reported, by mid. */
  results: Map<string, MessageOutcome>;
  /** Why it failed, for the user's ✖ tooltip. */
  error?: string;
}

export interface CallbackSenderOptions {
  botUrl: () => string | undefined;
  sigKey: string;
  timeoutMs: number;
  retry: Required<CallbackRetryOptions>;
  traffic: TrafficLog;
  /** Aborted when the emulator stops: pending retries end at once. */
  signal: AbortSignal;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Answers are small; a runaway one is cut here. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export class CallbackSender {
  constructor(private readonly options: CallbackSenderOptions) {}

  /** Posts one callback (retrying as the platform does); `mids` are the messages it carries. */
  async send(chatId: string, body: Record<string, unknown>, mids: readonly string[]): Promise<CallbackOutcome> {
    const { retry, traffic } = this.options;
    const raw = JSON.stringify(body);
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(raw)),
      'bbm-sig': signBody(raw, this.options.sigKey),
    };
    let last: CallbackOutcome = { ok: false, status: null, results: new Map(), error: 'not sent' };
    for (let n = 1; n <= retry.attempts; n++) {
      const url = this.options.botUrl();
      if (url === undefined) {
        traffic.add({
          kind: 'callback', chatId, method: 'POST', url: '(no bot URL)', status: null, durationMs: 0,
          requestHeaders: headers, requestBody: bodyForLog(raw), responseHeaders: {}, responseBody: undefined,
          error: 'no bot is connected', notes: ['start the emulator with --bot-url <url> (or botUrl in code) to deliver callbacks'],
        });
        return { ok: false, status: null, results: new Map(), error: 'no bot is connected' };
      }
      const started = performance.now();
      // Shown at once as pending, so the inspector lists the callback before whatever the bot does meanwhile.
      const entry = traffic.add({
        kind: 'callback', chatId, method: 'POST', url, status: null, durationMs: 0,
        requestHeaders: headers, requestBody: bodyForLog(raw), responseHeaders: {}, responseBody: undefined,
        attempt: { n, of: retry.attempts }, pending: true,
      });
      let answer: Answer | undefined;
      let failure: string | undefined;
      try {
        answer = await this.post(url, raw, headers);
      } catch (err) {
        failure = err instanceof Error ? err.message : String(err);
      }
      const durationMs = Math.round(performance.now() - started);
      const notes: string[] = [];
      last = answer ? interpret(answer, mids, notes) : { ok: false, status: null, results: new Map(), error: failure ?? 'no answer' };
      const retryable = answer === undefined || answer.status >= 500;
      if (retryable && n < retry.attempts) notes.push(`will retry in ${retry.backoffMs * 2 ** (n - 1)} ms`);
      traffic.update(entry, {
        status: answer?.status ?? null, durationMs,
        responseHeaders: answer?.headers ?? {}, responseBody: bodyForLog(answer?.body),
        ...(failure ? { error: failure } : {}), notes,
      });
      if (!retryable || n === retry.attempts) break;
      try {
        await sleep(retry.backoffMs * 2 ** (n - 1), undefined, { signal: this.options.signal });
      } catch {
        return { ...last, ok: false, error: 'the emulator stopped before the bot answered' };
      }
    }
    return last;
  }

  private post(url: string, raw: string, headers: Record<string, string>): Promise<Answer> {
    return new Promise((resolve, reject) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        reject(new Error(`the bot URL is not a URL: ${url}`));
        return;
      }
      const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = request(target, { method: 'POST', headers, agent: false, signal: this.options.signal }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_ANSWER_BYTES) chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: flatHeaders(res.headers), body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      // One deadline for the whole exchange, not an idle timeout: a bot that trickles bytes still times out.
      const timer = setTimeout(() => req.destroy(new Error(`timed out after ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new Error(err.code === 'ECONNREFUSED' ? `connection refused (${target.host}): is the bot running?` : err.message));
      });
      req.end(raw);
    });
  }
}

/** Reads the bot's answer: which messages it took, and anything worth telling the bot's author. */
function interpret(answer: Answer, mids: readonly string[], notes: string[]): CallbackOutcome {
  const results = new Map<string, MessageOutcome>();
  const { status } = answer;
  if (status === 401) notes.push('the bot refused the signature: is it using the same sig key as the emulator?');
  if (status === 404) notes.push('nothing answers at this URL: the callback URL must end in /v1/chats');
  if (status !== 200 && status !== 207) {
    return { ok: false, status, results, error: `the bot answered ${status}` };
  }
  let parsed: unknown;
  try {
    parsed = answer.body.trim() === '' ? {} : JSON.parse(answer.body);
  } catch {
    notes.push('the answer is not JSON: the spec wants {"messages":[...]} with one result per message');
  }
  const response = CallbackResponseSchema.safeParse(parsed ?? {});
  if (parsed !== undefined && !response.success) notes.push('the answer does not match the spec\'s response body');
  for (const r of response.success ? (response.data.messages ?? []) : []) {
    if (r.mid !== undefined) results.set(r.mid, { code: r.result.code, ...(r.result.error ? { error: r.result.error } : {}) });
  }
  const missing = mids.filter((m) => !results.has(m));
  if (missing.length > 0) notes.push(`no result for mid ${missing.join(', ')}: the spec wants one per message`);
  if (status === 207 && [...results.values()].every((r) => r.code === 200)) notes.push('207 but every result is 200');
  return { ok: true, status, results };
}
