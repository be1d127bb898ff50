/**
 * The inspector's view of a chat's running dialog (a conversation, src/conversation). The emulator
 * is a separate platform and does not hold the bot's state, so it can show a dialog only when the
 * one who starts it hands it a way to read the bot's store: `npm run dev` does (its runner holds
 * the store, or reaches the same Redis), `npm run emulator` alone does not, and the panel says so.
 *
 * The record is another program's data, possibly of another version: it is read loosely. Known
 * fields of the right type are shown, anything else leaves the raw JSON to look at; nothing here
 * throws on a strange record.
 */
import { chatKey } from '../state/keys.js';
import type { StateStore } from '../state/store.js';

/** Reads the stored dialog record of a chat (undefined when it has none), as the bot stored it. */
export type DialogReader = (chatId: string) => Promise<unknown>;

/** What `startEmulator` takes for the inspector's dialog panel. */
export interface DialogInspectorOptions {
  /**
   * Reads the bot's dialog record of a chat, so the inspector can show the chat's running dialog.
   * Without it the panel says the emulator cannot see the bot's state. `dialogReaderFromStore(store)`
   * builds one from the bot's StateStore.
   */
  readDialog?: DialogReader;
}

/** A running dialog as the inspector shows it; every field but `name` is there only when the record had it. */
export interface InspectorDialogFields {
  name: string;
  /** The run's random id. */
  run?: string;
  /** What the dialog waits for (the record's `wait.accepts`, as text); absent while it does not wait. */
  waitsFor?: string;
  /** When the wait times out (ms since the epoch). */
  timeoutAt?: number;
  /** `timeoutAt` minus the emulator's clock when read: negative once it is due. */
  timeoutInMs?: number;
  turns?: number;
  /** How many journal entries the record holds (its bounded size). */
  journalLength?: number;
  startedAt?: number;
  updatedAt?: number;
  /** The last event the dialog took (its redelivery guard). */
  lastEvent?: string;
  /** The sub-flows (`conv.call`) running inside it, outermost first: the journal's open `call:` frames. */
  subflows?: string[];
}

/** A chat's running dialog, with the record it was read from. */
export type ActiveDialog = { status: 'active'; raw: unknown } & InspectorDialogFields;

/** The dialog panel's content for one chat: `GET /api/chats/:chatId/dialog` answers `{ dialog }`. */
export type InspectorDialog =
  | { status: 'unavailable'; reason: string }
  | { status: 'none' }
  | ActiveDialog
  | { status: 'unrecognized'; reason: string; raw: unknown }
  | { status: 'error'; message: string };

/** Where the conversation engine keeps a chat's dialog (design of issue 16: one record per chat). */
export const DIALOG_RECORD_KIND = 'conv';

/** A hung store must not hang the page's request: the panel says so instead. */
const READ_TIMEOUT_MS = 3000;

const UNAVAILABLE =
  'The emulator cannot see the bot\'s state: it was started without a way to read the bot\'s store. npm run dev gives it one; from code, startEmulator({ readDialog: dialogReaderFromStore(store) }).';

/**
 * A DialogReader over the bot's own StateStore (the same MemoryStore, or a RedisStore with the same
 * prefix): reads the record the conversation engine keeps per chat.
 *
 * @example
 * const store = new MemoryStore();
 * const server = await startBotServer({ config, bot, store });
 * const emu = await startEmulator({ readDialog: dialogReaderFromStore(store) });
 */
export function dialogReaderFromStore(store: Pick<StateStore, 'get'>): DialogReader {
  return (chatId) => store.get<unknown>(chatKey(DIALOG_RECORD_KIND, chatId));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** `wait.accepts` as one line: a description is shown as it is, a list joined, anything else as JSON. */
function describeAccepts(accepts: unknown): string | undefined {
  if (accepts === undefined || accepts === null) return undefined;
  if (typeof accepts === 'string') return accepts;
  if (Array.isArray(accepts) && accepts.every((a) => typeof a === 'string')) return accepts.join(' or ');
  try {
    return JSON.stringify(accepts);
  } catch {
    return String(accepts);
  }
}

/** The names of the sub-flows still open in a journal (`{ k: 'open', t: 'call:name' }`), or undefined. */
function openCalls(journal: unknown): string[] | undefined {
  if (!Array.isArray(journal)) return undefined;
  const names = journal.flatMap((e) => (isObject(e) && e.k === 'open' && typeof e.t === 'string' && e.t.startsWith('call:') ? [e.t.slice(5)] : []));
  return names.length > 0 ? names : undefined;
}

/**
 * Reads a stored record loosely into what the panel shows: a record is a dialog when it is an
 * object with a string `name`; its other fields are kept when they have the expected type.
 *
 * @example
 * viewDialogRecord({ v: 1, name: 'booking', wait: { seq: 2, accepts: 'text' }, journal: [], turns: 1 }, Date.now())
 * // { status: 'active', name: 'booking', waitsFor: 'text', journalLength: 0, turns: 1, raw: {...} }
 */
export function viewDialogRecord(raw: unknown, now: number): InspectorDialog {
  if (raw === undefined || raw === null) return { status: 'none' };
  if (!isObject(raw) || typeof raw.name !== 'string') {
    return { status: 'unrecognized', reason: 'the stored record is not a dialog this emulator knows (no name)', raw };
  }
  const fields: Partial<InspectorDialogFields> = {};
  // Only fields the record had, of the right type: the page tells "absent" from "zero".
  const put = <K extends keyof InspectorDialogFields>(key: K, value: InspectorDialogFields[K] | undefined): void => {
    if (value !== undefined) fields[key] = value;
  };
  put('run', str(raw.run));
  put('turns', num(raw.turns));
  put('journalLength', Array.isArray(raw.journal) ? raw.journal.length : undefined);
  put('subflows', openCalls(raw.journal));
  put('startedAt', num(raw.startedAt));
  put('updatedAt', num(raw.updatedAt));
  put('lastEvent', str(raw.lastEvent));
  if (isObject(raw.wait)) {
    // A wait with nothing described still waits: say "any event" rather than nothing.
    put('waitsFor', describeAccepts(raw.wait.accepts) ?? 'any event');
    const timeoutAt = num(raw.wait.timeoutAt);
    put('timeoutAt', timeoutAt);
    put('timeoutInMs', timeoutAt === undefined ? undefined : timeoutAt - now);
  }
  return { status: 'active', ...fields, name: raw.name, raw };
}

/**
 * The panel's content for `chatId`: read through `options.readDialog` (bounded by `timeoutMs`,
 * default 3 s), then viewed loosely. A reader that fails or hangs gives an `error` view, never a
 * thrown error.
 *
 * @example
 * const dialog = await inspectDialog('837680', { readDialog: dialogReaderFromStore(store) });
 * if (dialog.status === 'active') console.log(dialog.name, dialog.waitsFor);
 */
export async function inspectDialog(
  chatId: string,
  options: DialogInspectorOptions & { now?: () => number; timeoutMs?: number },
): Promise<InspectorDialog> {
  const read = options.readDialog;
  const limit = options.timeoutMs ?? READ_TIMEOUT_MS;
  if (!read) return { status: 'unavailable', reason: UNAVAILABLE };
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the bot's store did not answer within ${limit} ms`)), limit);
    });
    const raw = await Promise.race([Promise.resolve().then(() => read(chatId)), timeout]);
    return viewDialogRecord(raw, (options.now ?? Date.now)());
  } catch (err) {
    return { status: 'error', message: `the dialog could not be read: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    clearTimeout(timer);
  }
}
