/**
 * A real headless Chromium for tests of pages (Debian's `chromium`; CHROMIUM_PATH overrides). Without one, browser
 * tests are skipped with a warning, or fail when COMPUTE_MCP_REQUIRE_BROWSER=1 (CI installs it and sets that).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { ROOT } from './cli.js';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const HAVE_BROWSER = existsSync(CHROMIUM) || process.env.COMPUTE_MCP_REQUIRE_BROWSER === '1';
export const ARTIFACTS = join(ROOT, 'test-artifacts');

export function warnWithoutBrowser(what: string): void {
  if (!HAVE_BROWSER)
    console.warn(
      `${what} skipped: no Chromium at ${CHROMIUM}.\n` +
        'Install it: apt-get install -y chromium (as root), or point CHROMIUM_PATH at a Chromium.',
    );
}

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

/** One Chromium for a test file (launched before its tests when there is one, closed after): `page()` opens a tab. */
export function useBrowser(what: string): { page: Browser['newPage'] } {
  warnWithoutBrowser(what);
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (HAVE_BROWSER) browser = await launchBrowser();
  });
  afterAll(async () => browser?.close());
  return { page: (...args) => browser!.newPage(...args) };
}
