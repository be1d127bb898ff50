/**
 * The web chat's looks, measured in Chromium at 1280×720 (a common laptop screen): the bot's name
 * before it has sent anything, the message box before anything is typed, and two chats side by side
 * next to the inspector. Each was wrong once (issue 15): "Bot Bot" in the top bar, an 18 px box
 * that clipped its placeholder, a second chat scrolled under the inspector.
 */
import { join } from 'node:path';
import { startEmulator } from '../../src/index.js';
import { chromiumSuite, launchChromium, openWebChat, OUTPUT, type Browser } from './chromium.js';
import { send, sendBody, setup, text, uiPost, type Setup } from './helpers.js';

const suite = chromiumSuite("the web chat's layout test");

/** What the message box measures: its height and whether its content (the placeholder) fits. */
interface BoxMetrics {
  offsetHeight: number;
  clientHeight: number;
  scrollHeight: number;
}
const measure = (el: BoxMetrics): BoxMetrics => ({ offsetHeight: el.offsetHeight, clientHeight: el.clientHeight, scrollHeight: el.scrollHeight });

suite('the web chat at 1280×720', () => {
  let s: Setup;
  let browser: Browser;

  beforeAll(async () => {
    s = await setup();
    browser = await launchChromium({ width: 1280, height: 720 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it('calls the bot "The bot" until a send names it, never "Bot Bot"; then shows its name everywhere', async () => {
    const page = await openWebChat(browser.context, s.emu.url);
    const title = page.locator('.chat .bot-name').first();
    await expect(title.innerText()).resolves.toBe('The bot');
    const topBar = await page.locator('#bot-info').innerText();
    expect(topBar).not.toMatch(/Bot\s+Bot/);
    expect(topBar).toContain('Bot name not known yet');
    await expect(page.title()).resolves.toBe('BBM Emulator');

    expect((await uiPost(s.emu, `/api/chats/${s.chatId}/messages?wait=1`, { text: 'hi' })).status).toBe(201);
    expect((await send(s, sendBody(s, { messages: [text('Welcome to Pizza!')] }, 'PizzaBot'))).status).toBe(200);
    await page.locator('.chat .bot-name', { hasText: 'PizzaBot' }).first().waitFor();
    await page.locator('#bot-info', { hasText: 'Bot PizzaBot' }).waitFor();
    await expect(page.title()).resolves.toBe('PizzaBot · BBM Emulator');
    expect(page.problems).toEqual([]);
    await page.close();
  });

  it('shows a name given to startEmulator from the start', async () => {
    const named = await startEmulator({ port: 0, botName: 'OrderBot' });
    try {
      const page = await openWebChat(browser.context, named.url);
      await expect(page.locator('.chat .bot-name').first().innerText()).resolves.toBe('OrderBot');
      await expect(page.locator('#bot-info').innerText()).resolves.toContain('Bot OrderBot');
      await page.close();
    } finally {
      await named.close();
    }
  });

  it('the message box is one full line tall before typing (placeholder unclipped), grows with lines, shrinks back', async () => {
    const page = await openWebChat(browser.context, s.emu.url);
    const box = page.locator('.chat textarea').first();
    await expect(box.getAttribute('placeholder')).resolves.toBe('Type a message');
    const empty = await box.evaluate(measure);
    // One line of 14 px text at line-height 1.35 plus 8 px padding above and below: 35 px at least.
    expect(empty.offsetHeight).toBeGreaterThanOrEqual(35);
    expect(empty.scrollHeight).toBeLessThanOrEqual(empty.clientHeight);

    await box.fill('a large margherita\nextra basil\nno olives');
    const three = await box.evaluate(measure);
    expect(three.offsetHeight).toBeGreaterThanOrEqual(empty.offsetHeight + 30);
    expect(three.scrollHeight).toBeLessThanOrEqual(three.clientHeight);

    await box.fill('');
    await expect(box.evaluate(measure)).resolves.toEqual(empty);

    // Hidden from the sidebar and shown again, it measures the same.
    const shown = page.locator('.user-chats input[type=checkbox]').first();
    await shown.uncheck();
    await box.waitFor({ state: 'hidden' });
    await shown.check();
    await expect(box.evaluate(measure)).resolves.toEqual(empty);
    expect(page.problems).toEqual([]);
    await page.close();
  });

  it('two chats sit side by side between the sidebar and the inspector, and nothing scrolls the page', async () => {
    const page = await openWebChat(browser.context, s.emu.url);
    await page.locator('#add-user input').fill('Bob');
    await page.locator('#add-user button').click();
    await page.locator('.chat').nth(1).waitFor();
    // A long chat and a long inspector must not stretch the page either.
    for (let i = 0; i < 12; i++) {
      expect((await send(s, sendBody(s, { messages: [text(`Topping ${i + 1} of 12 is on the pizza.`)] }, 'PizzaBot'))).status).toBe(200);
    }
    await page.locator('.chat').first().locator('.item.bot', { hasText: 'Topping 12 of 12' }).waitFor();
    await page.screenshot({ path: join(OUTPUT, 'emulator-1280x720.png') });

    const sidebar = await page.locator('.sidebar').boundingBox();
    const inspector = await page.locator('.inspector').boundingBox();
    expect(sidebar && inspector).toBeTruthy();
    for (const n of [0, 1]) {
      const chat = await page.locator('.chat').nth(n).boundingBox();
      expect(chat).not.toBeNull();
      expect(chat!.x).toBeGreaterThanOrEqual(sidebar!.x + sidebar!.width);
      expect(chat!.x + chat!.width).toBeLessThanOrEqual(inspector!.x);
      expect(chat!.y + chat!.height).toBeLessThanOrEqual(720);
      // The composer, at the bottom of the chat, is on screen.
      const composer = await page.locator('.chat').nth(n).locator('.composer').boundingBox();
      expect(composer!.y + composer!.height).toBeLessThanOrEqual(720);
    }
    expect(inspector!.x + inspector!.width).toBeLessThanOrEqual(1280);
    const chatsArea = await page.locator('#chats').evaluate((el: { scrollWidth: number; clientWidth: number }) => [el.scrollWidth, el.clientWidth]);
    expect(chatsArea[0]).toBeLessThanOrEqual(chatsArea[1]!);
    const pageSize = await page.locator('html').evaluate((el: { scrollWidth: number; scrollHeight: number }) => [el.scrollWidth, el.scrollHeight]);
    expect(pageSize).toEqual([1280, 720]);
    expect(page.problems).toEqual([]);
    await page.close();
  });
});
