/**
 * The heap policy of a bot server process.
 *
 * V8 sizes the old generation for throughput: under a steady churn of records that live for a
 * while (redelivery records, delivery tracking, sessions in the memory store), it lets the heap
 * grow to about four times the live data before a full collection, and RSS follows. Measured with
 * `npm run bench` (1,000,000 callbacks over 100,000 chats): ~110 MB live, ~500 MB RSS by default.
 * A smaller growing factor brings full collections sooner, so RSS stays within about twice the
 * live data, for a few percent of CPU under that churn.
 *
 * With little live data the same setting only makes full collections frequent (latency gets
 * spikier) for little memory saved. So the factor applies once the old generation holds
 * `LARGE_HEAP_BYTES` (looked at after every collection, so it engages before V8's first full
 * collection has let the heap balloon), and V8's policy comes back when a full collection leaves
 * under half that.
 *
 * V8 reads the factor at every collection, so it can change while the process runs. Only the
 * process entry point (`runFromEnvironment`) applies it: a bot embedded in another application
 * leaves that application's heap alone.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** Live data from which the growing factor applies. */
export const LARGE_HEAP_BYTES = 32 * 1024 * 1024;

const FLAG = /^--heap[-_]growing[-_]percent(=|$)/;

export interface HeapPolicy {
  /** The percent that applies while the heap is large, or undefined when V8's policy always stays. */
  readonly percent: number | undefined;
  /** Whether the percent is in force now. */
  readonly applied: boolean;
  /**
   * Looks at the old generation's use after a collection (the observer calls it). After a full
   * one that is the live data; after a minor one it counts garbage too.
   */
  check(oldSpaceBytes: number, afterFullCollection?: boolean): void;
  stop(): void;
}

/**
 * The old generation's use right after a full collection: its live data, near enough. (The whole
 * heap's use would count the young generation too, up to tens of MB of short-lived objects.)
 */
function oldSpaceUsed(): number {
  let used = 0;
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name === 'old_space' || space.space_name === 'large_object_space') used += space.space_used_size;
  }
  return used;
}

/**
 * Applies HEAP_GROWING_PERCENT while the live heap is large. `percent` 0, or a
 * `--heap-growing-percent` given to node (which wins), leaves V8's policy in place.
 */
export function startHeapPolicy(
  percent: number,
  options: { execArgv?: readonly string[]; setFlag?: (flag: string) => void; observe?: boolean } = {},
): HeapPolicy {
  if (!Number.isSafeInteger(percent) || percent < 0) throw new RangeError(`HEAP_GROWING_PERCENT must be a whole number ≥ 0, got ${percent}`);
  const setFlag = options.setFlag ?? setFlagsFromString;
  const inactive = percent === 0 || (options.execArgv ?? process.execArgv).some((a) => FLAG.test(a));
  let applied = false;
  /** The live data the last full collection found; undefined before the first. */
  let lastLive: number | undefined;
  const policy = {
    percent: inactive ? undefined : percent,
    get applied() {
      return applied;
    },
    check(oldSpaceBytes: number, afterFullCollection = true) {
      if (inactive) return;
      if (afterFullCollection) lastLive = oldSpaceBytes;
      // Engaging may follow a minor collection (early, before V8 lets the heap balloon), unless the
      // last full collection found little live data: then the bytes are garbage, and engaging
      // would only flip back at the next full collection.
      const smallLive = lastLive !== undefined && lastLive < LARGE_HEAP_BYTES / 2;
      if (!applied && oldSpaceBytes >= LARGE_HEAP_BYTES && (afterFullCollection || !smallLive)) {
        setFlag(`--heap-growing-percent=${percent}`);
        applied = true;
      } else if (applied && afterFullCollection && oldSpaceBytes < LARGE_HEAP_BYTES / 2) {
        // 0 is V8's "not set": its own growing factor again.
        setFlag('--heap-growing-percent=0');
        applied = false;
      }
    },
    stop() {
      observer?.disconnect();
    },
  };
  let observer: PerformanceObserver | undefined;
  if (!inactive && options.observe !== false) {
    observer = new PerformanceObserver((list) => {
      const major = list.getEntries().some((e) => (e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
      if (major || !applied) policy.check(oldSpaceUsed(), major);
    });
    observer.observe({ entryTypes: ['gc'] });
  }
  return policy;
}
