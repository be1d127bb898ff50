/**
 * Wiring: configuration → logger, store, Chat API client, bot → server, and a shutdown that
 * stops accepting, finishes in-flight callbacks and the sends they started, and exits 0.
 */
import type { Logger } from 'pino';
import type { Bot, BotRuntime, Sender } from '../bot/bot.js';
import { ChatClient } from '../client/index.js';
import { BbmError } from '../protocol/errors.js';
import { MemoryStore } from '../state/memory.js';
import { RedisStore } from '../state/redis.js';
import { devStoreFromEnvironment } from '../state/remote.js';
import type { StateStore } from '../state/store.js';
import { loadConfig, type AppConfig } from './config.js';
import { LARGE_HEAP_BYTES, startHeapPolicy } from './heap.js';
import { startServer, type RunningServer } from './http-server.js';
import { loadBot } from './load-bot.js';
import { createLogger } from './logger.js';
import { Metrics, startMetricsServer, type MetricsServer } from './metrics.js';

export interface BotServer<S = unknown> extends RunningServer {
  config: AppConfig;
  bot: Bot<S>;
  logger: Logger;
  /** The state store in use: the one passed in, a RedisStore (REDIS_URL or REDIS_CLUSTER_NODES), or a MemoryStore. */
  store: StateStore;
  /** The process's metrics; undefined with METRICS=off. */
  metrics: Metrics | undefined;
  /** Where GET /metrics answers (on the main port, or on METRICS_PORT); undefined with METRICS=off. */
  metricsUrl: string | undefined;
  /** Graceful stop: waits for in-flight work up to SHUTDOWN_TIMEOUT_MS, then releases everything. */
  shutdown(): Promise<boolean>;
}

/** Refuses every send, with the reason: a bot that only receives still runs without credentials. */
class NoCredentialsSender implements Sender {
  async send(): Promise<never> {
    throw new BbmError(
      'SEND_NOT_CONFIGURED',
      'cannot send: set BBM_CLIENT_CREDENTIALS and BBM_TOKEN_URL to the values BBM provisioned',
      { field: 'BBM_CLIENT_CREDENTIALS' },
    );
  }
  async closeChat(): Promise<void> {}
}

export interface StartBotServerOptions<S> {
  config: AppConfig;
  bot: Bot<S>;
  logger?: Logger;
  store?: StateStore;
}

export async function startBotServer<S>(options: StartBotServerOptions<S>): Promise<BotServer<S>> {
  const { config, bot } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  // Redis first: a REDIS_URL or REDIS_CLUSTER_NODES that does not answer stops startup
  // (RedisConnectError naming it) before anything listens, instead of failing every callback later.
  const redisOptions = { prefix: config.redisPrefix, logger: logger.child({ component: 'redis' }) };
  const redis =
    options.store !== undefined
      ? undefined
      : config.redisClusterNodes !== undefined
        ? await RedisStore.connectCluster(config.redisClusterNodes, redisOptions)
        : config.redisUrl !== undefined
          ? await RedisStore.connect(config.redisUrl, redisOptions)
          : undefined;
  const store = options.store ?? redis ?? new MemoryStore();
  const metrics = config.metrics ? new Metrics({ logger: logger.child({ component: 'metrics' }) }) : undefined;
  const client = config.credentials
    ? new ChatClient({
        apiUrl: config.apiUrl,
        tokenUrl: config.credentials.tokenUrl,
        clientCredentials: config.credentials.clientCredentials,
        botName: config.botName ?? bot.options.name,
        store,
        logger: logger.child({ component: 'chat-client' }),
        onSend: metrics?.sendAttempt,
        onTokenFetch: metrics?.tokenFetched,
      })
    : undefined;
  if (!client) logger.warn('BBM_CLIENT_CREDENTIALS and BBM_TOKEN_URL are not set: the bot can receive but not send');

  const runtime: BotRuntime = {
    sender: client ? (metrics?.instrumentSender(client) ?? client) : new NoCredentialsSender(),
    store,
    logger,
    deliveryNotifications: config.deliveryNotifications,
    errorDetail: config.errorDetail,
    handlerTimeoutMs: config.handlerTimeoutMs,
    maxChatQueue: config.maxChatQueue,
    // A store other instances can see: order callbacks per chat and queue replies across instances.
    shared: store instanceof RedisStore,
    ...(metrics ? { metrics } : {}),
    ...(config.botName ? { botName: config.botName } : {}),
  };
  bot.init(runtime);
  metrics?.setQueueDepthSource(() => bot.queueDepth());

  let server: RunningServer;
  let metricsServer: MetricsServer | undefined;
  try {
    server = await startServer({
      port: config.port,
      host: config.host,
      sigKeys: config.sigKeys,
      dispatcher: bot,
      logger,
      bodyLimit: config.webhookBodyLimit,
      tls: config.tls,
      ...(redis ? { readiness: () => redis.readiness() } : {}),
      // On the main port unless METRICS_PORT moves it; not behind the webhook signature either way.
      ...(metrics && config.metricsPort === undefined ? { extraRoutes: metrics.route } : {}),
    });
  } catch (err) {
    await bot.close();
    await client?.close();
    await redis?.close();
    throw err;
  }
  metrics?.observeCallbacks(server.server);
  if (metrics && config.metricsPort !== undefined) {
    try {
      metricsServer = await startMetricsServer({ metrics, port: config.metricsPort, host: config.host });
    } catch (err) {
      await server.close(0);
      await bot.close();
      await client?.close();
      await redis?.close();
      throw err;
    }
  }
  const metricsUrl = metrics ? `${metricsServer?.url ?? server.url}/metrics` : undefined;

  let stopping: Promise<boolean> | undefined;
  const shutdown = (): Promise<boolean> => {
    stopping ??= (async () => {
      const started = Date.now();
      const closed = await server.close(config.shutdownTimeoutMs);
      // Delivery and typing turns the bot started itself are not callbacks: wait for them too.
      const idle = await bot.idle(Math.max(0, config.shutdownTimeoutMs - (Date.now() - started)));
      // Before the client and the store: a reply on the wire is acknowledged in the shared outbox,
      // or another instance would send it again.
      await bot.close();
      const finished = closed && idle;
      if (!finished) logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out with work still running');
      await client?.close();
      await store.close();
      // Last: scrapes keep working while the bot drains.
      await metricsServer?.close();
      return finished;
    })();
    return stopping;
  };

  return { ...server, config, bot, logger, store, metrics, metricsUrl, shutdown };
}

/** The `npm start` entry: everything from the environment, signals handled. */
export async function runFromEnvironment(): Promise<BotServer> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const heap = startHeapPolicy(config.heapGrowingPercent);
  const bot = await loadBot(config.bot);
  // Under `npm run dev` without Redis: the runner's store, which outlives this process's reloads.
  const devStore = config.redisUrl === undefined && config.redisClusterNodes === undefined ? devStoreFromEnvironment(process.env) : undefined;
  const running = await startBotServer({ config, bot, logger, ...(devStore ? { store: devStore } : {}) });
  logger.info(
    {
      url: `${running.url}/v1/chats`,
      bot: config.bot,
      https: config.tls !== undefined,
      sending: config.credentials !== undefined,
      state: running.store instanceof RedisStore ? (config.redisClusterNodes ? 'redis cluster' : 'redis') : devStore ? 'npm run dev (survives reloads)' : 'memory',
      metrics: running.metricsUrl,
      heapGrowingPercent: heap.percent === undefined ? 'v8 default' : `${heap.percent} once the old generation holds ${LARGE_HEAP_BYTES / 1024 / 1024} MB`,
    },
    'BBM bot listening',
  );
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    running.shutdown().then(
      (finished) => process.exit(finished ? 0 : 1),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return running;
}
