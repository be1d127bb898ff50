/**
 * The webhook for Express apps: mount it under any base path and it serves `POST <base>/v1/chats`,
 * `GET <base>/healthz` and `GET <base>/readyz`.
 *
 * It is an Express sub-application so that it learns, at mount time, what the host registered
 * before it: a global `express.json()` would eat the raw bytes the signature is computed over, so
 * mounting after one throws an error naming the fix instead of failing every callback later.
 */
import express, { type Express } from 'express';
import { createWebhookHandler, type WebhookOptions } from './handler.js';
import { answerHealth, answerReadiness, type ReadinessCheck } from './health.js';
import { Lifecycle } from './lifecycle.js';
import { sendError } from './respond.js';

export interface WebhookRouterOptions extends WebhookOptions {
  readiness?: ReadinessCheck;
}

export class WebhookMountError extends Error {
  readonly code = 'WEBHOOK_MOUNTED_AFTER_BODY_PARSER';
}

interface StackLayer {
  name?: string;
  /** Set by Express's router on layers mounted with `app.use(fn)` (no path): they see every request. */
  slash?: boolean;
  /** The path given to `app.use(path, fn)`. */
  rawPath?: unknown;
}

/** True when a middleware mounted at `layerPath` also sees requests under `mountPath`. */
function pathCovers(layerPath: unknown, mountPath: unknown): boolean {
  // Only a plain string on both sides can be compared; anything else is assumed to overlap.
  if (typeof layerPath !== 'string' || typeof mountPath !== 'string') return true;
  const base = layerPath.replace(/\/+$/, '');
  return base === '' || mountPath === base || mountPath.startsWith(`${base}/`);
}

function consumesWebhookRequests(layer: StackLayer, mountPath: unknown): boolean {
  if (layer.name === undefined || !CONSUMING_PARSERS.has(layer.name)) return false;
  return layer.slash === true || pathCovers(layer.rawPath, mountPath);
}

/** Body parsers that would consume `application/json` requests before the webhook sees them. */
const CONSUMING_PARSERS = new Set(['jsonParser']);

export function createWebhookRouter(options: WebhookRouterOptions): Express {
  const lifecycle = options.lifecycle ?? new Lifecycle();
  const handler = createWebhookHandler({ ...options, lifecycle });
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  app.on('mount', (parent: express.Application) => {
    const stack = (parent.router as unknown as { stack?: StackLayer[] }).stack ?? [];
    // A parser limited to other paths (`app.use('/api', express.json())`) is harmless.
    const parser = stack.find((layer) => consumesWebhookRequests(layer, app.mountpath));
    if (parser) {
      throw new WebhookMountError(
        'createWebhookRouter() was mounted after express.json(): the JSON parser would consume the raw body ' +
          'that BBM-Sig is computed over. Mount the webhook router before app.use(express.json()), ' +
          'or limit express.json() to your other routes.',
      );
    }
  });

  app.post('/v1/chats', (req, res) => handler(req, res));
  app.all('/v1/chats', (_req, res) => {
    sendError(res, 405, 'method_not_allowed', 'callbacks are POSTed to /v1/chats', {}, { allow: 'POST' });
  });
  app.get('/healthz', (_req, res) => answerHealth(res));
  app.get('/readyz', (_req, res) => answerReadiness(res, lifecycle, options.readiness));
  return app;
}
