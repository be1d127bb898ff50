/**
 * Writing answers. {@link sendJson} is the hot path's; {@link refuseUnread} answers a request
 * refused before its body was read, in a way the sender can always read (see there).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { discardBody, DRAIN_BOUNDS, type DrainBounds } from './body.js';

function writeJsonHead(res: ServerResponse, status: number, text: string, headers: Record<string, string>): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
}

/** Writes a JSON answer the way the API asks: explicit charset and length, no ETag work. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  writeJsonHead(res, status, text, headers);
  res.end(text);
}

/** An error body: a stable machine code, a sentence for people, and the offending fields if any. */
export function sendError(
  res: ServerResponse,
  status: number,
  error: string,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { error, message, ...extra }, headers);
}

/**
 * Answers with an error body at once, then reads and drops the rest of the request body within
 * `bounds` before ending the response, which closes the connection (`Connection: close`).
 *
 * Why not simply answer and close: closing a socket that still has unread request bytes makes the
 * kernel reset the connection, and a sender still writing its body then gets EPIPE or ECONNRESET,
 * often before it has read the status. Past the bounds the connection is cut anyway, so a sender
 * that never stops cannot hold the socket. Resolves once the connection is dealt with.
 *
 * @example
 * await refuseUnread(req, res, 413, 'body_too_large', 'body exceeds the limit of 1048576 bytes');
 */
export async function refuseUnread(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  error: string,
  message: string,
  headers: Record<string, string> = {},
  bounds: Readonly<DrainBounds> = DRAIN_BOUNDS,
): Promise<void> {
  if (res.headersSent) return;
  const text = JSON.stringify({ error, message });
  writeJsonHead(res, status, text, { ...headers, connection: 'close' });
  if (req.complete || req.readableEnded) {
    res.end(text);
    return;
  }
  // The whole answer goes out now; only ending the response (which closes the socket) waits.
  res.write(text);
  const ended = await discardBody(req, bounds);
  res.end();
  if (!ended) req.socket.destroy();
}
