import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../../src/index.js';
import { decryptFile, encryptFile } from '../../src/node/index.js';
import { framePoolStarts } from '../../src/node/frame-pool.js';
import { bytesEqual, pattern, testKeyring } from '../helpers/keys.js';

// The default thread count (no `concurrency`), on a machine with two cores as far as Sealbox
// can tell: workers for a file of 8 MiB or more, signed or not (a signed file's hash runs on
// the calling thread); none below, none for frames above 1 MiB, none while the load average
// leaves no core idle besides the calling thread's.
const machine = vi.hoisted(() => ({ load: 0 }));
vi.mock('node:os', async (importOriginal) => {
  const os = await importOriginal<typeof import('node:os')>();
  const mocked = { availableParallelism: () => 2, loadavg: () => [machine.load, machine.load, machine.load] };
  return { ...os, default: { ...os, ...mocked }, ...mocked };
});

const dir = await mkdtemp(join(tmpdir(), 'sealbox-file-pool-default-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const keyring = testKeyring();
const MIB = 1024 * 1024;

describe('the default concurrency on two cores', () => {
  const big = pattern(8 * MIB, 3);
  it('uses a worker for an 8 MiB file both ways, not for 8 MiB - 1 byte or frames above 1 MiB', async () => {
    await writeFile(join(dir, 'big'), big);
    await writeFile(join(dir, 'small'), big.subarray(1));
    const uses = async (fn: () => Promise<unknown>): Promise<number> => {
      const before = framePoolStarts();
      await fn();
      return framePoolStarts() - before;
    };
    expect(await uses(() => encryptFile(join(dir, 'big'), join(dir, 'big.sbx'), { keyring }))).toBe(1);
    expect(await uses(() => decryptFile(join(dir, 'big.sbx'), join(dir, 'big.out'), { keyring }))).toBe(1);
    expect(bytesEqual(await readFile(join(dir, 'big.out')), big)).toBe(true);
    expect(await uses(() => encryptFile(join(dir, 'small'), join(dir, 'small.sbx'), { keyring }))).toBe(0);
    expect(await uses(() => encryptFile(join(dir, 'big'), join(dir, 'f.sbx'), { keyring, frameLength: 2 * MIB }))).toBe(0);
    expect(await uses(() => decryptFile(join(dir, 'f.sbx'), join(dir, 'f.out'), { keyring }))).toBe(0);
    expect(await uses(() => encryptFile(join(dir, 'big'), join(dir, 'one.sbx'), { keyring, concurrency: 1 }))).toBe(0);
  });

  it('uses none while the other core is busy (1-minute load average above 1), and workers when asked', async () => {
    await writeFile(join(dir, 'big'), big);
    const before = framePoolStarts();
    machine.load = 1.2;
    try {
      await encryptFile(join(dir, 'big'), join(dir, 'l.sbx'), { keyring });
      await decryptFile(join(dir, 'l.sbx'), join(dir, 'l.out'), { keyring });
      expect(framePoolStarts()).toBe(before);
      await encryptFile(join(dir, 'big'), join(dir, 'l.sbx'), { keyring, concurrency: 2 });
      expect(framePoolStarts()).toBe(before + 1);
    } finally {
      machine.load = 0;
    }
    await encryptFile(join(dir, 'big'), join(dir, 'l.sbx'), { keyring });
    expect(framePoolStarts()).toBe(before + 2);
  });

  it('uses a worker for a signed file by default too (its hash runs on the calling thread), none with concurrency 1', async () => {
    await writeFile(join(dir, 'big'), big);
    const suite = SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384;
    const before = framePoolStarts();
    await encryptFile(join(dir, 'big'), join(dir, 's.sbx'), { keyring, suite });
    await decryptFile(join(dir, 's.sbx'), join(dir, 's.out'), { keyring, signaturePolicy: 'require-signed' });
    expect(framePoolStarts()).toBe(before + 2);
    expect(bytesEqual(await readFile(join(dir, 's.out')), big)).toBe(true);
    await encryptFile(join(dir, 'big'), join(dir, 's1.sbx'), { keyring, suite, concurrency: 1 });
    await decryptFile(join(dir, 's1.sbx'), join(dir, 's1.out'), { keyring, concurrency: 1 });
    expect(framePoolStarts()).toBe(before + 2);
    await encryptFile(join(dir, 'big'), join(dir, 's2.sbx'), { keyring, suite, concurrency: 2 });
    await decryptFile(join(dir, 's2.sbx'), join(dir, 's2.out'), { keyring, concurrency: 2 });
    expect(framePoolStarts()).toBe(before + 4);
    expect(bytesEqual(await readFile(join(dir, 's2.out')), big)).toBe(true);
  });
});
