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
      stop();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) {
        // Stop buffering; the refusal then discards the rest within bounds (see discardBody).
        req.pause();
        finish({ ok: false, kind: 'too_large', limit });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish({ ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received) });
    const onAbort = () => finish({ ok: false, kind: 'aborted' });
    const stop = followBody(req, onData, onEnd, onAbort);
  });
}

/** Listens for a body's chunks, its end and its failure; returns the function that stops listening. */
function followBody(req: IncomingMessage, onData: (chunk: Buffer) => void, onEnd: () => void, onFail: () => void): () => void {
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onFail);
  req.on('aborted', onFail);
  return () => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onFail);
    req.off('aborted', onFail);
  };
}

/** How much of a refused body is read and thrown away before the connection is cut instead. */
export interface DrainBounds {
  /** Bytes read after the refusal. */
  maxBytes: number;
  /** Milliseconds waited after the refusal. */
  maxMs: number;
}

/** Enough for a sender a few MiB over the limit to finish writing; short enough to cost little. */
export const DRAIN_BOUNDS: Readonly<DrainBounds> = { maxBytes: 4 * 1024 * 1024, maxMs: 2_000 };

/**
 * Reads the rest of a request body and drops it. Resolves true when the body ended within
 * `bounds`, false when it went past them or the client went away: the caller then cuts the
 * connection. Closing a socket with unread bytes makes the kernel reset it, and a sender still
 * writing gets EPIPE/ECONNRESET, often before it has read the answer already sent.
 *
 * @example
 * if (!(await discardBody(req))) req.socket.destroy();
 */
export function discardBody(req: IncomingMessage, bounds: Readonly<DrainBounds> = DRAIN_BOUNDS): Promise<boolean> {
  if (req.complete || req.readableEnded) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    let seen = 0;
    const finish = (ended: boolean) => {
      clearTimeout(timer);
      stop();
      resolve(ended);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > bounds.maxBytes) finish(false);
    };
    const timer = setTimeout(() => finish(false), bounds.maxMs);
    const stop = followBody(req, onData, () => finish(true), () => finish(false));
    req.resume();
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
