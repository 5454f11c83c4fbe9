import { beforeAll, describe, expect, it } from 'vitest';
import { openSync, closeSync, ftruncateSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt } from './build.js';
import { CLI_COMMAND, HAS_SCRIPT, cliEnv, onTerminal, q, sealbox, tmp } from './run.js';

beforeAll(() => ensureBuilt(), 120_000);

/** The cursor is shown again (cli-progress hides it while drawing). */
const CURSOR_SHOWN = '\x1b[?25h';

describe.skipIf(!HAS_SCRIPT)('the progress bar on a terminal', () => {
  it('Ctrl-C: the bar line ends, the cursor comes back, exit 130; with -o nothing is left', async () => {
    const home = tmp('progress-int');
    const dir = tmp('progress-int-data');
    // A sparse 3 GiB file: long enough to interrupt, and it takes no disk space to read.
    const big = join(dir, 'big.bin');
    const fd = openSync(big, 'w');
    ftruncateSync(fd, 3 * 1024 * 1024 * 1024);
    closeSync(fd);
    expect(sealbox(home, ['encrypt', '-o', join(dir, 'warm.sbx')], 'x').code).toBe(0);
    for (const output of ['> /dev/null', `-o ${q(join(dir, 'out.sbx'))}`]) {
      const r = await onTerminal(`${CLI_COMMAND} encrypt ${q(big)} ${output}`, { env: cliEnv(home), interruptWhen: /\d+% \| [^|]+ of 3\.0 GiB/, timeoutMs: 60_000 });
      expect(r.code, output).toBe(130);
      const afterBar = r.screen.slice(r.screen.lastIndexOf('3.0 GiB'));
      expect(afterBar, output).toContain(CURSOR_SHOWN);
      expect(afterBar, output).toMatch(/\n$/);
    }
    expect(readdirSync(dir).sort()).toEqual(['big.bin', 'warm.sbx']);
  }, 120_000);

  it('an error ends the bar line before the error line', async () => {
    const home = tmp('progress-err');
    const dir = tmp('progress-err-data');
    writeFileSync(join(dir, 'big.bin'), Buffer.alloc(6 * 1024 * 1024, 1));
    expect(sealbox(home, ['encrypt', join(dir, 'big.bin'), '-o', join(dir, 'big.sbx')]).code).toBe(0);
    const bad = readFileSync(join(dir, 'big.sbx'));
    bad[bad.length - 100]! ^= 1;
    writeFileSync(join(dir, 'bad.sbx'), bad);
    const r = await onTerminal(`${CLI_COMMAND} decrypt ${q(join(dir, 'bad.sbx'))} > /dev/null`, { env: cliEnv(home), timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.screen).toMatch(/of 6\.0 MiB/);
    expect(r.screen).toContain(CURSOR_SHOWN);
    // The error is on a line of its own, not glued to the bar.
    expect(r.screen).toMatch(/(^|\n)sealbox: [^\n]*\(ERR_DECRYPTION_FAILED\)\r?\n$/);
  });
});
