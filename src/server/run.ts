/**
 * Wiring: configuration → logger, store, Chat API client, bot → server, and a shutdown that
 * stops accepting, finishes in-flight callbacks and the sends they started, and exits 0.
 */
import type { Logger } from 'pino';
import type { Bot, Sender } from '../bot/bot.js';
import { ChatClient } from '../client/index.js';
import { BbmError } from '../protocol/errors.js';
import { MemoryStore } from '../state/memory.js';
import type { StateStore } from '../state/store.js';
import { loadConfig, type AppConfig } from './config.js';
import { startServer, type RunningServer } from './http-server.js';
import { loadBot } from './load-bot.js';
import { createLogger } from './logger.js';

export interface BotServer<S = unknown> extends RunningServer {
  config: AppConfig;
  bot: Bot<S>;
  logger: Logger;
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
  const store = options.store ?? new MemoryStore();
  const client = config.credentials
    ? new ChatClient({
        apiUrl: config.apiUrl,
        tokenUrl: config.credentials.tokenUrl,
        clientCredentials: config.credentials.clientCredentials,
        botName: config.botName ?? bot.options.name,
        store,
        logger: logger.child({ component: 'chat-client' }),
      })
    : undefined;
  if (!client) logger.warn('BBM_CLIENT_CREDENTIALS and BBM_TOKEN_URL are not set: the bot can receive but not send');

  bot.init({
    sender: client ?? new NoCredentialsSender(),
    store,
    logger,
    deliveryNotifications: config.deliveryNotifications,
    ...(config.botName ? { botName: config.botName } : {}),
  });

  const server = await startServer({
    port: config.port,
    host: config.host,
    sigKeys: config.sigKeys,
    dispatcher: bot,
    logger,
    bodyLimit: config.webhookBodyLimit,
    tls: config.tls,
  });

  let stopping: Promise<boolean> | undefined;
  const shutdown = (): Promise<boolean> => {
    stopping ??= (async () => {
      const started = Date.now();
      const closed = await server.close(config.shutdownTimeoutMs);
      // Delivery and typing turns the bot started itself are not callbacks: wait for them too.
      const idle = await bot.idle(Math.max(0, config.shutdownTimeoutMs - (Date.now() - started)));
      bot.close();
      const finished = closed && idle;
      if (!finished) logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out with work still running');
      await client?.close();
      await store.close();
      return finished;
    })();
    return stopping;
  };

  return { ...server, config, bot, logger, shutdown };
}

/** The `npm start` entry: everything from the environment, signals handled. */
export async function runFromEnvironment(): Promise<BotServer> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const bot = await loadBot(config.bot);
  const running = await startBotServer({ config, bot, logger });
  logger.info(
    { url: `${running.url}/v1/chats`, bot: config.bot, https: config.tls !== undefined, sending: config.credentials !== undefined },
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
