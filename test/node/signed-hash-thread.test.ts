import { createPublicKey, verify } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RawAesKeyring, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../../src/index.js';
import { decryptFile, encryptFile } from '../../src/node/index.js';
import { encryptFileWithMessageId, setHashThreadMinBytes } from '../../src/node/files.js';
import { hashSessionCount, injectHashThreadExit } from '../../src/node/hash-thread.js';
import { readPreamble } from '../../src/format/header.js';
import { TAG_BYTES } from '../../src/limits.js';
import { MESSAGE_ID } from '../stream/helpers.js';
import { bytesEqual, counterRandom, pattern, thrown } from '../helpers/keys.js';
import { forgeFrame, parse } from '../helpers/forge.js';

// A signed encryptFile / decryptFile hashes its message on a hash thread (src/node/hash-thread.ts)
// from a size on (16 MiB by default; 0 here, so small files take that path). Against the path
// that hashes on the calling thread (the minimum set out of reach): the same frames, signatures
// that verify, the same plaintext, the same error codes for every damage, no output file after
// any failure, and a thread that stops is ERR_WORKER with no output file.

const SIGNED = SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384;
const dir = await mkdtemp(join(tmpdir(), 'sealbox-hash-thread-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => setHashThreadMinBytes(16 * 1024 * 1024));
const path = (name: string): string => join(dir, name);
const leftovers = async (): Promise<string[]> => (await readdir(dir)).filter((f) => f.includes('sealbox-tmp'));
const code = (err: unknown): string | undefined => (err as { code?: string }).code;
const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );
/** A keyring whose data keys and IVs repeat from run to run (a fresh one per message). */
const fixedKeyring = (): RawAesKeyring => new RawAesKeyring({ namespace: 'ns', name: 'k', wrappingKey: pattern(32, 9), random: counterRandom() });
const keyring = fixedKeyring();
const ON = 0;
const OFF = Number.MAX_SAFE_INTEGER;

/** Where the header (and its tag) ends in a message. */
const headerEnd = (message: Uint8Array): number => (readPreamble(message, 1 << 20) as number) + TAG_BYTES;

/** True when the last 96 bytes are a P-384 r ‖ s signature over the rest, under the key in the header. */
function signatureVerifies(message: Uint8Array): boolean {
  const text = Buffer.from(message.subarray(0, headerEnd(message))).toString('latin1');
  const at = text.indexOf('sealbox:ecdsa-p384-public-key');
  const b64 = /[A-Za-z0-9+/]{66}==/.exec(text.slice(at))![0];
  const spki = Buffer.concat([Buffer.from('3046301006072a8648ce3d020106052b81040022033200', 'hex'), Buffer.from(b64, 'base64')]);
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  return verify('sha384', message.subarray(0, message.length - 96), { key, dsaEncoding: 'ieee-p1363' }, message.subarray(message.length - 96));
}

async function sealBoth(plaintext: Uint8Array, frameLength: number): Promise<{ thread: Uint8Array; inline: Uint8Array }> {
  await writeFile(path('in'), plaintext);
  setHashThreadMinBytes(OFF);
  await encryptFileWithMessageId(path('in'), path('inline.sbx'), { keyring: fixedKeyring(), suite: SIGNED, frameLength }, MESSAGE_ID);
  setHashThreadMinBytes(ON);
  const before = hashSessionCount();
  const r = await encryptFileWithMessageId(path('in'), path('thread.sbx'), { keyring: fixedKeyring(), suite: SIGNED, frameLength }, MESSAGE_ID);
  expect(hashSessionCount()).toBe(before + 1);
  const thread = await readFile(path('thread.sbx'));
  expect(r.bytesWritten).toBe(thread.length);
  return { thread, inline: await readFile(path('inline.sbx')) };
}

describe('the same message as the calling-thread path', () => {
  // A read holds floor(1 MiB / F) frames (of F + 17 bytes when decrypting): sizes around it.
  const F = 1000;
  const chunk = Math.floor((1024 * 1024) / F) * F;
  const sizes = [0, 1, F - 1, F, F + 1, chunk - 1, chunk, chunk + 1, chunk + F, 3 * chunk + F - 1, 4 * chunk + 17];
  for (const n of sizes) {
    it(`${n} bytes, frames of ${F}`, async () => {
      const plaintext = pattern(n, n + 1);
      const { thread, inline } = await sealBoth(plaintext, F);
      // Same data key and message id: the frames are the same bytes. The header differs only in
      // the fresh public key (and what covers it), the signature in its key and nonce.
      expect(thread.length).toBe(inline.length);
      const end = headerEnd(thread);
      expect(headerEnd(inline)).toBe(end);
      expect(bytesEqual(thread.subarray(end, thread.length - 96), inline.subarray(end, inline.length - 96))).toBe(true);
      expect(signatureVerifies(thread)).toBe(true);
      expect(signatureVerifies(inline)).toBe(true);
      for (const [name, min] of [
        ['thread', ON],
        ['inline', OFF],
      ] as const) {
        for (const sealed of ['thread.sbx', 'inline.sbx']) {
          setHashThreadMinBytes(min);
          const before = hashSessionCount();
          const d = await decryptFile(path(sealed), path('out'), { keyring, signaturePolicy: 'require-signed' });
          expect(hashSessionCount() - before, `${name} decrypt of ${sealed}`).toBe(min === ON ? 1 : 0);
          expect(d.bytesWritten).toBe(n);
          expect(bytesEqual(await readFile(path('out')), plaintext)).toBe(true);
        }
      }
      expect(await leftovers()).toEqual([]);
    });
  }

  it('3 MiB + 17 bytes with the default 64 KiB frames, and 2 MiB (the last regular frame exactly full)', async () => {
    for (const n of [3 * 1024 * 1024 + 17, 2 * 1024 * 1024]) {
      const plaintext = pattern(n, 5);
      const { thread, inline } = await sealBoth(plaintext, 64 * 1024);
      const end = headerEnd(thread);
      expect(bytesEqual(thread.subarray(end, thread.length - 96), inline.subarray(end, inline.length - 96))).toBe(true);
      expect(signatureVerifies(thread)).toBe(true);
      setHashThreadMinBytes(ON);
      await decryptFile(path('thread.sbx'), path('out'), { keyring });
      expect(bytesEqual(await readFile(path('out')), plaintext)).toBe(true);
    }
  });

  it('is the default from 16 MiB, not below', async () => {
    setHashThreadMinBytes(16 * 1024 * 1024);
    for (const [n, sessions] of [
      [16 * 1024 * 1024 - 1, 0],
      [16 * 1024 * 1024, 1],
    ] as const) {
      await writeFile(path('in'), pattern(n, 2));
      const before = hashSessionCount();
      await encryptFile(path('in'), path('big.sbx'), { keyring, suite: SIGNED });
      expect(hashSessionCount() - before).toBe(sessions);
    }
    // The decrypted size counts the message: 16 MiB and its framing.
    const before = hashSessionCount();
    await decryptFile(path('big.sbx'), path('out'), { keyring });
    expect(hashSessionCount() - before).toBe(1);
    // Unsigned files never take a thread.
    await encryptFile(path('in'), path('unsigned.sbx'), { keyring });
    await decryptFile(path('unsigned.sbx'), path('out'), { keyring });
    expect(hashSessionCount() - before).toBe(1);
  });
});

describe('damage: the same codes as the calling-thread path, and no output file', () => {
  const F = 4096;
  const n = 2 * 1024 * 1024 + 1234;
  const plaintext = pattern(n, 11);
  let sealed: Uint8Array;

  let threaded = false;
  async function outcome(bytes: Uint8Array, min: number): Promise<string> {
    await writeFile(path('bad.sbx'), bytes);
    await rm(path('bad.out'), { force: true });
    setHashThreadMinBytes(min);
    const before = hashSessionCount();
    const err = await thrown(() => decryptFile(path('bad.sbx'), path('bad.out'), { keyring, signaturePolicy: 'require-signed' }));
    expect(await exists(path('bad.out'))).toBe(false);
    expect(await leftovers()).toEqual([]);
    threaded = hashSessionCount() > before;
    return code(err) ?? String(err);
  }

  it('every truncation point class and bit flips through the whole message', async () => {
    await writeFile(path('in'), plaintext);
    setHashThreadMinBytes(ON);
    await encryptFile(path('in'), path('good.sbx'), { keyring, suite: SIGNED, frameLength: F });
    sealed = await readFile(path('good.sbx'));
    const end = headerEnd(sealed);
    const cuts = [0, 10, end - 1, end, end + 1, end + F + 17, sealed.length - 200, sealed.length - 97, sealed.length - 96, sealed.length - 95, sealed.length - 1];
    for (const cut of cuts) {
      const a = await outcome(sealed.subarray(0, cut), ON);
      const b = await outcome(sealed.subarray(0, cut), OFF);
      expect(a, `cut at ${cut}`).toBe(b);
      expect(a).toMatch(/^ERR_/);
    }
    const flips = [5, end - 20, end - 1, end, end + 1, end + 500, end + F + 17, Math.floor(sealed.length / 2), sealed.length - 150, sealed.length - 97, sealed.length - 96, sealed.length - 50, sealed.length - 1];
    for (const at of flips) {
      const bad = new Uint8Array(sealed);
      bad[at]! ^= 0x10;
      const a = await outcome(bad, ON);
      // Past the header, the hash thread is what catches it.
      if (at >= end) expect(threaded, `flip at ${at}`).toBe(true);
      const b = await outcome(bad, OFF);
      expect(threaded).toBe(false);
      expect(a, `flip at ${at}`).toBe(b);
      expect(a).toMatch(/^ERR_/);
    }
    // Bytes after the signature, and another message's signature.
    const extra = new Uint8Array(sealed.length + 1);
    extra.set(sealed);
    expect(await outcome(extra, ON)).toBe('ERR_TRAILING_DATA');
    await encryptFile(path('in'), path('other.sbx'), { keyring, suite: SIGNED, frameLength: F });
    const other = await readFile(path('other.sbx'));
    const swapped = new Uint8Array(sealed);
    swapped.set(other.subarray(other.length - 96), sealed.length - 96);
    expect(await outcome(swapped, ON)).toBe('ERR_DECRYPTION_FAILED');
    expect(await outcome(swapped, OFF)).toBe('ERR_DECRYPTION_FAILED');
  });
});

// A bit flip in a frame fails at that frame's tag, before the signature: it cannot show that the
// hash thread hashed the frames. An insider's frame (every tag valid, SPEC §11) can: only the
// signature catches it, on the hash thread as on the calling thread and with frame workers.
describe('an insider\'s forged frame', () => {
  it('fails every decryptFile path with ERR_DECRYPTION_FAILED and no output file, wherever the frame is', async () => {
    const F = 4096;
    await writeFile(path('in'), pattern(2 * 1024 * 1024 + 100, 12));
    setHashThreadMinBytes(ON);
    await encryptFile(path('in'), path('good.sbx'), { keyring, suite: SIGNED, frameLength: F });
    const sealed = await readFile(path('good.sbx'));
    const frames = parse(sealed).frames.length;
    // The first frame, one at a read boundary (256 frames a read), the last regular one, the final one.
    for (const index of [0, 256, frames - 2, frames - 1]) {
      const forged = await forgeFrame(sealed, keyring, index, pattern(index === frames - 1 ? 100 : F, 13));
      await writeFile(path('forged.sbx'), forged);
      for (const [min, concurrency] of [[ON, 1], [OFF, 1], [OFF, 2]] as const) {
        setHashThreadMinBytes(min);
        const before = hashSessionCount();
        const err = await thrown(() => decryptFile(path('forged.sbx'), path('forged.out'), { keyring, concurrency }));
        expect(code(err), `frame ${index}, hash thread ${min === ON}, concurrency ${concurrency}`).toBe('ERR_DECRYPTION_FAILED');
        expect(hashSessionCount() - before).toBe(min === ON ? 1 : 0);
        expect(await exists(path('forged.out'))).toBe(false);
        expect(await leftovers()).toEqual([]);
      }
    }
  });
});

describe('a hash thread that stops', () => {
  it('fails encryptFile with ERR_WORKER and leaves no output file; the next file gets a new thread', async () => {
    await writeFile(path('in'), pattern(3 * 1024 * 1024, 4));
    setHashThreadMinBytes(ON);
    injectHashThreadExit();
    const err = await thrown(() => encryptFile(path('in'), path('w.sbx'), { keyring, suite: SIGNED }));
    expect(code(err)).toBe('ERR_WORKER');
    expect(await exists(path('w.sbx'))).toBe(false);
    expect(await leftovers()).toEqual([]);
    await encryptFile(path('in'), path('w.sbx'), { keyring, suite: SIGNED });
    await decryptFile(path('w.sbx'), path('w.out'), { keyring });
    expect(bytesEqual(await readFile(path('w.out')), await readFile(path('in')))).toBe(true);
  });

  it('fails decryptFile with ERR_WORKER and leaves no output file', async () => {
    await writeFile(path('in'), pattern(3 * 1024 * 1024, 4));
    setHashThreadMinBytes(ON);
    await encryptFile(path('in'), path('w.sbx'), { keyring, suite: SIGNED });
    injectHashThreadExit();
    const err = await thrown(() => decryptFile(path('w.sbx'), path('w.out2'), { keyring }));
    expect(code(err)).toBe('ERR_WORKER');
    expect(await exists(path('w.out2'))).toBe(false);
    expect(await leftovers()).toEqual([]);
  });
});
