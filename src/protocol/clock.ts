/**
 * Time, injectable so tests drive timers instead of sleeping. It lives at the bottom layer because
 * the rules that need it (the spec's outgoing typing rules) are shared by the bot, the test kit and
 * the emulator, and none of those may import upwards to get it.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real time. Its timers are unref'd: a pending typing timer never keeps a process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
