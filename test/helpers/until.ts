/**
 * Polls a condition (sync or async) until it holds, failing after `timeoutMs`: for what arrives over
 * a real socket or from another process, where no event says so. Resolves with the time it took.
 */
export async function until(done: () => boolean | Promise<boolean>, what: string, timeoutMs = 2000, intervalMs = 5): Promise<number> {
  const started = Date.now();
  while (!(await done())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return Date.now() - started;
}
