/**
 * Leases an instance holds in the store (a chat's turn, a message's claim), renewed together by
 * one timer every third of a lease with a compare-and-set, so a lease whose value changed (taken
 * over) is never renewed. One timer, not one per lease: most leases end before their first renewal.
 */
import type { StateStore } from '../state/store.js';

export class LeaseRenewer {
  private readonly held = new Set<{ key: string; value: unknown }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: StateStore,
    private readonly leaseMs: number,
  ) {}

  /**
   * Renews `key` while it holds `value`, until the returned function is called.
   *
   * @example const release = renewer.hold(leaseKey, lease); try { await work(); } finally { release(); }
   */
  hold(key: string, value: unknown): () => void {
    const entry = { key, value };
    this.held.add(entry);
    this.timer ??= this.start();
    return () => void this.held.delete(entry);
  }

  /** Stops renewing everything (the process is closing); the leases then lapse on their own. */
  clear(): void {
    this.held.clear();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private start(): NodeJS.Timeout {
    const timer = setInterval(() => {
      if (this.held.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
        return;
      }
      for (const h of this.held) this.store.replaceIf(h.key, h.value, h.value, this.leaseMs).catch(() => undefined);
    }, Math.max(10, Math.floor(this.leaseMs / 3)));
    timer.unref();
    return timer;
  }
}
