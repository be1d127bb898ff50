/**
 * Store writes that must not be lost to a short outage (the end of a chat's turn, a message's
 * result) are tried again in the background with a doubling delay (capped at 1 s) for a bounded
 * time, by then the records they protect have lapsed on their own.
 */

export interface RetryUntilOptions {
  /** The first wait between tries; doubled after each, up to 1 s. */
  firstDelayMs: number;
  /** Tries stop once this long has passed since the first. */
  forMs: number;
  /** Wait before the first try too (the caller has just failed it). */
  delayFirst?: boolean;
}

/**
 * Resolves true once `attempt` succeeded, false when `forMs` passed first. Never rejects.
 *
 * @example void retryUntil(() => store.endTurn(keys, ticket, owner, ttl), { firstDelayMs: 15, forMs: 15_000 });
 */
export async function retryUntil(attempt: () => Promise<unknown>, options: RetryUntilOptions): Promise<boolean> {
  const since = Date.now();
  for (let delay = options.firstDelayMs, first = true; ; delay = Math.min(delay * 2, 1_000), first = false) {
    if (!first || options.delayFirst) await new Promise((resolve) => setTimeout(resolve, delay).unref());
    try {
      await attempt();
      return true;
    } catch {
      if (Date.now() - since > options.forMs) return false;
    }
  }
}
