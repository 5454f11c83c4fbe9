import { describe, expect, it } from 'vitest';
import { encrypt } from '../../src/encrypt.js';
import { readHeader } from '../../src/stream/read-header.js';
import { MultiKeyring } from '../../src/keyring/multi.js';
import { pattern, testKeyring, thrown } from '../helpers/keys.js';
import { chunks, readableOf } from './helpers.js';

describe('readHeader', async () => {
  const keyring = new MultiKeyring({ generator: testKeyring('a', 1), children: [testKeyring('b', 2)] });
  const { ciphertext, header } = await encrypt(pattern(1000), { keyring, frameLength: 100, encryptionContext: { tenant: 'acme' } });

  it('reads the same header from bytes, a ReadableStream and an async iterable, in any chunking', async () => {
    expect(await readHeader(ciphertext)).toEqual(header);
    for (const size of [1, 7, 64, 100000]) {
      expect(await readHeader(readableOf(ciphertext, size))).toEqual(header);
      expect(await readHeader((async function* () { yield* chunks(ciphertext, size); })())).toEqual(header);
    }
    const h = await readHeader(ciphertext);
    expect(h.encryptionContext).toEqual({ tenant: 'acme' });
    expect(h.encryptedDataKeys.map((e) => e.providerId)).toEqual(['test', 'test']);
  });

  it('releases the stream lock and does not need a keyring', async () => {
    const stream = readableOf(ciphertext, 50);
    await readHeader(stream);
    expect(stream.locked).toBe(false);
  });

  it('rejects truncated, invalid and over-limit headers with codes', async () => {
    for (const len of [0, 3, 8, 20]) {
      expect(await thrown(() => readHeader(ciphertext.subarray(0, len)))).toMatchObject({ code: 'ERR_TRUNCATED' });
      expect(await thrown(() => readHeader(readableOf(ciphertext.subarray(0, len), 3)))).toMatchObject({ code: 'ERR_TRUNCATED' });
    }
    const bad = ciphertext.slice();
    bad[1] = 0;
    expect(await thrown(() => readHeader(readableOf(bad, 1)))).toMatchObject({ code: 'ERR_FORMAT_INVALID' });
    const v2 = ciphertext.slice();
    v2[3] = 2;
    expect(await thrown(() => readHeader(v2))).toMatchObject({ code: 'ERR_UNSUPPORTED_VERSION' });
    expect(await thrown(() => readHeader(ciphertext, { maxEncryptedDataKeys: 1 }))).toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
    expect(await thrown(() => readHeader(readableOf(ciphertext, 8), { maxHeaderBytes: 10 }))).toMatchObject({ code: 'ERR_LIMIT_EXCEEDED' });
    expect(await thrown(() => readHeader(42 as unknown as Uint8Array))).toBeInstanceOf(TypeError);
  });
});
