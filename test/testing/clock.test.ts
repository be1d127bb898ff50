/**
 * Waits inside handlers run on the bot's clock: with the harness's FakeClock a test skips a
 * handler's `ctx.sleep(2000)` instead of waiting 2 s, by the documented pattern (post without
 * awaiting, wait for the handler's timer, advance, await).
 */
import { createBot, createTestHarness, FakeClock, type TestHarness } from '../../src/index.js';

const bot = createBot({ name: 'Pizza' });
bot.hears('order', async (ctx) => {
  await ctx.reply('Placing your order…');
  await ctx.sleep(2000);
  await ctx.reply('Order placed!');
});
bot.hears('negative', async (ctx) => {
  await ctx.sleep(-1).catch((error: unknown) => ctx.reply(`refused: ${(error as Error).name}`));
});

describe('ctx.sleep on the harness clock', () => {
  const clock = new FakeClock();
  let h: TestHarness<typeof bot>;
  beforeAll(async () => {
    h = await createTestHarness(bot, { clock });
  });
  afterAll(() => h.close());
  beforeEach(() => h.newChat());

  it('is skipped by advancing the FakeClock while the handler waits', async () => {
    const started = Date.now();
    const placing = h.userSays('order');
    await clock.waitForTimer(2000);
    h.expectReply('Placing your order…');
    const before = clock.now();
    clock.advance(1999);
    // Not yet: the handler still sleeps (a real 50 ms for it to have gone on, had it woken).
    await new Promise((r) => setTimeout(r, 50));
    h.expectNoReply();
    clock.advance(1);
    const answer = await placing;
    expect(answer.status).toBe(200);
    h.expectReply('Order placed!');
    expect(clock.now() - before).toBe(2000);
    // The 2 s were never waited for.
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('refuses a negative or non-finite wait', async () => {
    await h.userSays('negative');
    h.expectReply('refused: RangeError');
  });

  it('waitForTimer fails, bounded, when no handler sets such a timer', async () => {
    await expect(clock.waitForTimer(10, 30)).rejects.toThrow(/no timer due within 10 ms was set in 30 ms/);
  });
});
