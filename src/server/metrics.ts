/**
 * Prometheus metrics for one bot process: callbacks answered and how long they took, Chat API
 * requests and their results, retries, token refreshes, redelivered messages and the outbound
 * queue depth, plus prom-client's process metrics. Kept in a registry of their own (not
 * prom-client's global one), so a host app's metrics and several servers in one process (tests)
 * never collide. Labels are status codes only: a bounded set whatever the traffic.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Sender } from '../bot/bot.js';
import type { SendAttemptEvent } from '../client/chat-client.js';
import { ChatApiError } from '../client/errors.js';
import type { SendResult } from '../client/send-result.js';
import type { TokenFetchEvent } from '../client/token-provider.js';
import { sendError } from '../webhook/respond.js';
import { listen } from './listen.js';

/** Where the outbound queue depth comes from, read at every scrape. */
export type QueueDepthSource = () => Promise<number> | number;

/** The part of the metrics a bot reports into (given to it at init). */
export interface BotMetrics {
  /** A message arrived again that an earlier delivery already claimed or handled (dedupe hit). */
  redeliveryHit(): void;
  /** Sets (or, with undefined, clears) the function read for `bbm_outbound_queue_depth`. */
  setQueueDepthSource(source: QueueDepthSource | undefined): void;
}

export interface MetricsOptions {
  /** Adds prom-client's process and Node.js metrics (CPU, memory, event loop, GC). Default true. */
  defaultMetrics?: boolean;
  /** Where failures to read the queue depth are logged. */
  logger?: Logger;
}

export const METRICS_PATH = '/metrics';
/** The same test the server uses to route callbacks. */
const WEBHOOK_SUFFIX = '/v1/chats';

/** BBM waits a few seconds for a callback's answer (the bot's deadline is 4 s by default). */
const CALLBACK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8];

/** A status code as a label: whole numbers 0–999 (0 = no HTTP answer), anything else "other". */
function codeLabel(code: number): string {
  return Number.isInteger(code) && code >= 0 && code < 1000 ? String(code) : 'other';
}

function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

type LabelledCounter = Counter<'status'> | Counter<'code'> | Counter<'result'>;
type CounterChild = ReturnType<Counter['labels']>;

/**
 * Label lookups hash their labels on every call; the hot paths (a callback, a send) use the
 * per-code child, looked up once per code. Bounded by codeLabel's range.
 */
class ChildCache {
  private readonly children = new Map<string, CounterChild>();
  constructor(private readonly counter: LabelledCounter) {}

  inc(label: string, by = 1): void {
    let child = this.children.get(label);
    if (child === undefined) {
      child = this.counter.labels(label);
      this.children.set(label, child);
    }
    child.inc(by);
  }
}

export class Metrics implements BotMetrics {
  readonly registry = new Registry();
  private readonly logger: Logger | undefined;
  private queueDepthSource: QueueDepthSource | undefined;

  private readonly callbacks: ChildCache;
  private readonly callbackDuration: Histogram;
  private readonly sends: ChildCache;
  private readonly sentMessages: ChildCache;
  private readonly sendRetries: Counter;
  private readonly tokenRefreshes: ChildCache;
  private readonly redeliveries: Counter;

  constructor(options: MetricsOptions = {}) {
    this.logger = options.logger;
    const registers = [this.registry];
    this.callbacks = new ChildCache(
      new Counter({
        name: 'bbm_callbacks_total',
        help: 'Callbacks answered, by HTTP status (0: the caller went away before an answer).',
        labelNames: ['status'] as const,
        registers,
      }),
    );
    this.callbackDuration = new Histogram({
      name: 'bbm_callback_duration_seconds',
      help: 'Time from a callback request arriving to its answer being sent.',
      buckets: CALLBACK_BUCKETS,
      registers,
    });
    this.sends = new ChildCache(
      new Counter({
        name: 'bbm_sends_total',
        help: 'HTTP requests to the Chat API, by response status (0: no answer: timeout or connection error).',
        labelNames: ['code'] as const,
        registers,
      }),
    );
    this.sentMessages = new ChildCache(
      new Counter({
        name: 'bbm_sent_messages_total',
        help: 'Outbound messages by final per-message result code (200 delivered, 202 accepted, 0 unknown...).',
        labelNames: ['code'] as const,
        registers,
      }),
    );
    this.sendRetries = new Counter({
      name: 'bbm_send_retries_total',
      help: 'Chat API requests that repeated an earlier one (retry after an error, 429/5xx, or a 401 token refresh).',
      registers,
    });
    this.tokenRefreshes = new ChildCache(
      new Counter({
        name: 'bbm_token_refreshes_total',
        help: 'Requests to the token service, by result (ok or error).',
        labelNames: ['result'] as const,
        registers,
      }),
    );
    this.redeliveries = new Counter({
      name: 'bbm_redeliveries_total',
      help: 'Messages BBM delivered again that were already claimed or handled (answered without running handlers).',
      registers,
    });
    const readQueueDepth = () => this.readQueueDepth();
    new Gauge({
      name: 'bbm_outbound_queue_depth',
      help: 'Replies in the durable outbound queue not yet accepted by the Chat API.',
      registers,
      // Read at scrape time: nothing runs between scrapes.
      async collect() {
        const depth = await readQueueDepth();
        if (depth !== undefined) this.set(depth);
      },
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** A callback was answered with `status` (0: no answer was sent) after `durationMs`. */
  callbackAnswered(status: number, durationMs: number): void {
    this.callbacks.inc(codeLabel(status));
    this.callbackDuration.observe(durationMs / 1000);
  }

  /** ChatClient's `onSend`: one HTTP request to the Chat API. */
  readonly sendAttempt = (event: SendAttemptEvent): void => {
    this.sends.inc(codeLabel(event.status));
    if (event.attempt > 1) this.sendRetries.inc();
  };

  /** The per-message outcome of a send (what the Chat API answered for each message). */
  sendResult(result: SendResult): void {
    for (const m of result.messages) this.sentMessages.inc(codeLabel(m.code));
  }

  /** ChatClient's `onTokenFetch`: one request to the token service. */
  readonly tokenFetched = (event: TokenFetchEvent): void => {
    this.tokenRefreshes.inc(event.ok ? 'ok' : 'error');
  };

  redeliveryHit(): void {
    this.redeliveries.inc();
  }

  setQueueDepthSource(source: QueueDepthSource | undefined): void {
    this.queueDepthSource = source;
  }

  private async readQueueDepth(): Promise<number | undefined> {
    if (!this.queueDepthSource) return 0;
    try {
      const depth = await this.queueDepthSource();
      return Number.isFinite(depth) ? depth : undefined;
    } catch (err) {
      // One failing source (Redis away) must not fail the whole scrape: keep the last value.
      this.logger?.warn({ err: { message: (err as { message?: unknown } | null)?.message } }, 'metrics: queue depth unavailable');
      return undefined;
    }
  }

  /**
   * A Sender that counts the per-message results of every send (including the partial result a
   * failed send carries) and otherwise passes everything through.
   */
  instrumentSender(sender: Sender): Sender {
    return {
      send: async (request, options) => {
        try {
          const result = await sender.send(request, options);
          this.sendResult(result);
          return result;
        } catch (err) {
          if (err instanceof ChatApiError && err.result) this.sendResult(err.result);
          throw err;
        }
      },
      closeChat: (chatId, mTok) => sender.closeChat(chatId, mTok),
    };
  }

  /**
   * Counts and times every callback the server answers, whatever the answer (401, 413, 503...),
   * from the request arriving to the response closing. Listens to the server's requests rather than
   * sitting in the webhook, so the webhook's hot path is unchanged. Returns a function that stops it.
   */
  observeCallbacks(server: Server): () => void {
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      if (req.method !== 'POST' || !pathOf(req.url).endsWith(WEBHOOK_SUFFIX)) return;
      const started = performance.now();
      res.once('close', () => this.callbackAnswered(res.headersSent ? res.statusCode : 0, performance.now() - started));
    };
    server.on('request', onRequest);
    return () => server.off('request', onRequest);
  }

  /** The exposition text, in Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * `GET /metrics` as a route for the server's `extraRoutes`: true when it answered. Other methods
   * on /metrics get 405.
   */
  readonly route = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (pathOf(req.url) !== METRICS_PATH) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, 'method_not_allowed', 'metrics are read with GET /metrics', {}, { allow: 'GET, HEAD' });
      return true;
    }
    this.render().then(
      (text) => {
        if (res.headersSent) return;
        res.writeHead(200, {
          'content-type': this.registry.contentType,
          'content-length': Buffer.byteLength(text),
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        this.logger?.error({ err }, 'metrics: collecting failed');
        sendError(res, 500, 'metrics_failed', 'the metrics could not be collected');
      },
    );
    return true;
  };
}

export interface MetricsServer {
  server: Server;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves only `GET /metrics`, on a port of its own (METRICS_PORT): for scrapers kept off the public port. */
export async function startMetricsServer(options: {
  metrics: Metrics;
  port: number;
  host: string;
}): Promise<MetricsServer> {
  const server = createServer({ headersTimeout: 10_000, requestTimeout: 15_000 }, (req, res) => {
    if (options.metrics.route(req, res)) return;
    sendError(res, 404, 'not_found', `only ${METRICS_PATH} is served on this port`);
  });
  const { port, shownHost } = await listen(server, options.port, options.host);
  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://${shownHost}:${port}`,
    port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection would otherwise hold the close open.
        server.closeAllConnections();
      })),
  };
}
