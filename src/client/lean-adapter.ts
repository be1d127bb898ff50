/**
 * A lean axios adapter for the requests the Chat API client makes: a string or Buffer body POSTed
 * over a keep-alive agent, no proxy, no redirects, the answer read as text. It puts the same bytes
 * on the wire as axios's own `http` adapter and answers the same (status, headers, text body,
 * decompression, `maxContentLength`, timeouts, errors as AxiosError with the same codes), at about
 * a third of that adapter's CPU cost per request: the stock adapter is built for every feature axios
 * has (redirects, proxies, streams, progress events, HTTP/2, data: URLs) and pays for them on every
 * request.
 *
 * Anything outside that subset (a proxy set in the environment, a stream body, a socket path,
 * auth, cancellation, progress callbacks...) is handed to the stock adapter unchanged. Requests
 * still go through axios itself: config merging, interceptors, transforms, validateStatus.
 */
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import axios, {
  AxiosError,
  AxiosHeaders,
  type AxiosAdapter,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';

const isBrotliSupported = typeof zlib.createBrotliDecompress === 'function';
type ZstdFactory = (options: zlib.ZlibOptions) => Transform;
const createZstdDecompress = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;
const ACCEPT_ENCODING = `gzip, compress, deflate${isBrotliSupported ? ', br' : ''}`;
const ACCEPT_ENCODING_WITH_ZSTD = ACCEPT_ENCODING + (createZstdDecompress ? ', zstd' : '');
const ZLIB_OPTIONS = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
const BROTLI_OPTIONS = { flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH };
const ZSTD_FLUSH = (zlib.constants as unknown as Record<string, number>).ZSTD_e_flush;
const USER_AGENT = `axios/${axios.VERSION}`;
const SOCKET_KEEPALIVE_MS = 60_000;

/** Config keys that change what the stock adapter does; any of them set sends the request there. */
const UNSUPPORTED_KEYS = [
  'baseURL',
  'params',
  'auth',
  'socketPath',
  'transport',
  'lookup',
  'family',
  'httpVersion',
  'http2Options',
  'onUploadProgress',
  'onDownloadProgress',
  'maxRate',
  'cancelToken',
  'signal',
  'beforeRedirect',
  'insecureHTTPParser',
  'formSerializer',
] as const;

// Header values the way axios's adapter writes them: bytes outside the byte-string range dropped,
// surrounding spaces and tabs trimmed.
// eslint-disable-next-line no-control-regex
const INVALID_BYTE_STRING_CHARS = /[^\u0009\u0020-\u007e\u0080-\u00ff]+/g;

function sanitizeHeaderValue(value: unknown): string | string[] {
  if (Array.isArray(value)) return value.map((v) => sanitizeHeaderValue(v) as string);
  return String(value).replace(INVALID_BYTE_STRING_CHARS, '').replace(/^[\t ]+|[\t ]+$/g, '');
}

function proxyConfigured(protocol: string): boolean {
  const env = process.env;
  // What proxy-from-env (axios's proxy lookup) reads: `<proto>_proxy` and `all_proxy`, either case.
  const own = protocol === 'https:' ? env.https_proxy || env.HTTPS_PROXY : env.http_proxy || env.HTTP_PROXY;
  return Boolean(own || env.all_proxy || env.ALL_PROXY);
}

/** The options (everything but the url and the body) that the lean path supports. */
export function leanOptions(config: InternalAxiosRequestConfig): boolean {
  const c = config as unknown as Record<string, unknown>;
  for (const key of UNSUPPORTED_KEYS) if (c[key] !== undefined && c[key] !== null) return false;
  if (config.maxRedirects !== 0) return false;
  if (config.responseType !== 'text') return false;
  if (config.responseEncoding !== undefined && config.responseEncoding !== 'utf8') return false;
  return config.proxy === undefined;
}

/** The url and body, and the environment (a proxy), that the lean path supports. */
export function leanRequest(config: InternalAxiosRequestConfig): boolean {
  const data: unknown = config.data;
  if (data !== undefined && data !== null && typeof data !== 'string' && !Buffer.isBuffer(data)) return false;
  if (typeof config.url !== 'string') return false;
  const url = config.url;
  const protocol = url.startsWith('https://') ? 'https:' : url.startsWith('http://') ? 'http:' : undefined;
  return protocol !== undefined && !proxyConfigured(protocol);
}

/** Whether this request is one the lean path answers exactly as the stock adapter would. */
export function leanEligible(config: InternalAxiosRequestConfig): boolean {
  return leanOptions(config) && leanRequest(config);
}

/** Set by a caller that has already checked {@link leanEligible} for this very config. */
export const LEAN_CHECKED: unique symbol = Symbol('bbm.leanChecked');

/** Adds a zlib header to raw deflate data (some servers send it without one); as axios does. */
class ZlibHeaderTransform extends Transform {
  private first = true;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.first && chunk.length !== 0) {
      this.first = false;
      if (chunk[0] !== 0x78) this.push(Buffer.from([0x78, 0x9c]));
    }
    this.push(chunk);
    callback();
  }
}

/** The decompressing streams for `encoding`, or none; as the stock adapter chooses them. */
function decoders(encoding: string): Transform[] | undefined {
  switch (encoding.toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
    case 'compress':
    case 'x-compress':
      return [zlib.createUnzip(ZLIB_OPTIONS)];
    case 'deflate':
      return [new ZlibHeaderTransform(), zlib.createUnzip(ZLIB_OPTIONS)];
    case 'br':
      return isBrotliSupported ? [zlib.createBrotliDecompress(BROTLI_OPTIONS)] : undefined;
    case 'zstd':
      return createZstdDecompress ? [createZstdDecompress({ flush: ZSTD_FLUSH, finishFlush: ZSTD_FLUSH })] : undefined;
    default:
      return undefined;
  }
}

function settle(
  resolve: (r: AxiosResponse) => void,
  reject: (e: unknown) => void,
  response: AxiosResponse,
  req: ClientRequest,
): void {
  const validate = response.config.validateStatus;
  if (!response.status || !validate || validate(response.status)) {
    resolve(response);
    return;
  }
  const code = response.status >= 500 ? AxiosError.ERR_BAD_RESPONSE : AxiosError.ERR_BAD_REQUEST;
  reject(new AxiosError(`Request failed with status code ${response.status}`, code, response.config, req, response));
}

/** The lean adapter; `fallback` (the stock http adapter) takes every request outside its subset. */
export function createLeanAdapter(fallback: AxiosAdapter): AxiosAdapter {
  return function leanAdapter(config) {
    if ((config as { [LEAN_CHECKED]?: boolean })[LEAN_CHECKED] !== true && !leanEligible(config)) return fallback(config);
    return new Promise<AxiosResponse>((resolve, reject) => {
      let settled = false;
      const done = (fn: () => void) => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        fn();
      };
      const fail = (err: unknown) => done(() => reject(err));

      const url = new URL(config.url!);
      const isHttps = url.protocol === 'https:';
      const method = (config.method ?? 'get').toUpperCase();
      const data: unknown = config.data;
      // As the stock adapter: an empty string is no body at all (no Content-Length), an empty Buffer is one.
      // A string body stays a string (axios makes it a Buffer): the same bytes, but node then writes
      // the headers and the body as one string in one write, instead of a writev of two chunks,
      // which cost ~25 µs more per request here.
      const body = typeof data === 'string' ? (data === '' ? undefined : data) : Buffer.isBuffer(data) ? data : undefined;
      const bodyLength = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body, 'utf-8') : body.length;

      const headers = AxiosHeaders.from(config.headers as AxiosHeaders).normalize(false);
      headers.set('User-Agent', USER_AGENT, false);
      if (body !== undefined) headers.setContentLength(bodyLength, false);
      const maxBodyLength = config.maxBodyLength ?? -1;
      if (body !== undefined && maxBodyLength > -1 && bodyLength > maxBodyLength) {
        fail(new AxiosError('Request body larger than maxBodyLength limit', AxiosError.ERR_BAD_REQUEST, config));
        return;
      }
      const transitional = config.transitional as { advertiseZstdAcceptEncoding?: boolean; clarifyTimeoutError?: boolean } | undefined;
      headers.set('Accept-Encoding', transitional?.advertiseZstdAcceptEncoding === true ? ACCEPT_ENCODING_WITH_ZSTD : ACCEPT_ENCODING, false);
      const wire: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
      const json = headers.toJSON() as Record<string, unknown>;
      for (const name in json) wire[name] = sanitizeHeaderValue(json[name]);

      const maxContentLength = config.maxContentLength ?? -1;
      const decompress = config.decompress !== false;
      const agent = isHttps ? config.httpsAgent : config.httpAgent;
      const transport = isHttps ? https : http;
      const req = transport.request(
        {
          protocol: url.protocol,
          hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method,
          headers: wire,
          agent,
          insecureHTTPParser: false,
        },
        (res: IncomingMessage) => {
          if (req.destroyed) return;
          // Past the response head the timeout is one of inactivity, as the socket timeout axios sets.
          if (timer !== undefined) {
            timer.refresh();
            res.on('data', () => timer?.refresh());
          }
          let stream: Readable = res;
          const encoding = res.headers['content-encoding'];
          if (decompress && encoding) {
            if (method === 'HEAD' || res.statusCode === 204) delete res.headers['content-encoding'];
            const chain = decoders(res.headers['content-encoding'] ?? '');
            if (chain) {
              delete res.headers['content-encoding'];
              stream = pipeline([res, ...chain] as unknown as [Readable, Transform], () => {}) as unknown as Readable;
            }
          }
          const response: AxiosResponse = {
            data: undefined,
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            headers: new AxiosHeaders(res.headers as Record<string, string>),
            config,
            request: req,
          };
          const chunks: Buffer[] = [];
          let total = 0;
          let rejected = false;
          stream.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            total += chunk.length;
            if (maxContentLength > -1 && total > maxContentLength) {
              rejected = true;
              stream.destroy();
              const err = new AxiosError(`maxContentLength size of ${maxContentLength} exceeded`, AxiosError.ERR_BAD_RESPONSE, config, req);
              fail(err);
              req.destroy(err);
            }
          });
          stream.on('aborted', () => {
            if (rejected) return;
            const err = new AxiosError('stream has been aborted', AxiosError.ERR_BAD_RESPONSE, config, req, response);
            stream.destroy(err);
            fail(err);
          });
          stream.on('error', (err: Error) => {
            if (rejected) return;
            fail(AxiosError.from(err, undefined, config, req, response));
          });
          stream.on('end', () => {
            let text: string;
            try {
              text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
              // As axios: a UTF-8 byte order mark is not part of the text.
              if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
            } catch (err) {
              fail(AxiosError.from(err, undefined, config, req, response));
              return;
            }
            response.data = text;
            done(() => settle(resolve, reject, response, req));
          });
        },
      );

      req.on('error', (err: Error) => fail(AxiosError.from(err, undefined, config, req)));
      req.on('socket', (socket) => {
        // As the stock adapter: TCP keep-alive probes once a minute while the socket is in use.
        if (typeof socket.setKeepAlive === 'function') socket.setKeepAlive(true, SOCKET_KEEPALIVE_MS);
      });

      let timer: NodeJS.Timeout | undefined;
      const timeout = config.timeout ? Number.parseInt(String(config.timeout), 10) : 0;
      if (Number.isNaN(timeout)) {
        const err = new AxiosError('error trying to parse `config.timeout` to int', AxiosError.ERR_BAD_OPTION_VALUE, config, req);
        fail(err);
        req.destroy(err);
        return;
      }
      if (timeout > 0) {
        const onTimeout = () => {
          if (settled) return;
          const message = config.timeoutErrorMessage || `timeout of ${timeout}ms exceeded`;
          const code = transitional?.clarifyTimeoutError ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED;
          const err = new AxiosError(message, code, config, req);
          fail(err);
          req.destroy(err);
        };
        // As the stock adapter, whose wall-clock timer runs until the response head and whose socket
        // timeout (inactivity) after it: one timer does both, restarted by the head and by every
        // chunk. (Before the head, inactivity can never fire before the wall clock.)
        timer = setTimeout(onTimeout, timeout);
      } else {
        req.setTimeout(0);
      }
      if (typeof body === 'string') req.end(body, 'utf-8');
      else req.end(body);
    });
  };
}
