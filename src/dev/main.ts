/**
 * `npm run dev`: the BBM emulator and the bot's state store in this process, the bot in a child
 * process that tsx reloads on every save (./bot-process.ts). Both the emulator and the store live
 * here, outside the reloads, so the chats in the browser and the bot's sessions, chat records and
 * delivery records survive an edit. With REDIS_URL or REDIS_CLUSTER_NODES set, the bot keeps its
 * state in Redis instead, as `npm start` would. Nothing else to configure: client credentials and
 * the sig key are generated for the session and handed to the bot through its usual variables.
 *
 * Settings (environment or .env): BOT (default echo), PORT for the bot (3000), EMULATOR_PORT (3978),
 * BBM_DELIVERY_NOTIFICATIONS (off), LOG_LEVEL, REDIS_URL / REDIS_CLUSTER_NODES.
 */
import { randomBytes } from 'node:crypto';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { BbmError } from '../protocol/errors.js';
import { PROJECT_ROOT } from '../server/config.js';
import { availableBots, loadBot } from '../server/load-bot.js';
import { MemoryStore } from '../state/memory.js';
import { redactRedisUrl } from '../state/redis.js';
import { startBotProcess, waitHealthy } from './bot-process.js';
import { devDialogReader } from './dialog-reader.js';
import { fail, HOST, port, portIsFree, settingsFrom, type Setting } from './settings.js';
import { serveStore, type StoreServer } from './store-server.js';

/** Where the bot's state lives, for the banner; the store served here when it is ours. */
async function stateStore(setting: Setting): Promise<{ label: string; served?: StoreServer; store?: MemoryStore }> {
  const redisUrl = setting('REDIS_URL');
  if (redisUrl !== undefined) return { label: `Redis at ${redactRedisUrl(redisUrl)} (REDIS_URL): kept across reloads and restarts` };
  const cluster = setting('REDIS_CLUSTER_NODES');
  if (cluster !== undefined) return { label: `Redis Cluster ${cluster} (REDIS_CLUSTER_NODES): kept across reloads and restarts` };
  const store = new MemoryStore();
  const served = await serveStore(store, HOST);
  return { label: 'in memory, in this process: sessions and chats survive a reload, not Ctrl-C (REDIS_URL=… to keep them)', served, store };
}

/**
 * The bot's own name (createBot's `name`), so the web chat shows it before the bot's first send.
 * The bot module is imported here once for that; a module that does not load yet (a syntax error
 * being fixed) leaves the name to be learned from the bot's first send, as before.
 */
async function configuredBotName(bot: string): Promise<string | undefined> {
  try {
    return (await loadBot(bot)).options.name;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const setting = settingsFrom(process.env);
  const bot = setting('BOT') ?? 'echo';
  const bots = availableBots();
  if (!bots.includes(bot)) fail(`BOT=${bot} names no bot: there is no bots/${bot}/index.ts (available: ${bots.join(', ') || 'none'})`);
  const botPort = port(setting('PORT'), 3000, 'PORT');
  const emulatorPort = port(setting('EMULATOR_PORT'), 3978, 'EMULATOR_PORT');
  if (botPort === emulatorPort) fail(`PORT and EMULATOR_PORT are both ${botPort}: give them different ports`);
  const dn = (setting('BBM_DELIVERY_NOTIFICATIONS') ?? 'off').toLowerCase();
  if (dn !== 'on' && dn !== 'off') fail(`BBM_DELIVERY_NOTIFICATIONS must be "on" or "off", not "${dn}"`);
  if (!(await portIsFree(botPort))) fail(`port ${botPort} (the bot's, PORT) is in use: stop what uses it or run PORT=<another> npm run dev`);

  // The store first: the emulator's inspector reads the bot's dialogs from it.
  const state = await stateStore(setting);
  const dialogs = devDialogReader(setting, state.store);
  let emulator: Emulator;
  try {
    emulator = await startEmulator({
      port: emulatorPort,
      host: HOST,
      botUrl: `http://${HOST}:${botPort}/v1/chats`,
      deliveryNotifications: dn === 'on',
      botName: await configuredBotName(bot),
      readDialog: dialogs.read,
      sigKey: randomBytes(32).toString('hex'),
      clientCredentials: Buffer.from(`dev-bot:${randomBytes(18).toString('base64url')}`).toString('base64'),
    });
  } catch (err) {
    if (err instanceof BbmError && err.code === 'PORT_IN_USE') {
      fail(`port ${emulatorPort} (the emulator's, EMULATOR_PORT) is in use: stop what uses it or run EMULATOR_PORT=<another> npm run dev`);
    }
    fail(`the emulator did not start: ${err instanceof Error ? err.message : String(err)}`);
  }

  // The bot, from source, reloaded by tsx on every save; pointed at the emulator for everything.
  // Its state is in this process or in Redis, so a reload loses nothing: the emulator need not
  // send the mTok again after one (emulator.botRestarted), and behaves as BBM does.
  const child = startBotProcess({
    root: PROJECT_ROOT,
    format: { root: PROJECT_ROOT, color: process.stdout.isTTY === true && !process.env.NO_COLOR },
    env: {
      ...process.env,
      BOT: bot,
      PORT: String(botPort),
      HOST,
      BBM_SIG_KEY: emulator.sigKey,
      BBM_CLIENT_CREDENTIALS: emulator.clientCredentials,
      BBM_TOKEN_URL: emulator.tokenUrl,
      BBM_API_URL: emulator.apiUrl,
      BBM_DELIVERY_NOTIFICATIONS: dn,
      // The emulator's inspector shows a failed handler's own error text: here it helps.
      BBM_ERROR_DETAIL: 'on',
      // Blank means "not set" to the bot's configuration: a .env meant for production cannot turn
      // on HTTPS here, where the emulator calls plain http.
      TLS_CERT_FILE: '',
      TLS_KEY_FILE: '',
      DEV_STORE_URL: state.served?.url ?? '',
      DEV_STORE_SECRET: state.served?.secret ?? '',
    },
  });

  let stopping = false;
  const stop = async (code: number, signal?: NodeJS.Signals): Promise<never> => {
    if (!stopping) {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        // Ctrl-C reaches the whole process group: the bot already has its SIGINT and is shutting
        // down gracefully. A second signal would make tsx kill it outright, so give it a moment.
        const grace = signal === 'SIGINT' ? 3000 : 0;
        const term = setTimeout(() => child.kill('SIGTERM'), grace);
        const kill = setTimeout(() => child.kill('SIGKILL'), grace + 5000);
        await exited;
        clearTimeout(term);
        clearTimeout(kill);
      }
      // After the bot: its shutdown still writes to the store.
      await state.served?.close();
      await state.store?.close();
      await dialogs.close();
      await emulator.close();
    }
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0, 'SIGINT'));
  process.once('SIGTERM', () => void stop(0, 'SIGTERM'));
  child.once('exit', (code, signal) => {
    if (stopping) return;
    process.stderr.write(`npm run dev: the bot process ended (${signal ?? `exit code ${code}`})\n`);
    void stop(code ?? 1);
  });

  const botUrl = `http://${HOST}:${botPort}`;
  const up = await waitHealthy(`${botUrl}/healthz`, child, 30_000);
  if (stopping) return;
  const others = bots.filter((b) => b !== bot);
  const lines = [
    '',
    '  BBM emulator ready: chat with your bot in the browser',
    '  ──────────────────────────────────────────────────────',
    `  Web chat     ${emulator.url}/`,
    `  Bot          ${bot} (bots/${bot}/index.ts) at ${botUrl}/v1/chats, reloaded when you save`,
    `  State        ${state.label}`,
    `  Switch bot   BOT=${others[0] ?? 'name'} npm run dev${bots.length > 1 ? `   (bots: ${bots.join(', ')})` : ''}`,
    `  Delivery     notifications ${dn}${dn === 'off' ? ' (BBM_DELIVERY_NOTIFICATIONS=on npm run dev for ✓ D R and read receipts)' : ''}`,
    '  Stop         Ctrl-C',
    '',
  ];
  if (!up) lines.splice(lines.length - 1, 0, `  ⚠ The bot is not answering at ${botUrl}/healthz yet: see its output above; tsx restarts it when you save.`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
