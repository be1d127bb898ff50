/**
 * A clock tests drive by hand: `advance(ms)` moves time and runs the timers that fall due, in
 * order, each seeing `now()` equal to its own due time. For TypingRelay, typing timeouts, a
 * handler's `ctx.sleep` and the like. A handler runs behind HTTP, so a test first waits (in real
 * time, bounded) until the handler has set its timer (`waitForTimer`), then advances.
 */
import type { Clock } from '../bot/clock.js';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  private timers: Timer[] = [];
  private waiters: { withinMs: number; resolve: () => void }[] = [];

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, at: this.time + Math.max(0, ms), fn };
    this.timers.push(timer);
    for (const w of [...this.waiters]) {
      if (this.hasTimerWithin(w.withinMs)) w.resolve();
    }
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Timers waiting to fire. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /**
   * Resolves once a timer is waiting that falls due within `withinMs` from now (at once if one
   * already is): e.g. a handler has reached `ctx.sleep(withinMs)`. Rejects after `timeoutMs` of
   * real time. Timers due later (the handler timeout, typing timeouts) do not count.
   *
   * @example
   * const placing = h.userSays('order'); // not awaited: the handler sleeps on the bot's clock
   * await clock.waitForTimer(2000);
   * clock.advance(2000);
   * await placing;
   */
  waitForTimer(withinMs: number, timeoutMs = 5000): Promise<void> {
    if (this.hasTimerWithin(withinMs)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        withinMs,
        resolve: () => {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`FakeClock: no timer due within ${withinMs} ms was set in ${timeoutMs} ms (pending: ${this.timers.map((t) => t.at - this.time).join(', ') || 'none'})`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private hasTimerWithin(ms: number): boolean {
    return this.timers.some((t) => t.at <= this.time + ms);
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      due.fn();
    }
    this.time = end;
  }
}
