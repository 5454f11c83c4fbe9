/**
 * requireSafeParents (src/local-kms/permissions.ts) allows a parent directory its group can write
 * only when that group is this user's private group, as read from /etc/group and /etc/passwd: the
 * process's effective group, named as the user, no other member, no other user's primary group,
 * and listed there at all. Each rule on its own, with those two files replaced by the test's own
 * text (never touched on disk): a group writable parent that breaks one rule is refused.
 * As root only (chown to an arbitrary group).
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

const files = vi.hoisted(() => ({ group: undefined as string | undefined, passwd: undefined as string | undefined }));
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const readFileSync = ((path: unknown, ...rest: unknown[]) => {
    if (path === '/etc/group' && files.group !== undefined) return files.group;
    if (path === '/etc/passwd' && files.passwd !== undefined) return files.passwd;
    return (actual.readFileSync as (...args: unknown[]) => unknown)(path, ...rest);
  }) as typeof actual.readFileSync;
  return { ...actual, default: { ...actual, readFileSync }, readFileSync };
});

const { requireSafeParents } = await import('../../src/local-kms/permissions.js');

const asRoot = process.getuid?.() === 0 && process.getegid?.() === 0 && process.platform !== 'win32';
const tmp = mkdtempSync(join(tmpdir(), 'sealbox-private-group-'));
let n = 0;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => {
  files.group = undefined;
  files.passwd = undefined;
});

/** A data directory whose parent is mode 0775 with group `gid`; the error requireSafeParents throws, if any. */
function check(gid: number): string | undefined {
  const parent = join(tmp, `p${n++}`);
  mkdirSync(parent);
  chownSync(parent, 0, gid);
  chmodSync(parent, 0o775);
  try {
    requireSafeParents(join(parent, 'store'));
    return undefined;
  } catch (err) {
    return (err as Error).name;
  }
}

describe.skipIf(!asRoot)('a group-writable parent: only the user\'s private group is trusted (as root, egid 0)', () => {
  const user = asRoot ? userInfo().username : 'root';
  const passwd = `${user}:x:0:0:${user}:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`;

  it('group 0 named as the user, no other member, no one else\'s primary group: accepted', () => {
    files.group = `${user}:x:0:\nnogroup:x:65534:\n`;
    files.passwd = passwd;
    expect(check(0)).toBeUndefined();
  });

  it('a group of the user\'s name that is not the effective group: refused', () => {
    files.group = `${user}:x:4242:\nnogroup:x:65534:\n`;
    files.passwd = passwd;
    expect(check(4242)).toBe('InsecurePermissionsException');
  });

  it('the user\'s group with another member: refused', () => {
    files.group = `${user}:x:0:${user},mallory\n`;
    files.passwd = passwd;
    expect(check(0)).toBe('InsecurePermissionsException');
  });

  it('the user\'s group that is another user\'s primary group: refused', () => {
    files.group = `${user}:x:0:\n`;
    files.passwd = `${passwd}mallory:x:1000:0:mallory:/home/mallory:/bin/sh\n`;
    expect(check(0)).toBe('InsecurePermissionsException');
  });

  it('a group /etc/group does not list (a directory service): refused', () => {
    files.group = 'nogroup:x:65534:\n';
    files.passwd = passwd;
    expect(check(0)).toBe('InsecurePermissionsException');
  });
});
