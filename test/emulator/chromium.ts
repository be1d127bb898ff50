/**
 * Chromium for the web chat's tests: Debian's /usr/bin/chromium driven by playwright-core (no
 * browser download). Without it a suite is skipped with a warning, except in CI, where it fails:
 * .ci/run installs the chromium package. Pages collect their script errors, which a test checks.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots for people to look at (git-ignored). */
export const OUTPUT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-output');

/**
 * `describe` when Chromium is installed; otherwise a skipped suite with a warning, or in CI a
 * failing test that says what to install.
 */
export function chromiumSuite(what: string): typeof describe {
  if (existsSync(CHROMIUM)) return describe;
  if (process.env.CI) {
    test(`Chromium is installed for ${what}`, () => {
      throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium package (see .ci/run)`);
    });
  } else {
    console.warn(`Skipping ${what}: ${CHROMIUM} is not installed (apt-get install chromium). In CI it is required.`);
  }
  return describe.skip;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A headless Chromium with a throwaway profile; steps fail after 8 s, well before a test's timeout. */
export async function launchChromium(viewport: { width: number; height: number }): Promise<Browser> {
  mkdirSync(OUTPUT, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'bbm-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.setDefaultTimeout(8000);
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export type WatchedPage = Page & { problems: string[] };

/** Opens the web chat and waits for its live event stream; script errors land in `problems`. */
export async function openWebChat(context: BrowserContext, url: string): Promise<WatchedPage> {
  const page = (await context.newPage()) as WatchedPage;
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') page.problems.push(msg.text());
  });
  await page.goto(`${url}/`);
  await page.locator('#conn[data-state="live"]').waitFor();
  return page;
}
