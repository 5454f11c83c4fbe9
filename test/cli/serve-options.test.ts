import { beforeAll, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ensureBuilt } from './build.js';
import { cliEnv, tmp } from './run.js';

beforeAll(() => ensureBuilt(), 120_000);

// A port that is not plainly a number 0-65535 is refused before anything listens or the key store
// is created: "0x1f" is not port 31, nor "" port 0 (a random one), nor "1e3" port 1000.
it('kms serve --port takes a whole number 0-65535 and nothing else (exit 1, nothing created)', () => {
  const home = join(tmp('serve-port'), 'home');
  for (const port of ['0x1f', '', '1e3', ' 80', '65536', '-1']) {
    // A command that wrongly starts serving is stopped by the timeout (status null).
    const r = spawnSync(process.execPath, [CLI, 'kms', 'serve', `--port=${port}`], { env: cliEnv(home), timeout: 5_000 });
    expect(r.stderr.toString(), JSON.stringify(port)).toBe(`sealbox: --port expects a whole number from 0 to 65535, got "${port}" (ERR_USAGE)\n`);
    expect(r.status).toBe(1);
    expect(r.stdout.toString()).toBe('');
  }
  expect(existsSync(home)).toBe(false);
}, 60_000);
