/**
 * What a dialog stores: one record per chat, its journal of what the dialog already did, and the
 * wait it stands at. The journal is replayed from the top on each turn; frames (loops, sub-flows,
 * validation loops) collapse into one entry once finished, so the journal is bounded by the
 * dialog's code, not by how many turns it ran.
 */
import { createHash } from 'node:crypto';
import type { SendResult } from '../client/index.js';
import type { Context } from '../bot/context.js';
import { toPostback, type EventName, type Postback } from '../bot/events.js';
import type { InboundAction, InboundMessage, PostbackAction } from '../protocol/inbound.js';
import { ConversationLimitError, ConversationValueError } from './errors.js';

/** One thing the dialog did, in order. Short keys: the journal is stored on every turn. */
export type Entry =
  | { k: 'send'; r: SendResult }
  /** A step (conv.step, now, random, withTyping): its JSON result; `r` absent for undefined. */
  | { k: 'step'; r?: unknown }
  /** A wait that ended: the event it took, or null when it timed out. */
  | { k: 'wait'; e: StoredEvent | null }
  /** A frame still running (loop, ask, sub-flow `call:name`); a loop's carried state in `s`, its finished iterations in `n`. */
  | { k: 'open'; t: string; s?: unknown; n?: number }
  /** A finished frame, collapsed to its result. */
  | { k: 'done'; t: string; r?: unknown };

/** The wait a dialog stands at (the inspector shows `accepts` and `timeoutAt`). */
export interface WaitState {
  /** Grows with every wait of a run: a timer or a button names the wait it belongs to. */
  seq: number;
  /** What it waits for, as text (for people). */
  accepts: string;
  /** The events that may be accepted; absent = every dialog event (a filter decides). */
  on?: EventName[];
  /** Events it does not accept are consumed (by `otherwise`) instead of falling through. */
  otherwise?: boolean;
  /** When it times out (ms since the epoch, the bot's clock). */
  timeoutAt?: number;
}

/** A chat's running dialog, stored at chatKey('conv', chatId). */
export interface DialogRecord {
  v: 1;
  /** The root dialog (the one entered): its middleware's position takes the chat's events. */
  name: string;
  arg?: unknown;
  /** This run's random id: timers and buttons of an earlier run of the same dialog do nothing. */
  run: string;
  journal: Entry[];
  wait?: WaitState;
  /** The last wait's seq. */
  seq: number;
  /** Live steps run so far: a step's idempotency key. */
  steps: number;
  /** The event the dialog last took (a message's mid, an action's hash): a redelivery of it is a no-op. */
  lastEvent?: string;
  startedAt: number;
  updatedAt: number;
  /** How many turns advanced the dialog. */
  turns: number;
}

/** An event as the journal keeps it: the turn's most specific event name and its message or action. */
export interface StoredEvent {
  t: EventName;
  m?: InboundMessage;
  a?: InboundAction;
}

/**
 * What a wait gives the dialog: the user's message or action. `type` is the most specific event
 * (`text`, `image`, `postback`, `tap:text`...).
 */
export interface DialogEvent {
  type: EventName;
  message: InboundMessage | undefined;
  action: InboundAction | undefined;
  /** The text of a text message or of a tapped text button. */
  text: string | undefined;
  /** A postback tap, its data parsed as a query string. */
  postback: Postback | undefined;
}

/** The events a dialog is offered: what the user says or taps. Typing, reads, deliveries and leaves never are. */
const DIALOG_EVENTS: readonly EventName[] = ['text', 'image', 'unknown', 'postback', 'tap:text', 'tap:link', 'action:unknown'];

/** The dialog event of a turn, or undefined when the turn is not one a dialog takes. */
export function storedEventOf(ctx: Context<unknown>): StoredEvent | undefined {
  if (!ctx.callback) return undefined;
  const t = DIALOG_EVENTS.find((e) => ctx.events.has(e));
  if (!t) return undefined;
  return ctx.message ? { t, m: ctx.message } : { t, a: ctx.action! };
}

/** The redelivery id of a turn's event: the message's mid, or a hash of the action as sent (its ts included). */
export function eventIdOf(event: StoredEvent): string {
  if (event.m) return `m:${event.m.mid}`;
  return `a:${createHash('sha256').update(JSON.stringify(event.a)).digest('base64url').slice(0, 22)}`;
}

export function toDialogEvent(e: StoredEvent): DialogEvent {
  const message = e.m;
  const action = e.a;
  let text: string | undefined;
  if (message?.type === 'text') text = (message as { text: string }).text;
  else if (action?.type === 'text') text = (action as { text: { text: string } }).text.text;
  return {
    type: e.t,
    message,
    action,
    text,
    postback: action?.type === 'postback' ? toPostback(action as PostbackAction) : undefined,
  };
}

/** A value through JSON, as the store will give it back; a value JSON cannot hold is a typed error. */
export function jsonCopy<T>(dialog: string, what: string, value: T): T {
  if (value === undefined) return value;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new ConversationValueError(dialog, what, error);
  }
  if (text === undefined) throw new ConversationValueError(dialog, what, new TypeError(`${typeof value} is not JSON`));
  return JSON.parse(text) as T;
}

/** The bound of one dialog's record. */
export interface JournalBound {
  maxEntries: number;
  maxBytes: number;
}

/** Throws ConversationLimitError when the record is past its bound; returns its JSON size. */
export function checkBound(record: DialogRecord, bound: JournalBound): number {
  if (record.journal.length > bound.maxEntries) throw new ConversationLimitError(record.name, 'maxEntries', record.journal.length, bound.maxEntries);
  const bytes = Buffer.byteLength(JSON.stringify(record));
  if (bytes > bound.maxBytes) throw new ConversationLimitError(record.name, 'maxBytes', bytes, bound.maxBytes);
  return bytes;
}

/** The schedule member of a wait's timer (data, not a key: JSON keeps any chat id intact). */
export function timerMember(chatId: string, run: string, seq: number): string {
  return JSON.stringify([chatId, run, seq]);
}

export function parseTimerMember(member: string): { chatId: string; run: string; seq: number } | undefined {
  try {
    const v = JSON.parse(member) as unknown;
    if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string' && typeof v[2] === 'number') return { chatId: v[0], run: v[1], seq: v[2] };
  } catch {
    // Not one of ours: the caller removes it.
  }
  return undefined;
}

/** An entry's kind, for replay errors: `send`, `wait`, `loop (open)`, `call:name (done)`… */
export function describeEntry(e: Entry | undefined): string {
  if (!e) return 'nothing (the journal ended)';
  if (e.k === 'open') return `${e.t} (running)`;
  if (e.k === 'done') return `${e.t} (finished)`;
  return e.k;
}
