import { createTestHarness, type Bot, type HarnessOptions, type TestHarness } from '../../src/index.js';

const open: { close(): Promise<void> }[] = [];

/** A test harness closed automatically after each test (call closeHarnesses in afterEach). */
export async function harness<S>(bot: Bot<S>, options: HarnessOptions = {}): Promise<TestHarness<S>> {
  const h = await createTestHarness(bot, options);
  open.push(h);
  return h;
}

export async function closeHarnesses(): Promise<void> {
  await Promise.all(open.splice(0).map((h) => h.close()));
}
