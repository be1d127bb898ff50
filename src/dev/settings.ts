/**
 * The dev runner's settings and its one way to fail: a single line on stderr naming the setting,
 * exit 1. The environment wins over `.env`, as in the bot's own configuration (server/config.ts).
 */
import { createServer } from 'node:net';
import { settingReader } from '../server/config.js';

export const HOST = '127.0.0.1';

/**
 * One line on stderr, exit 1: the whole error story of a dev tool that failed to start.
 *
 * @example
 * if (!bots.includes(bot)) fail(`BOT=${bot} names no bot`);
 */
export function fail(message: string): never {
  process.stderr.write(`npm run dev: ${message}\n`);
  process.exit(1);
}

/** A setting by name; blank counts as unset. */
export type Setting = (name: string) => string | undefined;

/**
 * Reads settings from the environment, then from `.env` in the working directory, as the bot's
 * own configuration does (server/config.ts settingReader); values come trimmed.
 *
 * @example
 * const setting = settingsFrom(process.env);
 * const bot = setting('BOT') ?? 'echo';
 */
export function settingsFrom(env: NodeJS.ProcessEnv): Setting {
  let read: Setting;
  try {
    read = settingReader(env);
  } catch {
    fail('.env could not be read');
  }
  return (name) => read(name)?.trim();
}

/**
 * A port setting, or the fallback when unset; anything else ends the runner naming the setting.
 *
 * @example
 * const botPort = port(setting('PORT'), 3000, 'PORT');
 */
export function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) fail(`${name} must be a port number (1-65535), not "${value}"`);
  return Number(value);
}

/**
 * True when nothing listens on the port (checked by binding it for an instant).
 *
 * @example
 * if (!(await portIsFree(3000))) fail('port 3000 is in use');
 */
export function portIsFree(p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(p, HOST, () => probe.close(() => resolve(true)));
  });
}
