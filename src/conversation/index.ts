/**
 * Conversations as code: `conversation(name, fn)` is a middleware that carries the conversations
 * plugin. `bot.use` it where a waiting dialog should take the chat's events; start one with
 * `ctx.enter(name)`. All conversations of one bot share one engine (engine.ts).
 */
import type { Context } from '../bot/context.js';
import type { Middleware } from '../bot/compose.js';
import { PLUGIN, type BotPlugin, type PluginHost } from '../bot/plugin.js';
import type { DialogFn } from './conversation.js';
import { Engine } from './engine.js';
import { ConversationNameError } from './errors.js';

export interface ConversationOptions {
  /** Most journal entries the dialog's record may hold (default 100). Loops and sub-flows collapse, so this bounds the code, not the turns. */
  maxEntries?: number;
  /** Most bytes of the record's stored JSON (default 32 KiB). */
  maxBytes?: number;
  /** How long a waiting dialog is kept without a turn (default 24 h; longer when a timer is due later). */
  ttlMs?: number;
}

/** A conversation's middleware: `bot.use` it; it carries the plugin the bot starts. */
export type ConversationMiddleware<S> = Middleware<Context<S>> & { readonly [PLUGIN]: BotPlugin };

export const DEFAULT_CONVERSATION_OPTIONS = { maxEntries: 100, maxBytes: 32 * 1024, ttlMs: 24 * 60 * 60 * 1000 } as const;

/** One engine per started bot (its PluginHost): every conversation() of that bot registers there. */
const engines = new WeakMap<PluginHost, Engine>();

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`conversation option ${name} must be a whole number ≥ 1, got ${String(value)}`);
  return value;
}

/**
 * Defines the dialog `name`: `fn` reads top to bottom and waits for the user with `conv.ask`,
 * `conv.choose`, `conv.wait`. Where it is `use`d is where a waiting dialog takes events:
 * middleware before it runs first (a global "cancel"), events it does not accept fall through to
 * the handlers after it. One middleware belongs to one bot.
 *
 * @example
 * bot.hears(/^cancel$/i, async (ctx) => { await ctx.conversation.exit(); await ctx.reply('Cancelled.'); });
 * bot.use(conversation('booking', async (conv) => {
 *   const name = await conv.ask('What name should I put it under?');
 *   const city = await conv.choose('Which city?', ['Paris', 'Oslo', 'Lima']);
 *   await conv.reply(`Booked: a table for ${name} in ${city}.`);
 * }));
 * bot.postback('action=book', (ctx) => ctx.enter('booking'));
 */
export function conversation<S = unknown, A = unknown>(name: string, fn: DialogFn<S, A>, options: ConversationOptions = {}): ConversationMiddleware<S> {
  if (typeof name !== 'string' || name === '') throw new ConversationNameError(String(name), 'empty');
  const def = {
    name,
    fn: fn as DialogFn<unknown, unknown, unknown>,
    bound: {
      maxEntries: positive('maxEntries', options.maxEntries, DEFAULT_CONVERSATION_OPTIONS.maxEntries),
      maxBytes: positive('maxBytes', options.maxBytes, DEFAULT_CONVERSATION_OPTIONS.maxBytes),
    },
    ttlMs: positive('ttlMs', options.ttlMs, DEFAULT_CONVERSATION_OPTIONS.ttlMs),
  };
  let engine: Engine | undefined;
  const started = (): Engine => {
    if (!engine) throw new TypeError(`conversation ${JSON.stringify(name)}: the bot has not started (bot.init, or the server or test kit)`);
    return engine;
  };
  const plugin: BotPlugin = {
    name: `conversation:${name}`,
    start(host) {
      let shared = engines.get(host);
      if (!shared) engines.set(host, (shared = new Engine(host)));
      shared.register(def);
      engine = shared;
    },
    close: async () => {
      await engine?.close();
    },
    beforeTurn: (ctx) => engine?.beforeTurn(ctx),
    dialogs: {
      enter: (ctx, dialog, arg) => started().enter(ctx, dialog, arg),
      active: (ctx) => started().active(ctx),
      exit: (ctx) => started().exit(ctx),
    },
  };
  const middleware: Middleware<Context<S>> = (ctx, next) => (engine ? engine.handle(ctx as Context<unknown>, next, name) : next());
  return Object.assign(middleware, { [PLUGIN]: plugin });
}

export { Conversation } from './conversation.js';
export type { AskOptions, ChooseOptions, DialogFn, LoopControl, WaitOptions } from './conversation.js';
export { ConversationLimitError, ConversationNameError, ConversationReplayError, ConversationValueError } from './errors.js';
export type { DialogEvent, DialogRecord, WaitState } from './journal.js';
export { LoopDone } from './run.js';
export { dialogTimersSettled } from './timers.js';
