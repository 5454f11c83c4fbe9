import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, openSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ensureBuilt } from './build.js';
import { cliEnv, sealbox, tmp } from './run.js';

beforeAll(() => ensureBuilt(), 120_000);

/** One line on stderr, "sealbox: ... (CODE)", and nothing on stdout. */
function expectOneLine(r: { code: number | null; stdout: Buffer; stderr: string }, exit: number, code: RegExp, what: string): void {
  expect(r.stderr, what).toMatch(new RegExp(`^sealbox: [^\\n]* \\(${code.source}\\)\\n$`));
  expect(r.code, what).toBe(exit);
  expect(r.stdout.length, what).toBe(0);
}

// Running as root (CI containers), a file with mode 000 is still readable: the unreadable case
// runs the CLI as nobody instead.
const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

describe('inputs that cannot be read end with one line and an exit code, for every command', () => {
  const dir = tmp('inputs');
  const missing = join(dir, 'missing.sbx');
  const directory = join(dir, 'a-directory');
  mkdirSync(directory);
  const unreadable = join(dir, 'unreadable.sbx');
  writeFileSync(unreadable, 'x');
  chmodSync(unreadable, 0o000);

  for (const command of ['encrypt', 'decrypt', 'inspect']) {
    it(`${command}: a missing file, a directory, an unreadable file, a read error; none creates the key store`, () => {
      const home = join(tmp(`inputs-${command}`), 'home');
      expectOneLine(sealbox(home, [command, missing]), 1, /ENOENT/, 'missing');
      expectOneLine(sealbox(home, [command, directory]), 1, /EISDIR/, 'directory');
      expectOneLine(sealbox(home, [command, unreadable], undefined, asNobody), 1, /EACCES/, 'unreadable');
      // Reading /proc/self/mem at offset 0 fails with EIO: an error once reading has begun
      // (a key file keeps the key store out of it).
      writeFileSync(join(dir, 'k'), Buffer.alloc(32, 1));
      const keyArgs = command === 'inspect' ? [] : ['--key', `file:${join(dir, 'k')}`];
      expectOneLine(sealbox(home, [command, '/proc/self/mem', ...keyArgs]), 1, /EIO/, 'read error');
      if (command !== 'inspect') {
        expectOneLine(sealbox(home, [command, '/proc/self/mem', ...keyArgs, '-o', join(dir, 'out')]), 1, /EIO/, 'read error to a file');
        expect(existsSync(join(dir, 'out'))).toBe(false);
      }
      expect(existsSync(home)).toBe(false);
      // The message names the path as given.
      expect(sealbox(home, [command, missing]).stderr).toContain(missing);
    });
  }

  it('key files (file:, rsa:, kms-rsa:) that are missing or directories: one line, exit 1, for encrypt and decrypt', () => {
    const home = join(tmp('inputs-keys'), 'home');
    for (const command of ['encrypt', 'decrypt']) {
      for (const prefix of ['file:', 'rsa:', 'kms-rsa:']) {
        expectOneLine(sealbox(home, [command, '--key', `${prefix}${missing}`], 'x'), 1, /ENOENT/, `${command} ${prefix} missing`);
        expectOneLine(sealbox(home, [command, '--key', `${prefix}${directory}`], 'x'), 1, /EISDIR/, `${command} ${prefix} directory`);
      }
    }
    expect(existsSync(home)).toBe(false);
  });

  it('key files that never end or are far too long (file:/dev/zero, a 1 MiB + 1 byte file): one line, exit 1 (EFBIG), for every kind', () => {
    // Before, the whole file was read first: /dev/zero until memory ran out.
    const home = join(tmp('inputs-big-keys'), 'home');
    const big = join(dir, 'big.key');
    writeFileSync(big, Buffer.alloc(1024 * 1024 + 1, 0x41));
    for (const command of ['encrypt', 'decrypt']) {
      for (const prefix of ['file:', 'rsa:', 'kms-rsa:', 'pq:']) {
        for (const path of ['/dev/zero', big]) {
          const r = sealbox(home, [command, '--key', `${prefix}${path}`], 'x', { timeout: 20_000 });
          expectOneLine(r, 1, /EFBIG/, `${command} ${prefix}${path}`);
          expect(r.stderr).toContain(`key file ${path}: it is longer than 1048576 bytes`);
        }
      }
    }
    expectOneLine(sealbox(home, ['keygen', '-y', '/dev/zero'], undefined, { timeout: 20_000 }), 1, /EFBIG/, 'keygen -y');
    // At the limit it is read, and judged as a key (not one here).
    writeFileSync(big, Buffer.alloc(1024 * 1024, 0x41));
    expect(sealbox(home, ['encrypt', '--key', `file:${big}`], 'x').stderr).toContain('must hold 32 bytes');
    expect(existsSync(home)).toBe(false);
  }, 120_000);

  it('a FIFO whose writer closes early: decrypt and inspect report a truncated message (exit 2), encrypt encrypts what came', async () => {
    const home = tmp('inputs-fifo');
    const enc = sealbox(home, ['encrypt'], Buffer.alloc(100_000, 7));
    expect(enc.code).toBe(0);
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const through = (args: string[], bytes: Buffer): Promise<{ code: number | null; stdout: Buffer; stderr: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [CLI, ...args, fifo], { env: cliEnv(home) });
        const out: Buffer[] = [];
        let err = '';
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
        // Opening for writing waits for the reader, as a shell's `> fifo` would.
        const fd = openSync(fifo, 'w');
        writeSync(fd, bytes);
        closeSync(fd);
      });
    for (const cut of [10, 2000, 70_000]) {
      const part = enc.stdout.subarray(0, cut);
      const dec = await through(['decrypt', '-o', join(dir, `out-${cut}`)], part);
      expect(dec.stderr).toMatch(/^sealbox: [^\n]* \(ERR_TRUNCATED\)\n$/);
      expect(dec.code).toBe(2);
      expect(existsSync(join(dir, `out-${cut}`))).toBe(false);
      if (cut < 1000) {
        const ins = await through(['inspect'], part);
        expect(ins.stderr).toMatch(/^sealbox: [^\n]* \(ERR_TRUNCATED\)\n$/);
        expect(ins.code).toBe(2);
      }
    }
    const encrypted = await through(['encrypt', '-o', join(dir, 'short.sbx')], Buffer.from('short'));
    expect(encrypted.code).toBe(0);
    expect(sealbox(home, ['decrypt', join(dir, 'short.sbx')]).stdout.toString()).toBe('short');
  });
});
