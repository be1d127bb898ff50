/** The one HTTP stack the client uses: an axios instance over keep-alive agents, built once. */
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance, isAxiosError } from 'axios';

export interface HttpStackOptions {
  /** Per-request timeout (connect + answer). */
  timeoutMs: number;
  /** Sockets per origin; bounds concurrency towards one host. */
  maxSockets?: number;
}

export interface HttpStack {
  http: AxiosInstance;
  /** Destroys pooled sockets so the process (or a test) can exit. */
  close(): void;
}

/** Answers are read as text: error bodies are kept verbatim, JSON is parsed (and checked) by us. */
const identity = (data: unknown): unknown => data;

export function createHttpStack(options: HttpStackOptions): HttpStack {
  const maxSockets = options.maxSockets ?? 128;
  const agentOptions = { keepAlive: true, maxSockets, scheduling: 'lifo' as const };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent(agentOptions);
  const instance = axios.create({
    timeout: options.timeoutMs,
    httpAgent,
    httpsAgent,
    // Every status is an answer to inspect, not an exception.
    validateStatus: () => true,
    responseType: 'text',
    transformResponse: [identity],
    // Callers pass bodies already serialised; axios's default would re-parse every JSON string.
    transformRequest: [identity],
    transitional: { clarifyTimeoutError: true, silentJSONParsing: true, forcedJSONParsing: false },
    // A redirect would carry the bearer token somewhere we did not choose.
    maxRedirects: 0,
    // Answers are small; a runaway body must not exhaust memory.
    maxContentLength: 1024 * 1024,
  });
  return {
    http: instance,
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

const TIMEOUT_CODES: ReadonlySet<string> = new Set(['ETIMEDOUT', 'ECONNABORTED', 'ESOCKETTIMEDOUT']);
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ERR_NETWORK',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
]);

/**
 * A failure with no HTTP answer that is worth retrying. Only the code and a short detail are kept:
 * an AxiosError carries the request config, Authorization header included, and must not travel
 * into errors that may be logged.
 */
export function transportFailure(err: unknown): { kind: 'timeout' | 'network'; detail: string } | undefined {
  if (!isAxiosError(err) || err.response !== undefined) return undefined;
  const code = err.code ?? '';
  if (TIMEOUT_CODES.has(code)) return { kind: 'timeout', detail: `timeout (${code})` };
  if (NETWORK_CODES.has(code)) return { kind: 'network', detail: `connection error (${code})` };
  // Node's own socket errors surface with their errno code on the cause.
  const cause: unknown = err.cause;
  const causeCode =
    cause !== null && typeof cause === 'object' && 'code' in cause && typeof cause.code === 'string' ? cause.code : '';
  if (NETWORK_CODES.has(causeCode)) return { kind: 'network', detail: `connection error (${causeCode})` };
  return undefined;
}

/** A short, secret-free description of a non-transport failure (bad config, oversize answer...). */
export function describeError(err: unknown): string {
  if (isAxiosError(err)) return `${err.code ?? 'ERR'}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * `Retry-After` as a delay in ms: delta-seconds or an HTTP date. Undefined when absent or garbled.
 */
export function parseRetryAfter(value: unknown, nowMs: number): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d{1,10}$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

export function headerString(headers: unknown, name: string): string | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  const v: unknown = (headers as Record<string, unknown>)[name];
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

export function bodyText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data === undefined || data === null) return '';
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  try {
    return JSON.stringify(data);
  } catch {
    return String(data);
  }
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
