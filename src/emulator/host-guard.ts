/**
 * Which requests the emulator answers at all, checked once in front of every route.
 *
 * Binding to 127.0.0.1 keeps other machines out, but not other web sites: under DNS rebinding a
 * page on `attacker.example` gets its name re-pointed at 127.0.0.1 and then talks to the emulator
 * as a same-origin page would, with `Host` (and `Origin`) saying `attacker.example`. Checking that
 * `Origin` equals `Host` proves nothing then; checking both against the names the emulator itself
 * is served under does. The rule:
 *
 * - `Host` must be `127.0.0.1`, `localhost` or `[::1]`, or the host the emulator was told to
 *   listen on, each with the emulator's port (bare only on port 80, which is what browsers send
 *   there). Anything else is a 403 on every route: page, files, UI API, SSE, tokens, Chat API.
 * - On the UI API (`/api/…`), a request that may change state (anything but GET and HEAD) must
 *   carry an `Origin` that is one of those hosts over http; browsers send it on such requests,
 *   so the web chat's own calls pass and a page elsewhere cannot forge it. A read may omit
 *   `Origin` (same-origin GETs and EventSource send none) but must not carry a foreign one.
 * - The token service and the Chat API get the `Host` check only: bots call them from a server,
 *   without an `Origin`, and their credentials already stand between them and a web page.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './errors.js';

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'] as const;
/** Addresses that mean "every interface": not a name any client uses, so never allowed as a Host. */
const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);
const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * The `Host` values (lower case) the emulator answers to when listening on `bindHost:port`.
 *
 * @example
 * allowedHosts('127.0.0.1', 3978); // Set { '127.0.0.1:3978', 'localhost:3978', '[::1]:3978' }
 */
export function allowedHosts(bindHost: string, port: number): ReadonlySet<string> {
  const names = new Set<string>(LOOPBACK_NAMES);
  const own = bindHost.trim().toLowerCase();
  if (!WILDCARDS.has(own)) names.add(own.includes(':') && !own.startsWith('[') ? `[${own}]` : own);
  const out = new Set<string>();
  for (const name of names) out.add(`${name}:${port}`);
  // Browsers (and curl) leave the default port out of Host and Origin.
  if (port === 80) for (const name of names) out.add(name);
  return out;
}

/** The guard for one emulator; the port is read lazily because it is known only after listening. */
export class HostGuard {
  private hosts: ReadonlySet<string> | undefined;
  private origins: ReadonlySet<string> | undefined;
  private forPort = -1;

  constructor(
    private readonly bindHost: string,
    private readonly port: () => number,
  ) {}

  /**
   * Throws a 403 {@link HttpError} (`forbidden_host` or `forbidden_origin`) when the request must
   * not be answered; returns quietly otherwise.
   *
   * @example
   * const guard = new HostGuard('127.0.0.1', () => 3978);
   * guard.check(req, '/api/faults'); // throws unless Host and Origin name this emulator
   */
  check(req: Pick<IncomingMessage, 'method' | 'headers'>, path: string): void {
    this.refresh();
    const host = req.headers.host?.toLowerCase();
    if (host === undefined || !this.hosts!.has(host)) {
      throw new HttpError(
        403,
        'forbidden_host',
        `the Host header must name this emulator (${[...this.hosts!].join(', ')}); other names are refused so web pages cannot reach it through DNS rebinding`,
        { headers: { connection: 'close' } },
      );
    }
    if (!path.startsWith('/api/')) return;
    const origin = req.headers.origin?.toLowerCase();
    const changes = !SAFE_METHODS.has(req.method ?? 'GET');
    if ((origin === undefined && changes) || (origin !== undefined && !this.origins!.has(origin))) {
      throw new HttpError(
        403,
        'forbidden_origin',
        changes
          ? 'state-changing calls must come from the emulator page: send an Origin header naming this emulator (e.g. http://127.0.0.1:<port>)'
          : 'requests from other origins are refused',
        { headers: { connection: 'close' } },
      );
    }
  }

  private refresh(): void {
    const port = this.port();
    if (port === this.forPort) return;
    this.forPort = port;
    this.hosts = allowedHosts(this.bindHost, port);
    this.origins = new Set([...this.hosts].map((h) => `http://${h}`));
  }
}
