/**
 * encryptFile / decryptFile read whole frames, about 1 MiB at a time but at most 1024 frames:
 * each frame of a read is held as a few small arrays until the read is written, and with frames
 * of 1 byte a 1 MiB read held a million of them (1.4 GiB of memory, measured by a reviewer).
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decryptFile, encryptFile } from '../../src/node/index.js';
import { framesPerRead } from '../../src/node/files.js';
import { pattern, testKeyring } from '../helpers/keys.js';

const dir = await mkdtemp(join(tmpdir(), 'sealbox-small-frames-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const keyring = testKeyring('small-frames', 7);

describe('reads of small frames', () => {
  it('are at most 1024 frames, and about 1 MiB for larger ones', () => {
    expect(framesPerRead(1)).toBe(1024);
    expect(framesPerRead(18)).toBe(1024);
    expect(framesPerRead(1024)).toBe(1024);
    expect(framesPerRead(4096)).toBe(256);
    expect(framesPerRead(65536 + 17)).toBe(15);
    expect(framesPerRead(16 * 1024 * 1024)).toBe(1);
  });

  it.each([
    [1, 1],
    [1, 2],
    [7, 1],
    [7, 2],
  ])('frames of %i byte(s), concurrency %i: round trip over several reads', async (frameLength, concurrency) => {
    const plaintext = pattern(5000 + frameLength, 3);
    const src = join(dir, `p-${frameLength}-${concurrency}`);
    await writeFile(src, plaintext);
    await encryptFile(src, `${src}.sbx`, { keyring, frameLength, concurrency });
    await decryptFile(`${src}.sbx`, `${src}.out`, { keyring, concurrency });
    expect(new Uint8Array(await readFile(`${src}.out`))).toEqual(plaintext);
  });
});
