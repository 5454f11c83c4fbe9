import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

// What the optional parts of the suite need from the machine, checked once per process. A
// missing tool skips its tests with the runner's own skip (counted as skipped, never as
// passed); test/setup/environment.ts prints one line per missing tool for the whole run.

/** True under CI (`.ci/run` sets CI=true): there, a missing Chromium is a failure, not a skip. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/** Debian's chromium (no browser download is possible on these machines; .ci/run installs it). */
export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests are skipped, or undefined when they run (Chromium present, or CI). */
export const BROWSER_SKIP: string | undefined = existsSync(CHROMIUM) || IN_CI
  ? undefined
  : `${CHROMIUM} is missing: the Chromium browser tests are skipped (install it with \`apt-get install -y chromium\`; .ci/run does, and under CI=true a missing Chromium fails them)`;

/** Why the moto_server tests are skipped, or undefined when `python3 -c "import moto"` works. */
export const MOTO_SKIP: string | undefined = spawnSync('python3', ['-c', 'import moto'], { stdio: 'ignore' }).status === 0
  ? undefined
  : 'moto is not installed (python3 -c "import moto" failed): the moto_server KMS tests are skipped (install it with `pip install moto`)';
