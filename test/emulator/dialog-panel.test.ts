/**
 * The inspector's dialog panel in Chromium: picking a chat in the inspector shows the dialog the
 * bot runs in it (read from the bot's store the emulator was given), its timeout counting down,
 * then "no dialog" once the record is gone, without a reload; an emulator without the bot's store
 * says it cannot see it. The screenshot goes to test-output/ for people to look at.
 */
import { join } from 'node:path';
import { chatKey, dialogReaderFromStore, MemoryStore } from '../../src/index.js';
import { chromiumSuite, launchChromium, openWebChat, OUTPUT, type Browser } from './chromium.js';
import { setup, type Setup } from './helpers.js';

const suite = chromiumSuite("the inspector's dialog panel test");

suite("the inspector's dialog panel in Chromium", () => {
  let store: MemoryStore;
  let s: Setup;
  let bare: Setup;
  let browser: Browser;

  beforeAll(async () => {
    store = new MemoryStore();
    [s, bare] = await Promise.all([setup({ readDialog: dialogReaderFromStore(store) }), setup()]);
    browser = await launchChromium({ width: 1440, height: 860 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await s?.close();
    await bare?.close();
    await store?.close();
  });

  it('shows the chosen chat dialog: its name, what it waits for, the timeout counting down; then no dialog', async () => {
    const now = Date.now();
    await store.set(
      chatKey('conv', s.chatId),
      {
        v: 1,
        name: 'booking',
        arg: null,
        run: 'r1',
        journal: [{ k: 'reply' }, { k: 'wait' }],
        wait: { seq: 1, accepts: 'text', timeoutAt: now + 95_000 },
        startedAt: now - 10_000,
        updatedAt: now - 2_000,
        seq: 1,
        steps: 0,
        turns: 1,
      },
      60_000,
    );
    const page = await openWebChat(browser.context, s.emu.url);
    const panel = page.locator('#dialog');
    await panel.locator('.dialog-note', { hasText: 'Pick a chat' }).waitFor();
    await page.locator('#filter').selectOption(s.chatId);

    await panel.locator('.dialog-name', { hasText: 'booking' }).waitFor();
    await expect(panel.locator('.dialog-waits').innerText()).resolves.toBe('text');
    await expect(panel.locator('.dialog-journal').innerText()).resolves.toBe('2 entries');
    await expect(panel.locator('.dialog-turns').innerText()).resolves.toBe('1');
    // 95 s away: "in 1:3x (at …)", and it counts down without a new read of the record.
    const first = await panel.locator('.dialog-timeout').innerText();
    expect(first).toMatch(/^in 1:3\d \(at .+\)$/);
    await panel.locator('.dialog-timeout').filter({ hasNotText: first }).waitFor({ timeout: 3000 });
    await page.screenshot({ path: join(OUTPUT, 'emulator-dialog-panel.png') });

    // The dialog ended in the bot: the panel follows within a poll.
    await store.delete(chatKey('conv', s.chatId));
    await panel.locator('.dialog-note', { hasText: 'No dialog is running in this chat.' }).waitFor();
    expect(page.problems).toEqual([]);
    await page.close();
  });

  it("says it cannot see the bot's state when the emulator was started without a reader", async () => {
    const page = await openWebChat(browser.context, bare.emu.url);
    await page.locator('#filter').selectOption(bare.chatId);
    await page.locator('#dialog[data-status="unavailable"] .dialog-note', { hasText: 'npm run dev' }).waitFor();
    expect(page.problems).toEqual([]);
    await page.close();
  });
});
