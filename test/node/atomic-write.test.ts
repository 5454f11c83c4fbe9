import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AtomicWriteFs } from '../../src/node/atomic-write.js';
import { nodeAtomicWriteFs, writeBytesAtomically, writeFileAtomically, writeFileAtomicallySync } from '../../src/node/atomic-write.js';
import { decryptFile, encryptFile } from '../../src/node/index.js';
import { runPipeline } from '../../src/cli/io.js';
import { LocalKms } from '../../src/local-kms/index.js';
import { Command } from 'commander';
import { registerAudit } from '../../src/cli/audit.js';
import { pattern, testKeyring, thrown } from '../helpers/keys.js';

// Every file-system call the writers make is recorded (path-level), so the tests can check
// the order "fsync the file, then rename, then fsync the directory" at each real call site.
const events: string[] = [];
const label = (p: unknown): string => String(p).replace(/\.[0-9a-f]{12}\.sealbox-tmp$/, '.TMP');

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const open = async (...args: Parameters<typeof fs.open>) => {
    const fh = await fs.open(...args);
    const path = label(args[0]);
    const sync = fh.sync.bind(fh);
    const close = fh.close.bind(fh);
    fh.sync = async () => {
      events.push(`fsync ${path}`);
      return sync();
    };
    fh.close = async () => {
      events.push(`close ${path}`);
      return close();
    };
    return fh;
  };
  const rename = async (a: string, b: string) => {
    events.push(`rename ${label(a)} ${label(b)}`);
    return fs.rename(a, b);
  };
  return { ...fs, default: { ...fs, open, rename }, open, rename };
});

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const paths = new Map<number, string>();
  const openSync = (...args: Parameters<typeof fs.openSync>) => {
    const fd = fs.openSync(...args);
    paths.set(fd, label(args[0]));
    return fd;
  };
  const fsyncSync = (fd: number) => {
    events.push(`fsync ${paths.get(fd) ?? fd}`);
    return fs.fsyncSync(fd);
  };
  const linkSync = (a: string, b: string) => {
    events.push(`link ${label(a)} ${label(b)}`);
    return fs.linkSync(a, b);
  };
  const renameSync = (a: string, b: string) => {
    events.push(`rename ${label(a)} ${label(b)}`);
    return fs.renameSync(a, b);
  };
  const overrides = { openSync, fsyncSync, linkSync, renameSync };
  return { ...fs, ...overrides, default: { ...fs, ...overrides } };
});

const dir = await mkdtemp(join(tmpdir(), 'sealbox-atomic-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
beforeEach(() => {
  events.length = 0;
});

const tmpFiles = async (d = dir): Promise<string[]> => (await readdir(d)).filter((f) => f.endsWith('.sealbox-tmp'));

/** The events about `dst`, its temporary file and its directory, in order. */
function durabilityEvents(dst: string): string[] {
  const names = new Set([dst, `${dirname(dst)}/.${dst.slice(dirname(dst).length + 1)}.TMP`, dirname(dst)]);
  return events.filter((e) => e.split(' ').slice(1).some((p) => names.has(p)));
}

function expectedOrder(dst: string): string[] {
  const tmp = `${dirname(dst)}/.${dst.slice(dirname(dst).length + 1)}.TMP`;
  return [`fsync ${tmp}`, `close ${tmp}`, `rename ${tmp} ${dst}`, `fsync ${dirname(dst)}`, `close ${dirname(dst)}`];
}

describe('every temp+rename writer fsyncs the file before the rename and the directory after', () => {
  const keyring = testKeyring();

  it('encryptFile and decryptFile', async () => {
    await writeFile(join(dir, 'plain'), pattern(10_000, 3));
    await encryptFile(join(dir, 'plain'), join(dir, 'enc.sbx'), { keyring, frameLength: 1000 });
    expect(durabilityEvents(join(dir, 'enc.sbx'))).toEqual(expectedOrder(join(dir, 'enc.sbx')));
    events.length = 0;
    await decryptFile(join(dir, 'enc.sbx'), join(dir, 'dec'), { keyring });
    expect(durabilityEvents(join(dir, 'dec'))).toEqual(expectedOrder(join(dir, 'dec')));
    expect(await readFile(join(dir, 'dec'))).toEqual(Buffer.from(pattern(10_000, 3)));
  });

  it("the CLI's -o writer (runPipeline)", async () => {
    const out = join(dir, 'cli-out');
    await runPipeline(Readable.from([Buffer.from('hello '), Buffer.from('world')]), [], { kind: 'file', path: out });
    expect(await readFile(out, 'utf8')).toBe('hello world');
    expect(durabilityEvents(out)).toEqual(expectedOrder(out));
    expect(await tmpFiles()).toEqual([]);
  });

  it("a failed CLI pipeline leaves no output and no temporary file", async () => {
    const out = join(dir, 'cli-failed');
    const input = new Readable({ read() { this.destroy(new Error('input broke')); } });
    await expect(runPipeline(input, [], { kind: 'file', path: out })).rejects.toThrow('input broke');
    expect(await stat(out).catch(() => null)).toBeNull();
    expect(await tmpFiles()).toEqual([]);
    expect(events.some((e) => e.startsWith('rename'))).toBe(false);
  });

  it("the local KMS's root key file (linked, never replacing an existing one)", () => {
    const home = mkdtempSync(join(tmpdir(), 'sealbox-atomic-kms-'));
    try {
      LocalKms.open({ dataDir: home }).close();
      const key = join(home, 'root.key');
      const tmp = join(home, '.root.key.TMP');
      const seen = events.filter((e) => e.includes('root.key') || e === `fsync ${home}`);
      expect(seen).toEqual([`fsync ${tmp}`, `link ${tmp} ${key}`, `fsync ${home}`]);
      expect(readdirSync(home).filter((f) => f.endsWith('.sealbox-tmp'))).toEqual([]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("`sealbox audit export -o` (it wrote with writeFileSync: a crash could leave part of a log)", () => {
  it('writes through the same helper: fsync, rename, directory fsync', async () => {
    const home = mkdtempSync(join(tmpdir(), 'sealbox-atomic-audit-'));
    try {
      const kms = LocalKms.open({ dataDir: home });
      await kms.generateRandom({ NumberOfBytes: 4 });
      const expected = kms.exportAudit();
      kms.close();
      const out = join(dir, 'audit.jsonl');
      events.length = 0;
      const program = new Command();
      registerAudit(program, () => ({ home }));
      await program.parseAsync(['audit', 'export', '-o', out], { from: 'user' });
      expect(await readFile(out, 'utf8')).toBe(expected);
      const tmpName = `${dir}/.audit.jsonl.TMP`;
      expect(events.filter((e) => e.includes('audit.jsonl') || e === `fsync ${dir}`)).toEqual([`fsync ${tmpName}`, `rename ${tmpName} ${out}`, `fsync ${dir}`]);
      expect((await stat(out)).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

/** The real calls, recorded, with one of them made to fail. */
function failingFs(failAt: string | undefined): { fs: AtomicWriteFs; calls: string[] } {
  const calls: string[] = [];
  const fs = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(nodeAtomicWriteFs) as [string, (...a: unknown[]) => unknown][]) {
    fs[name] = (...args: unknown[]) => {
      calls.push(name);
      if (name === failAt) {
        const err = Object.assign(new Error(`${name} failed`), { code: 'EIO' });
        if (name.endsWith('Sync')) throw err;
        return Promise.reject(err);
      }
      return fn(...args);
    };
  }
  return { fs: fs as unknown as AtomicWriteFs, calls };
}

describe('writeFileAtomically', () => {
  it('calls open, body, fsync, close, rename, directory fsync in that order', async () => {
    const { fs, calls } = failingFs(undefined);
    const dst = join(dir, 'ordered');
    const result = await writeFileAtomically(dst, async (out) => {
      calls.push('body');
      await out.write(Buffer.from('data'));
      return 42;
    }, fs);
    expect(result).toBe(42);
    expect(calls).toEqual(['open', 'body', 'syncFile', 'close', 'rename', 'syncDir']);
    expect(await readFile(dst, 'utf8')).toBe('data');
    expect(await tmpFiles()).toEqual([]);
  });

  for (const step of ['body', 'syncFile', 'close', 'rename'] as const) {
    it(`a failure at ${step} leaves no destination and no temporary file`, async () => {
      const { fs } = failingFs(step);
      const dst = join(dir, `fail-${step}`);
      const err = await thrown(() => writeFileAtomically(dst, async (out) => {
        await out.write(Buffer.from('partial'));
        if (step === 'body') throw Object.assign(new Error('body failed'), { code: 'EIO' });
      }, fs));
      expect((err as NodeJS.ErrnoException).code).toBe('EIO');
      expect(await stat(dst).catch(() => null)).toBeNull();
      expect(await tmpFiles()).toEqual([]);
    });
  }

  it('a failure replaces nothing: an existing destination keeps its contents', async () => {
    const dst = join(dir, 'kept');
    await writeFile(dst, 'old');
    const { fs } = failingFs('syncFile');
    await thrown(() => writeFileAtomically(dst, async (out) => void (await out.write(Buffer.from('new'))), fs));
    expect(await readFile(dst, 'utf8')).toBe('old');
  });

  it('a failed directory fsync is reported (the file is in place, its durability unknown)', async () => {
    const { fs } = failingFs('syncDir');
    const dst = join(dir, 'dir-sync-failed');
    const err = await thrown(() => writeFileAtomically(dst, async (out) => void (await out.write(Buffer.from('x'))), fs));
    expect((err as NodeJS.ErrnoException).code).toBe('EIO');
    expect(await tmpFiles()).toEqual([]);
  });

  it('creates the file with mode 0600 whatever the umask', async () => {
    const old = process.umask(0o022);
    try {
      const dst = join(dir, 'private');
      await writeFileAtomically(dst, async (out) => void (await out.write(Buffer.from('x'))));
      expect((await stat(dst)).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(old);
    }
  });
});

describe('writeFileAtomicallySync', () => {
  it('calls open, write, fsync, close, rename, directory fsync in that order', async () => {
    const { fs, calls } = failingFs(undefined);
    const dst = join(dir, 'sync-ordered');
    expect(writeFileAtomicallySync(dst, Buffer.from('abc'), {}, fs)).toBe(true);
    expect(calls).toEqual(['openSync', 'writeSync', 'fsyncSync', 'closeSync', 'renameSync', 'syncDirSync']);
    expect(await readFile(dst, 'utf8')).toBe('abc');
  });

  it('exclusive: links, never replaces, and says when the destination already existed', async () => {
    const { fs, calls } = failingFs(undefined);
    const dst = join(dir, 'sync-exclusive');
    expect(writeFileAtomicallySync(dst, Buffer.from('first'), { exclusive: true }, fs)).toBe(true);
    expect(calls).toEqual(['openSync', 'writeSync', 'fsyncSync', 'closeSync', 'linkSync', 'unlinkSync', 'syncDirSync']);
    expect(writeFileAtomicallySync(dst, Buffer.from('second'), { exclusive: true })).toBe(false);
    expect(await readFile(dst, 'utf8')).toBe('first');
    expect(await tmpFiles()).toEqual([]);
  });

  for (const step of ['writeSync', 'fsyncSync', 'closeSync', 'renameSync', 'linkSync'] as const) {
    it(`a failure at ${step} leaves no destination and no temporary file`, async () => {
      const { fs } = failingFs(step);
      const dst = join(dir, `sync-fail-${step}`);
      expect(() => writeFileAtomicallySync(dst, Buffer.from('x'), { exclusive: step === 'linkSync' }, fs)).toThrow(expect.objectContaining({ code: 'EIO' }));
      expect(await stat(dst).catch(() => null)).toBeNull();
      expect(await tmpFiles()).toEqual([]);
    });
  }
});

describe('writeBytesAtomically', () => {
  it('calls open, write, fsync (thread pool), close, rename, directory fsync in that order', async () => {
    const { fs, calls } = failingFs(undefined);
    const dst = join(dir, 'bytes-ordered');
    await writeBytesAtomically(dst, Buffer.from('abc'), {}, fs);
    expect(calls).toEqual(['openSync', 'writeSync', 'fsync', 'closeSync', 'renameSync', 'syncDir']);
    expect(await readFile(dst, 'utf8')).toBe('abc');
    expect((await stat(dst)).mode & 0o777).toBe(0o600);
  });

  it('syncDir: false leaves the directory fsync to the caller; the file is still fsynced before its rename', async () => {
    const { fs, calls } = failingFs(undefined);
    const dst = join(dir, 'bytes-batch');
    await writeBytesAtomically(dst, Buffer.from('abc'), { syncDir: false }, fs);
    expect(calls).toEqual(['openSync', 'writeSync', 'fsync', 'closeSync', 'renameSync']);
    expect(await readFile(dst, 'utf8')).toBe('abc');
  });

  for (const step of ['writeSync', 'fsync', 'closeSync', 'renameSync'] as const) {
    it(`a failure at ${step} leaves no destination (an existing one untouched) and no temporary file`, async () => {
      const { fs } = failingFs(step);
      const dst = join(dir, `bytes-fail-${step}`);
      await writeFile(dst, 'old');
      const err = await thrown(() => writeBytesAtomically(dst, Buffer.from('new'), { syncDir: false }, fs));
      expect((err as NodeJS.ErrnoException).code).toBe('EIO');
      expect(await readFile(dst, 'utf8')).toBe('old');
      expect(await tmpFiles()).toEqual([]);
    });
  }
});
