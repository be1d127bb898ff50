/**
 * The bot's extension point for features that need more than a middleware: state of their own in
 * the store, timers, and turns the bot starts itself (conversations are the first user). A plugin
 * rides on a middleware or a Composer that is `use`d on the bot: the bot finds it there when it
 * starts, so mounting the middleware is all an author does. Plugins know the bot only through
 * {@link PluginHost}; the bot knows them only through {@link BotPlugin}: no import runs from the
 * bot to a plugin.
 */
import type { Logger } from 'pino';
import type { StateStore } from '../state/store.js';
import type { Clock } from './clock.js';
import type { Context } from './context.js';

/** Where a middleware (or composer) carries its plugin: `bot.use` looks for this property. */
export const PLUGIN: unique symbol = Symbol.for('bbm-bot.plugin');

/** What the bot gives a plugin when it starts (bot.init: the server, the test kit). */
export interface PluginHost {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The store is shared with other instances (Redis): timers and state must work across them. */
  readonly shared: boolean;
  /**
   * Runs `work` as a turn of the bot's own in a chat it knows: ordered with the chat's callbacks
   * (one at a time, across instances on a shared store), with a Context whose `reply` writes to
   * the chat and whose session is loaded first and saved when `work` succeeds; an error goes to
   * `bot.catch`. Resolves false, without running `work`, when the chat is unknown (never seen, or
   * forgotten by the store).
   *
   * @example await host.ownTurn(chatId, (ctx) => ctx.reply('Still there?'));
   */
  ownTurn(chatId: string, work: (ctx: Context<unknown>) => Promise<void>): Promise<boolean>;
}

/** A feature with state and timers of its own, started and stopped with the bot. */
export interface BotPlugin {
  /** Names the plugin in errors and logs; one plugin object per bot. */
  readonly name: string;
  /** The bot started (bot.init; again after a later init, with the new runtime). */
  start(host: PluginHost): void;
  /** The bot is closing: stop timers, wait for work in flight (bounded). */
  close(): Promise<void>;
  /**
   * Runs before the middleware on every turn of the bot (callbacks' turns and the bot's own), in
   * the turn: whatever the middleware does, the plugin sees e.g. every `leave`. Keep it cheap.
   */
  beforeTurn?(ctx: Context<unknown>): Promise<void> | void;
  /**
   * Per-turn services the plugin offers on every Context of the bot, whatever middleware runs
   * first (e.g. `ctx.enter` of conversations).
   */
  readonly dialogs?: DialogControl;
}

/**
 * What `ctx.enter`, `ctx.conversation` reach: the conversations plugin implements it. Declared
 * here so the Context needs no import of the plugin.
 */
export interface DialogControl {
  /** Starts the dialog `name` in the turn's chat (ending one that runs), and runs it to its first wait. */
  enter(ctx: Context<unknown>, name: string, arg?: unknown): Promise<void>;
  /** The name of the dialog running in the turn's chat, or undefined. */
  active(ctx: Context<unknown>): Promise<string | undefined>;
  /** Ends the dialog running in the turn's chat (its timers with it); nothing when none runs. */
  exit(ctx: Context<unknown>): Promise<void>;
}

/** The plugin a middleware or composer carries, if any. */
export function pluginOf(value: unknown): BotPlugin | undefined {
  if ((typeof value !== 'function' && typeof value !== 'object') || value === null) return undefined;
  return (value as { [PLUGIN]?: BotPlugin })[PLUGIN];
}
