import { BROWSER_SKIP, MOTO_SKIP } from '../helpers/environment.js';

/** Vitest global setup: one visible line for each group of tests this machine skips. */
export default function setup(): void {
  for (const reason of [BROWSER_SKIP, MOTO_SKIP]) if (reason) console.log(`skipped: ${reason}`);
}
