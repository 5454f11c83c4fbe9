import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decrypt } from '../../src/decrypt.js';
import { SealboxError } from '../../src/errors.js';
import { decryptStream } from '../../src/stream/decrypt-stream.js';
import { encryptStream } from '../../src/stream/encrypt-stream.js';
import { encrypt } from '../../src/encrypt.js';
import type { Keyring } from '../../src/keyring/keyring.js';
import { createEncryptStream } from '../../src/node/streams.js';
import { concat } from '../../src/crypto/bytes.js';
import { pattern, testKeyring } from '../helpers/keys.js';

// docs/security.md, "Input that changes while Sealbox reads it": a chunk detached (transferred)
// or shrunk while an encrypt stream still needs it makes the stream fail with a TypeError, as
// one-shot encrypt does, never write a valid message without those bytes (a detached view reads
// as empty: the framer used to see nothing to seal).
const keyring = testKeyring();
const F = 1024;

/** Detaches `bytes`' buffer, as `postMessage(..., [buffer])` or `ArrayBuffer.prototype.transfer` would. */
function detach(bytes: Uint8Array): void {
  structuredClone(bytes.buffer, { transfer: [bytes.buffer as ArrayBuffer] });
  expect(bytes.length).toBe(0);
}

/** Reads a Web stream to its end; returns what it put out and how it ended. */
async function drain(readable: ReadableStream<Uint8Array>, onFirst?: () => void): Promise<{ out: Uint8Array; error?: unknown }> {
  const parts: Uint8Array[] = [];
  const reader = readable.getReader();
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      if (parts.length === 0) onFirst?.();
      parts.push(r.value);
    }
    return { out: concat(...parts) };
  } catch (error) {
    return { out: concat(...parts), error };
  }
}

/** What the message decrypts to, or its code: a message that decrypts at all is the defect. */
async function opened(message: Uint8Array): Promise<string> {
  return decrypt(message, { keyring }).then(
    (r) => `decrypts to ${r.plaintext.length} bytes`,
    (err: unknown) => (err instanceof SealboxError ? err.code : String(err)),
  );
}

describe('encrypt streams: a chunk detached after it was written', () => {
  it.each(['node', 'webcrypto'] as const)('Web encryptStream (%s): detached before its turn, the write and the stream fail with a TypeError', async (backend) => {
    const enc = encryptStream({ keyring, frameLength: F, backend });
    const writer = enc.writable.getWriter();
    const chunk = pattern(5 * F + 3, 1);
    const written = writer.write(chunk).then(() => 'written', (err: unknown) => err);
    detach(chunk); // the stream is still asking the keyring: the chunk waits
    void writer.close().catch(() => undefined);
    const { out, error } = await drain(enc.readable);
    expect(error).toBeInstanceOf(TypeError);
    expect(await written).toBeInstanceOf(TypeError);
    expect(await opened(out)).toBe('ERR_TRUNCATED');
  });

  it('Web encryptStream (webcrypto): detached while its frames are sealed, the stream fails with a TypeError', async () => {
    const enc = encryptStream({ keyring, frameLength: F, backend: 'webcrypto' });
    const writer = enc.writable.getWriter();
    await writer.ready;
    await enc.header; // the keyring has answered: the chunk is taken at once
    const chunk = pattern(8 * F, 2);
    void writer.write(chunk).catch(() => undefined);
    void writer.close().catch(() => undefined);
    // The header goes out before the first frame is sealed (asynchronously, on WebCrypto).
    const { out, error } = await drain(enc.readable, () => detach(chunk));
    expect(error).toBeInstanceOf(TypeError);
    expect(await opened(out)).toBe('ERR_TRUNCATED');
  });

  it('Node createEncryptStream: a chunk detached while it waits for its turn fails the stream with a TypeError', async () => {
    const enc = createEncryptStream({ keyring, frameLength: F });
    const parts: Uint8Array[] = [];
    const sink = new Writable({
      write(c: Uint8Array, _e, cb) {
        parts.push(new Uint8Array(c));
        cb();
      },
    });
    enc.pipe(sink);
    const failed = new Promise<unknown>((resolve) => {
      enc.on('error', resolve);
      sink.on('finish', () => resolve('finished without an error'));
    });
    const chunk = pattern(64 * 1024, 3); // 16 KiB or more: sealed in a later turn
    enc.write(chunk);
    detach(chunk);
    enc.end();
    expect(await failed).toBeInstanceOf(TypeError);
    expect(await opened(concat(...parts))).toBe('ERR_TRUNCATED');
  }, 5000); // before the fix the stream neither failed nor ended
});

describe('decrypt streams: a chunk detached while it is read', () => {
  it.each(['node', 'webcrypto'] as const)('Web decryptStream (%s): detached while the keyring is asked, the stream fails with a TypeError and releases nothing', async (backend) => {
    const { ciphertext } = await encrypt(pattern(5 * F + 3, 4), { keyring, frameLength: F });
    let asked!: () => void;
    const waiting = new Promise<void>((resolve) => (asked = resolve));
    const slow: Keyring = {
      wrapKey: (request) => keyring.wrapKey(request),
      unwrapKey: async (request) => {
        asked();
        await new Promise((resolve) => setTimeout(resolve, 10));
        return keyring.unwrapKey(request);
      },
    };
    const dec = decryptStream({ keyring: slow, backend });
    const writer = dec.writable.getWriter();
    const chunk = ciphertext.slice();
    void writer.write(chunk).catch(() => undefined);
    void writer.close().catch(() => undefined);
    const drained = drain(dec.readable);
    await waiting;
    detach(chunk);
    const { out, error } = await drained;
    // It read as a message cut after its header: ERR_TRUNCATED, which blamed the sender.
    expect(error).toBeInstanceOf(TypeError);
    expect(out.length).toBe(0);
  });
});
