import { chmodSync, chownSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { randomBytes, scryptSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalKms } from '../../src/local-kms/index.js';
import { ROOT_KEY } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'sealbox-kms-perms-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(tmp, `d${n++}`);

// The usual umask: files a process creates without asking are 0644.
let savedUmask = 0;
beforeEach(() => {
  savedUmask = process.umask(0o022);
});
afterEach(() => {
  process.umask(savedUmask);
});

const mode = (path: string): number => statSync(path).mode & 0o777;

function thrownBy(fn: () => unknown): Error & { name: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { name: string };
  }
  throw new Error('expected a throw');
}

async function use(kms: LocalKms): Promise<void> {
  const id = (await kms.createKey({})).KeyMetadata!.KeyId!;
  await kms.encrypt({ KeyId: id, Plaintext: new Uint8Array(8) });
}

describe.skipIf(process.platform === 'win32')('data directory and file modes', () => {
  for (const existing of [false, true]) {
    it(`kms.sqlite, -wal, -shm and root.key are 0600 whatever the umask (data directory ${existing ? 'already there, 0700' : 'created'})`, async () => {
      const dir = fresh();
      if (existing) mkdirSync(dir, { mode: 0o700 });
      const kms = LocalKms.open({ dataDir: dir });
      await use(kms);
      // While open, the WAL and shared-memory files exist.
      const files = readdirSync(dir).filter((f) => f.startsWith('kms.sqlite') || f === 'root.key').sort();
      expect(files).toEqual(['kms.sqlite', 'kms.sqlite-shm', 'kms.sqlite-wal', 'root.key']);
      for (const f of files) expect(mode(join(dir, f)), f).toBe(0o600);
      expect(mode(dir)).toBe(0o700);
      kms.close();
    });
  }

  it('a store made with 0644 files (before this check) gets 0600 files on open', async () => {
    const dir = fresh();
    const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    await use(kms);
    for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
    const again = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY });
    for (const f of readdirSync(dir).filter((x) => x.startsWith('kms.sqlite'))) expect(mode(join(dir, f)), f).toBe(0o600);
    kms.close();
    again.close();
  });

  for (const loose of [0o755, 0o750, 0o705, 0o777]) {
    it(`a data directory with mode ${loose.toString(8)} is refused, naming it and the fix, creating nothing`, () => {
      const dir = fresh();
      mkdirSync(dir);
      chmodSync(dir, loose);
      const err = thrownBy(() => LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY }));
      expect(err.name).toBe('InsecurePermissionsException');
      expect(err.message).toContain(dir);
      expect(err.message).toContain('chmod 700');
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it('an existing store whose directory became 0755 is refused; chmod 700 fixes it', async () => {
    const dir = fresh();
    const kms = LocalKms.open({ dataDir: dir });
    await use(kms);
    kms.close();
    chmodSync(dir, 0o755);
    expect(thrownBy(() => LocalKms.open({ dataDir: dir })).name).toBe('InsecurePermissionsException');
    chmodSync(dir, 0o700);
    LocalKms.open({ dataDir: dir }).close();
  });

  it('a root.key readable by group or others is refused, naming it and chmod 600', () => {
    const dir = fresh();
    LocalKms.open({ dataDir: dir }).close();
    chmodSync(join(dir, 'root.key'), 0o640);
    const err = thrownBy(() => LocalKms.open({ dataDir: dir }));
    expect(err.name).toBe('InsecurePermissionsException');
    expect(err.message).toContain(join(dir, 'root.key'));
    expect(err.message).toContain('chmod 600');
    chmodSync(join(dir, 'root.key'), 0o600);
    LocalKms.open({ dataDir: dir }).close();
  });
});

describe.skipIf(process.platform === 'win32')('data directory and file owners', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('a 0700 data directory owned by another user is refused, naming it, creating nothing (root running the CLI with that user\'s HOME)', () => {
    const dir = fresh();
    mkdirSync(dir, { mode: 0o700 });
    // This process as another user than the directory's owner, as root is for a user's store.
    vi.spyOn(process, 'geteuid').mockReturnValue(statSync(dir).uid + 1);
    const err = thrownBy(() => LocalKms.open({ dataDir: dir }));
    expect(err.name).toBe('InsecurePermissionsException');
    expect(err.message).toContain(dir);
    expect(err.message).toContain('owned by another user');
    expect(readdirSync(dir)).toEqual([]);
  });

  it.skipIf(process.getuid?.() !== 0)('as root: a root.key or kms.sqlite owned by another user is refused and left as it was', () => {
    const dir = fresh();
    LocalKms.open({ dataDir: dir }).close();
    const nobody = 65534;
    for (const file of ['root.key', 'kms.sqlite']) {
      chownSync(join(dir, file), nobody, nobody);
      chmodSync(join(dir, file), 0o640);
      const err = thrownBy(() => LocalKms.open({ dataDir: dir }));
      expect(err.name, file).toBe('InsecurePermissionsException');
      expect(err.message).toContain(join(dir, file));
      expect(err.message).toContain('owned by another user');
      expect(statSync(join(dir, file)).uid).toBe(nobody);
      expect(mode(join(dir, file))).toBe(0o640);
      chownSync(join(dir, file), 0, 0);
      chmodSync(join(dir, file), 0o600);
    }
    LocalKms.open({ dataDir: dir }).close();
  });
});

// Another user who can change a directory above the store can rename the store away and put one
// of their own there (with a root key they know) between the checks and the opening of the files.
describe.skipIf(process.platform === 'win32')('the directories above the data directory', () => {
  const refused = (dataDir: string, what: RegExp): void => {
    const err = thrownBy(() => LocalKms.open({ dataDir }));
    expect(err.name).toBe('InsecurePermissionsException');
    expect(err.message).toMatch(what);
    expect(err.message).toContain(dataDir);
    // Nothing was made there.
    expect(existsSync(dataDir)).toBe(false);
  };

  for (const loose of [0o777, 0o757]) {
    it(`a parent that others can write (mode ${loose.toString(8)}, not sticky) is refused before anything is made`, () => {
      const parent = fresh();
      mkdirSync(parent);
      chmodSync(parent, loose);
      refused(join(parent, 'store'), new RegExp(`${parent} above the data directory can be written by other users \\(mode 0${loose.toString(8)}, not sticky\\)`));
      // Also further up, with directories still to be made in between.
      refused(join(parent, 'a', 'b', 'store'), /can be written by other users/);
      // And for a store made before the check.
      chmodSync(parent, 0o700);
      LocalKms.open({ dataDir: join(parent, 'old') }).close();
      chmodSync(parent, loose);
      const err = thrownBy(() => LocalKms.open({ dataDir: join(parent, 'old') }));
      expect(err.name).toBe('InsecurePermissionsException');
    });
  }

  it.skipIf(process.getuid?.() !== 0)('as root: a parent its group can write (mode 770) is refused when the group is not the user\'s private group', () => {
    const parent = fresh();
    mkdirSync(parent);
    chownSync(parent, 0, 65534);
    chmodSync(parent, 0o770);
    refused(join(parent, 'store'), new RegExp(`${parent} above the data directory can be written by other users \\(mode 0770, not sticky\\)`));
  });

  it.skipIf(process.getuid?.() !== 0)('as root: a parent its group can write is accepted when the group is the user\'s private group (user private groups with umask 002: ~/.local/share at 0775)', (ctx) => {
    // This machine's group 0 must be root's private group: named root, no other member, no
    // other user's primary group (true of Debian's images; otherwise there is nothing to show).
    const entries = (file: string): string[][] => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split(':'));
    const group0 = entries('/etc/group').filter((f) => f[2] === '0');
    const private0 = group0.length > 0 && group0.every((f) => f[0] === 'root' && (f[3] ?? '') === '') && !entries('/etc/passwd').some((f) => f[3] === '0' && f[0] !== 'root');
    if (!private0 || process.getegid?.() !== 0) ctx.skip();
    const parent = fresh();
    mkdirSync(parent);
    chownSync(parent, 0, 0);
    chmodSync(parent, 0o775);
    LocalKms.open({ dataDir: join(parent, 'store') }).close();
    expect(existsSync(join(parent, 'store', 'kms.sqlite'))).toBe(true);
    // Others' write is never taken: 0777 is refused the same.
    chmodSync(parent, 0o777);
    expect(thrownBy(() => LocalKms.open({ dataDir: join(parent, 'store') })).name).toBe('InsecurePermissionsException');
  });

  it('a sticky parent that everyone can write (as /tmp) is accepted: no one else can rename what is yours', async () => {
    const parent = fresh();
    mkdirSync(parent);
    chmodSync(parent, 0o1777);
    const kms = LocalKms.open({ dataDir: join(parent, 'store') });
    await use(kms);
    kms.close();
  });

  it.skipIf(process.getuid?.() !== 0)('as root: a parent owned by another user is refused (its owner can rename the store), one owned by root or this user is not', () => {
    const parent = fresh();
    mkdirSync(parent, { mode: 0o755 });
    chownSync(parent, 65534, 65534);
    refused(join(parent, 'store'), new RegExp(`${parent} above the data directory is owned by another user \\(uid 65534\\)`));
    chownSync(parent, 0, 0);
    LocalKms.open({ dataDir: join(parent, 'store') }).close();
  });

  it.skipIf(process.getuid?.() !== 0)('as root: a symbolic link on the path owned by another user is refused (they can point it elsewhere); one of this user is followed', () => {
    const parent = fresh();
    mkdirSync(parent, { mode: 0o700 });
    mkdirSync(join(parent, 'real'), { mode: 0o700 });
    symlinkSync(join(parent, 'real'), join(parent, 'link'));
    LocalKms.open({ dataDir: join(parent, 'link', 'store') }).close();
    expect(existsSync(join(parent, 'real', 'store', 'kms.sqlite'))).toBe(true);
    lchownSync(join(parent, 'link'), 65534, 65534);
    const err = thrownBy(() => LocalKms.open({ dataDir: join(parent, 'link', 'store') }));
    expect(err.name).toBe('InsecurePermissionsException');
    expect(err.message).toContain(`symbolic link ${join(parent, 'link')}, owned by another user (uid 65534)`);
    // The data directory itself as such a link.
    symlinkSync(join(parent, 'real', 'store'), join(parent, 'store-link'));
    lchownSync(join(parent, 'store-link'), 65534, 65534);
    expect(thrownBy(() => LocalKms.open({ dataDir: join(parent, 'store-link') })).name).toBe('InsecurePermissionsException');
  });
});

describe('passphrase scrypt parameters', () => {
  const passphrase = 'correct horse battery staple';

  it('a new store records N=2^17, r=8, p=1 next to its salt', () => {
    const dir = fresh();
    const kms = LocalKms.open({ dataDir: dir, passphrase });
    expect(JSON.parse(kms.meta('passphrase_kdf')!)).toEqual({ alg: 'scrypt', N: 2 ** 17, r: 8, p: 1 });
    expect(kms.meta('passphrase_salt')).toMatch(/^[0-9a-f]{32}$/);
    kms.close();
  });

  /** A store whose root key is scrypt(passphrase) with the given salt and parameters, and that records them (or not: `record` false is a store made before parameters were stored). */
  async function storeUnder(params: { N: number; r: number; p: number }, record: boolean): Promise<{ dir: string; blob: Uint8Array }> {
    const dir = fresh();
    const salt = randomBytes(16);
    const rootKey = new Uint8Array(scryptSync(passphrase, salt, 32, { ...params, maxmem: 256 * 1024 * 1024 }));
    const kms = LocalKms.open({ dataDir: dir, rootKey });
    const id = (await kms.createKey({})).KeyMetadata!.KeyId!;
    const blob = (await kms.encrypt({ KeyId: id, Plaintext: new Uint8Array([1, 2, 3]) })).CiphertextBlob!;
    kms.close();
    const db = new Database(join(dir, 'kms.sqlite'));
    db.prepare("INSERT INTO meta (name, value) VALUES ('passphrase_salt', ?)").run(salt.toString('hex'));
    if (record) db.prepare("INSERT INTO meta (name, value) VALUES ('passphrase_kdf', ?)").run(JSON.stringify({ alg: 'scrypt', ...params }));
    db.close();
    return { dir, blob };
  }

  it('the stored parameters are the ones used on reopen', async () => {
    // N=2^14 is what no version defaults to: only reading it from the store opens this one.
    const { dir, blob } = await storeUnder({ N: 2 ** 14, r: 8, p: 1 }, true);
    const kms = LocalKms.open({ dataDir: dir, passphrase });
    expect((await kms.decrypt({ CiphertextBlob: blob })).Plaintext).toEqual(new Uint8Array([1, 2, 3]));
    kms.close();
    expect(thrownBy(() => LocalKms.open({ dataDir: dir, passphrase: 'wrong' })).name).toBe('RootKeyMismatchException');
  });

  it('a store made before the parameters were stored (salt only) still opens with N=2^15', async () => {
    const { dir, blob } = await storeUnder({ N: 2 ** 15, r: 8, p: 1 }, false);
    const kms = LocalKms.open({ dataDir: dir, passphrase });
    expect((await kms.decrypt({ CiphertextBlob: blob })).Plaintext).toEqual(new Uint8Array([1, 2, 3]));
    expect(kms.meta('passphrase_kdf')).toBeUndefined();
    kms.close();
  });

  it('forged parameters (huge or malformed) are refused before scrypt runs', async () => {
    for (const forged of ['{"alg":"scrypt","N":1073741824,"r":8,"p":1}', '{"alg":"scrypt","N":100000,"r":8,"p":1}', '{"N":16384,"r":8,"p":64}', '{"alg":"scrypt","N":1048576,"r":16,"p":1}', 'not json']) {
      const { dir } = await storeUnder({ N: 2 ** 14, r: 8, p: 1 }, true);
      const db = new Database(join(dir, 'kms.sqlite'));
      db.prepare("UPDATE meta SET value = ? WHERE name = 'passphrase_kdf'").run(forged);
      db.close();
      expect(thrownBy(() => LocalKms.open({ dataDir: dir, passphrase })).name, forged).toBe('KMSInternalException');
      expect(existsSync(dir)).toBe(true);
    }
  });
});
