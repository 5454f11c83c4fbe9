/**
 * decryptFile on worker threads: whatever ends a failed run, the plaintext the threads wrote into
 * the shared output slots is zeroed before the call returns (src/node/files.ts, poolPump). Before,
 * only a failed write or tag did that: a structural fault (a cut, a bad frame type, bytes after
 * the final frame) left the frames opened before it in the slots.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Slot } from '../../src/node/frame-pool.js';

const slots: Slot[] = [];
vi.mock('../../src/node/frame-pool.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/node/frame-pool.js')>();
  return {
    ...real,
    newSlot: (inputBytes: number, outputBytes: number): Slot => {
      const slot = real.newSlot(inputBytes, outputBytes);
      slots.push(slot);
      return slot;
    },
  };
});

const { decryptFile, encryptFile } = await import('../../src/node/index.js');
const { readPreamble } = await import('../../src/format/header.js');
const { TAG_BYTES } = await import('../../src/limits.js');
const { testKeyring, thrown } = await import('../helpers/keys.js');

const dir = await mkdtemp(join(tmpdir(), 'sealbox-pool-wipe-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const keyring = testKeyring();
const path = (name: string): string => join(dir, name);
const MIB = 1024 * 1024;
const F = 1000;

describe('a failed pooled decryptFile leaves no plaintext in the shared slots', () => {
  it.each([
    ['cut after a regular frame', (m: Buffer, start: (i: number) => number) => m.subarray(0, start(2000))],
    ['a byte after the final frame', (m: Buffer) => Buffer.concat([m, Buffer.of(0)])],
    ['an unknown frame type', (m: Buffer, start: (i: number) => number) => Buffer.from(Uint8Array.from(m, (b, i) => (i === start(2500) ? 7 : b)))],
    ['a tampered frame', (m: Buffer, start: (i: number) => number) => Buffer.from(Uint8Array.from(m, (b, i) => (i === start(2500) + 9 ? b ^ 1 : b)))],
  ] as const)('%s', async (_name, damage) => {
    // A plaintext of 0xff bytes: any of it left in a slot is easy to see.
    const n = 3 * MIB + 123;
    await writeFile(path('p'), Buffer.alloc(n, 0xff));
    await encryptFile(path('p'), path('p.sbx'), { keyring, frameLength: F, concurrency: 1 });
    const good = await readFile(path('p.sbx'));
    const headerEnd = (readPreamble(good.subarray(0, 64), MIB) as number) + TAG_BYTES;
    await writeFile(path('bad.sbx'), damage(good, (i) => headerEnd + i * (F + 17)));
    slots.length = 0;
    expect(await thrown(() => decryptFile(path('bad.sbx'), path('out'), { keyring, concurrency: 2 }))).toBeDefined();
    expect(slots.length).toBeGreaterThan(0);
    for (const slot of slots) expect(slot.output.includes(0xff)).toBe(false);
  });
});
