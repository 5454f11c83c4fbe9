// test/stream/framer.property.test.ts cuts input at random points for the encrypt and decrypt
// framers. This does the same through the three Node Transforms, where more than the framer is
// at work (chunks of 16 KiB and more sealed or opened in a later turn, small frames gathered,
// Node's own queues), and for the rewrap framer, which that test does not reach. Cuts are
// random points, biased to frame boundaries and their neighbours, so that chunks straddle every
// boundary: header, frame type, final length, tag, signature.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concat } from '../../src/crypto/bytes.js';
import { encryptWithMessageId } from '../../src/encrypt.js';
import { SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../../src/index.js';
import { decrypt } from '../../src/decrypt.js';
import { readPreamble } from '../../src/format/header.js';
import { TAG_BYTES } from '../../src/limits.js';
import { createDecryptStream, createRewrapStream } from '../../src/node/index.js';
import { EncryptTransform } from '../../src/node/streams.js';
import { bytesEqual, testKeyring } from '../helpers/keys.js';
import { FixedMaterialsManager, MESSAGE_ID } from '../stream/helpers.js';

const keyring = testKeyring();
const newKey = testKeyring('prop-new', 9);

/** Cuts `bytes` at the given points (modulo its length + 1, sorted, deduplicated); empty chunks dropped (Node ignores them). */
function split(bytes: Uint8Array, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    if (p > prev) parts.push(Buffer.from(bytes.subarray(prev, p)));
    prev = p;
  }
  return parts;
}

/** Points near every frame boundary of a message with frame length F (header end `start`), as cut candidates. */
function boundaries(start: number, F: number, length: number): number[] {
  const out: number[] = [];
  for (let p = start; p <= length; p += F + 17) for (const d of [-1, 0, 1, 5]) out.push(p + d);
  for (const d of [0, 1, 4, 5, 21, 96, 97]) out.push(length - d);
  return out.filter((p) => p > 0 && p < length);
}

async function through(transform: NodeJS.ReadWriteStream, parts: Buffer[]): Promise<Uint8Array> {
  const out: Uint8Array[] = [];
  await pipeline(Readable.from(parts, { objectMode: false }), transform, new Writable({ write: (c: Uint8Array, _e, cb) => (out.push(c), cb()) }));
  return concat(...out);
}

describe('Node Transforms under random chunkings (property)', () => {
  it('encrypt equals one-shot; decrypt and rewrap restore the plaintext; both suites; chunks on both sides of 16 KiB', async () => {
    const materialsManager = new FixedMaterialsManager();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 60_000 }),
        fc.constantFrom(1, 7, 100, 4095, 4096, 20_000),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (n, F, signed, cutsIn, cutsOut, picks) => {
          // A 1-byte frame length makes 17 bytes of overhead a byte: keep those messages short.
          const size = F === 1 ? n % 300 : n;
          const plaintext = new Uint8Array(size).map((_, i) => (i * 31 + size) & 0xff);
          const suite = signed ? SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 : undefined;
          // The fixed materials manager (byte-identical output) serves one suite; signed messages take fresh keys.
          const enc = signed ? new EncryptTransform({ keyring, frameLength: F, suite }) : new EncryptTransform({ materialsManager, frameLength: F }, MESSAGE_ID);
          const sealed = await through(enc, split(plaintext, cutsIn));
          if (!signed) {
            const { ciphertext } = await encryptWithMessageId(plaintext, { materialsManager, frameLength: F }, MESSAGE_ID);
            expect(bytesEqual(sealed, ciphertext)).toBe(true);
          }
          const start = readPreamble(sealed)! + TAG_BYTES;
          const near = boundaries(start, F, sealed.length);
          const cuts = [...cutsOut, ...picks.map((p) => near[p % Math.max(near.length, 1)] ?? 0)];
          const opened = await through(createDecryptStream({ materialsManager }), split(sealed, cuts));
          expect(bytesEqual(opened, plaintext)).toBe(true);
          if (!signed) {
            const rewrapped = await through(createRewrapStream({ materialsManager, to: newKey }), split(sealed, cuts));
            expect(bytesEqual((await decrypt(rewrapped, { keyring: newKey })).plaintext, plaintext)).toBe(true);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
