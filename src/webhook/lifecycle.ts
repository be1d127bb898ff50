/**
 * Tracks work that shutdown must wait for (callbacks being handled, sends they started, handlers
 * still running in the background) and whether new work is still welcome.
 */
export class Lifecycle {
  private drainingSince: number | undefined;
  private readonly pending = new Set<Promise<unknown>>();

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Registers work; it is awaited by {@link drain}. Returns the same promise. */
  track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    const done = () => this.pending.delete(work);
    work.then(done, done);
    return work;
  }

  /**
   * Stops new work and waits for the tracked work, at most `timeoutMs`. Resolves true when
   * everything finished in time.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.drainingSince ??= Date.now();
    const deadline = Date.now() + timeoutMs;
    // Work may start more work (a handler's send), so wait until the set stays empty.
    while (this.pending.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), left);
      });
      const all = Promise.allSettled([...this.pending]);
      const outcome = await Promise.race([all, timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') return false;
    }
    return true;
  }
}
