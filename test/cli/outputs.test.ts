/**
 * `-o PATH` when PATH already exists and is not a plain file (src/cli/output-path.ts): a FIFO or
 * device is written as standard output is, a symbolic link to a file keeps the link. Before,
 * every -o was a temporary file renamed over PATH: a FIFO (or, for root, /dev/null or
 * /dev/stdout) was replaced by a regular file holding the output, and a link by a file.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, constants, existsSync, lchownSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from './build.js';
import { cliEnv, sealbox, tmp } from './run.js';
import { runPipeline } from '../../src/cli/io.js';

beforeAll(() => ensureBuilt(), 120_000);

const hasMkfifo = spawnSync('mkfifo', ['--version'], { stdio: 'ignore' }).status === 0;

describe('-o onto what is not a plain file', () => {
  const dir = tmp('outputs');
  const home = tmp('outputs-home');
  const key = join(dir, 'k.key');
  writeFileSync(key, Buffer.alloc(32, 7));
  const keyArg = ['--key', `file:${key}`];
  const message = join(dir, 'm.sbx');
  writeFileSync(join(dir, 'm.txt'), 'the plaintext\n');

  it.skipIf(!hasMkfifo)('a FIFO: the reader at its other end gets the output, and it stays a FIFO (encrypt and decrypt)', async () => {
    expect(sealbox(home, ['encrypt', join(dir, 'm.txt'), '-o', message, ...keyArg]).code).toBe(0);
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    for (const [args, expected] of [
      [['decrypt', message, '-o', fifo, ...keyArg], 'the plaintext\n'],
      [['encrypt', join(dir, 'm.txt'), '-o', fifo, ...keyArg], 'SBX'],
    ] as const) {
      const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
      const chunks: Buffer[] = [];
      reader.stdout.on('data', (c: Buffer) => chunks.push(c));
      const read = new Promise<void>((resolve) => reader.on('close', () => resolve()));
      const r = sealbox(home, [...args]);
      // On the old code the FIFO was renamed over and the reader never saw a writer.
      setTimeout(() => reader.kill(), 2000).unref();
      await read;
      expect(r.code, r.stderr).toBe(0);
      expect(Buffer.concat(chunks).toString('latin1').startsWith(expected)).toBe(true);
      expect(lstatSync(fifo).isFIFO()).toBe(true);
    }
  });

  it('a link to a pipe (as /dev/stdout is): written through it, and the link stays', () => {
    expect(sealbox(home, ['encrypt', join(dir, 'm.txt'), '-o', message, ...keyArg]).code).toBe(0);
    const out = join(dir, 'stdout-link');
    symlinkSync('/proc/self/fd/1', out);
    const r = spawnSync(process.execPath, [CLI, 'decrypt', message, '-o', out, ...keyArg], { env: cliEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(r.stdout.toString()).toBe('the plaintext\n');
    expect(readlinkSync(out)).toBe('/proc/self/fd/1');
  });

  it('a link to a file: the file gets the output, the link stays', () => {
    expect(sealbox(home, ['encrypt', join(dir, 'm.txt'), '-o', message, ...keyArg]).code).toBe(0);
    const target = join(dir, 'target.txt');
    const link = join(dir, 'link.txt');
    writeFileSync(target, 'old');
    symlinkSync(target, link);
    expect(sealbox(home, ['decrypt', message, '-o', link, ...keyArg]).code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('the plaintext\n');
    expect(statSync(target).mode & 0o777).toBe(0o600);
  });

  it('a device whose writes fail: the error names it, and it stays a device', () => {
    // A full device (writes fail with ENOSPC). As root, a node of our own, which a regression
    // could only replace in this temporary directory; otherwise /dev/full, which cannot be.
    let full = '/dev/full';
    if (process.getuid?.() === 0 && spawnSync('mknod', [join(dir, 'full'), 'c', '1', '7']).status === 0) full = join(dir, 'full');
    const r = sealbox(home, ['decrypt', message, '-o', full, ...keyArg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`sealbox: cannot write ${full}: no space left on the device (ENOSPC)\n`);
    expect(statSync(full).isCharacterDevice()).toBe(true);
  });

  it('standard output by its path (as /dev/stdout), opened by the shell with >>: appended to, not replaced', () => {
    expect(sealbox(home, ['encrypt', join(dir, 'm.txt'), '-o', message, ...keyArg]).code).toBe(0);
    const log = join(dir, 'appended.txt');
    writeFileSync(log, 'before\n');
    // A link of our own to /proc/self/fd/1 (what /dev/stdout is), so a regression replaces it, not /dev/stdout.
    const stdoutLink = join(dir, 'stdout-link-2');
    symlinkSync('/proc/self/fd/1', stdoutLink);
    const r = spawnSync('sh', ['-c', `"$0" "$1" decrypt "$2" -o "$5" --key "$3" >> "$4"`, process.execPath, CLI, message, `file:${key}`, log, stdoutLink], { env: cliEnv(home) });
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(readFileSync(log, 'utf8')).toBe('before\nthe plaintext\n');
  });
});

/**
 * A directory with a raw key file, a plaintext `m.txt` (its message to be made at `m.sbx`) and a
 * sticky world-writable `sticky/` (as /tmp), where another user plants things.
 */
function stickyDirFixture(name: string): { dir: string; home: string; key: string; keyArg: string[]; message: string; sticky: string } {
  const dir = tmp(name);
  const home = tmp(`${name}-home`);
  const key = join(dir, 'k.key');
  writeFileSync(key, Buffer.alloc(32, 7));
  const keyArg = ['--key', `file:${key}`];
  const message = join(dir, 'm.sbx');
  writeFileSync(join(dir, 'm.txt'), 'the plaintext\n');
  const sticky = join(dir, 'sticky');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  return { dir, home, key, keyArg, message, sticky };
}

/**
 * Another user who can create files in a directory the output goes to (a sticky /tmp, a shared
 * project directory) plants a named pipe under the output's name and reads it: the plaintext
 * meant for a private 0600 file went to them. (Linux's fs.protected_fifos=1 stops this in
 * sticky directories only, and only where it is on; macOS and containers have no such guard.)
 */
describe.skipIf(!hasMkfifo || process.getuid?.() !== 0)('-o onto a named pipe another user made (as root: the pipe is given to uid 4242)', () => {
  const { dir, home, key, keyArg, message, sticky } = stickyDirFixture('outputs-foreign');

  /** A FIFO of uid 4242 in the sticky directory, and the attacker's end of it (open, non-blocking). */
  function planted(name: string): { fifo: string; read: () => string; close: () => void } {
    const fifo = join(sticky, name);
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    chownSync(fifo, 4242, 4242);
    const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    return {
      fifo,
      read: () => {
        const buf = Buffer.alloc(65536);
        try {
          return buf.toString('utf8', 0, readSync(fd, buf, 0, buf.length, null));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return '';
          throw err;
        }
      },
      close: () => closeSync(fd),
    };
  }

  it('decrypt -o and encrypt -o refuse it (EPERM, exit 1) and write nothing into it', () => {
    expect(sealbox(home, ['encrypt', join(dir, 'm.txt'), '-o', message, ...keyArg]).code).toBe(0);
    for (const args of [['decrypt', message], ['encrypt', join(dir, 'm.txt')]]) {
      const pipe = planted(`out-${args[0]}`);
      try {
        const r = sealbox(home, [...args, '-o', pipe.fifo, ...keyArg], undefined, { timeout: 20_000 });
        // On the old code: exit 0, and the attacker read "the plaintext".
        expect([args[0], pipe.read()]).toEqual([args[0], '']);
        expect(r.stderr).toBe(`sealbox: cannot write ${pipe.fifo}: it is a named pipe of another user (uid 4242), who would read what is written into it; remove it or give another path (EPERM)\n`);
        expect(r.code).toBe(1);
        expect(statSync(pipe.fifo).isFIFO()).toBe(true);
      } finally {
        pipe.close();
      }
    }
  });

  it('one handed to the command as a descriptor (3>FIFO, -o /dev/fd/3) is written: whoever started it chose it', () => {
    expect(sealbox(home, ['encrypt', join(dir, 'm.txt'), '-o', message, ...keyArg]).code).toBe(0);
    const pipe = planted('handed');
    try {
      const r = spawnSync('sh', ['-c', '"$0" "$1" decrypt "$2" --key "$3" -o /dev/fd/3 3>"$4"', process.execPath, CLI, message, `file:${key}`, pipe.fifo], { env: cliEnv(home), timeout: 20_000 });
      expect(r.stderr.toString()).toBe('');
      expect(r.status).toBe(0);
      expect(pipe.read()).toBe('the plaintext\n');
    } finally {
      pipe.close();
    }
  });

  it('the pipe is checked as opened, not only as a stat of the path saw it before (it may be swapped in between)', async () => {
    const pipe = planted('swapped');
    try {
      const err = await runPipeline(Readable.from([Buffer.from('the plaintext')]), [], { kind: 'stream', path: pipe.fifo }).then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
      expect(err?.code).toBe('EPERM');
      expect(pipe.read()).toBe('');
    } finally {
      pipe.close();
    }
  });

  it('a named pipe of root (as /dev/null, a device, is) is still written', async () => {
    const fifo = join(sticky, 'roots');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      await runPipeline(Readable.from([Buffer.from('for root')]), [], { kind: 'stream', path: fifo });
      const buf = Buffer.alloc(64);
      expect(buf.toString('utf8', 0, readSync(fd, buf, 0, 64, null))).toBe('for root');
    } finally {
      closeSync(fd);
    }
  });
});

/**
 * A symbolic link another user planted under the output's name in a sticky directory everyone
 * can write (/tmp): following it (as -o does for links, to keep them) replaced the file it
 * points to, one of the victim's, with the plaintext. Linux's fs.protected_symlinks=1 stops the
 * stat that follows it; macOS and containers (this one: 0) have no such guard.
 */
describe.skipIf(process.getuid?.() !== 0)('-o onto a symbolic link another user made in a sticky directory (as root: the link is given to uid 4242)', () => {
  const { dir, home, key, keyArg, message, sticky } = stickyDirFixture('outputs-link');
  const precious = join(dir, 'bashrc');

  it('decrypt -o and rewrap -o refuse it (EPERM, exit 1); the file it points to is untouched', () => {
    expect(sealbox(home, ['encrypt', join(dir, 'm.txt'), '-o', message, ...keyArg]).code).toBe(0);
    writeFileSync(precious, 'export PATH=/usr/bin\n');
    const link = join(sticky, 'out.txt');
    symlinkSync(precious, link);
    lchownSync(link, 4242, 4242);
    for (const args of [['decrypt', message, '-o', link, ...keyArg], ['rewrap', message, '-o', link, ...keyArg]]) {
      const r = sealbox(home, args);
      // On the old code: exit 0, and the victim's file held the plaintext.
      expect([args[0], readFileSync(precious, 'utf8')]).toEqual([args[0], 'export PATH=/usr/bin\n']);
      expect(r.stderr).toBe(`sealbox: cannot write ${link}: it is a symbolic link of another user (uid 4242) in ${sticky}, where everyone can create files; following it would write where they chose. Remove it or give another path (EPERM)\n`);
      expect(r.code).toBe(1);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
    }
  });

  it('rewrap FILE in place through such a link is refused, and the file it points to keeps its keys', () => {
    expect(sealbox(home, ['encrypt', join(dir, 'm.txt'), '-o', message, ...keyArg]).code).toBe(0);
    const before = readFileSync(message);
    const link = join(sticky, 'colleague.sbx');
    symlinkSync(message, link);
    lchownSync(link, 4242, 4242);
    const theirs = join(dir, 'theirs.key');
    writeFileSync(theirs, Buffer.alloc(32, 9));
    const r = sealbox(home, ['rewrap', link, '--add', '--key', `file:${theirs}`, '--unwrap-key', `file:${key}`]);
    // On the old code: exit 0, and the victim's message opened with the other user's key too.
    expect(readFileSync(message).equals(before)).toBe(true);
    expect(r.stderr).toContain(`cannot write ${link}: it is a symbolic link of another user (uid 4242)`);
    expect(r.code).toBe(1);
  });

  it('--output-dir: another user\'s link at an output name is never written through (refused as existing, or with --force not followed)', () => {
    const outDir = join(sticky, 'plain');
    mkdirSync(outDir);
    chmodSync(outDir, 0o1777);
    const sealed = join(dir, 'report.txt.sbx');
    expect(sealbox(home, ['encrypt', join(dir, 'm.txt'), '-o', sealed, ...keyArg]).code).toBe(0);
    writeFileSync(precious, 'export PATH=/usr/bin\n');
    const link = join(outDir, 'report.txt');
    symlinkSync(precious, link);
    lchownSync(link, 4242, 4242);
    for (const force of [[], ['--force']]) {
      const r = sealbox(home, ['decrypt', sealed, '--output-dir', outDir, ...force, ...keyArg]);
      expect([force, r.code]).toEqual([force, 1]);
      expect(readFileSync(precious, 'utf8')).toBe('export PATH=/usr/bin\n');
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
    }
  });

  it('a link of this user, or one outside such a directory, is still followed', () => {
    expect(sealbox(home, ['encrypt', join(dir, 'm.txt'), '-o', message, ...keyArg]).code).toBe(0);
    const target = join(dir, 'mine.txt');
    writeFileSync(target, 'old');
    const own = join(sticky, 'own-link');
    symlinkSync(target, own);
    expect(sealbox(home, ['decrypt', message, '-o', own, ...keyArg]).code).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('the plaintext\n');
    // Another user's link in a directory only this user can write (they cannot have put it there).
    const elsewhere = join(dir, 'their-link');
    writeFileSync(target, 'old');
    symlinkSync(target, elsewhere);
    lchownSync(elsewhere, 4242, 4242);
    expect(sealbox(home, ['decrypt', message, '-o', elsewhere, ...keyArg]).code).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('the plaintext\n');
    expect(existsSync(elsewhere)).toBe(true);
  });
});
