/**
 * The webhook itself as a plain `(req, res)` function: it runs under `node:http` directly (our
 * server) or inside Express (the router). Order of checks: draining → BBM-Sig present and shaped
 * like a signature (before any body byte is read, so an unsigned client cannot make us buffer and
 * HMAC a body) → body (encoding, size) → signature over the exact bytes → JSON and schema →
 * dispatch → 200/207.
 *
 * Refusals made before the body is read (503, 401 on the header, 413, 415) answer at once, then
 * read and drop the rest of the body within bounds before closing, so the sender reads the status
 * instead of a reset connection (see refuseUnread).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type Logger } from 'pino';
import type { CallbackMessageResult } from '../protocol/inbound.js';
import { flatChild } from './log.js';
import { DRAIN_BOUNDS, readRawBody } from './body.js';
import { isRetryLater, type CallbackDispatcher } from './dispatcher.js';
import { Lifecycle } from './lifecycle.js';
import { mergeRejected, parseCallback } from './parse.js';
import { refuseUnread, sendError, sendJson } from './respond.js';
import { isWellFormedSignature, verifySignature } from './signature.js';

export interface WebhookOptions {
  /** Client Sig key(s); several are accepted at once while rotating. */
  keys: string | readonly string[];
  dispatcher: CallbackDispatcher;
  /** Largest accepted body in bytes. Default 1 MiB. */
  bodyLimit?: number;
  logger?: Logger;
  /** Shared with the server so shutdown can refuse new callbacks and wait for running ones. */
  lifecycle?: Lifecycle;
}

export type WebhookHandler = (req: IncomingMessage, res: ServerResponse) => void;

const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** How long BBM is asked to wait before sending again a callback with a message answered 503. */
const RETRY_AFTER_SECONDS = '5';

export function createWebhookHandler(options: WebhookOptions): WebhookHandler {
  const keys = typeof options.keys === 'string' ? [options.keys] : [...options.keys];
  if (keys.length === 0 || keys.some((k) => k.length === 0)) {
    throw new TypeError('createWebhookHandler: at least one non-empty Client Sig key is required');
  }
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const log = options.logger ?? pino({ enabled: false });
  const lifecycle = options.lifecycle ?? new Lifecycle();
  const { dispatcher } = options;
  // Refusals made before the body is read (no plausible signature, shutting down) drop at most a
  // body's worth: an unsigned client must not make the server read more than a signed one may send.
  const unreadBounds = { ...DRAIN_BOUNDS, maxBytes: Math.min(DRAIN_BOUNDS.maxBytes, limit) };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const receivedAt = Date.now();
    if (lifecycle.draining) {
      return refuseUnread(req, res, 503, 'shutting_down', 'the server is shutting down; retry later', { 'retry-after': '5' }, unreadBounds);
    }
    const signature = req.headers['bbm-sig'];
    if (typeof signature !== 'string') {
      return refuseUnread(req, res, 401, 'invalid_signature', 'the BBM-Sig header is missing', {}, unreadBounds);
    }
    if (!isWellFormedSignature(signature)) {
      return refuseUnread(req, res, 401, 'invalid_signature',
        'the BBM-Sig header is malformed: expected 44 characters of standard, padded base64', {}, unreadBounds);
    }
    const read = await readRawBody(req, limit);
    if (!read.ok) {
      switch (read.kind) {
        case 'too_large':
          return refuseUnread(req, res, 413, 'body_too_large', `body exceeds the limit of ${read.limit} bytes`);
        case 'unsupported_encoding':
          return refuseUnread(req, res, 415, 'unsupported_encoding',
            `Content-Encoding '${read.encoding}' is not supported; send the body uncompressed`);
        case 'consumed':
          log.error('webhook body was consumed by another middleware before the BBM webhook router');
          sendError(res, 500, 'raw_body_unavailable',
            'a body parser (such as express.json()) read the request before the BBM webhook router, so its signature cannot be checked; mount the router before body parsers');
          return;
        case 'aborted':
          res.destroy();
          return;
      }
    }
    const body = read.body;
    if (!verifySignature(body, signature, keys)) {
      sendError(res, 401, 'invalid_signature', 'BBM-Sig does not match the body under any configured key');
      return;
    }
    const parsed = parseCallback(body);
    if (!parsed.ok) {
      sendError(res, 400, parsed.error, parsed.message, parsed.issues ? { issues: parsed.issues } : {});
      return;
    }
    const callback = parsed.callback;
    // Loggers the dispatcher derives from this one (per message) are made from `log`: far cheaper.
    const callbackLog = flatChild(log, { chatId: callback.chatId });
    let handled: readonly CallbackMessageResult[];
    try {
      handled = await dispatcher.dispatch(callback, {
        log: callbackLog,
        receivedAt,
        // Work the dispatcher keeps running after the answer: shutdown waits for it too.
        track: (work) => void lifecycle.track(work),
      });
    } catch (err) {
      // The dispatcher cannot take the callback now (its chat's queue is full): BBM retries later.
      if (!isRetryLater(err)) throw err;
      callbackLog.warn({ reason: err.code }, 'callback refused for now: 503');
      sendError(res, 503, err.code.toLowerCase(), err.message, {}, { 'retry-after': String(err.retryAfterSeconds) });
      return;
    }
    // Messages refused one by one (the spec's per-message 400) go back where they stood.
    const results = mergeRejected(handled, parsed.rejected);
    const status = messagesStatus(results);
    // While shutting down, close the connection after this answer so the server can stop promptly.
    const headers: Record<string, string> = lifecycle.draining ? { connection: 'close' } : {};
    // A message answered 503 (not handled in time, the bot unable for now) is sent again by BBM.
    if (status === 207 && results.some((r) => r.result.code === 503)) headers['retry-after'] = RETRY_AFTER_SECONDS;
    sendJson(res, status, results.length === 0 ? {} : { messages: results }, headers);
    callbackLog.info(
      {
        messages: callback.messages?.length ?? 0,
        actions: callback.actions?.length ?? 0,
        status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      },
      'callback',
    );
  }

  return function bbmWebhook(req, res) {
    lifecycle
      .track(handle(req, res))
      .catch((err: unknown) => {
        log.error({ err }, 'webhook failed unexpectedly');
        sendError(res, 500, 'internal_error', 'the callback could not be handled; BBM will retry');
      });
  };
}

/** 200 when every message was handled, 207 when at least one was not. */
export function messagesStatus(results: readonly CallbackMessageResult[]): 200 | 207 {
  for (const r of results) if (r.result.code !== 200) return 207;
  return 200;
}
