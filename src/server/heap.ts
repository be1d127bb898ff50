/**
 * The heap policy of a bot server process.
 *
 * V8 sizes the old generation for throughput: under a steady churn of records that live for a
 * while (redelivery records, delivery tracking, sessions in the memory store), it lets the heap
 * grow to about four times the live data before a full collection, and RSS follows. Measured with
 * `npm run bench` (1,000,000 callbacks over 100,000 chats): ~110 MB live, ~500 MB RSS by default.
 * A smaller growing factor brings full collections sooner, so RSS stays within about twice the live
 * data, for a few percent of CPU under that churn.
 *
 * V8 reads the factor at every collection, so it can be set once the process runs. Only the
 * process entry point (`runFromEnvironment`) applies it: a bot embedded in another application
 * leaves that application's heap alone.
 */
import { setFlagsFromString } from 'node:v8';

const FLAG = /^--heap[-_]growing[-_]percent(=|$)/;

/**
 * Applies HEAP_GROWING_PERCENT. Returns the percent in force from now on, or undefined when V8's own
 * policy stays (0, or a `--heap-growing-percent` given to node, which wins).
 */
export function applyHeapGrowingPercent(percent: number, execArgv: readonly string[] = process.execArgv): number | undefined {
  if (!Number.isSafeInteger(percent) || percent < 0) throw new RangeError(`HEAP_GROWING_PERCENT must be a whole number ≥ 0, got ${percent}`);
  if (percent === 0 || execArgv.some((a) => FLAG.test(a))) return undefined;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
