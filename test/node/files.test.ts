import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decrypt } from '../../src/decrypt.js';
import { decryptFile, encryptFile } from '../../src/node/index.js';
import { decryptRange } from '../../src/range/decrypt-range.js';
import { bytesEqual, pattern, testKeyring, thrown } from '../helpers/keys.js';

const keyring = testKeyring();
const dir = await mkdtemp(join(tmpdir(), 'sealbox-files-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('encryptFile / decryptFile', () => {
  for (const [n, F] of [[0, 64], [1, 64], [64, 64], [3 * 1024 * 1024 + 17, 65536], [100_000, 1000]] as const) {
    it(`round-trips ${n} bytes with frames of ${F}`, async () => {
      const plaintext = pattern(n, 11);
      await writeFile(join(dir, 'in'), plaintext);
      const enc = await encryptFile(join(dir, 'in'), join(dir, 'in.sbx'), { keyring, frameLength: F, encryptionContext: { f: 'in' } });
      const ciphertext = await readFile(join(dir, 'in.sbx'));
      expect(enc.bytesWritten).toBe(ciphertext.length);
      // The file is a normal message: one-shot decrypt reads it.
      expect(bytesEqual((await decrypt(ciphertext, { keyring })).plaintext, plaintext)).toBe(true);
      const dec = await decryptFile(join(dir, 'in.sbx'), join(dir, 'out'), { keyring, expectedEncryptionContext: { f: 'in' } });
      expect(dec.bytesWritten).toBe(n);
      expect(bytesEqual(await readFile(join(dir, 'out')), plaintext)).toBe(true);
      expect((await readdir(dir)).filter((f) => f.includes('sealbox-tmp'))).toEqual([]);
    });
  }

  it('a failed decryptFile leaves no output file and no temporary file', async () => {
    const plaintext = pattern(10_000, 2);
    await writeFile(join(dir, 'p'), plaintext);
    await encryptFile(join(dir, 'p'), join(dir, 'p.sbx'), { keyring, frameLength: 1000 });
    const good = await readFile(join(dir, 'p.sbx'));
    const cases: [string, Uint8Array, string][] = [
      ['tampered', Uint8Array.from(good, (b, i) => (i === good.length - 500 ? b ^ 1 : b)), 'ERR_DECRYPTION_FAILED'],
      ['truncated', good.subarray(0, good.length - 30), 'ERR_TRUNCATED'],
      ['no final frame', good.subarray(0, good.length - (10_000 % 1000) - 21), 'ERR_TRUNCATED'],
      ['appended', Buffer.concat([good, Buffer.of(0)]), 'ERR_TRAILING_DATA'],
      ['header cut', good.subarray(0, 30), 'ERR_TRUNCATED'],
      ['empty', new Uint8Array(0), 'ERR_TRUNCATED'],
    ];
    for (const [name, bytes, code] of cases) {
      await writeFile(join(dir, 'bad.sbx'), bytes);
      const err = await thrown(() => decryptFile(join(dir, 'bad.sbx'), join(dir, 'bad-out'), { keyring }));
      expect((err as { code: string }).code, name).toBe(code);
      expect(await stat(join(dir, 'bad-out')).catch(() => null), name).toBeNull();
    }
    const wrongKey = await thrown(() => decryptFile(join(dir, 'p.sbx'), join(dir, 'bad-out'), { keyring: testKeyring('x', 5) }));
    expect((wrongKey as { code: string }).code).toBe('ERR_NO_MATCHING_KEY');
    expect(await stat(join(dir, 'bad-out')).catch(() => null)).toBeNull();
    expect((await readdir(dir)).filter((f) => f.includes('sealbox-tmp'))).toEqual([]);
  });

  it('a failed decryptFile leaves an existing destination untouched', async () => {
    await writeFile(join(dir, 'keep'), 'old contents');
    await writeFile(join(dir, 'junk.sbx'), pattern(500));
    await thrown(() => decryptFile(join(dir, 'junk.sbx'), join(dir, 'keep'), { keyring }));
    expect(await readFile(join(dir, 'keep'), 'utf8')).toBe('old contents');
  });

  it('decryptRange reads from a FileHandle', async () => {
    const plaintext = pattern(50_000, 4);
    await writeFile(join(dir, 'r'), plaintext);
    await encryptFile(join(dir, 'r'), join(dir, 'r.sbx'), { keyring, frameLength: 4096 });
    const fh = await open(join(dir, 'r.sbx'));
    try {
      for (const [start, end] of [[0, 1], [4095, 4097], [12_345, 40_000], [49_999, 50_000], [0, 50_000]]) {
        const r = await decryptRange(fh, { keyring, start: start as number, end: end as number });
        expect(bytesEqual(r.plaintext, plaintext.subarray(start, end))).toBe(true);
      }
    } finally {
      await fh.close();
    }
  });
});
