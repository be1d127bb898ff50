import type { IncomingMessage } from 'node:http';

/** Why a body could not be read; the handler maps each to a status code. */
export type BodyFailure =
  | { kind: 'too_large'; limit: number }
  | { kind: 'unsupported_encoding'; encoding: string }
  | { kind: 'aborted' }
  | { kind: 'consumed' };

export type BodyResult = { ok: true; body: Buffer } | ({ ok: false } & BodyFailure);

interface HostRequest extends IncomingMessage {
  /** Set by hosts that keep the raw bytes (`express.raw()`, or a `verify` hook that stores them). */
  rawBody?: unknown;
  body?: unknown;
}

/**
 * Reads the exact bytes of a request body, at most `limit` of them. Uses bytes a host middleware
 * already captured (`express.raw()` puts a Buffer in `req.body`; many apps store `req.rawBody`);
 * reports `consumed` when a parser ate the stream and kept no bytes, since no signature can then be
 * checked.
 */
export function readRawBody(req: HostRequest, limit: number): Promise<BodyResult> {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    return Promise.resolve({ ok: false, kind: 'unsupported_encoding', encoding });
  }
  if (Buffer.isBuffer(req.rawBody)) return Promise.resolve(checkSize(req.rawBody, limit));
  if (Buffer.isBuffer(req.body)) return Promise.resolve(checkSize(req.body, limit));
  if (req.readableEnded || (req.complete && req.body !== undefined)) {
    return Promise.resolve({ ok: false, kind: 'consumed' });
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.resolve({ ok: false, kind: 'too_large', limit });
  }

  return new Promise<BodyResult>((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('aborted', onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) {
        // Stop buffering; the response closes the connection so the rest is never read.
        req.pause();
        finish({ ok: false, kind: 'too_large', limit });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish({ ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received) });
    const onAbort = () => finish({ ok: false, kind: 'aborted' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('aborted', onAbort);
  });
}

function checkSize(body: Buffer, limit: number): BodyResult {
  return body.length > limit ? { ok: false, kind: 'too_large', limit } : { ok: true, body };
}

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `1mb`, `512kb`, `2048` → bytes; undefined when the text is not a size. */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(text);
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}
