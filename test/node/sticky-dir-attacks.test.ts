/**
 * Attacks by someone who can create, rename and replace names in a directory the victim writes
 * to (another user with write access to a shared directory, or a forger with write access to
 * it), against encryptFile / decryptFile / rewrapFile and their temporary files and locks: does
 * Sealbox follow a link or write into a file it should not, or leave plaintext readable?
 * (Journals planted by others: test/node/rewrap-file.test.ts, "recovery refuses".)
 */
import { constants } from 'node:fs';
import { chmod, link, lstat, mkdir, mkdtemp, open, readFile, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { encrypt } from '../../src/encrypt.js';
import { decryptFile, encryptFile, rewrapFile } from '../../src/node/index.js';
import { lockPath } from '../../src/node/file-lock.js';
import { journalPath, writeHeaderInPlace } from '../../src/node/header-journal.js';
import { recoverRewrap } from '../../src/node/index.js';
import { nodeAtomicWriteFs, writeFileAtomically } from '../../src/node/atomic-write.js';
import { readPreamble } from '../../src/format/header.js';
import { TAG_BYTES } from '../../src/limits.js';
import { rewrap } from '../../src/rewrap/index.js';
import { pattern, testKeyring, thrown } from '../helpers/keys.js';

/** Called with the destination of each copyFile, before it runs: where an attacker swaps names. */
const hooks = vi.hoisted(() => ({ beforeCopy: undefined as ((dst: string) => Promise<void>) | undefined }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const copyFile: typeof real.copyFile = async (src, dst, mode) => {
    await hooks.beforeCopy?.(String(dst));
    return real.copyFile(src, dst, mode);
  };
  return { ...real, default: { ...real, copyFile }, copyFile };
});

const keyring = testKeyring('sticky', 3);
const other = testKeyring('second', 4);
const root = await mkdtemp(join(tmpdir(), 'sealbox-sticky-dir-'));
afterAll(() => rm(root, { recursive: true, force: true }));
afterEach(() => {
  hooks.beforeCopy = undefined;
});
let n = 0;
/** A fresh directory that every user may write (not sticky): the attacker's playground. */
async function stickyDir(): Promise<string> {
  const dir = join(root, `d${n++}`);
  await mkdir(dir);
  await chmod(dir, 0o777);
  return dir;
}
const code = (err: unknown): string => (err as { code?: string }).code ?? String(err);
const victim = 'the victim\'s own file, which no one meant to write\n';

describe('outputs of encryptFile and decryptFile in a directory others can write', () => {
  it('a symbolic link planted at the output name is replaced, never written through', async () => {
    const dir = await stickyDir();
    const precious = join(root, `precious-${n++}`);
    await writeFile(precious, victim);
    await writeFile(join(dir, 'in.txt'), 'secret plaintext');
    await symlink(precious, join(dir, 'out.sbx'));
    await encryptFile(join(dir, 'in.txt'), join(dir, 'out.sbx'), { keyring });
    expect((await lstat(join(dir, 'out.sbx'))).isFile()).toBe(true);
    await symlink(precious, join(dir, 'out.txt'));
    await decryptFile(join(dir, 'out.sbx'), join(dir, 'out.txt'), { keyring });
    expect(await readFile(join(dir, 'out.txt'), 'utf8')).toBe('secret plaintext');
    expect(await readFile(precious, 'utf8')).toBe(victim);
  });

  it('a hard link planted at the output name keeps its old content under its other name', async () => {
    const dir = await stickyDir();
    const precious = join(root, `precious-${n++}`);
    await writeFile(precious, victim);
    await link(precious, join(dir, 'out.txt'));
    const sealed = join(dir, 'm.sbx');
    await writeFile(sealed, (await encrypt(new TextEncoder().encode('secret plaintext'), { keyring })).ciphertext);
    await decryptFile(sealed, join(dir, 'out.txt'), { keyring });
    expect(await readFile(precious, 'utf8')).toBe(victim);
    expect((await stat(precious)).nlink).toBe(1);
  });

  it('plaintext is private (0600) whatever the umask and whatever mode the file it replaces had', async () => {
    const dir = await stickyDir();
    const sealed = join(dir, 'm.sbx');
    await writeFile(sealed, (await encrypt(new TextEncoder().encode('secret plaintext'), { keyring })).ciphertext);
    await writeFile(join(dir, 'out.txt'), 'old', { mode: 0o666 });
    await chmod(join(dir, 'out.txt'), 0o666);
    const umask = process.umask(0);
    try {
      await decryptFile(sealed, join(dir, 'out.txt'), { keyring });
    } finally {
      process.umask(umask);
    }
    expect((await stat(join(dir, 'out.txt'))).mode & 0o777).toBe(0o600);
  });

  it('a symbolic link already at the temporary file\'s name is never opened: the write fails and nothing is written anywhere', async () => {
    const dir = await stickyDir();
    const precious = join(root, `precious-${n++}`);
    await writeFile(precious, victim);
    // The name is random (48 bits); an attacker who guessed it, or won a race to it, gets EEXIST.
    const planting = { ...nodeAtomicWriteFs, open: async (path: string, flags: string, mode: number) => {
      await symlink(precious, path);
      return nodeAtomicWriteFs.open(path, flags, mode);
    } };
    const err = await thrown(() => writeFileAtomically(join(dir, 'out.txt'), async (out) => void (await out.write('plaintext')), planting));
    expect(code(err)).toBe('EEXIST');
    expect(await readFile(precious, 'utf8')).toBe(victim);
    expect(await readdir(dir).then((names) => names.filter((f) => !f.includes('sealbox-tmp')))).toEqual([]);
  });
});

describe('rewrapFile in a directory others can write', () => {
  async function message(dir: string): Promise<string> {
    const encrypted = (await encrypt(pattern(50_000, 1), { keyring, frameLength: 4096 })).ciphertext;
    const path = join(dir, 'm.sbx');
    // Suite 3, so that a rewrap keeps the header's length and copies with the platform's copy.
    await writeFile(path, (await rewrap(encrypted, { keyring, to: keyring })).ciphertext);
    return path;
  }

  it.skipIf(process.platform !== 'linux')('the temporary file swapped for a symbolic link just before the copy: the copy goes into the file opened, not through the link', async () => {
    const dir = await stickyDir();
    const path = await message(dir);
    const precious = join(root, `precious-${n++}`);
    await writeFile(precious, victim, { mode: 0o600 });
    let swapped = false;
    hooks.beforeCopy = async () => {
      // What an attacker watching the directory does once the temporary file appears.
      const tmp = (await readdir(dir)).find((f) => f.endsWith('.sealbox-tmp'));
      if (tmp === undefined) return;
      await rm(join(dir, tmp));
      await symlink(precious, join(dir, tmp));
      swapped = true;
    };
    await rewrapFile(path, join(dir, 'copy.sbx'), { keyring, to: other }).catch(() => undefined);
    expect(swapped).toBe(true);
    // On the old code: the message was copied over the victim's file (and its mode set to the message's).
    expect(await readFile(precious, 'utf8')).toBe(victim);
    expect((await stat(precious)).mode & 0o777).toBe(0o600);
  });

  it('a hard link at the journal\'s name to a file of the user\'s whose content another chose is refused by recovery (ERR_STATE), nothing written', async () => {
    // A journal that passes every check of its content: old header = the file's, new header = a
    // rewrap of it (in a real attack, an old header of the file, still wrapped for the attacker).
    const dir = await stickyDir();
    const path = await message(dir);
    const bytes = await readFile(path);
    const len = readPreamble(bytes)! + TAG_BYTES;
    const next = (await rewrap(bytes, { keyring, to: other })).ciphertext;
    expect(readPreamble(next)! + TAG_BYTES).toBe(len);
    const stop = new Error('stop');
    const f = await open(path, 'r+');
    await writeHeaderInPlace(path, f, bytes.subarray(0, len), next.subarray(0, len), (step) => {
      if (step === 'journal-synced') throw stop;
    }).catch((e: unknown) => expect(e).toBe(stop));
    await f.close();
    // Those bytes as a file of the user's elsewhere (a message the attacker sent, decrypted to a
    // 0600 file), linked under the journal's name by the attacker.
    const theirs = join(root, `decrypted-${n++}`);
    await rename(journalPath(path), theirs);
    await link(theirs, journalPath(path));
    const err = await thrown(() => recoverRewrap(path));
    // On the old code: 'completed', and the file had the header the attacker chose.
    expect(code(err)).toBe('ERR_STATE');
    expect((err as Error).message).toContain('no other name');
    expect((await readFile(path)).equals(bytes)).toBe(true);
    expect(code(await thrown(() => rewrapFile(path, path, { keyring, to: other })))).toBe('ERR_STATE');
    expect((await readFile(path)).equals(bytes)).toBe(true);
    // The journal with its one name is a crashed rewrap's, and is finished.
    await rm(journalPath(path));
    await rename(theirs, journalPath(path));
    expect(await recoverRewrap(path)).toBe('completed');
  });

  it('a symbolic link planted at the lock\'s name is taken for a stale lock and removed, its target untouched', async () => {
    const dir = await stickyDir();
    const path = await message(dir);
    const precious = join(root, `precious-${n++}`);
    await writeFile(precious, victim);
    await symlink(precious, lockPath(path));
    const r = await rewrapFile(path, path, { keyring, to: other });
    expect(r.method).toBe('header');
    expect(await readFile(precious, 'utf8')).toBe(victim);
    await expect(lstat(lockPath(path))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a lock planted in the name of a running process denies the rewrap (ERR_STATE) and changes nothing: the file and the lock stay as they were', async () => {
    const dir = await stickyDir();
    const path = await message(dir);
    const before = await readFile(path);
    // This process is running: a planted lock naming it cannot be told from a live rewrap's.
    const { hostname } = await import('node:os');
    const start = (await readFile(`/proc/${process.pid}/stat`, 'latin1').catch(() => '')).split(') ')[1]?.split(' ')[19] ?? '';
    const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'latin1').catch(() => '')).trim();
    await writeFile(lockPath(path), ['sealbox-lock 1', String(process.pid), start, boot, hostname(), ''].join('\n'), { mode: 0o644 });
    const err = await thrown(() => rewrapFile(path, path, { keyring, to: other }));
    expect(code(err)).toBe('ERR_STATE');
    expect((err as Error).message).toContain(`process ${process.pid}`);
    expect((await readFile(path)).equals(before)).toBe(true);
    expect((await lstat(lockPath(path))).isFile()).toBe(true);
  });

  it('a FIFO planted at the lock\'s name is refused at once (ERR_STATE), not waited on', async () => {
    const dir = await stickyDir();
    const path = await message(dir);
    const { spawnSync } = await import('node:child_process');
    if (spawnSync('mkfifo', [lockPath(path)]).status !== 0) return;
    expect((await lstat(lockPath(path))).mode & constants.S_IFMT).toBe(constants.S_IFIFO);
    expect(code(await thrown(() => rewrapFile(path, path, { keyring, to: other })))).toBe('ERR_STATE');
  });
});
