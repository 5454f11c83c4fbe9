import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt } from './build.js';
import { CLI_COMMAND, HAS_SCRIPT, cliEnv, onTerminal, sealbox, tmp } from './run.js';

beforeAll(() => ensureBuilt(), 120_000);

// A person at a terminal pastes an armored message: the command reads up to the END line and
// finishes without Ctrl-D (stdin of the terminal stays open: no end of file is ever sent).
describe.skipIf(!HAS_SCRIPT)('an armored message pasted at a terminal', () => {
  const home = tmp('paste');
  const env = cliEnv(home);
  let armored = '';
  beforeAll(() => {
    armored = sealbox(home, ['encrypt', '--armor', '--context', 'via=paste'], 'pasted secret').stdout.toString();
  });

  for (const args of ['decrypt', 'decrypt -']) {
    it(`${args}: reads until the END line and prints the plaintext, without waiting for Ctrl-D`, async () => {
      // Blank lines before, and CRLF line ends, as pasting from some places gives.
      const r = await onTerminal(`${CLI_COMMAND} ${args}`, { env, typed: `\n${armored.replace(/\n/g, '\r\n')}`, timeoutMs: 20_000 });
      expect(r.signal).toBeNull();
      expect(r.code).toBe(0);
      expect(r.screen).toContain('paste an armored message'); // it said what it waits for
      expect(r.screen).toMatch(/\npasted secret$/);
    });
  }

  it('inspect - : shows the header of a pasted message', async () => {
    const r = await onTerminal(`${CLI_COMMAND} inspect -`, { env, typed: armored, timeoutMs: 20_000 });
    expect(r.code).toBe(0);
    expect(r.screen).toContain('via=paste');
  });

  it('binary input from a terminal is refused with a usage error; an empty paste is "no input"; a cut paste is truncated', async () => {
    const binary = await onTerminal(`${CLI_COMMAND} decrypt`, { env, typed: 'SBX\x01garbage\n', timeoutMs: 20_000 });
    expect(binary.code).toBe(1);
    expect(binary.screen).toMatch(/sealbox: a terminal can only give an armored message[^\n]*\(ERR_USAGE\)/);
    for (const command of ['decrypt', 'inspect']) {
      const empty = await onTerminal(`${CLI_COMMAND} ${command}`, { env, eof: true, timeoutMs: 20_000 });
      expect(empty.code, command).toBe(1);
      expect(empty.screen, command).toMatch(/no input[^\n]*\(ERR_USAGE\)/);
    }
    const lines = armored.split('\n');
    const cut = await onTerminal(`${CLI_COMMAND} decrypt`, { env, typed: `${lines.slice(0, 3).join('\n')}\n\x04`, timeoutMs: 20_000 });
    expect(cut.code).toBe(2);
    expect(cut.screen).toMatch(/\(ERR_TRUNCATED\)/);
  });

  it('decrypt at a terminal on a machine without a key store creates none', async () => {
    const fresh = join(tmp('paste-fresh'), 'home');
    const r = await onTerminal(`${CLI_COMMAND} decrypt`, { env: cliEnv(fresh), typed: armored, timeoutMs: 20_000 });
    expect(r.code).toBe(3);
    expect(r.screen).toContain('ERR_NO_KEY_STORE');
    expect(existsSync(fresh)).toBe(false);
  });
});
