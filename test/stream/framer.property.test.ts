import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concat } from '../../src/crypto/bytes.js';
import { encryptWithMessageId } from '../../src/encrypt.js';
import { acceptHeader, beginEncryption, planDecryption, planEncryption } from '../../src/message/prologue.js';
import { createDecryptFramer } from '../../src/stream/decrypt-stream.js';
import { EncryptFramer } from '../../src/stream/encrypt-framer.js';
import { bytesEqual } from '../helpers/keys.js';
import { FixedMaterialsManager, MESSAGE_ID } from './helpers.js';

/** Cuts `bytes` at the given points (sorted, deduplicated, within bounds). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    parts.push(bytes.subarray(prev, p));
    prev = p;
  }
  return parts;
}

describe('framers under arbitrary chunkings (property)', () => {
  it('encrypt framer output equals one-shot; decrypt framer returns the plaintext', async () => {
    const materialsManager = new FixedMaterialsManager();
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 700 }),
        fc.integer({ min: 1, max: 130 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (plaintext, F, cutsIn, cutsOut) => {
          const { ciphertext } = await encryptWithMessageId(plaintext, { materialsManager, frameLength: F }, MESSAGE_ID);
          for (const parts of [false, true]) {
            const session = await beginEncryption(planEncryption({ materialsManager, frameLength: F }), undefined, MESSAGE_ID);
            const framer = new EncryptFramer(session, { parts });
            const out: Uint8Array[] = [];
            // Empty chunks included: they must be harmless.
            for (const part of split(plaintext, cutsIn)) framer.push(part, (b) => out.push(b));
            framer.finish((b) => out.push(b));
            expect(bytesEqual(concat(...out), ciphertext), `parts: ${parts}`).toBe(true);
          }

          const dec = createDecryptFramer(planDecryption({ materialsManager }));
          const back: Uint8Array[] = [];
          for (const part of split(ciphertext, cutsOut)) {
            const r = dec.push(part, (b) => back.push(b));
            if (r instanceof Promise) await r;
          }
          dec.finish();
          expect(dec.done).toBe(true);
          expect(bytesEqual(concat(...back), plaintext)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('acceptHeader is what the decrypt framer uses: a wrong expected context fails before any keyring call', async () => {
    const materialsManager = new FixedMaterialsManager();
    const { ciphertext } = await encryptWithMessageId(new Uint8Array(10), { materialsManager, encryptionContext: { a: '1' } }, MESSAGE_ID);
    const plan = planDecryption({ materialsManager, expectedEncryptionContext: { a: '2' } });
    const end = 8 + new DataView(ciphertext.buffer, ciphertext.byteOffset).getUint32(4);
    expect(() => acceptHeader(plan, ciphertext.subarray(0, end))).toThrow(expect.objectContaining({ code: 'ERR_ENCRYPTION_CONTEXT_MISMATCH' }));
    const dec = createDecryptFramer(plan);
    expect(() => dec.push(ciphertext, () => undefined)).toThrow(expect.objectContaining({ code: 'ERR_ENCRYPTION_CONTEXT_MISMATCH' }));
    expect(() => dec.push(ciphertext, () => undefined)).toThrow(expect.objectContaining({ code: 'ERR_STATE' }));
  });
});
