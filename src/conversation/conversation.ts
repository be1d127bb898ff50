/**
 * The `conv` object a dialog function gets: what it says (`reply`), what it waits for (`wait`,
 * `ask`, `choose`, `sleep`), side effects that must run once (`step`), bounded repetition
 * (`loop`), sub-flows (`call`) and the turn's chat, user and session. Every operation goes through
 * the run's journal (run.ts): on replay it returns what it returned the first time.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { SendResult } from '../client/index.js';
import { buttons, postback } from '../client/builders.js';
import type { Chat, Context, ReplyContent, User } from '../bot/context.js';
import type { EventName } from '../bot/events.js';
import { OUTBOUND_LIMITS } from '../protocol/limits.js';
import type { DialogEvent } from './journal.js';
import { LoopDone, type Run } from './run.js';

/** Options of `conv.wait`. */
export interface WaitOptions<S = unknown> {
  /** What the wait takes: an event name, several, or a filter; default any message or tap. */
  for?: EventName | readonly EventName[] | ((event: DialogEvent) => boolean);
  /** Ends the wait with `undefined` after this long, even if the user never writes again. */
  timeoutMs?: number;
  /** Takes the events the wait does not accept (instead of letting them fall through to later handlers). */
  otherwise?: (ctx: Context<S>) => unknown;
}

/** Options of `conv.ask`. */
export interface AskOptions<S = unknown> {
  /** Checks the answer: a string (the problem) is sent and the question asked again; the retries do not grow the journal. */
  validate?: (text: string) => string | undefined | Promise<string | undefined>;
  timeoutMs?: number;
  otherwise?: (ctx: Context<S>) => unknown;
}

/** Options of `conv.choose`. */
export interface ChooseOptions<S = unknown> {
  /** Any text is an answer too (returned as typed), not only an option's name. */
  allowText?: boolean;
  timeoutMs?: number;
  otherwise?: (ctx: Context<S>) => unknown;
}

type Timed = { timeoutMs: number };

/** `body`'s second argument in conv.loop: `done(result)` ends the loop with `result`. */
export interface LoopControl<R> {
  done(result: R): LoopDone<R>;
  /** Iterations finished before this one. */
  readonly iteration: number;
}

/** A dialog: an async function of its `conv`, returning its result (what `conv.call` gives back). */
export type DialogFn<S = unknown, A = unknown, R = unknown> = (conv: Conversation<S, A>) => Promise<R>;

/** Where a dialog's own postback buttons carry their wait: `dlg=<run>&w=<seq>&o=<index>`. */
export const CHOICE_PARAM = 'dlg';

const silent = pino({ enabled: false });

/**
 * The dialog's handle on its chat. `S` is the bot's session type, `A` the dialog's argument.
 *
 * @example
 * bot.use(conversation('booking', async (conv) => {
 *   const name = await conv.ask('What name should I put it under?');
 *   const city = await conv.choose('Which city?', ['Paris', 'Oslo', 'Lima']);
 *   await conv.reply(`Booked: a table for ${name} in ${city}.`);
 * }));
 */
export class Conversation<S = unknown, A = unknown> {
  /** @internal */
  constructor(
    private readonly run: Run,
    /** The dialog's argument (`ctx.enter(name, arg)`, `conv.call(name, arg)`), as JSON. */
    readonly arg: A,
    private readonly call_: (name: string, arg: unknown, run: Run) => Promise<unknown>,
  ) {}

  /** The chat this dialog runs in. @example conv.chat.id */
  get chat(): Chat {
    return this.run.ctx.chat;
  }

  /** The user of the chat. @example await conv.reply(`Hi ${conv.user.name}`); */
  get user(): User {
    return this.run.ctx.user;
  }

  /**
   * The current turn's session: live, not replayed (a replayed line reads today's value), saved
   * with the turn. @example conv.session.bookings++;
   */
  get session(): S {
    return this.run.ctx.session as S;
  }

  set session(value: S) {
    (this.run.ctx as Context<S>).session = value;
  }

  /** The turn's logger; silent while replaying, so a line is logged once. @example conv.log.info({ city }, 'booked'); */
  get log(): Logger {
    return this.run.replaying ? silent : this.run.ctx.log;
  }

  /**
   * Sends to the user; once: on replay it returns the recorded result and sends nothing.
   *
   * @example await conv.reply('Booked!');
   */
  reply(...content: ReplyContent[]): Promise<SendResult> {
    return this.run.send(() => this.run.ctx.reply(...content));
  }

  /**
   * Waits for the user's next message or tap (or one that `for` accepts). Events it does not take
   * fall through to the handlers after the conversation (or go to `otherwise`). With `timeoutMs`,
   * resolves `undefined` when that time passes first: a durable timer, fired by any instance.
   *
   * @example const e = await conv.wait({ for: 'image', timeoutMs: 60_000 }); if (!e) return conv.reply('Too slow.');
   */
  wait(options: WaitOptions<S> & Timed): Promise<DialogEvent | undefined>;
  wait(options?: WaitOptions<S>): Promise<DialogEvent>;
  wait(options: WaitOptions<S> = {}): Promise<DialogEvent | undefined> {
    const f = options.for;
    const on = f === undefined || typeof f === 'function' ? undefined : typeof f === 'string' ? [f as EventName] : [...(f as readonly EventName[])];
    return this.run.wait({
      accepts: on ? on.join(' | ') : typeof f === 'function' ? `an event its filter ${f.name || 'function'} accepts` : 'any message or tap',
      ...(on ? { on } : {}),
      ...(typeof f === 'function' ? { filter: (e: DialogEvent) => f(e) } : {}),
      ...this.common(options),
    });
  }

  /**
   * Waits for a text message (or a tapped text button); returns its text.
   *
   * @example const city = await conv.waitForText();
   */
  waitForText(options: Omit<WaitOptions<S>, 'for'> & Timed): Promise<string | undefined>;
  waitForText(options?: Omit<WaitOptions<S>, 'for'>): Promise<string>;
  async waitForText(options: Omit<WaitOptions<S>, 'for'> = {}): Promise<string | undefined> {
    const e = await this.run.wait({ accepts: 'text', on: ['text', 'tap:text'], ...this.common(options) });
    return e?.text;
  }

  /**
   * Sends `prompt` and waits for a text answer. With `validate`, an answer it objects to gets the
   * objection as a reply and the question again, in a loop whose storage stays constant.
   *
   * @example const age = await conv.ask('Your age?', { validate: (t) => (/^\d+$/.test(t) ? undefined : 'A number, please.') });
   */
  ask(prompt: ReplyContent, options: AskOptions<S> & Timed): Promise<string | undefined>;
  ask(prompt: ReplyContent, options?: AskOptions<S>): Promise<string>;
  async ask(prompt: ReplyContent, options: AskOptions<S> = {}): Promise<string | undefined> {
    const validate = options.validate;
    const once = async (say: ReplyContent) => {
      await this.reply(say);
      return this.run.wait({ accepts: 'text', on: ['text', 'tap:text'], ...this.common(options) });
    };
    if (!validate) return (await once(prompt))?.text;
    return this.run.loop<ReplyContent, string | undefined>('ask', prompt, async (say, done) => {
      const answer = (await once(say))?.text;
      if (answer === undefined) return done(undefined);
      // Runs live only: a finished iteration collapses, so its check is never replayed.
      const problem = await validate(answer);
      return problem === undefined ? done(answer) : problem;
    });
  }

  /**
   * Sends `prompt` with one button per option and waits for a choice: a tap of these buttons (a
   * stale button of an earlier question falls through), or a text equal to an option (trimmed,
   * any case). Returns the option.
   *
   * @example const city = await conv.choose('Which city?', ['Paris', 'Oslo', 'Lima']);
   */
  choose<O extends string>(prompt: string, options: readonly O[], opts: ChooseOptions<S> & Timed): Promise<O | undefined>;
  choose<O extends string>(prompt: string, options: readonly O[], opts: ChooseOptions<S> & { allowText: true }): Promise<string>;
  choose<O extends string>(prompt: string, options: readonly O[], opts?: ChooseOptions<S>): Promise<O>;
  async choose(prompt: string, options: readonly string[], opts: ChooseOptions<S> = {}): Promise<string | undefined> {
    if (options.length === 0 || options.some((o) => typeof o !== 'string' || o.trim() === '')) {
      throw new RangeError('conv.choose: options must be one or more non-empty strings');
    }
    const run = this.run.record.run;
    const seq = this.run.upcomingSeq;
    const messages = [];
    for (let i = 0; i < options.length; i += OUTBOUND_LIMITS.buttonsActionsMax) {
      const actions = options.slice(i, i + OUTBOUND_LIMITS.buttonsActionsMax).map((option, j) =>
        postback({ label: [...option].slice(0, OUTBOUND_LIMITS.actionLabel).join(''), data: `${CHOICE_PARAM}=${run}&w=${seq}&o=${i + j}`, text: option }),
      );
      messages.push(buttons({ desc: i === 0 ? prompt : '…', actions }));
    }
    await this.reply(messages);
    const norm = (t: string) => t.trim().toLowerCase();
    const byText = (t: string | undefined) => (t === undefined ? undefined : options.find((o) => norm(o) === norm(t)));
    const tapped = (e: DialogEvent, at: number) => {
      const p = e.postback?.params;
      if (!p || p[CHOICE_PARAM] !== run || p.w !== String(at)) return undefined;
      return options[Number(p.o)];
    };
    const e = await this.run.wait({
      accepts: `one of ${options.join(', ')}${opts.allowText ? ' (or any text)' : ''}`,
      on: ['text', 'tap:text', 'postback'],
      filter: (ev, at) => (ev.postback ? tapped(ev, at) !== undefined : opts.allowText === true || byText(ev.text) !== undefined),
      ...this.common(opts),
    });
    if (!e) return undefined;
    if (e.postback) return options[Number(e.postback.params.o)];
    return byText(e.text) ?? e.text;
  }

  /**
   * Runs a side effect once for the dialog: `fn(idempotencyKey)`'s JSON result is journaled and
   * returned again on replay without running `fn`. The key is the same if a crash makes the step
   * run again before its turn was saved: pass it to an API that deduplicates.
   *
   * @example const order = await conv.step((key) => api.placeOrder(cart, { idempotencyKey: key }));
   */
  step<T>(fn: (idempotencyKey: string) => T | Promise<T>): Promise<T> {
    return this.run.step(fn);
  }

  /** Same as `step`, named for calls to the outside world. @example const rate = await conv.external(() => fetchRate('EUR')); */
  external<T>(fn: (idempotencyKey: string) => T | Promise<T>): Promise<T> {
    return this.run.step(fn);
  }

  /** A step while the user sees "is typing…" (ctx.withTyping). @example await conv.withTyping(() => reserve(name, city)); */
  withTyping<T>(fn: (idempotencyKey: string) => T | Promise<T>): Promise<T> {
    return this.run.step((key) => this.run.ctx.withTyping(() => fn(key)));
  }

  /** The bot's clock, read once and journaled. @example const startedAt = await conv.now(); */
  now(): Promise<number> {
    return this.run.step(() => this.run.clock.now());
  }

  /** Math.random(), drawn once and journaled. @example const coin = (await conv.random()) < 0.5; */
  random(): Promise<number> {
    return this.run.step(() => Math.random());
  }

  /**
   * Pauses the dialog for `ms` on a durable timer (any instance fires it); events meanwhile fall
   * through to the other handlers. @example await conv.sleep(60_000); await conv.reply('A minute later.');
   */
  async sleep(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`conv.sleep: ms must be a finite number ≥ 0, got ${String(ms)}`);
    await this.run.wait({ accepts: 'nothing (sleeping)', on: [], timeoutMs: ms });
  }

  /**
   * Runs another conversation of the bot as a sub-flow and returns its result (JSON). Once done,
   * its journal collapses to that result.
   *
   * @example const address = await conv.call<Address>('address', { country: 'NO' });
   */
  call<R = unknown>(name: string, arg?: unknown): Promise<R> {
    return this.call_(name, arg, this.run) as Promise<R>;
  }

  /**
   * Repeats `body` with a state it carries (JSON) until it returns `done(result)`. Each finished
   * iteration collapses into one journal entry holding the state, so a loop of any length stores
   * the same.
   *
   * @example
   * const items = await conv.loop([] as string[], async (list, { done }) => {
   *   const item = await conv.ask('Add an item, or say "done".');
   *   return item === 'done' ? done(list) : [...list, item];
   * });
   */
  loop<St, R>(initial: St, body: (state: St, control: LoopControl<R>) => Promise<St | LoopDone<R>> | St | LoopDone<R>): Promise<R> {
    return this.run.loop<St, R>('loop', initial, async (state, done, iteration) => body(state, { done, iteration }));
  }

  /** Ends the dialog now (nothing after this line runs). @example if (!ok) await conv.exit(); */
  exit(): Promise<never> {
    return this.run.settle({ kind: 'exited' });
  }

  private common(o: { timeoutMs?: number; otherwise?: (ctx: Context<S>) => unknown }) {
    if (o.timeoutMs !== undefined && (!Number.isFinite(o.timeoutMs) || o.timeoutMs < 0)) {
      throw new RangeError(`timeoutMs must be a finite number ≥ 0, got ${String(o.timeoutMs)}`);
    }
    return {
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      ...(o.otherwise ? { otherwise: o.otherwise as (ctx: Context<unknown>) => unknown } : {}),
    };
  }
}
