/** Small HTTP helpers shared by the emulator's endpoints: bounded body reads and JSON answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './errors.js';

/** Reads the request body, at most `limit` bytes; larger bodies are refused with 413. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      // Drain nothing: the connection is closed after the answer.
      reject(new HttpError(413, 'body_too_large', `body exceeds the limit of ${limit} bytes`, { headers: { connection: 'close' } }));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new HttpError(413, 'body_too_large', `body exceeds the limit of ${limit} bytes`, { headers: { connection: 'close' } }));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!failed) reject(err);
    });
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendHttpError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, err.toBody(), { ...err.headers });
}

/** Parses a JSON body; an empty body counts as `{}` when `emptyAsObject` (bodiless API actions). */
export function parseJson(raw: Buffer, emptyAsObject = false): unknown {
  const text = raw.toString('utf8');
  if (text.trim() === '' && emptyAsObject) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid JSON');
  }
}

/** Lower-cased, single-valued view of a header map. */
export function flatHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

export const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
