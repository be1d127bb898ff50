/** The one HTTP stack the client uses: an axios instance over keep-alive agents, built once. */
import http from 'node:http';
import https from 'node:https';
import axios, {
  AxiosHeaders,
  isAxiosError,
  type AxiosAdapter,
  type AxiosInstance,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
  type RawAxiosRequestHeaders,
} from 'axios';
import { LEAN_CHECKED, createLeanAdapter, leanOptions, leanRequest } from './lean-adapter.js';

export interface HttpStackOptions {
  /** Per-request timeout (connect + answer). */
  timeoutMs: number;
  /** Sockets per origin; bounds concurrency towards one host. */
  maxSockets?: number;
}

export interface HttpStack {
  http: AxiosInstance;
  /**
   * `http.post(url, data, { headers })`, the same request and the same answer, without rebuilding
   * axios's configuration for every request (see {@link preparePost}).
   */
  post(url: string, data: string, headers: RawAxiosRequestHeaders): Promise<AxiosResponse<unknown>>;
  /** Destroys pooled sockets so the process (or a test) can exit. */
  close(): void;
}

/** Answers are read as text: error bodies are kept verbatim, JSON is parsed (and checked) by us. */
const identity = (data: unknown): unknown => data;

export function createHttpStack(options: HttpStackOptions): HttpStack {
  const maxSockets = options.maxSockets ?? 128;
  // TCP keep-alive probes after a minute of silence: what axios sets on every socket it uses, so
  // setting it here too spares a setsockopt() on every request (and one more when it is released).
  const agentOptions = { keepAlive: true, keepAliveMsecs: 60_000, maxSockets, scheduling: 'lifo' as const };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent(agentOptions);
  // axios's own http adapter for anything unusual (a proxy, say); a lean one for our plain POSTs.
  const adapter = createLeanAdapter(axios.getAdapter('http'));
  const instance = axios.create({
    adapter,
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
    post: preparePost(instance, adapter),
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

interface InterceptorList {
  forEach(fn: (handler: unknown) => void): void;
}

function hasInterceptors(instance: AxiosInstance): boolean {
  let found = false;
  const mark = () => (found = true);
  (instance.interceptors.request as unknown as InterceptorList).forEach(mark);
  (instance.interceptors.response as unknown as InterceptorList).forEach(mark);
  return found;
}

/**
 * POST through `instance`'s adapter with the configuration axios would build, built once.
 *
 * `instance.post()` merges the instance's defaults into a fresh configuration on every request
 * (a dozen options, header groups for every method, into a dictionary-mode object), flattens the
 * headers and walks the interceptor chains: about 130 µs per request here, a quarter of what a
 * whole hand-written Express handler costs. The defaults of our stack never change after it is
 * built, so this merges them once (with axios's own mergeConfig) and per request only adds the url,
 * the body and the headers, flattened as axios flattens them, then calls the same adapter and
 * finishes the answer as axios's dispatch does (its transforms are identities here). Whenever that
 * could differ (an interceptor registered, a request the lean adapter would hand to axios's own
 * http adapter), it calls `instance.post()` instead.
 */
export function preparePost(
  instance: AxiosInstance,
  adapter: AxiosAdapter,
): (url: string, data: string, headers: RawAxiosRequestHeaders) => Promise<AxiosResponse<unknown>> {
  const defaults = instance.defaults as unknown as Parameters<typeof axios.mergeConfig>[0];
  const base = { ...axios.mergeConfig(defaults, { method: 'post' }), method: 'post', allowAbsoluteUrls: true };
  type Headers = Parameters<typeof AxiosHeaders.concat>[0];
  const groups = instance.defaults.headers as unknown as Record<string, Headers>;
  // What axios.request puts first in every POST's headers: the common and the post defaults.
  const context = AxiosHeaders.concat(groups.common ?? {}, groups.post ?? {});
  const transformRequest = base.transformRequest;
  const transformResponse = base.transformResponse;
  const plain =
    Array.isArray(transformRequest) &&
    transformRequest.every((f) => f === identity) &&
    Array.isArray(transformResponse) &&
    transformResponse.every((f) => f === identity) &&
    leanOptions(base as unknown as InternalAxiosRequestConfig);

  return (url, data, headers) => {
    if (!plain || hasInterceptors(instance)) return instance.post(url, data, { headers });
    const config = { ...base, url, data, headers: AxiosHeaders.concat(context, headers as Headers) } as InternalAxiosRequestConfig;
    if (!leanRequest(config)) return instance.post(url, data, { headers });
    // As axios's dispatch: headers normalised, a POST body typed as a form unless it says otherwise.
    config.headers.normalize(false);
    config.headers.setContentType('application/x-www-form-urlencoded', false);
    (config as { [LEAN_CHECKED]?: boolean })[LEAN_CHECKED] = true;
    return adapter(config).then((response) => {
      response.headers = AxiosHeaders.from(response.headers as AxiosHeaders);
      return response;
    });
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
