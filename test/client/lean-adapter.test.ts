/**
 * The lean axios adapter against axios's own http adapter: the same bytes on the wire, the same
 * answers, the same errors; anything outside its subset goes to the stock adapter.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import axios, { AxiosError, type AxiosAdapter, type AxiosHeaders, type AxiosResponse, type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';
import { createHttpStack, type HttpStack } from '../../src/client/http.js';
import { createLeanAdapter, leanEligible } from '../../src/client/lean-adapter.js';

interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
}

const JSON_BODY = '{"messages":[{"index":1,"mid":"m1","result":{"code":200}}]}';

function route(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const path = (req.url ?? '/').split('?')[0]!;
  const send = (status: number, payload: Buffer | string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-extra': 'yes', ...headers });
    res.end(payload);
  };
  const plain = Buffer.from(JSON_BODY);
  switch (path) {
    case '/json':
      return send(200, plain);
    case '/echo':
      return send(200, body);
    case '/partial':
      return send(207, plain, { 'retry-after': '3' });
    case '/error':
      return send(503, 'overloaded', { 'retry-after': 'Wed, 21 Oct 2099 07:28:00 GMT' });
    case '/empty':
      res.writeHead(204);
      return void res.end();
    case '/bom':
      return send(200, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), plain]));
    case '/gzip':
      return send(200, gzipSync(plain), { 'content-encoding': 'gzip' });
    case '/deflate':
      return send(200, deflateSync(plain), { 'content-encoding': 'deflate' });
    case '/rawdeflate':
      return send(200, deflateRawSync(plain), { 'content-encoding': 'deflate' });
    case '/br':
      return send(200, brotliCompressSync(plain), { 'content-encoding': 'BR' });
    case '/unknown-encoding':
      return send(200, plain, { 'content-encoding': 'identity' });
    case '/big':
      return send(200, Buffer.alloc(2 * 1024 * 1024, 0x61));
    case '/slow':
      return; // never answers
    case '/redirect':
      res.writeHead(302, { location: '/json' });
      return void res.end();
    default:
      return send(404, '{"error":"not found"}');
  }
}

let server: Server;
let base: string;
const seen: Seen[] = [];
let lean: HttpStack;
let stock: AxiosInstance;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body: body.toString('utf8') });
      route(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  lean = createHttpStack({ timeoutMs: 300 });
  // The same configuration, with axios's own http adapter.
  stock = axios.create({ ...lean.http.defaults, adapter: axios.getAdapter('http') } as Parameters<typeof axios.create>[0]);
});

afterAll(async () => {
  lean.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

type Post = (url: string, data: unknown, headers: Record<string, string>) => Promise<AxiosResponse<unknown>>;
const via = (client: AxiosInstance): Post => (url, data, headers) => client.post(url, data, { headers });
/** The stack's prepared POST (axios's configuration merged once). */
const prepared: Post = (url, data, headers) => lean.post(url, data as string, headers);

/** The parts of an answer a caller can see. */
async function outcome(post: Post, url: string, data: unknown, headers: Record<string, string>) {
  try {
    const res = await post(url, data, headers);
    return { status: res.status, statusText: res.statusText, headers: { ...(res.headers as AxiosHeaders).toJSON(), date: undefined }, data: res.data as unknown };
  } catch (err) {
    const e = err as AxiosError;
    return { error: { isAxiosError: axios.isAxiosError(e), code: e.code, message: e.message, status: e.response?.status } };
  }
}

const SEND_HEADERS = { Authorization: 'Bearer abc', 'Content-Type': 'application/json; charset=utf-8' };

describe('lean axios adapter', () => {
  it('puts the same request on the wire as axios’s http adapter', async () => {
    const cases: [string, unknown, Record<string, string>][] = [
      ['/v1/chats/c%201?mTok=t%2F1', '{"mType":"bot","text":"héllo ✓"}', SEND_HEADERS],
      ['/oauth/token', 'grant_type=client_credentials', { Authorization: 'Basic Y2xpZW50', 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' }],
      ['/json', '', SEND_HEADERS],
      ['/json', Buffer.from('bytes'), { 'content-type': 'application/octet-stream', 'user-agent': 'mine', 'X-Trim': '  spaced\t' }],
    ];
    for (const [path, data, headers] of cases) {
      seen.length = 0;
      await stock.post(`${base}${path}`, data, { headers });
      await lean.http.post(`${base}${path}`, data, { headers });
      if (typeof data === 'string') await lean.post(`${base}${path}`, data, headers);
      expect(seen.length).toBeGreaterThanOrEqual(2);
      for (const other of seen.slice(1)) expect(other).toEqual(seen[0]);
    }
  });

  it.each([
    ['/json'],
    ['/echo'],
    ['/partial'],
    ['/error'],
    ['/empty'],
    ['/bom'],
    ['/gzip'],
    ['/deflate'],
    ['/rawdeflate'],
    ['/br'],
    ['/unknown-encoding'],
    ['/redirect'],
    ['/missing'],
  ])('answers %s exactly as axios’s http adapter does', async (path) => {
    const a = await outcome(via(stock), `${base}${path}`, '{"x":1}', SEND_HEADERS);
    const b = await outcome(via(lean.http), `${base}${path}`, '{"x":1}', SEND_HEADERS);
    const c = await outcome(prepared, `${base}${path}`, '{"x":1}', SEND_HEADERS);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect('status' in b).toBe(true);
  });

  it('fails an answer over maxContentLength the same way', async () => {
    const a = await outcome(via(stock), `${base}/big`, '{}', SEND_HEADERS);
    const b = await outcome(via(lean.http), `${base}/big`, '{}', SEND_HEADERS);
    expect(b).toEqual(a);
    expect(await outcome(prepared, `${base}/big`, '{}', SEND_HEADERS)).toEqual(a);
    expect(b).toMatchObject({ error: { code: 'ERR_BAD_RESPONSE', message: 'maxContentLength size of 1048576 exceeded' } });
  });

  it('times out the same way (ETIMEDOUT, the same message)', async () => {
    const a = await outcome(via(stock), `${base}/slow`, '{}', SEND_HEADERS);
    const b = await outcome(via(lean.http), `${base}/slow`, '{}', SEND_HEADERS);
    expect(b).toEqual(a);
    expect(await outcome(prepared, `${base}/slow`, '{}', SEND_HEADERS)).toEqual(a);
    expect(b).toMatchObject({ error: { code: 'ETIMEDOUT', message: 'timeout of 300ms exceeded' } });
  });

  it('reports a refused connection the same way', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const a = await outcome(via(stock), `http://127.0.0.1:${port}/x`, '{}', SEND_HEADERS);
    const b = await outcome(via(lean.http), `http://127.0.0.1:${port}/x`, '{}', SEND_HEADERS);
    expect(b).toEqual(a);
    expect(await outcome(prepared, `http://127.0.0.1:${port}/x`, '{}', SEND_HEADERS)).toEqual(a);
    expect(b).toMatchObject({ error: { code: 'ECONNREFUSED' } });
  });

  it('hands every request outside its subset to the stock adapter', async () => {
    const config = (extra: Record<string, unknown>) =>
      ({ url: `${base}/json`, method: 'post', data: '{}', maxRedirects: 0, responseType: 'text', headers: {}, ...extra }) as unknown as InternalAxiosRequestConfig;
    expect(leanEligible(config({}))).toBe(true);
    expect(leanEligible(config({ signal: new AbortController().signal }))).toBe(false);
    expect(leanEligible(config({ proxy: { host: 'p', port: 1 } }))).toBe(false);
    expect(leanEligible(config({ proxy: false }))).toBe(false);
    expect(leanEligible(config({ data: { not: 'serialised' } }))).toBe(false);
    expect(leanEligible(config({ maxRedirects: 5 }))).toBe(false);
    expect(leanEligible(config({ responseType: 'json' }))).toBe(false);
    expect(leanEligible(config({ url: 'ftp://x/y' }))).toBe(false);
    expect(leanEligible(config({ baseURL: base, url: '/json' }))).toBe(false);
    expect(leanEligible(config({ socketPath: '/tmp/s' }))).toBe(false);
    for (const name of ['HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy']) {
      const before = process.env[name];
      process.env[name] = 'http://127.0.0.1:9';
      try {
        expect(leanEligible(config({}))).toBe(false);
      } finally {
        if (before === undefined) delete process.env[name];
        else process.env[name] = before;
      }
    }
    // An HTTPS proxy setting does not concern an http:// URL (as in proxy-from-env).
    process.env.HTTPS_PROXY = 'http://127.0.0.1:9';
    try {
      expect(leanEligible(config({}))).toBe(true);
    } finally {
      delete process.env.HTTPS_PROXY;
    }

    const calls: InternalAxiosRequestConfig[] = [];
    const fallback: AxiosAdapter = async (c) => {
      calls.push(c);
      return { data: 'from fallback', status: 299, statusText: 'X', headers: {}, config: c };
    };
    const client = axios.create({ ...lean.http.defaults, adapter: createLeanAdapter(fallback) } as Parameters<typeof axios.create>[0]);
    const viaLean = await client.post(`${base}/json`, '{}');
    expect(viaLean.data).toBe(JSON_BODY);
    const viaFallback = await client.post(`${base}/json`, '{}', { signal: new AbortController().signal });
    expect(viaFallback.data).toBe('from fallback');
    expect(calls).toHaveLength(1);
  });

  it('prepared POSTs go through axios.post whenever an interceptor is registered', async () => {
    const stack = createHttpStack({ timeoutMs: 1000 });
    try {
      const id = stack.http.interceptors.request.use((config) => {
        config.headers.set('X-Intercepted', 'yes');
        return config;
      });
      seen.length = 0;
      await stack.post(`${base}/json`, '{}', SEND_HEADERS);
      expect(seen[0]!.rawHeaders).toContain('X-Intercepted');
      stack.http.interceptors.request.eject(id);
      const rid = stack.http.interceptors.response.use((res) => ({ ...res, data: 'changed' }));
      expect((await stack.post(`${base}/json`, '{}', SEND_HEADERS)).data).toBe('changed');
      stack.http.interceptors.response.eject(rid);
      expect((await stack.post(`${base}/json`, '{}', SEND_HEADERS)).data).toBe(JSON_BODY);
    } finally {
      stack.close();
    }
  });

  it('prepared POSTs go through axios.post when a proxy is configured', async () => {
    // A proxy that is this very server: axios's own adapter sends it the absolute URL.
    process.env.HTTP_PROXY = base;
    try {
      seen.length = 0;
      await lean.post(`http://example.invalid/json`, '{}', SEND_HEADERS);
      // The proxy got the request for the absolute URL: axios's own adapter sent it.
      expect(seen[0]!.url).toBe('http://example.invalid/json');
    } finally {
      delete process.env.HTTP_PROXY;
    }
  });
});
