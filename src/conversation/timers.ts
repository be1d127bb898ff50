/**
 * Durable dialog timers over the store's schedule: one schedule for every chat, members
 * `[chatId, run, seq]`. Each engine polls it (every `pollMs`, on the bot's clock) and also sets an
 * exact local timer for the due times it schedules itself, so a timeout fires on time here and
 * within a poll interval on any other instance when this one is gone. A claim moves the member
 * `leaseMs` ahead: a claimer that dies lets it fall due again for anyone; one that fires it
 * removes it. The per-chat turn and the run/seq check in the fired turn make it fire once.
 */
import type { Clock } from '../bot/clock.js';
import type { PluginHost } from '../bot/plugin.js';
import { storeKey } from '../state/keys.js';
import { parseTimerMember, timerMember } from './journal.js';

export const TIMERS_KEY = storeKey('timers', 'conv');

export interface TimerOptions {
  pollMs: number;
  leaseMs: number;
  batch: number;
}

export const DEFAULT_TIMER_OPTIONS: TimerOptions = { pollMs: 500, leaseMs: 30_000, batch: 20 };

type Fire = (chatId: string, run: string, seq: number) => Promise<void>;

/** Every started engine's timers, for the test kit: which work a clock's advance set going. */
const running = new Set<DialogTimers>();

export class DialogTimers {
  private readonly inflight = new Set<Promise<void>>();
  private readonly handles = new Set<unknown>();
  private pollHandle: unknown;
  private polling = false;
  private again = false;
  private closed = false;

  constructor(
    private readonly host: PluginHost,
    private readonly fire: Fire,
    private readonly options: TimerOptions = DEFAULT_TIMER_OPTIONS,
  ) {
    running.add(this);
    this.arm();
  }

  /** A fired timer's turn (or a poll) is running. */
  get busy(): boolean {
    return this.inflight.size > 0;
  }

  get clock(): Clock {
    return this.host.clock;
  }

  /** Schedules the wait's timer (durable), and a local timer for its due time. */
  async add(chatId: string, run: string, seq: number, dueAt: number): Promise<void> {
    await this.host.store.scheduleAdd(TIMERS_KEY, timerMember(chatId, run, seq), dueAt);
    if (this.closed) return;
    const handle = this.host.clock.setTimeout(() => {
      this.handles.delete(handle);
      this.poll();
    }, Math.max(0, dueAt - this.host.clock.now()));
    this.handles.add(handle);
  }

  async remove(chatId: string, run: string, seq: number): Promise<void> {
    await this.host.store.scheduleRemove(TIMERS_KEY, timerMember(chatId, run, seq));
  }

  /** Claims what is due and fires it; one poll at a time (a poll asked for meanwhile runs after). */
  poll(): void {
    if (this.closed) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    this.polling = true;
    // The claim's `now` is read here, synchronously: a FakeClock advance sees its own time.
    const now = this.host.clock.now();
    this.track(
      this.pollOnce(now).finally(() => {
        this.polling = false;
        if (this.again) {
          this.again = false;
          this.poll();
        }
      }),
    );
  }

  private async pollOnce(now: number): Promise<void> {
    const { leaseMs, batch } = this.options;
    let claimed;
    try {
      claimed = await this.host.store.scheduleClaim(TIMERS_KEY, now, leaseMs, batch);
    } catch (err) {
      this.host.logger.warn({ err }, 'dialog timers: claiming due timers failed; retrying at the next poll');
      return;
    }
    await Promise.all(claimed.map(({ member }) => this.fireOne(member)));
    if (claimed.length === batch) this.again = true;
  }

  private async fireOne(member: string): Promise<void> {
    const timer = parseTimerMember(member);
    try {
      if (timer) await this.fire(timer.chatId, timer.run, timer.seq);
      await this.host.store.scheduleRemove(TIMERS_KEY, member);
    } catch (err) {
      // Left claimed: it falls due again after the lease, here or on another instance.
      this.host.logger.error({ err, timer: member }, 'dialog timer failed; it fires again after its lease');
    }
  }

  private arm(): void {
    if (this.closed) return;
    this.pollHandle = this.host.clock.setTimeout(() => {
      this.poll();
      this.arm();
    }, this.options.pollMs);
  }

  private track(work: Promise<void>): void {
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }

  /** Resolves when no fired timer's turn is running (a bounded wait is the caller's). */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Stops polling and waits (at most `timeoutMs`) for turns in flight. */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    running.delete(this);
    this.host.clock.clearTimeout(this.pollHandle);
    for (const h of this.handles) this.host.clock.clearTimeout(h);
    this.handles.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.settled(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }
}

/**
 * Waits until the dialog timers running on `clock` have no turn in flight (bounded by real time):
 * the test kit's `advance` calls it after moving a FakeClock, so the timeouts that fell due have
 * sent their replies when it returns.
 *
 * @example clock.advance(60_000); await dialogTimersSettled(clock, 5000);
 */
export async function dialogTimersSettled(clock: Clock, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mine = [...running].filter((t) => t.clock === clock);
    // Two passes with nothing in flight: a fired turn may start another poll as it ends.
    const busy = mine.filter((t) => t.busy);
    if (busy.length === 0) {
      await new Promise((r) => setImmediate(r));
      if (mine.every((t) => !t.busy)) return true;
      continue;
    }
    const left = deadline - Date.now();
    if (left <= 0) return false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(busy.map((t) => t.settled())), new Promise((r) => (timer = setTimeout(r, left)))]);
    clearTimeout(timer);
  }
}
