/**
 * Polls a condition every 5 ms until it holds, failing after `timeoutMs`: for what arrives over a
 * real socket after a FakeClock moved (a typing action the advance set off), where no event says so.
 */
export async function until(done: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
