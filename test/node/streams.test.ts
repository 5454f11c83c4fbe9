import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { encrypt, encryptWithMessageId } from '../../src/encrypt.js';
import { decrypt } from '../../src/decrypt.js';
import { concat } from '../../src/crypto/bytes.js';
import { createDecryptStream, createEncryptStream } from '../../src/node/index.js';
import { EncryptTransform } from '../../src/node/streams.js';
import { bytesEqual, pattern, testKeyring } from '../helpers/keys.js';
import { FixedMaterialsManager, MESSAGE_ID, chunks } from '../stream/helpers.js';

const MIB = 1024 * 1024;

/** Pipes `bytes` in chunks of `size` through `transform`; returns the output and the error code, if any. */
async function pipe(transform: NodeJS.ReadWriteStream, bytes: Uint8Array, size: number): Promise<{ out: Uint8Array; code?: string }> {
  const parts: Uint8Array[] = [];
  const sink = new Writable({
    write(chunk: Uint8Array, _enc, cb) {
      parts.push(chunk);
      cb();
    },
  });
  try {
    await pipeline(Readable.from(chunks(bytes, size), { objectMode: false }), transform, sink);
  } catch (err) {
    return { out: concat(...parts), code: (err as { code: string }).code };
  }
  return { out: concat(...parts) };
}

describe('Node Transforms: size grid x write-chunk sizes, byte-identical to one-shot', () => {
  for (const F of [64, 1000]) {
    const sizes = [0, 1, F - 1, F, F + 1, 2 * F + 1, 37 * F + 11];
    for (const n of sizes) {
      it(`F=${F}, ${n} bytes`, async () => {
        const materialsManager = new FixedMaterialsManager();
        const plaintext = pattern(n, n + 5);
        const { ciphertext } = await encryptWithMessageId(plaintext, { materialsManager, frameLength: F }, MESSAGE_ID);
        for (const w of [1, 7, F - 1, F, F + 1, MIB]) {
          const enc = new EncryptTransform({ materialsManager, frameLength: F }, MESSAGE_ID);
          const e = await pipe(enc, plaintext, w);
          expect(e.code).toBeUndefined();
          expect(bytesEqual(e.out, ciphertext), `encrypt, writes of ${w}`).toBe(true);
          const dec = createDecryptStream({ materialsManager });
          const d = await pipe(dec, ciphertext, w);
          expect(d.code).toBeUndefined();
          expect(bytesEqual(d.out, plaintext), `decrypt, writes of ${w}`).toBe(true);
          expect((await dec.header).frameLength).toBe(F);
        }
      });
    }
  }
});

describe('Node Transforms: failures', async () => {
  const keyring = testKeyring();
  const F = 64;
  const plaintext = pattern(3 * F + 5);
  const enc = createEncryptStream({ keyring, frameLength: F });
  const { out: ciphertext } = await pipe(enc, plaintext, 50);
  const finalStart = ciphertext.length - (5 + 21);

  it('truncated, reordered and appended streams fail with their codes', async () => {
    expect((await pipe(createDecryptStream({ keyring }), ciphertext.subarray(0, finalStart), 33)).code).toBe('ERR_TRUNCATED');
    expect((await pipe(createDecryptStream({ keyring }), ciphertext.subarray(0, 20), 33)).code).toBe('ERR_TRUNCATED');
    expect((await pipe(createDecryptStream({ keyring }), concat(ciphertext, Uint8Array.of(7)), 33)).code).toBe('ERR_TRAILING_DATA');
    const f0 = finalStart - 3 * (F + 17);
    const swapped = concat(ciphertext.subarray(0, f0), ciphertext.subarray(f0 + F + 17, f0 + 2 * (F + 17)), ciphertext.subarray(f0, f0 + F + 17), ciphertext.subarray(f0 + 2 * (F + 17)));
    expect(swapped.length).toBe(ciphertext.length);
    const r = await pipe(createDecryptStream({ keyring }), swapped, 1000);
    expect(r.code).toBe('ERR_DECRYPTION_FAILED');
    expect(r.out.length).toBe(0);
  });

  it('keyring failures reject the header promise and the pipeline', async () => {
    const dec = createDecryptStream({ keyring: testKeyring('other', 3) });
    expect((await pipe(dec, ciphertext, 100)).code).toBe('ERR_NO_MATCHING_KEY');
    await expect(dec.header).rejects.toMatchObject({ code: 'ERR_NO_MATCHING_KEY' });
  });

  it('large writes (sealed and opened in a later turn) fail with the same codes', async () => {
    // Chunks of 16 KiB and more take the deferred path in the Transforms.
    const big = pattern(40 * 1024 + 3);
    const { out: sealed } = await pipe(createEncryptStream({ keyring, frameLength: 4096 }), big, MIB);
    const opened = await pipe(createDecryptStream({ keyring }), sealed, MIB);
    expect(opened.code).toBeUndefined();
    expect(bytesEqual(opened.out, big)).toBe(true);
    expect((await pipe(createDecryptStream({ keyring }), sealed.subarray(0, sealed.length - 30), 20_000)).code).toBe('ERR_TRUNCATED');
    expect((await pipe(createDecryptStream({ keyring }), concat(sealed, Uint8Array.of(7)), MIB)).code).toBe('ERR_TRAILING_DATA');
    const tampered = sealed.slice();
    tampered[sealed.length - 5000] = tampered[sealed.length - 5000]! ^ 1;
    const r = await pipe(createDecryptStream({ keyring }), tampered, MIB);
    expect(r.code).toBe('ERR_DECRYPTION_FAILED');
    // Nothing from the tampered frame onwards was released.
    expect(r.out.length).toBeLessThan(big.length - 4096);
  });

  it('destroying a Transform while a large chunk waits for its turn is quiet', async () => {
    const t = createEncryptStream({ keyring, frameLength: 4096 });
    await t.header;
    const errors: unknown[] = [];
    t.on('error', (err) => errors.push(err));
    t.write(pattern(64 * 1024));
    t.destroy();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(t.destroyed).toBe(true);
    expect(errors).toEqual([]);
  });

  it('the header handed out is the caller\'s: wiping its message id changes neither stream\'s frames', async () => {
    const plaintext = pattern(5000, 3);
    const enc = createEncryptStream({ keyring, frameLength: 1000 });
    void enc.header.then((h) => h.messageId.fill(0));
    const sealed = await pipe(enc, plaintext, 700);
    expect(sealed.code).toBeUndefined();
    // Each side on its own: a plain decrypt of what the meddled encrypt wrote, and a meddled
    // decrypt of a plain message.
    expect(bytesEqual((await decrypt(sealed.out, { keyring })).plaintext, plaintext)).toBe(true);
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: 1000 });
    const dec = createDecryptStream({ keyring });
    void dec.header.then((h) => h.messageId.fill(0));
    const opened = await pipe(dec, ciphertext, 700);
    expect(opened.code).toBeUndefined();
    expect(bytesEqual(opened.out, plaintext)).toBe(true);
  });

  it('bad options throw synchronously', () => {
    expect(() => createEncryptStream({ keyring, frameLength: 0 })).toThrow(RangeError);
    expect(() => createDecryptStream({} as never)).toThrow(TypeError);
  });
});
