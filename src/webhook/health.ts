import type { ServerResponse } from 'node:http';
import type { Lifecycle } from './lifecycle.js';
import { sendJson } from './respond.js';

/** Why the service is not ready, or undefined when it is. */
export type ReadinessCheck = () => string | undefined;

/** `GET /healthz`: the process is alive and answering. */
export function answerHealth(res: ServerResponse): void {
  sendJson(res, 200, { status: 'ok' });
}

/** `GET /readyz`: configured and not shutting down; 503 with the reason otherwise. */
export function answerReadiness(res: ServerResponse, lifecycle: Lifecycle, check?: ReadinessCheck): void {
  const reason = lifecycle.draining ? 'shutting down' : check?.();
  if (reason === undefined) sendJson(res, 200, { status: 'ready' });
  else sendJson(res, 503, { status: 'not_ready', reason });
}
