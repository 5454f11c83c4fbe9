import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { registerKeygen } from '../../src/cli/pq.js';
import { FileError } from '../../src/cli/exit.js';

// `sealbox keygen --pq -o FILE` when the write fails part way (a full disk): no partial private
// key file is left behind, and the error names the file. The write calls are made to fail here;
// everything else is the real file system.
const failing = new Set<number>();
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fail = (fd: unknown) => {
    if (typeof fd === 'number' && failing.has(fd)) {
      // Half the key reaches the disk, then the disk is full.
      fs.writeSync(fd, 'SEALBOX-XWING-SECRET-KEY-1 (half of it)');
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    }
  };
  return {
    ...fs,
    openSync: (...args: Parameters<typeof fs.openSync>) => {
      const fd = fs.openSync(...args);
      if (String(args[0]).endsWith('full.key')) failing.add(fd);
      return fd;
    },
    writeSync: ((fd: number, ...rest: unknown[]) => (fail(fd), (fs.writeSync as (...a: unknown[]) => number)(fd, ...rest))) as typeof fs.writeSync,
    writeFileSync: ((file: unknown, ...rest: unknown[]) => (fail(file), (fs.writeFileSync as (...a: unknown[]) => void)(file, ...rest))) as typeof fs.writeFileSync,
  };
});

const dir = mkdtempSync(join(tmpdir(), 'sealbox-pq-keyfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keygen = async (...args: string[]) => {
  const program = new Command().exitOverride();
  registerKeygen(program, () => ({}));
  const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'sealbox', 'keygen', ...args]);
  } finally {
    write.mockRestore();
  }
};

describe('keygen --pq -o', () => {
  it('leaves no partial private key file when the write fails, and names the file', async () => {
    const path = join(dir, 'full.key');
    const err = await keygen('--pq', '-o', path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FileError);
    expect((err as FileError).code).toBe('ENOSPC');
    expect((err as FileError).message).toBe(`cannot write ${path}: no space left on the device`);
    expect(existsSync(path)).toBe(false);
    // The same path works once there is room; a file that was written is kept, 0600.
    failing.clear();
    const ok = join(dir, 'ok.key');
    await keygen('--pq', '-o', ok);
    expect(readFileSync(ok, 'utf8')).toMatch(/\nSEALBOX-XWING-SECRET-KEY-1[A-Z0-9]{58}\n$/);
    expect(statSync(ok).mode & 0o777).toBe(0o600);
  });
});
