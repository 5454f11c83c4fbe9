/**
 * A plaintext of known length that needs more than 2^32 - 1 frames (SPEC rule 28) is refused
 * before any keyring is asked and before anything is written: encryptFile knows the file's size
 * from stat. Before, it started sealing and would have reached the limit at frame 2^32, hours
 * into the file (and one-shot encrypt failed with an untyped allocation error).
 */
import { closeSync, ftruncateSync, openSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encryptFile } from '../../src/node/index.js';
import type { Keyring } from '../../src/keyring/keyring.js';
import { testKeyring, thrown } from '../helpers/keys.js';

const dir = await mkdtemp(join(tmpdir(), 'sealbox-frame-limit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('more frames than a message may have', () => {
  it.each([1, 2])('encryptFile (concurrency %i) refuses a 4 GiB sparse file in frames of 1 byte at once: ERR_LIMIT_EXCEEDED, no keyring call, no file', async (concurrency) => {
    const src = join(dir, `sparse-${concurrency}`);
    const fd = openSync(src, 'w');
    ftruncateSync(fd, 2 ** 32);
    closeSync(fd);
    const inner = testKeyring('limit', 5);
    let calls = 0;
    const counting: Keyring = { wrapKey: (r) => (calls++, inner.wrapKey(r)), unwrapKey: (r) => inner.unwrapKey(r) };
    const err = await thrown(() => encryptFile(src, join(dir, `out-${concurrency}`), { keyring: counting, frameLength: 1, concurrency }));
    expect((err as { code?: string }).code).toBe('ERR_LIMIT_EXCEEDED');
    expect(calls).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith('out-') || f.includes('sealbox-tmp'))).toEqual([]);
  }, 60_000);
});
