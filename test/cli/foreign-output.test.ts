/**
 * The two guards of src/cli/output-path.ts, called directly (no CLI build): refuseForeignLink
 * follows Linux's fs.protected_symlinks rule (a link in a sticky world-writable directory is
 * followed only when its owner is the follower, root, or the directory's owner), and
 * requireOwnStream (and checkOutputPath, before any work) refuses another user's FIFO unless the path names a descriptor this process
 * was handed (/dev/fd/N, /proc/self/fd/N, /proc/<pid>/fd/N, /proc/thread-self/fd/N). As root (to
 * give files to another uid).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOutputPath, refuseForeignLink, requireOwnStream } from '../../src/cli/output-path.js';

const asRoot = process.getuid?.() === 0 && process.platform !== 'win32';
const tmp = mkdtempSync(join(tmpdir(), 'sealbox-foreign-output-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const code = (fn: () => void): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
};

describe.skipIf(!asRoot)('refuseForeignLink: a link in a sticky directory everyone can write', () => {
  it('is followed when its owner owns the directory (as protected_symlinks), refused when another user made it', () => {
    const sticky = join(tmp, 'sticky');
    mkdirSync(sticky);
    chownSync(sticky, 4242, 4242);
    chmodSync(sticky, 0o1777);
    const target = join(tmp, 'target');
    writeFileSync(target, 'x');
    const byOwner = join(sticky, 'by-owner');
    symlinkSync(target, byOwner);
    lchownSync(byOwner, 4242, 4242);
    expect(code(() => refuseForeignLink(lstatSync(byOwner), byOwner))).toBeUndefined();
    const byOther = join(sticky, 'by-other');
    symlinkSync(target, byOther);
    lchownSync(byOther, 4343, 4343);
    expect(code(() => refuseForeignLink(lstatSync(byOther), byOther))).toBe('EPERM');
    // Root's links are trusted, as the kernel trusts them.
    const byRoot = join(sticky, 'by-root');
    symlinkSync(target, byRoot);
    expect(lstatSync(byRoot).uid).toBe(0);
    expect(code(() => refuseForeignLink(lstatSync(byRoot), byRoot))).toBeUndefined();
    // Also for a process that is not root (its own uid is no longer root's).
    chmodSync(tmp, 0o755);
    process.seteuid!(4444);
    try {
      expect(code(() => refuseForeignLink(lstatSync(byRoot), byRoot))).toBeUndefined();
      expect(code(() => refuseForeignLink(lstatSync(byOther), byOther))).toBe('EPERM');
    } finally {
      process.seteuid!(0);
      chmodSync(tmp, 0o700);
    }
  });
});

const hasMkfifo = spawnSync('mkfifo', ['--version']).status === 0;

describe.skipIf(!asRoot || !hasMkfifo)('requireOwnStream: another user\'s named pipe', () => {
  it('is refused by its name, and written when the path names a descriptor this process holds', () => {
    const fifo = join(tmp, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    chownSync(fifo, 4242, 4242);
    const st = statSync(fifo);
    expect(code(() => requireOwnStream(st, fifo))).toBe('EPERM');
    // And checkOutputPath, which runs before any work (before a key store is opened), refuses it.
    expect(code(() => checkOutputPath(fifo))).toBe('EPERM');
    for (const handed of ['/dev/fd/3', '/proc/self/fd/3', `/proc/${process.pid}/fd/3`, '/proc/thread-self/fd/3', '/dev/stdout', '/dev/stderr']) {
      expect(code(() => requireOwnStream(st, handed)), handed).toBeUndefined();
    }
    for (const planted of ['/proc/self/fdx/3', '/dev/fdx', '/dev/stdout2', join(tmp, 'dev', 'fd', '3')]) {
      expect(code(() => requireOwnStream(st, planted)), planted).toBe('EPERM');
    }
  });
});
