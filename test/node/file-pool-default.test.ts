import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../../src/index.js';
import { decryptFile, encryptFile } from '../../src/node/index.js';
import { framePoolStarts } from '../../src/node/frame-pool.js';
import { bytesEqual, pattern, testKeyring } from '../helpers/keys.js';

// The default thread count (no `concurrency`) is 1, whatever the machine: on an idle 2-core
// machine the workers made 256 MiB files 0.70x as fast (docs/performance.md). Here the machine
// has many idle cores as far as Sealbox can tell, and still no worker starts unless asked.
vi.mock('node:os', async (importOriginal) => {
  const os = await importOriginal<typeof import('node:os')>();
  const mocked = { availableParallelism: () => 16, cpus: () => os.cpus(), loadavg: () => [0, 0, 0] };
  return { ...os, default: { ...os, ...mocked }, ...mocked };
});

const dir = await mkdtemp(join(tmpdir(), 'sealbox-file-pool-default-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const keyring = testKeyring();
const MIB = 1024 * 1024;

const starts = async (fn: () => Promise<unknown>): Promise<number> => {
  const before = framePoolStarts();
  await fn();
  return framePoolStarts() - before;
};

describe('the default concurrency', () => {
  const big = pattern(9 * MIB, 3);

  it('is the calling thread alone for a large file, both ways, signed or not', async () => {
    await writeFile(join(dir, 'big'), big);
    const suite = SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384;
    expect(await starts(() => encryptFile(join(dir, 'big'), join(dir, 'big.sbx'), { keyring }))).toBe(0);
    expect(await starts(() => decryptFile(join(dir, 'big.sbx'), join(dir, 'big.out'), { keyring }))).toBe(0);
    expect(bytesEqual(await readFile(join(dir, 'big.out')), big)).toBe(true);
    expect(await starts(() => encryptFile(join(dir, 'big'), join(dir, 's.sbx'), { keyring, suite }))).toBe(0);
    expect(await starts(() => decryptFile(join(dir, 's.sbx'), join(dir, 's.out'), { keyring, signaturePolicy: 'require-signed' }))).toBe(0);
    expect(bytesEqual(await readFile(join(dir, 's.out')), big)).toBe(true);
  });

  it('starts workers when asked, and gives the same plaintext back', async () => {
    await writeFile(join(dir, 'big'), big);
    expect(await starts(() => encryptFile(join(dir, 'big'), join(dir, 'c.sbx'), { keyring, concurrency: 2 }))).toBe(1);
    expect(await starts(() => decryptFile(join(dir, 'c.sbx'), join(dir, 'c.out'), { keyring, concurrency: 2 }))).toBe(1);
    expect(bytesEqual(await readFile(join(dir, 'c.out')), big)).toBe(true);
  });
});
