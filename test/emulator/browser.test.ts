/**
 * The web chat in a real browser: Debian's Chromium driven by playwright-core (no browser download).
 * The echo bot says "hello" back; the showcase bot answers a postback button; leaving a chat closes
 * it. Screenshots go to test-output/ (git-ignored) for people to look at.
 * Without Chromium the suite is skipped (see ./chromium.ts).
 */
import { join } from 'node:path';
import echo from '../../bots/echo/index.js';
import showcase, { settings } from '../../bots/showcase/index.js';
import { startBotServer, startEmulator, type Bot, type BotServer, type Emulator } from '../../src/index.js';
import { chromiumSuite, launchChromium, openWebChat, OUTPUT, type Browser } from './chromium.js';
import { botConfigFor, send, sendBody } from './helpers.js';

const suite = chromiumSuite("the emulator's browser test");

interface Platform {
  emu: Emulator;
  server: BotServer<unknown>;
}

async function platform(bot: Bot<unknown>, deliveryNotifications: boolean): Promise<Platform> {
  const emu = await startEmulator({ port: 0, deliveryNotifications, callbackRetry: { attempts: 3, backoffMs: 50 } });
  const config = botConfigFor(emu, deliveryNotifications);
  const server = await startBotServer({ config, bot });
  emu.setBotUrl(server.url);
  return { emu, server };
}

/** Images bots link to (picsum...) are answered locally: the test needs no network and screenshots stay clean. */
const PLACEHOLDER = `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#1e88e5"/><stop offset="1" stop-color="#0b2545"/></linearGradient></defs><rect width="600" height="300" fill="url(#g)"/><circle cx="470" cy="80" r="46" fill="#ffffff" fill-opacity=".18"/><path d="M0 240 L160 150 L300 230 L420 170 L600 250 L600 300 L0 300Z" fill="#ffffff" fill-opacity=".22"/></svg>`;

suite('the web chat in Chromium', () => {
  let echoP: Platform;
  let showP: Platform;
  let browser: Browser;

  beforeAll(async () => {
    settings.slowWorkMs = 50;
    [echoP, showP] = await Promise.all([platform(echo as Bot<unknown>, false), platform(showcase as Bot<unknown>, true)]);
    browser = await launchChromium({ width: 1440, height: 860 });
    await browser.context.route(
      (url) => url.hostname !== '127.0.0.1',
      (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: PLACEHOLDER }),
    );
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const p of [echoP, showP]) {
      await p?.server.shutdown();
      await p?.emu.close();
    }
  });

  const open = (p: Platform) => openWebChat(browser.context, p.emu.url);

  it('chats with the echo bot: "hello" comes back, the message shows R, the inspector lists the traffic', async () => {
    const page = await open(echoP);
    const chat = page.locator('.chat').first();
    await chat.locator('textarea').fill('hello');
    await chat.locator('textarea').press('Enter');
    await chat.locator('.item.bot .bubble', { hasText: 'hello' }).waitFor();
    await chat.locator('.item.user[data-state="read"] .glyph', { hasText: 'R' }).waitFor();
    await page.locator('.bot-info', { hasText: 'EchoBot' }).waitFor();

    // The inspector: the callback, the token request and the send, with secrets masked.
    await page.locator('.entry.kind-callback:not([data-pending="1"])').first().waitFor();
    await page.locator('.entry.kind-api').first().waitFor();
    await page.locator('.entry.kind-token').first().waitFor();
    await page.locator('.entry.kind-callback').first().locator('summary').click();
    const detail = await page.locator('.entry.kind-callback').first().locator('.detail').innerText();
    expect(detail).toContain('bbm-sig');
    expect(detail).toContain('(masked)');
    expect(detail).not.toContain(echoP.emu.sigKey);

    // The bot's typing action shows "is typing…" until its next message.
    const c = echoP.emu.chats()[0]!;
    const target = { emu: echoP.emu, chatId: c.chatId, userId: c.userId };
    expect((await send(target, sendBody(target, { actions: [{ type: 'typing' }] }, 'EchoBot'))).status).toBe(200);
    await chat.locator('.typing', { hasText: 'EchoBot is typing…' }).waitFor();
    expect((await send(target, sendBody(target, { messages: [{ type: 'text', text: 'done typing' }] }, 'EchoBot'))).status).toBe(200);
    await chat.locator('.item.bot .bubble', { hasText: 'done typing' }).waitFor();
    await chat.locator('.typing').waitFor({ state: 'hidden' });

    // Typing an over-long message is caught before sending.
    await chat.locator('textarea').fill('x'.repeat(2001));
    await expect(chat.locator('.send').isDisabled()).resolves.toBe(true);
    await chat.locator('textarea').fill('');

    await page.screenshot({ path: join(OUTPUT, 'emulator-echo.png') });
    expect(page.problems).toEqual([]);
    await page.close();
  }, 30_000);

  it('opens the showcase bot, taps a postback button, sees its reply, and leaves the chat', async () => {
    const page = await open(showP);
    const chat = page.locator('.chat').first();
    await chat.locator('textarea').fill('hi');
    await chat.locator('textarea').press('Enter');
    const card = chat.locator('.item.bot .card');
    await card.waitFor();
    await expect(card.locator('.card-title').innerText()).resolves.toBe('BBM bot showcase');
    await card.locator('button', { hasText: 'Book a table' }).click();
    await chat.locator('.item.user .bubble.postback', { hasText: 'Book a table' }).waitFor();
    await chat.locator('.item.bot .bubble', { hasText: 'What name should I put it under?' }).waitFor();

    // Delivery notifications on: the page reports what it showed, and the bot's messages reach R.
    const chatId = showP.emu.chats()[0]!.chatId;
    await showP.emu.waitFor(
      () => {
        const bots = showP.emu.chat(chatId).items.filter((i) => i.from === 'bot');
        return bots.length >= 3 && bots.every((i) => i.state === 'read');
      },
      5000,
      'the page to read the bot\'s messages',
    );
    expect(showP.emu.traffic(chatId).some((e) => e.kind === 'callback' && JSON.stringify(e.requestBody).includes('"read"'))).toBe(true);

    // A second user, side by side.
    await page.locator('#add-user input').fill('Bob');
    await page.locator('#add-user button').click();
    await page.locator('.chat').nth(1).waitFor();
    await page.locator('.chat').nth(1).locator('textarea').fill('good evening');
    await page.locator('.chat').nth(1).locator('textarea').press('Enter');
    await page.locator('.chat').nth(1).locator('.item.bot .bubble', { hasText: 'You said "good evening"' }).waitFor();

    await page.screenshot({ path: join(OUTPUT, 'emulator-showcase.png') });

    await chat.locator('button.leave').click();
    await chat.locator('.closed-bar').waitFor();
    await chat.locator('.item.system', { hasText: 'left the chat' }).waitFor();
    expect(showP.emu.chat(chatId).open).toBe(false);
    await showP.emu.waitFor(
      () => showP.emu.traffic(chatId).find((e) => e.kind === 'callback' && !e.pending && JSON.stringify(e.requestBody).includes('"leave"')),
      3000,
      'the leave callback',
    );
    await expect(chat.locator('.card button').first().isDisabled()).resolves.toBe(true);

    // The inspector's filter shows one chat's traffic only.
    await page.locator('#filter').selectOption(chatId);
    const shown = await page.locator('.entry').count();
    expect(shown).toBe(Math.min(300, showP.emu.traffic(chatId).length));
    await page.screenshot({ path: join(OUTPUT, 'emulator-left.png') });
    expect(page.problems).toEqual([]);
    await page.close();
  }, 30_000);
});
