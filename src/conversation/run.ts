/**
 * One replay of a dialog in one turn. The dialog function runs from the top; each operation takes
 * the journal's next entry (checking its kind) and returns what was recorded, doing nothing; past
 * the journal's end it runs live and appends. The first wait past the end either takes the turn's
 * input (the event, or the timeout) or suspends the run: the turn ends there and the engine saves
 * the record. Anything the engine decides (suspend, fall through, a replay or bound error, exit)
 * settles the run's outcome and leaves the dialog's promise pending for good, so dialog code can
 * neither catch nor outlive it.
 */
import type { Context } from '../bot/context.js';
import type { Clock } from '../bot/clock.js';
import type { EventName } from '../bot/events.js';
import { ConversationLimitError, ConversationReplayError } from './errors.js';
import { describeEntry, jsonCopy, toDialogEvent, type DialogEvent, type DialogRecord, type Entry, type JournalBound, type StoredEvent, type WaitState } from './journal.js';

/** What resumes a dialog: the turn's event (with its redelivery id), its wait's timeout, or nothing (a fresh start). */
export type RunInput = { kind: 'event'; event: StoredEvent; id: string } | { kind: 'timeout'; seq: number } | undefined;

/** How a run ended its turn. */
export type Outcome =
  | { kind: 'suspended' }
  | { kind: 'fallthrough' }
  | { kind: 'otherwise'; handler: (ctx: Context<unknown>) => unknown }
  | { kind: 'returned'; value: unknown }
  | { kind: 'exited' }
  | { kind: 'threw'; error: unknown };

/** A wait as the conversation API describes it to the run. */
export interface WaitSpec {
  accepts: string;
  on?: readonly EventName[];
  filter?: (event: DialogEvent, seq: number) => boolean;
  otherwise?: (ctx: Context<unknown>) => unknown;
  timeoutMs?: number;
}

/** `done(result)` of conv.loop. */
export class LoopDone<R> {
  constructor(readonly value: R) {}
}

const hang = <T>(): Promise<T> => new Promise<T>(() => undefined);

export class Run {
  private cursor = 0;
  private pending: WaitState | undefined;
  private input: RunInput;
  private outcome: Outcome | undefined;
  private resolveOutcome!: (o: Outcome) => void;
  private readonly settled = new Promise<Outcome>((resolve) => (this.resolveOutcome = resolve));

  constructor(
    readonly record: DialogRecord,
    readonly ctx: Context<unknown>,
    readonly clock: Clock,
    private readonly bound: JournalBound,
    input: RunInput,
  ) {
    this.pending = record.wait;
    this.input = input;
  }

  /** True while operations return recorded results (nothing is done). */
  get replaying(): boolean {
    return this.cursor < this.record.journal.length;
  }

  /** Runs the dialog until its outcome for this turn. */
  async execute(fn: () => Promise<unknown>): Promise<Outcome> {
    const finished = fn().then(
      (value) => {
        // Returning early is a divergence too: the journal (or its pending wait) says the code went on.
        if (this.replaying || this.pending) return this.diverged('the end of the dialog');
        return this.settle({ kind: 'returned', value });
      },
      (error: unknown) => this.settle({ kind: 'threw', error }),
    );
    void finished;
    return this.settled;
  }

  /** Ends the run's turn with `outcome` (the first one wins) and parks the caller. */
  settle(outcome: Outcome): Promise<never> {
    if (!this.outcome) {
      this.outcome = outcome;
      this.resolveOutcome(outcome);
    }
    return hang();
  }

  /** Parks a caller once the outcome is known (an operation after the dialog suspended). */
  private get over(): boolean {
    return this.outcome !== undefined;
  }

  private diverged(replayed: string): Promise<never> {
    const recorded = this.replaying ? describeEntry(this.record.journal[this.cursor]) : 'wait (the dialog stood there)';
    return this.settle({ kind: 'threw', error: new ConversationReplayError(this.record.name, this.cursor, recorded, replayed) });
  }

  /** The recorded entry of `kind` at the cursor (advancing), or undefined when live. Throws nothing: a mismatch settles. */
  private async take<K extends 'send' | 'step' | 'wait'>(kind: K): Promise<Extract<Entry, { k: K }> | undefined> {
    if (this.over) return hang();
    if (!this.replaying) {
      if (this.pending && kind !== 'wait') return this.diverged(kind);
      return undefined;
    }
    const entry = this.record.journal[this.cursor]!;
    if (entry.k !== kind) return this.diverged(kind);
    this.cursor++;
    return entry as Extract<Entry, { k: K }>;
  }

  private async push(entry: Entry): Promise<void> {
    if (this.over) return hang();
    this.record.journal.push(entry);
    this.cursor = this.record.journal.length;
    if (this.record.journal.length > this.bound.maxEntries) {
      return this.settle({ kind: 'threw', error: new ConversationLimitError(this.record.name, 'maxEntries', this.record.journal.length, this.bound.maxEntries) });
    }
  }

  /** A JSON copy of a value the journal keeps; a value JSON cannot hold ends the dialog with a typed error. */
  private async json<T>(what: string, value: T): Promise<T> {
    try {
      return jsonCopy(this.record.name, what, value);
    } catch (error) {
      return this.settle({ kind: 'threw', error });
    }
  }

  /** A send: recorded result on replay, else `send()` live. */
  async send<R>(send: () => Promise<R>): Promise<R> {
    const entry = await this.take('send');
    if (entry) return entry.r as R;
    const result = await send();
    await this.push({ k: 'send', r: (await this.json('send result', result)) as never });
    return result;
  }

  /** A step: runs `fn(idempotencyKey)` once, journals its JSON result. */
  async step<T>(fn: (key: string) => T | Promise<T>): Promise<T> {
    const entry = await this.take('step');
    if (entry) return entry.r as T;
    const key = `${this.record.run}.${++this.record.steps}`;
    const value = await this.json('a step result', await fn(key));
    await this.push(value === undefined ? { k: 'step' } : { k: 'step', r: value });
    return value;
  }

  /** The seq the next new wait gets (choose's buttons name it before they are sent). */
  get upcomingSeq(): number {
    return this.pending ? this.pending.seq : this.record.seq + 1;
  }

  /** A wait: recorded event on replay; the turn's input at the pending wait; else suspends. */
  async wait(spec: WaitSpec): Promise<DialogEvent | undefined> {
    const entry = await this.take('wait');
    if (entry) return entry.e ? toDialogEvent(entry.e) : undefined;
    const pending = this.pending;
    const input = this.input;
    if (pending && input) {
      this.pending = undefined;
      this.input = undefined;
      if (input.kind === 'timeout') {
        if (spec.timeoutMs === undefined) return this.diverged('a wait without a timeout');
        await this.push({ k: 'wait', e: null });
        this.record.wait = undefined;
        return undefined;
      }
      const event = toDialogEvent(input.event);
      const on = spec.on ?? pending.on;
      const offered = on === undefined || on.some((name) => this.ctx.events.has(name));
      if (!offered || (spec.filter && !spec.filter(event, pending.seq))) {
        return this.settle(spec.otherwise ? { kind: 'otherwise', handler: spec.otherwise } : { kind: 'fallthrough' });
      }
      await this.push({ k: 'wait', e: input.event });
      this.record.wait = undefined;
      this.record.lastEvent = input.id;
      return event;
    }
    if (pending) {
      // Resumed with no input (cannot happen from the engine): stand at the same wait again.
      return this.settle({ kind: 'suspended' });
    }
    const seq = ++this.record.seq;
    this.record.wait = {
      seq,
      accepts: spec.accepts,
      ...(spec.on ? { on: [...spec.on] } : {}),
      ...(spec.otherwise ? { otherwise: true } : {}),
      ...(spec.timeoutMs !== undefined ? { timeoutAt: this.clock.now() + spec.timeoutMs } : {}),
    };
    return this.settle({ kind: 'suspended' });
  }

  /** A frame: its finished result on replay, else runs `body` and collapses its entries into one. */
  async frame<T>(tag: string, body: () => Promise<T>): Promise<T> {
    return this.loop(tag, null, async (_state, done) => done(await body()));
  }

  /**
   * A loop frame: each finished iteration's entries collapse into the frame's one open entry,
   * which carries the next state; a finished loop collapses to its result.
   */
  async loop<S, R>(tag: string, initial: S, body: (state: S, done: (result: R) => LoopDone<R>, iteration: number) => Promise<S | LoopDone<R>>): Promise<R> {
    if (this.over) return hang();
    const at = this.cursor;
    const journal = this.record.journal;
    let state: S;
    let iteration: number;
    if (this.replaying) {
      const entry = journal[at]!;
      if (entry.k === 'done' && entry.t === tag) {
        this.cursor++;
        return entry.r as R;
      }
      if (entry.k !== 'open' || entry.t !== tag) return this.diverged(tag);
      this.cursor++;
      state = entry.s as S;
      iteration = entry.n ?? 0;
    } else {
      if (this.pending) return this.diverged(tag);
      state = await this.json('a loop state', initial);
      iteration = 0;
      await this.push({ k: 'open', t: tag, s: state, n: 0 });
    }
    const done = (result: R) => new LoopDone(result);
    for (;;) {
      const next = await body(state, done, iteration);
      if (this.over) return hang();
      // The body returned while the journal still holds entries of it: another path than recorded.
      if (this.replaying || this.pending) return this.diverged(`the end of ${tag}`);
      journal.length = at;
      if (next instanceof LoopDone) {
        const result = await this.json(`the result of ${tag}`, next.value);
        await this.push(result === undefined ? { k: 'done', t: tag } : { k: 'done', t: tag, r: result });
        return result;
      }
      state = await this.json('a loop state', next);
      iteration++;
      await this.push({ k: 'open', t: tag, s: state, n: iteration });
    }
  }
}
