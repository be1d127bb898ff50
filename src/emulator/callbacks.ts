/**
 * Delivery of callbacks to the bot, the way the platform does it: `POST <bot>/v1/chats` with the
 * exact JSON bytes signed in `BBM-Sig`, retried on 5xx, timeouts and connection failures with
 * exponential backoff (the same bytes and signature each time), and every attempt recorded.
 * A 200/207 whose result for a message is 500 or 503 is that message's "try again later": only
 * those messages go again, in a new callback (current mTok), after the answer's Retry-After (capped)
 * or the usual backoff, within the same attempt limit. 400/409 results are final.
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
  /**
   * Longest wait a per-message 500/503's Retry-After may ask for (it is seconds on the wire).
   * Default 30 s: this is a tool someone is watching, not a queue that can wait for an hour.
   */
  maxRetryAfterMs?: number;
}

export interface MessageOutcome {
  code: number;
  error?: string;
  /** How many times the message was posted when this result came. */
  attempts?: number;
}

export interface CallbackOutcome {
  /** The bot answered 200 or 207 (to the last post). */
  ok: boolean;
  /** The last answer's status; null when none came. */
  status: number | null;
  /** Per-message results the bot reported, by mid: each message's latest, after any retries. */
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

/** What a per-message retry needs from the platform: a fresh body, and a way to show the wait. */
export interface CallbackResend {
  /**
   * The body of a new callback carrying only these messages, built now (so it has the chat's
   * current mTok); undefined when they should not go again (the chat is gone).
   */
  rebuild(mids: readonly string[]): Record<string, unknown> | undefined;
  /** Told before the wait: these messages go again in `delayMs`, as attempt `attempt` of `of`. */
  onRetry?(mids: readonly string[], info: { attempt: number; of: number; delayMs: number; reason: string }): void;
}

/** Per-message result codes that ask the platform to send the message again later. */
const RETRY_CODES: ReadonlySet<number> = new Set([500, 503]);

export class CallbackSender {
  constructor(private readonly options: CallbackSenderOptions) {}

  /**
   * Posts one callback the way the platform does; `mids` are the messages it carries. A 5xx (or no
   * answer) sends the same bytes again; a 200/207 whose results say 500/503 for some messages sends
   * only those again, in a new callback from `resend.rebuild`. Either way a message goes at most
   * `retry.attempts` times, and every post is one inspector entry pointing at the one it retries.
   *
   * @example
   * const outcome = await sender.send(chatId, body, [mid], { rebuild: (mids) => buildBody(mids) });
   * if (outcome.results.get(mid)?.code === 200) markRead(mid);
   */
  async send(chatId: string, body: Record<string, unknown>, mids: readonly string[], resend?: CallbackResend): Promise<CallbackOutcome> {
    const { retry } = this.options;
    const final = new Map<string, MessageOutcome>();
    let raw = JSON.stringify(body);
    let carried = mids;
    let retryOf: number | undefined;
    for (let n = 1; ; n++) {
      const url = this.options.botUrl();
      if (url === undefined) return this.noBot(chatId, raw);
      const { answer, failure, entry, notes, started } = await this.postLogged(chatId, url, raw, n, retryOf);
      const outcome = answer ? interpret(answer, carried, notes) : { ok: false, status: null, results: new Map(), error: failure ?? 'no answer' };
      // A later answer replaces what an earlier one said about the messages it carried.
      for (const mid of carried) final.delete(mid);
      for (const [mid, r] of outcome.results) final.set(mid, { ...r, attempts: n });
      const wholeRetry = answer === undefined || answer.status >= 500;
      const again = wholeRetry ? carried : carried.filter((m) => RETRY_CODES.has(outcome.results.get(m)?.code ?? 0));
      let next: { raw: string; mids: readonly string[]; delayMs: number } | undefined;
      if (again.length > 0 && n < retry.attempts) {
        const backoff = retry.backoffMs * 2 ** (n - 1);
        if (wholeRetry) {
          next = { raw, mids: carried, delayMs: backoff };
          notes.push(`will retry in ${backoff} ms`);
        } else {
          const rebuilt = resend?.rebuild(again);
          const after = answer ? retryAfterMs(answer.headers['retry-after'], retry.maxRetryAfterMs) : undefined;
          const delayMs = after ?? backoff;
          if (rebuilt !== undefined) {
            next = { raw: JSON.stringify(rebuilt), mids: again, delayMs };
            const codes = again.map((m) => `${m} (${outcome.results.get(m)!.code})`).join(', ');
            notes.push(`will send ${codes} again in ${delayMs} ms${after !== undefined ? ' (Retry-After)' : ''}`);
          }
        }
      }
      this.options.traffic.update(entry, {
        status: answer?.status ?? null, durationMs: Math.round(performance.now() - started),
        responseHeaders: answer?.headers ?? {}, responseBody: bodyForLog(answer?.body),
        ...(failure ? { error: failure } : {}), notes,
      });
      // The last post decides ok/status (a 200 lacking a result still counts); results hold every message's latest.
      if (next === undefined) return { ...outcome, results: final };
      const reason = wholeRetry ? (outcome.error ?? 'no answer') : `the bot answered ${outcome.results.get(again[0]!)!.code} for this message`;
      resend?.onRetry?.(next.mids, { attempt: n + 1, of: retry.attempts, delayMs: next.delayMs, reason });
      try {
        await sleep(next.delayMs, undefined, { signal: this.options.signal });
      } catch {
        return { ...outcome, ok: false, error: 'the emulator stopped before the bot answered' };
      }
      raw = next.raw;
      carried = next.mids;
      retryOf = entry.id;
    }
  }

  private noBot(chatId: string, raw: string): CallbackOutcome {
    this.options.traffic.add({
      kind: 'callback', chatId, method: 'POST', url: '(no bot URL)', status: null, durationMs: 0,
      requestHeaders: callbackHeaders(raw, this.options.sigKey), requestBody: bodyForLog(raw), responseHeaders: {}, responseBody: undefined,
      error: 'no bot is connected', notes: ['start the emulator with --bot-url <url> (or botUrl in code) to deliver callbacks'],
    });
    return { ok: false, status: null, results: new Map(), error: 'no bot is connected' };
  }

  /** One post, logged at once as pending (so the inspector lists it before whatever the bot does meanwhile). */
  private async postLogged(chatId: string, url: string, raw: string, n: number, retryOf: number | undefined) {
    const headers = callbackHeaders(raw, this.options.sigKey);
    const started = performance.now();
    const entry = this.options.traffic.add({
      kind: 'callback', chatId, method: 'POST', url, status: null, durationMs: 0,
      requestHeaders: headers, requestBody: bodyForLog(raw), responseHeaders: {}, responseBody: undefined,
      attempt: { n, of: this.options.retry.attempts }, ...(retryOf !== undefined ? { retryOf } : {}), pending: true,
    });
    let answer: Answer | undefined;
    let failure: string | undefined;
    try {
      answer = await this.post(url, raw, headers);
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    }
    return { answer, failure, entry, notes: [] as string[], started };
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

function callbackHeaders(raw: string, sigKey: string): Record<string, string> {
  return {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(raw)),
    'bbm-sig': signBody(raw, sigKey),
  };
}

/** A Retry-After (delta seconds or an HTTP date) in ms, capped; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, capMs: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - Date.now();
  if (Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(ms, 0), capMs);
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
