import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { decrypt, encrypt } from '../../src/index.js';
import { rewrap, rewrapStream } from '../../src/rewrap/index.js';
import { createRewrapStream } from '../../src/node/index.js';
import { readPreamble } from '../../src/format/header.js';
import { TAG_BYTES } from '../../src/limits.js';
import { bytesEqual, pattern, testKeyring, thrown } from '../helpers/keys.js';
import { readableOf, through } from '../helpers/web-streams.js';

const oldKey = testKeyring('old', 1);
const newKey = testKeyring('new', 2);
const code = (err: unknown): string => (err as { code?: string; name: string }).code ?? (err as Error).name;
const bodyOf = (m: Uint8Array): Uint8Array => m.subarray(readPreamble(m)! + TAG_BYTES);

describe('rewrapStream', () => {
  const F = 100;
  for (const n of [0, 1, F - 1, F, F + 1, 2 * F + 1, 5000]) {
    it(`${n} bytes in chunks of 1, 7, F-1, F, F+1 and whole: the same message as one-shot rewrap`, async () => {
      const plaintext = pattern(n, 3);
      const { ciphertext } = await encrypt(plaintext, { keyring: oldKey, frameLength: F });
      const oneShot = await rewrap(ciphertext, { keyring: oldKey, to: newKey });
      for (const size of [1, 7, F - 1, F, F + 1, ciphertext.length]) {
        const rw = rewrapStream({ keyring: oldKey, to: newKey });
        const out = await through(rw, ciphertext, size);
        expect(out.length).toBe(oneShot.ciphertext.length);
        expect(bytesEqual(bodyOf(out), bodyOf(ciphertext))).toBe(true);
        expect(bytesEqual((await decrypt(out, { keyring: newKey })).plaintext, plaintext)).toBe(true);
        expect(bytesEqual((await rw.header).messageId, oneShot.header.messageId)).toBe(true);
      }
    });
  }

  it('the body it emits is its own: a writer that reuses or transfers its chunk once the write resolved changes nothing', async () => {
    const plaintext = pattern(3000, 8);
    const { ciphertext } = await encrypt(plaintext, { keyring: oldKey, frameLength: F });
    const oneShot = await rewrap(ciphertext, { keyring: oldKey, to: newKey });
    for (const reuse of ['overwrite', 'transfer'] as const) {
      const rw = rewrapStream({ keyring: oldKey, to: newKey });
      const writer = rw.writable.getWriter();
      const outputs: Uint8Array[] = [];
      const reading = (async () => {
        const reader = rw.readable.getReader();
        for (let r = await reader.read(); !r.done; r = await reader.read()) outputs.push(r.value);
      })();
      // One buffer for every chunk, as a BYOB read loop has: filled, written, then reused.
      let buffer = new Uint8Array(500);
      for (let i = 0; i < ciphertext.length; i += 500) {
        const n = Math.min(500, ciphertext.length - i);
        buffer.set(ciphertext.subarray(i, i + n));
        await writer.write(buffer.subarray(0, n));
        if (reuse === 'overwrite') buffer.fill(0xee);
        else buffer = new Uint8Array(structuredClone(buffer.buffer, { transfer: [buffer.buffer] }));
      }
      await writer.close();
      await reading;
      const out = Buffer.concat(outputs);
      expect(out.length, reuse).toBe(oneShot.ciphertext.length);
      expect(bytesEqual(bodyOf(out), bodyOf(ciphertext)), reuse).toBe(true);
      expect(bytesEqual((await decrypt(out, { keyring: newKey })).plaintext, plaintext), reuse).toBe(true);
    }
  });

  it('a chunk transferred while the keyring is asked is a TypeError, not a truncation of the message', async () => {
    const { ciphertext } = await encrypt(pattern(3000, 8), { keyring: oldKey, frameLength: F });
    const chunk = ciphertext.slice();
    const detaching = {
      wrapKey: (r: Parameters<typeof oldKey.wrapKey>[0]) => oldKey.wrapKey(r),
      unwrapKey: async (r: Parameters<typeof oldKey.unwrapKey>[0]) => {
        structuredClone(chunk.buffer, { transfer: [chunk.buffer] });
        return oldKey.unwrapKey(r);
      },
    };
    const rw = rewrapStream({ keyring: detaching, to: newKey });
    rw.header.catch(() => undefined);
    const reading = rw.readable.pipeTo(new WritableStream()).then(() => undefined, (e: unknown) => e);
    const err = await rw.writable.getWriter().write(chunk).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(await reading).toBeInstanceOf(TypeError);
  });

  it('errors with the structure codes; a tampered header emits nothing', async () => {
    const { ciphertext } = await encrypt(pattern(1000), { keyring: oldKey, frameLength: F });
    const cases: [Uint8Array, string][] = [
      [ciphertext.subarray(0, ciphertext.length - 1), 'ERR_TRUNCATED'],
      [ciphertext.subarray(0, 20), 'ERR_TRUNCATED'],
      [Buffer.concat([ciphertext, ciphertext.subarray(ciphertext.length - 21)]), 'ERR_TRAILING_DATA'],
      [Uint8Array.from(ciphertext, (b, i) => (i === readPreamble(ciphertext)! + 2 ? b ^ 1 : b)), 'ERR_DECRYPTION_FAILED'],
    ];
    for (const [bytes, expected] of cases) {
      for (const size of [1, 64, bytes.length]) {
        const rw = rewrapStream({ keyring: oldKey, to: newKey });
        const emitted: Uint8Array[] = [];
        const err = await thrown(() => readableOf(bytes, size).pipeThrough(rw).pipeTo(new WritableStream({ write: (c) => void emitted.push(c) })));
        expect(code(err), `${expected} ${size}`).toBe(expected);
        if (expected === 'ERR_DECRYPTION_FAILED') expect(emitted).toEqual([]);
      }
    }
    expect(() => rewrapStream({ keyring: oldKey, to: newKey, verifyFrames: true })).toThrow(TypeError);
  });

  it('createRewrapStream does the same in a Node pipeline', async () => {
    const plaintext = pattern(300_000, 4);
    const { ciphertext } = await encrypt(plaintext, { keyring: oldKey, frameLength: 4096 });
    const parts: Buffer[] = [];
    const rw = createRewrapStream({ keyring: oldKey, to: newKey, mode: 'add' });
    await pipeline(Readable.from([Buffer.from(ciphertext.subarray(0, 10)), Buffer.from(ciphertext.subarray(10))]), rw, new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) }));
    const out = Buffer.concat(parts);
    expect((await rw.header).encryptedDataKeys.length).toBe(2);
    for (const k of [oldKey, newKey]) expect(bytesEqual((await decrypt(out, { keyring: k })).plaintext, plaintext)).toBe(true);
    const bad = createRewrapStream({ keyring: oldKey, to: newKey });
    expect(code(await thrown(() => pipeline(Readable.from([Buffer.from(ciphertext.subarray(0, 1000))]), bad, new Writable({ write: (_c, _e, cb) => cb() }))))).toBe('ERR_TRUNCATED');
  });
});
