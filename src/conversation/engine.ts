/**
 * The conversations of one bot (one per PluginHost): loads a chat's dialog record, replays the
 * dialog with the turn's event or timeout (run.ts), and commits what it did before the turn ends:
 * the record saved at its new wait (timer scheduled first), or deleted when the dialog ended.
 * Also `ctx.enter` / `ctx.conversation` (DialogControl) and the leave rule (beforeTurn).
 */
import { randomBytes } from 'node:crypto';
import { NoConversationsError, type Context } from '../bot/context.js';
import type { NextFunction } from '../bot/compose.js';
import type { DialogControl, PluginHost } from '../bot/plugin.js';
import { chatKey } from '../state/keys.js';
import { Conversation, type DialogFn } from './conversation.js';
import { ConversationNameError } from './errors.js';
import { checkBound, eventIdOf, jsonCopy, storedEventOf, type DialogRecord, type JournalBound } from './journal.js';
import { Run, type Outcome, type RunInput } from './run.js';
import { DialogTimers } from './timers.js';

/** A registered conversation. */
export interface DialogDef {
  name: string;
  fn: DialogFn<unknown, unknown, unknown>;
  bound: JournalBound;
  ttlMs: number;
}

/** Kept past a wait's timeout, so the timer finds the record it fires for. */
const TIMER_GRACE_MS = 60_000;

export class Engine implements DialogControl {
  private readonly defs = new Map<string, DialogDef>();
  /** The chat's record as this turn knows it (null: none), so several middlewares read it once. */
  private readonly seen = new WeakMap<Context<unknown>, DialogRecord | null>();
  private readonly leaveSeen = new WeakSet<Context<unknown>>();
  readonly timers: DialogTimers;

  constructor(private readonly host: PluginHost) {
    this.timers = new DialogTimers(host, (chatId, run, seq) => this.fire(chatId, run, seq));
  }

  register(def: DialogDef): void {
    if (this.defs.has(def.name)) throw new ConversationNameError(def.name, 'duplicate');
    this.defs.set(def.name, def);
  }

  private def(name: string): DialogDef {
    const def = this.defs.get(name);
    if (!def) throw new NoConversationsError(name);
    return def;
  }

  private key(chatId: string): string {
    return chatKey('conv', chatId);
  }

  private async load(ctx: Context<unknown>): Promise<DialogRecord | undefined> {
    const known = this.seen.get(ctx);
    if (known !== undefined) return known ?? undefined;
    const record = await this.host.store.get<DialogRecord>(this.key(ctx.chat.id));
    this.seen.set(ctx, record ?? null);
    return record;
  }

  /** DialogControl: starts `name` (ending the dialog that runs) and runs it to its first wait. */
  async enter(ctx: Context<unknown>, name: string, arg?: unknown): Promise<void> {
    const def = this.def(name);
    const previous = await this.load(ctx);
    const now = this.host.clock.now();
    const record: DialogRecord = {
      v: 1,
      name,
      ...(arg === undefined ? {} : { arg: jsonCopy(name, 'arg', arg) }),
      run: randomBytes(9).toString('base64url'),
      journal: [],
      seq: 0,
      steps: 0,
      startedAt: now,
      updatedAt: now,
      turns: 0,
    };
    await this.advance(ctx, def, record, previous, undefined);
  }

  /** DialogControl: the running dialog's name. */
  async active(ctx: Context<unknown>): Promise<string | undefined> {
    return (await this.load(ctx))?.name;
  }

  /** DialogControl: ends the running dialog and its timer. */
  async exit(ctx: Context<unknown>): Promise<void> {
    const record = await this.load(ctx);
    if (record) await this.end(ctx, record);
  }

  /** Before every turn: a leave ends the chat's dialog, whatever the middleware does. */
  async beforeTurn(ctx: Context<unknown>): Promise<void> {
    if (!ctx.events.has('leave') || this.leaveSeen.has(ctx)) return;
    this.leaveSeen.add(ctx);
    await this.exit(ctx);
  }

  /** The middleware of conversation `name`: its dialog, if waiting in this chat, takes the turn's event here. */
  async handle(ctx: Context<unknown>, next: NextFunction, name: string): Promise<void> {
    const event = storedEventOf(ctx);
    if (!event) return next();
    const record = await this.load(ctx);
    if (!record || record.name !== name || !record.wait) return next();
    const id = eventIdOf(event);
    // Redelivered (the turn that took it failed after the dialog moved on): taken already.
    if (record.lastEvent === id) return;
    const wait = record.wait;
    if (wait.on && !wait.otherwise && !wait.on.some((e) => ctx.events.has(e))) return next();
    const def = this.defs.get(name);
    if (!def) return next();
    const outcome = await this.advance(ctx, def, structuredClone(record), record, { kind: 'event', event, id });
    if (outcome.kind === 'fallthrough') return next();
    if (outcome.kind === 'otherwise') await outcome.handler(ctx);
  }

  /** A timer fell due: in the chat's own turn, the wait it belongs to (if still there) times out. */
  private async fire(chatId: string, run: string, seq: number): Promise<void> {
    await this.host.ownTurn(chatId, async (ctx) => {
      const record = await this.load(ctx);
      if (!record || record.run !== run || record.wait?.seq !== seq || record.wait.timeoutAt === undefined) return;
      const def = this.defs.get(record.name);
      if (!def) {
        ctx.log.warn({ dialog: record.name }, 'a dialog timer fired for a conversation this bot does not have; ending it');
        await this.end(ctx, record);
        return;
      }
      await this.advance(ctx, def, structuredClone(record), record, { kind: 'timeout', seq });
    });
  }

  /** Replays `record`'s dialog with `input` and commits the outcome; a dialog's error is rethrown after it ended. */
  private async advance(ctx: Context<unknown>, def: DialogDef, record: DialogRecord, previous: DialogRecord | undefined, input: RunInput): Promise<Outcome> {
    const run = new Run(record, ctx, this.host.clock, def.bound, input);
    const conv = new Conversation(run, record.arg, (name, arg, r) => this.call(name, arg, r));
    const outcome = await run.execute(() => def.fn(conv));
    switch (outcome.kind) {
      case 'fallthrough':
      case 'otherwise':
        return outcome;
      case 'suspended':
        try {
          await this.save(ctx, def, record, previous);
        } catch (error) {
          await this.end(ctx, previous, record);
          throw error;
        }
        return outcome;
      case 'returned':
      case 'exited':
        await this.end(ctx, previous, record);
        return outcome;
      case 'threw':
        await this.end(ctx, previous, record);
        throw outcome.error;
    }
  }

  /** conv.call: the sub-flow runs inline in the caller's run, as a frame. */
  private call(name: string, arg: unknown, run: Run): Promise<unknown> {
    const def = this.defs.get(name);
    if (!def) return run.settle({ kind: 'threw', error: new NoConversationsError(name) });
    let copy: unknown;
    try {
      copy = jsonCopy(name, 'arg', arg);
    } catch (error) {
      return run.settle({ kind: 'threw', error });
    }
    return run.frame(`call:${name}`, () => def.fn(new Conversation(run, copy, (n, a, r) => this.call(n, a, r))));
  }

  /** Saves the record at its new wait: its timer first (a timer without a record does nothing), then the record, then the old timer goes. */
  private async save(ctx: Context<unknown>, def: DialogDef, record: DialogRecord, previous: DialogRecord | undefined): Promise<void> {
    const now = this.host.clock.now();
    record.turns++;
    record.updatedAt = now;
    checkBound(record, def.bound);
    const wait = record.wait!;
    const chatId = ctx.chat.id;
    if (wait.timeoutAt !== undefined) await this.timers.add(chatId, record.run, wait.seq, wait.timeoutAt);
    const ttlMs = Math.max(def.ttlMs, wait.timeoutAt === undefined ? 0 : wait.timeoutAt - now + TIMER_GRACE_MS);
    await this.host.store.set(this.key(chatId), record, ttlMs);
    this.seen.set(ctx, record);
    const old = previous?.wait;
    if (old?.timeoutAt !== undefined && (previous!.run !== record.run || old.seq !== wait.seq)) await this.timers.remove(chatId, previous!.run, old.seq);
  }

  /** Deletes the chat's record and the timers of the records given. */
  private async end(ctx: Context<unknown>, ...records: (DialogRecord | undefined)[]): Promise<void> {
    await this.host.store.delete(this.key(ctx.chat.id));
    this.seen.set(ctx, null);
    for (const r of records) if (r?.wait?.timeoutAt !== undefined) await this.timers.remove(ctx.chat.id, r.run, r.wait.seq);
  }

  close(): Promise<void> {
    return this.timers.close();
  }
}
