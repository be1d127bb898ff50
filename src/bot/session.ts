/**
 * `ctx.session`: per-chat state through the StateStore. A callback loads it once; each turn starts
 * from the last saved value and saves its changes only if it succeeds, so a handler that throws
 * leaves the session as it was before its turn; the bot (turn()) also saves a turn that failed
 * with UserGoneError, whose work stands. One chat's turns never overlap, so no update is lost.
 */
import { chatKey } from '../state/keys.js';
import type { StateStore } from '../state/store.js';

export interface SessionOptions<S> {
  /** The value of a chat that has no session yet. Must be JSON-serialisable. */
  initial: () => S;
  /** How long an untouched session is kept. Default 30 days. */
  ttlMs?: number;
}

export interface SessionTurns<S> {
  /** A fresh copy of the current value for a turn to change. */
  begin(): S;
  /** Saves the turn's value if it changed (or deletes the session when cleared). */
  commit(value: S, cleared: boolean): Promise<void>;
}

export class SessionStore<S> {
  private readonly ttlMs: number;

  constructor(
    private readonly store: StateStore,
    private readonly options: SessionOptions<S>,
  ) {
    this.ttlMs = options.ttlMs ?? 30 * 24 * 60 * 60 * 1000;
  }

  private key(chatId: string): string {
    return chatKey('session', chatId);
  }

  async load(chatId: string): Promise<SessionTurns<S>> {
    const key = this.key(chatId);
    const stored = await this.store.get<S>(key);
    // The saved JSON, or undefined while the chat has only its initial value.
    let saved = stored === undefined ? undefined : JSON.stringify(stored);
    let baseline = '';
    return {
      begin: () => {
        const value = saved === undefined ? this.options.initial() : (JSON.parse(saved) as S);
        baseline = JSON.stringify(value) ?? '';
        return value;
      },
      commit: async (value, cleared) => {
        if (cleared) {
          if (saved !== undefined) await this.store.delete(key);
          saved = undefined;
          return;
        }
        const next = JSON.stringify(value) ?? '';
        if (next === baseline) return;
        await this.store.set(key, value, this.ttlMs);
        saved = next;
      },
    };
  }

  clear(chatId: string): Promise<void> {
    return this.store.delete(this.key(chatId));
  }
}
