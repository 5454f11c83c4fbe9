// A message whose bytes change while Sealbox works on it: a SharedArrayBuffer another thread
// writes (a Worker here), or the caller's own array changed while a keyring is asked. What is
// authenticated must be what is acted on: the header parsed is the header whose tag verified,
// a frame's plaintext is that of the bytes its tag covers, and rewrap never gives a valid tag
// to header bytes it did not authenticate.
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { decrypt, decryptRange, decryptStream, encrypt, readHeader } from '../src/index.js';
import type { Keyring } from '../src/index.js';
import { rewrap } from '../src/rewrap/index.js';
import { readPreamble } from '../src/format/header.js';
import { TAG_BYTES } from '../src/limits.js';
import { pattern, testKeyring, thrown } from './helpers/keys.js';

/**
 * A keyring that keeps data keys in memory by id, as a key server would: its EDKs are not
 * bound to the encryption context (the header tag is what authenticates the context).
 * `onCall` runs at each call, before it answers.
 */
function vaultKeyring(onCall: () => void = () => {}): Keyring & { onCall: () => void } {
  const keys = new Map<string, Uint8Array>();
  const k = {
    onCall,
    async wrapKey(req: Parameters<Keyring['wrapKey']>[0]) {
      k.onCall();
      const dataKey = req.dataKey ?? crypto.getRandomValues(new Uint8Array(req.suite.dataKeyLength));
      const id = String(keys.size);
      keys.set(id, dataKey.slice());
      return { dataKey, encryptedDataKeys: [{ providerId: 'vault', providerInfo: new TextEncoder().encode(id), ciphertext: new Uint8Array(1) }] };
    },
    async unwrapKey(req: Parameters<Keyring['unwrapKey']>[0]) {
      k.onCall();
      for (const edk of req.encryptedDataKeys) {
        const key = edk.providerId === 'vault' ? keys.get(new TextDecoder().decode(edk.providerInfo)) : undefined;
        if (key) return key.slice();
      }
      return null;
    },
  };
  return k;
}

/** `message` with every `from` in its header replaced by `to` (same length: the header's layout is kept). */
function forge(message: Uint8Array, from: string, to: string): Uint8Array {
  const a = new TextEncoder().encode(from);
  const b = new TextEncoder().encode(to);
  const out = message.slice();
  const end = readPreamble(message)!;
  for (let i = 0; i + a.length <= end; i++) if (a.every((x, j) => out[i + j] === x)) out.set(b, i);
  return out;
}

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

/**
 * A Worker that writes `bytes` at `offset` of `shared` when {@link writeNow} is called, and
 * answers once it has: the other thread's write lands exactly while a keyring is asked.
 */
function writerThread(shared: SharedArrayBuffer, offset: number, bytes: Uint8Array): { writeNow(): void } {
  const control = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { workerData: d } = require('node:worker_threads');
     const flag = new Int32Array(d.control);
     Atomics.wait(flag, 0, 0);
     new Uint8Array(d.shared).set(d.bytes, d.offset);
     Atomics.store(flag, 0, 2);
     Atomics.notify(flag, 0);`,
    { eval: true, workerData: { control: control.buffer, shared, offset, bytes } },
  );
  workers.push(worker);
  return {
    writeNow() {
      Atomics.store(control, 0, 1);
      Atomics.notify(control, 0);
      Atomics.wait(control, 0, 1, 10_000);
      if (Atomics.load(control, 0) !== 2) throw new Error('the writer thread did not write');
    },
  };
}

/** `bytes` in a new SharedArrayBuffer, at `offset` (to choose the alignment of what follows). */
function inShared(bytes: Uint8Array, offset = 0): Uint8Array {
  const view = new Uint8Array(new SharedArrayBuffer(offset + bytes.length), offset);
  view.set(bytes);
  return view;
}

const plaintext = pattern(5000, 3);

describe('the header acted on is the header authenticated', () => {
  it('decrypt: another thread restoring the real header while the keyring is asked does not pass off a forged context', async () => {
    const keyring = vaultKeyring();
    const { ciphertext } = await encrypt(plaintext, { keyring, encryptionContext: { tenant: 'acme' }, frameLength: 1024 });
    const shared = inShared(forge(ciphertext, 'acme', 'evil'));
    const writer = writerThread(shared.buffer as SharedArrayBuffer, 0, ciphertext.subarray(0, readPreamble(ciphertext)!));
    keyring.onCall = () => writer.writeNow();
    const err = await thrown(() => decrypt(shared, { keyring, expectedEncryptionContext: { tenant: 'evil' } }));
    expect(err).toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
  });

  it('decrypt: the caller\'s array changed while the keyring is asked (same thread) does not pass off a forged context', async () => {
    const keyring = vaultKeyring();
    const { ciphertext } = await encrypt(plaintext, { keyring, encryptionContext: { tenant: 'acme' }, frameLength: 1024 });
    const message = forge(ciphertext, 'acme', 'evil');
    keyring.onCall = () => message.set(ciphertext.subarray(0, readPreamble(ciphertext)!));
    const err = await thrown(() => decrypt(message, { keyring, expectedEncryptionContext: { tenant: 'evil' } }));
    expect(err).toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
  });

  it('decryptRange: a source whose bytes change while the keyring is asked does not pass off a forged context', async () => {
    const keyring = vaultKeyring();
    const { ciphertext } = await encrypt(plaintext, { keyring, encryptionContext: { tenant: 'acme' }, frameLength: 1024 });
    const shared = inShared(forge(ciphertext, 'acme', 'evil'));
    const writer = writerThread(shared.buffer as SharedArrayBuffer, 0, ciphertext.subarray(0, readPreamble(ciphertext)!));
    keyring.onCall = () => writer.writeNow();
    const err = await thrown(() => decryptRange(shared, { keyring, start: 0, end: 10, expectedEncryptionContext: { tenant: 'evil' } }));
    expect(err).toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
  });

  it('rewrap: header bytes changed after the old header tag verified are not sealed into the new header', async () => {
    const from = vaultKeyring();
    const { ciphertext } = await encrypt(plaintext, { keyring: from, encryptionContext: { tenant: 'acme' }, frameLength: 1024 });
    const shared = inShared(ciphertext);
    const forged = forge(ciphertext, 'acme', 'evil');
    const writer = writerThread(shared.buffer as SharedArrayBuffer, 0, forged.subarray(0, readPreamble(forged)!));
    // The new keyring is asked after the old header tag has verified: the other thread writes then.
    const to = vaultKeyring(() => writer.writeNow());
    const result = await rewrap(shared, { keyring: from, to });
    expect(result.header.encryptionContext).toEqual({ tenant: 'acme' });
    expect((await readHeader(result.ciphertext)).encryptionContext).toEqual({ tenant: 'acme' });
    to.onCall = () => {};
    const opened = await decrypt(result.ciphertext, { keyring: to });
    expect(opened.encryptionContext).toEqual({ tenant: 'acme' });
  });

  it('rewrap: the same with the caller\'s array changed on the same thread', async () => {
    const from = vaultKeyring();
    const { ciphertext } = await encrypt(plaintext, { keyring: from, encryptionContext: { tenant: 'acme' }, frameLength: 1024 });
    const message = ciphertext.slice();
    const forged = forge(ciphertext, 'acme', 'evil');
    const to = vaultKeyring(() => message.set(forged.subarray(0, readPreamble(forged)!)));
    const result = await rewrap(message, { keyring: from, to });
    expect((await readHeader(result.ciphertext)).encryptionContext).toEqual({ tenant: 'acme' });
  });
});

describe('a frame in a SharedArrayBuffer another thread keeps changing', () => {
  /**
   * A Worker that flips one byte of `shared` back and forth until told to stop. Returns the
   * stop function. With the noble backend, which reads a frame twice (its tag, then its
   * plaintext), a frame read in place could be authenticated with one value of the byte and
   * decrypted with the other.
   */
  async function flipper(shared: SharedArrayBuffer, at: number): Promise<() => void> {
    const stop = new Int32Array(new SharedArrayBuffer(8));
    const worker = new Worker(
      `const { workerData: d } = require('node:worker_threads');
       const stop = new Int32Array(d.stop);
       const b = new Uint8Array(d.shared);
       Atomics.store(stop, 1, 1);
       while (Atomics.load(stop, 0) === 0) b[d.at] ^= 1;`,
      { eval: true, workerData: { stop: stop.buffer, shared, at } },
    );
    workers.push(worker);
    // Flipping before the first try.
    while (Atomics.load(stop, 1) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    return () => Atomics.store(stop, 0, 1);
  }

  /** Runs `open` until `tries` runs or a plaintext that is not the real one; returns how many wrong ones. */
  async function wrongPlaintexts(open: () => Promise<Uint8Array>, expected: Uint8Array, tries: number): Promise<number> {
    let wrong = 0;
    for (let i = 0; i < tries && wrong === 0; i++) {
      try {
        const got = await open();
        if (!Buffer.from(got).equals(Buffer.from(expected))) wrong++;
      } catch (err) {
        // The tag check failing is the right answer for a changed frame.
        expect(err).toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
      }
    }
    return wrong;
  }

  /** A one-frame message in a SharedArrayBuffer, its frame 4-byte aligned (noble reads it in place), and the stop of a thread flipping a byte of its ciphertext. */
  async function racedMessage(): Promise<{ keyring: Keyring; shared: Uint8Array; stop: () => void; body: number }> {
    const keyring = testKeyring();
    const big = pattern(64 * 1024 - 1, 9);
    const { ciphertext } = await encrypt(big, { keyring, frameLength: 64 * 1024 });
    const body = readPreamble(ciphertext)! + TAG_BYTES + 5; // the final frame's ciphertext
    const shared = inShared(ciphertext, (4 - (body % 4)) % 4);
    const stop = await flipper(shared.buffer as SharedArrayBuffer, shared.byteOffset + body + 1000);
    return { keyring, shared, stop, body };
  }

  it('readHeader: a context changing while it is decoded never poisons the context caches', async () => {
    // Each try a context never seen before, its first value byte flipped ('a' <-> '`') by the
    // other thread while the header is decoded. Decoded from the shared bytes in place, the
    // context read and the bytes remembered as its encoding could differ: later headers with
    // those bytes decoded to the other context, and encrypt wrote the other bytes for it.
    // Many large EDKs after the context: decoding them (and copying them out) takes a while.
    const keyring: Keyring = {
      async wrapKey(req) {
        const edk = { providerId: 'many', providerInfo: new Uint8Array(1), ciphertext: new Uint8Array(2000) };
        return { dataKey: req.dataKey ?? new Uint8Array(req.suite.dataKeyLength), encryptedDataKeys: Array.from({ length: 200 }, () => edk) };
      },
      async unwrapKey() {
        return null;
      },
    };
    const messages: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) {
      messages.push((await encrypt(new Uint8Array(1), { keyring, encryptionContext: { tenant: `a${String(i).padStart(4, '0')}-shared-input` } })).ciphertext);
    }
    const limits = { maxEncryptedDataKeys: 255 };
    const at = Buffer.from(messages[0]!).indexOf('a0000-shared-input');
    expect(at).toBeGreaterThan(0);
    const shared = inShared(messages[0]!);
    const stop = await flipper(shared.buffer as SharedArrayBuffer, at);
    try {
      for (const [i, message] of messages.entries()) {
        shared.set(message);
        const header = await readHeader(shared, limits).catch(() => undefined);
        const value = header?.encryptionContext.tenant;
        if (value === undefined) continue;
        // What readHeader answers for the message's real bytes, and what encrypt writes for the context read.
        const real = `a${String(i).padStart(4, '0')}-shared-input`;
        expect((await readHeader(message, limits)).encryptionContext.tenant).toBe(real);
        const again = (await encrypt(new Uint8Array(1), { keyring: testKeyring(), encryptionContext: { tenant: value } })).ciphertext;
        expect(Buffer.from(again).includes(Buffer.from(value))).toBe(true);
      }
    } finally {
      stop();
    }
  });

  it('decrypt never returns plaintext other than the authenticated one', async () => {
    const { keyring, shared, stop } = await racedMessage();
    try {
      const expected = pattern(64 * 1024 - 1, 9);
      expect(await wrongPlaintexts(async () => (await decrypt(shared, { keyring, backend: 'noble' })).plaintext, expected, 100)).toBe(0);
    } finally {
      stop();
    }
  });

  it('decryptRange never returns plaintext other than the authenticated one', async () => {
    const { keyring, shared, stop } = await racedMessage();
    try {
      const expected = pattern(64 * 1024 - 1, 9);
      expect(await wrongPlaintexts(async () => (await decryptRange(shared, { keyring, backend: 'noble', start: 0 })).plaintext, expected, 100)).toBe(0);
    } finally {
      stop();
    }
  });

  it('decryptStream never releases plaintext other than the authenticated one', async () => {
    const { keyring, shared, stop } = await racedMessage();
    try {
      const expected = pattern(64 * 1024 - 1, 9);
      const open = async (): Promise<Uint8Array> => {
        const stream = decryptStream({ keyring, backend: 'noble' });
        const writer = stream.writable.getWriter();
        void writer.write(shared).catch(() => {});
        void writer.close().catch(() => {});
        const parts: Uint8Array[] = [];
        for await (const part of stream.readable as unknown as AsyncIterable<Uint8Array>) parts.push(part);
        return Buffer.concat(parts);
      };
      expect(await wrongPlaintexts(open, expected, 100)).toBe(0);
    } finally {
      stop();
    }
  });
});

describe('inputs read through their own memory', () => {
  /** A Uint8Array subclass whose methods lie about its bytes. */
  class Lying extends Uint8Array {
    override get length(): number {
      return super.length + 100;
    }
    override subarray(): Uint8Array<ArrayBuffer> {
      return new Uint8Array(16) as Uint8Array<ArrayBuffer>;
    }
    override slice(): Uint8Array<ArrayBuffer> {
      return new Uint8Array(16) as Uint8Array<ArrayBuffer>;
    }
  }

  it('a subclass overriding length, subarray and slice is taken for the bytes it views', async () => {
    const keyring = testKeyring();
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: 1024 });
    const lying = new Lying(ciphertext.length);
    Uint8Array.prototype.set.call(lying, ciphertext);
    expect(Buffer.from((await decrypt(lying, { keyring })).plaintext).equals(Buffer.from(plaintext))).toBe(true);
    expect(Buffer.from((await decryptRange(lying, { keyring, start: 10, end: 20 })).plaintext).equals(Buffer.from(plaintext.subarray(10, 20)))).toBe(true);
    const to = testKeyring('key-2', 8);
    const rewrapped = await rewrap(lying, { keyring, to });
    expect(Buffer.from((await decrypt(rewrapped.ciphertext, { keyring: to })).plaintext).equals(Buffer.from(plaintext))).toBe(true);
  });

  it('a view of a detached buffer is a TypeError that says so', async () => {
    const keyring = testKeyring();
    const { ciphertext } = await encrypt(plaintext, { keyring });
    const view = ciphertext.slice();
    structuredClone(view.buffer, { transfer: [view.buffer] });
    const err = await thrown(() => decrypt(view, { keyring }));
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toMatch(/detached/);
  });
});

/** A plaintext of `size` bytes (3s) in a resizable buffer, and a keyring that resizes it to `to` while it wraps. */
function resizedWhileWrapping(size: number, to: number): { inner: Keyring; data: Uint8Array; keyring: Keyring } {
  const inner = testKeyring();
  const buffer = new ArrayBuffer(size, { maxByteLength: 20_000 });
  const data = new Uint8Array(buffer).fill(3);
  const keyring: Keyring = {
    wrapKey: async (req) => {
      buffer.resize(to);
      return inner.wrapKey(req);
    },
    unwrapKey: (req) => inner.unwrapKey(req),
  };
  return { inner, data, keyring };
}

describe('a plaintext whose buffer is resized while encrypt waits for the keyring', () => {
  it('shrunk: a TypeError, not a message that cannot be decrypted', async () => {
    const { data, keyring } = resizedWhileWrapping(10_000, 5000);
    const err = await thrown(() => encrypt(data, { keyring, frameLength: 1024 }));
    expect(err).toBeInstanceOf(TypeError);
  });

  it('grown: the bytes it had when encrypt was called', async () => {
    const { inner, data, keyring } = resizedWhileWrapping(5000, 10_000);
    const { ciphertext } = await encrypt(data, { keyring, frameLength: 1024 });
    expect((await decrypt(ciphertext, { keyring: inner })).plaintext).toEqual(new Uint8Array(5000).fill(3));
  });
});
