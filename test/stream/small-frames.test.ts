import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { decryptStream, encrypt, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../../src/index.js';
import { createDecryptStream } from '../../src/node/index.js';
import { concat } from '../../src/crypto/bytes.js';
import { bytesEqual, pattern, testKeyring } from '../helpers/keys.js';
import { readableOf } from '../helpers/web-streams.js';

// The frame length is the sender's choice, down to 1 byte. A decrypt stream released each
// frame's plaintext as an array of its own, and the streams' queues count bytes: a message of
// 1-byte frames filled them with a hundred thousand arrays (about 200 bytes of memory per
// plaintext byte) and a chunk of input became ten times its size in memory. Small frames'
// plaintext is gathered into arrays of up to 64 KiB now.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const keyring = testKeyring();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function live(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.arrayBuffers + m.heapUsed;
}

/** Decrypts `message` written as `pieces` through both stream kinds; returns each one's output arrays. */
async function outputs(message: Uint8Array, piece: number): Promise<{ web: Uint8Array[]; node: Uint8Array[] }> {
  const web: Uint8Array[] = [];
  await readableOf(message, piece)
    .pipeThrough(decryptStream({ keyring }))
    .pipeTo(new WritableStream({ write: (chunk) => void web.push(chunk) }));
  const node: Uint8Array[] = [];
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < message.length; i += piece) pieces.push(message.slice(i, i + piece));
  await pipeline(
    Readable.from(pieces),
    createDecryptStream({ keyring }),
    new Writable({
      write(chunk: Uint8Array, _e, cb) {
        node.push(chunk);
        cb();
      },
    }),
  );
  return { web, node };
}

describe('decrypt streams of small frames', () => {
  it('release the plaintext of a chunk\'s small frames as a few arrays, in order, for both suites', async () => {
    for (const suite of [undefined, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384]) {
      for (const F of [1, 100, 4095]) {
        const plaintext = pattern(F === 1 ? 20_000 : 200_000, F);
        const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: F, suite });
        for (const piece of [ciphertext.length, 65_536, 1000]) {
          const { web, node } = await outputs(ciphertext, piece);
          for (const [name, parts] of Object.entries({ web, node })) {
            expect(bytesEqual(concat(...parts), plaintext), `${name}, F ${F}, pieces of ${piece}`).toBe(true);
            // At most one array per 64 KiB of plaintext, plus one per input chunk.
            const chunks = Math.ceil(ciphertext.length / piece);
            expect(parts.length, `${name}, F ${F}, pieces of ${piece}`).toBeLessThanOrEqual(Math.ceil(plaintext.length / 65_536) + chunks + 1);
          }
        }
      }
    }
  });

  it('large frames are released as they are, one array per frame', async () => {
    const plaintext = pattern(5 * 8192 + 3);
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: 8192 });
    const { web, node } = await outputs(ciphertext, ciphertext.length);
    expect(web.map((p) => p.length)).toEqual([8192, 8192, 8192, 8192, 8192, 3]);
    expect(node.map((p) => p.length)).toEqual([8192, 8192, 8192, 8192, 8192, 3]);
  });

  it('a stalled consumer of a message of 1-byte frames holds a few MiB, not tens', async () => {
    const { ciphertext } = await encrypt(pattern(300_000), { keyring, frameLength: 1 });
    for (const kind of ['web', 'node']) {
      const baseline = live();
      let pulled = 0;
      const next = (): Uint8Array => ciphertext.slice(pulled, (pulled += 16_384));
      let stop: () => void;
      if (kind === 'web') {
        const source = new ReadableStream<Uint8Array>({ pull: (c) => (pulled >= ciphertext.length ? c.close() : c.enqueue(next())) }, { highWaterMark: 0 });
        const out = source.pipeThrough(decryptStream({ keyring }));
        stop = () => void out.cancel().catch(() => undefined);
      } else {
        const source = new Readable({ highWaterMark: 16_384, read: () => void source.push(pulled >= ciphertext.length ? null : next()) });
        const t = createDecryptStream({ keyring });
        source.pipe(t);
        stop = () => {
          source.destroy();
          t.destroy();
        };
      }
      // Until the stream stops pulling (backpressure), the consumer never reading.
      let last = -1;
      for (let i = 0; i < 60 && pulled !== last; i++) {
        last = pulled;
        await sleep(200);
      }
      const held = live() - baseline;
      stop();
      expect(pulled, kind).toBeLessThan(ciphertext.length);
      expect(held, kind).toBeLessThan(4 * 1024 * 1024);
      await sleep(20);
    }
  }, 60_000);
});
