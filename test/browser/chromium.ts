import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

/** Debian's chromium (no browser download is possible on these machines; .ci/run installs it). */
export const CHROMIUM = '/usr/bin/chromium';

/** Flags from issue 7: headless in a container, and no network of its own. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Launches headless Chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Page that loads the bundle and the suites as ES modules. */
export const INDEX_HTML = '<!doctype html><meta charset="utf-8"><title>sealbox tests</title><script type="module" src="/suites.js"></script>';
