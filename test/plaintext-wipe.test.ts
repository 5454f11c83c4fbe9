// Plaintext a decoder opened but does not release is zeroed when the message fails (docs:
// decrypt's "on any failure the partial output is zeroed"; the stream's withheld final frame
// "zeroed if [the signature] does not [verify]"). The forged messages here are an insider's
// (SPEC §11): every frame's tag verifies, only the signature does not, so the frames were all
// opened: what they held must not stay in memory once the call has failed.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decrypt, decryptStream, encrypt, SealboxError, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../src/index.js';
import { getAeadBackend } from '../src/crypto/backend.js';
import type { AeadKey, MaybePromise } from '../src/crypto/aead.js';
import { concat } from '../src/crypto/bytes.js';
import { forgeFrame, parse } from './helpers/forge.js';
import { pattern, testKeyring } from './helpers/keys.js';
import { readableOf } from './helpers/web-streams.js';

const SIGNED = SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384;
const keyring = testKeyring('w', 5);
const F = 64;

/** The arrays the default (node) backend's keys open frames into, in order, for `method`'s keys. */
function recordOpened(method: 'importKey' | 'importTransientKey'): Uint8Array[] {
  const backend = getAeadBackend();
  const original = backend[method]!.bind(backend) as (raw: Uint8Array) => MaybePromise<AeadKey>;
  const opened: Uint8Array[] = [];
  const wrap = (key: AeadKey): AeadKey => {
    const wrapped: AeadKey & { dispose?: () => void } = {
      seal: key.seal.bind(key),
      open(nonce, aad, sealed) {
        const r = key.open(nonce, aad, sealed);
        if (r instanceof Promise) return r.then((p) => (opened.push(p), p));
        opened.push(r);
        return r;
      },
    };
    if (key.openInto) {
      wrapped.openInto = (nonce, aad, sealed, out, offset) => {
        key.openInto!(nonce, aad, sealed, out, offset);
        if (!opened.includes(out)) opened.push(out);
      };
    }
    const dispose = (key as { dispose?: () => void }).dispose;
    if (dispose) wrapped.dispose = dispose.bind(key);
    return wrapped;
  };
  vi.spyOn(backend, method).mockImplementation(((raw: Uint8Array) => {
    const key = original(raw);
    return key instanceof Promise ? key.then(wrap) : wrap(key);
  }) as never);
  return opened;
}

const zero = (b: Uint8Array): boolean => b.every((x) => x === 0);
const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'OK', (e: unknown) => (e instanceof SealboxError ? e.code : String(e)));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('plaintext of a failing message is zeroed', () => {
  it('one-shot decrypt: an insider-forged signed message, of one frame and of several', async () => {
    for (const n of [40, 3 * F + 10]) {
      const message = (await encrypt(pattern(n, 1), { keyring, frameLength: F, suite: SIGNED })).ciphertext;
      const forged = await forgeFrame(message, keyring, 0, pattern(n < F ? n : F, 2));
      const opened = recordOpened('importTransientKey');
      expect(await code(decrypt(forged, { keyring }))).toBe('ERR_DECRYPTION_FAILED');
      // Something of n bytes was opened (the output, or the one frame), and it is zero now.
      expect(opened.some((b) => b.length === n), `${n} bytes`).toBe(true);
      expect(opened.every(zero), `${n} bytes`).toBe(true);
      vi.restoreAllMocks();
    }
  });

  it('one-shot decrypt: an unsigned message with a byte after its final frame', async () => {
    for (const n of [40, 3 * F + 10]) {
      const message = (await encrypt(pattern(n, 3), { keyring, frameLength: F })).ciphertext;
      const opened = recordOpened('importTransientKey');
      expect(await code(decrypt(concat(message, Uint8Array.of(0)), { keyring }))).toBe('ERR_TRAILING_DATA');
      expect(opened.some((b) => b.length === n), `${n} bytes`).toBe(true);
      expect(opened.every(zero), `${n} bytes`).toBe(true);
      vi.restoreAllMocks();
    }
  });

  it('decryptStream: the withheld final frame of an insider-forged signed message', async () => {
    const plaintext = pattern(2 * F + 22, 4);
    const message = (await encrypt(plaintext, { keyring, frameLength: F, suite: SIGNED })).ciphertext;
    for (const index of [0, 2]) {
      const forged = await forgeFrame(message, keyring, index, pattern(index === 2 ? 22 : F, 5));
      const opened = recordOpened('importKey');
      const reader = readableOf(forged, 50).pipeThrough(decryptStream({ keyring })).getReader();
      const released: Uint8Array[] = [];
      const outcome = await (async () => {
        for (let r = await reader.read(); !r.done; r = await reader.read()) released.push(r.value);
      })().then(() => 'OK', (e: unknown) => (e as SealboxError).code);
      expect(outcome).toBe('ERR_DECRYPTION_FAILED');
      expect(concat(...released).length).toBe(2 * F);
      // The final frame (22 bytes) was opened, withheld, and is zero now.
      const final = opened.filter((b) => b.length === 22);
      expect(final, `forged frame ${index}`).toHaveLength(1);
      expect(zero(final[0]!), `forged frame ${index}`).toBe(true);
      vi.restoreAllMocks();
    }
  });

  it('decryptStream: a signed message\'s held regular frame when a later frame fails, the message ends, or the stream is cancelled', async () => {
    // Frame 1 of a signed message is held until frame 2 verifies (docs: every frame but the
    // last is released once the frame after it verifies); each way of failing here zeroes it.
    const message = (await encrypt(pattern(3 * F + 22, 6), { keyring, frameLength: F, suite: SIGNED })).ciphertext;
    const frame2 = parse(message).frames[2]!;
    const flipped = message.slice();
    flipped[frame2.start + 1] = flipped[frame2.start + 1]! ^ 1;
    const cases: [string, Uint8Array, string][] = [
      ['frame 2 fails its tag', flipped, 'ERR_DECRYPTION_FAILED'],
      ['the message ends inside frame 2', message.subarray(0, frame2.start + 10), 'ERR_TRUNCATED'],
    ];
    for (const [name, input, expected] of cases) {
      const opened = recordOpened('importKey');
      const reader = readableOf(input, 50).pipeThrough(decryptStream({ keyring })).getReader();
      const released: Uint8Array[] = [];
      const outcome = await (async () => {
        for (let r = await reader.read(); !r.done; r = await reader.read()) released.push(r.value);
      })().then(() => 'OK', (e: unknown) => (e as SealboxError).code);
      expect(outcome, name).toBe(expected);
      expect(concat(...released), name).toEqual(pattern(3 * F + 22, 6).subarray(0, F));
      // Frames 0 and 1 were opened (the header tag's empty open aside); frame 1 was held,
      // never released, and is zero now.
      const frames = opened.filter((b) => b.length === F);
      expect(frames, name).toHaveLength(2);
      expect(zero(frames[1]!), name).toBe(true);
      vi.restoreAllMocks();
    }
    // Cancelled by its reader after frame 0 arrived, with frame 1 held (the input stays open).
    const opened = recordOpened('importKey');
    const open = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(message.slice(0, frame2.start));
      },
    });
    const reader = open.pipeThrough(decryptStream({ keyring })).getReader();
    const first = await reader.read();
    expect(first.value).toEqual(pattern(3 * F + 22, 6).subarray(0, F));
    await new Promise((r) => setTimeout(r, 20));
    const frames = opened.filter((b) => b.length === F);
    expect(frames).toHaveLength(2);
    expect(zero(frames[1]!)).toBe(false);
    await reader.cancel();
    expect(zero(frames[1]!)).toBe(true);
  });
});
