import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Bot } from '../bot/bot.js';
import { ConfigError } from './config.js';

/** `bots/` next to this build: dist/bots when compiled, bots/ when run from source. */
const BOTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bots');

export function availableBots(): string[] {
  if (!existsSync(BOTS_DIR)) return [];
  return readdirSync(BOTS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && ['index.js', 'index.ts'].some((f) => existsSync(join(BOTS_DIR, d.name, f))))
    .map((d) => d.name)
    .sort();
}

/** Imports `bots/<name>/index` and checks that it default-exports a bot. */
export async function loadBot(name: string): Promise<Bot<unknown>> {
  const found = ['index.js', 'index.ts'].map((f) => join(BOTS_DIR, name, f)).find((p) => existsSync(p));
  if (!found) {
    throw new ConfigError('BOT', `names no bot: there is no bots/${name}/index.ts (available: ${availableBots().join(', ') || 'none'})`);
  }
  const mod = (await import(pathToFileURL(found).href)) as { default?: unknown };
  const bot = mod.default;
  if (!(bot instanceof Bot)) {
    throw new ConfigError('BOT', `names bots/${name}, whose index does not default-export a bot made with createBot()`);
  }
  return bot as Bot<unknown>;
}
