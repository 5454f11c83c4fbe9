import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { existsSync } from 'node:fs';
import { BROWSER_SKIP, CHROMIUM } from '../helpers/environment.js';

export { BROWSER_SKIP, CHROMIUM };

/** Flags from issue 7: headless in a container, and no network of its own. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Launches headless Chromium; a clear error when it is missing (under CI, where it is not skipped). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Page that loads the bundle and the suites as ES modules. */
export const INDEX_HTML = '<!doctype html><meta charset="utf-8"><title>sealbox tests</title><script type="module" src="/suites.js"></script>';
