import { Readable, Writable } from 'node:stream';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { decryptStream, encrypt, SealboxError, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../../src/index.js';
import { rewrapStream } from '../../src/rewrap/index.js';
import { createDecryptStream, createEncryptStream, createRewrapStream } from '../../src/node/index.js';
import type { Keyring } from '../../src/keyring/keyring.js';
import type { MaterialsManager } from '../../src/materials/materials.js';
import { pattern, testKeyring } from '../helpers/keys.js';

// A decrypt (or rewrap) stream that stops before its header is read (destroyed, cancelled,
// aborted, its source failing, a chunk that is not bytes) rejects its `header` promise instead
// of leaving it pending for ever; work under way when it stopped releases nothing afterwards.
const keyring = testKeyring();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `keyring`, answering `ms` later. */
function slow(ms: number): Keyring {
  return {
    wrapKey: async (request) => {
      await sleep(ms);
      return keyring.wrapKey(request);
    },
    unwrapKey: async (request) => {
      await sleep(ms);
      return keyring.unwrapKey(request);
    },
  };
}

/** How `promise` has settled 100 ms from now: the error, 'resolved', or 'pending'. */
async function outcome(promise: Promise<unknown>): Promise<unknown> {
  return Promise.race([
    promise.then(
      () => 'resolved',
      (err: unknown) => err,
    ),
    sleep(100).then(() => 'pending'),
  ]);
}


/** What a Node transform pushes (end of stream aside) and the errors it emits, as they come. */
function watched(t: Transform): { pushed: unknown[]; errors: unknown[] } {
  const pushed: unknown[] = [];
  const push = t.push.bind(t);
  t.push = (chunk: unknown) => {
    if (chunk !== null) pushed.push(chunk);
    return push(chunk);
  };
  const errors: unknown[] = [];
  t.on('error', (err) => errors.push(err));
  return { pushed, errors };
}
describe('a stream stopped before its header', async () => {
  const { ciphertext } = await encrypt(pattern(5000), { keyring, frameLength: 100 });
  const head = ciphertext.slice(0, 10);

  it('Web decryptStream and rewrapStream: a source that fails rejects the header with its error', async () => {
    for (const make of [() => decryptStream({ keyring }), () => rewrapStream({ keyring, to: testKeyring('new', 2) })]) {
      const stream = make();
      const network = new Error('network');
      const source = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(head);
          controller.error(network);
        },
      });
      await expect(source.pipeThrough(stream).pipeTo(new WritableStream())).rejects.toBe(network);
      expect(await outcome(stream.header)).toBe(network);
    }
  });

  it('Web decryptStream: cancel and abort reject the header (ERR_STATE when the reason is not an Error)', async () => {
    const cancelled = decryptStream({ keyring });
    const writer = cancelled.writable.getWriter();
    await writer.write(head);
    await cancelled.readable.cancel();
    const err = await outcome(cancelled.header);
    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe('ERR_STATE');

    const aborted = decryptStream({ keyring });
    aborted.readable.pipeTo(new WritableStream()).catch(() => undefined);
    const w = aborted.writable.getWriter();
    await w.write(head);
    const reason = new Error('stop');
    await w.abort(reason);
    expect(await outcome(aborted.header)).toBe(reason);
  });

  it('Web decryptStream: a chunk that is not bytes rejects the header with the TypeError', async () => {
    const stream = decryptStream({ keyring });
    const done = stream.readable.pipeTo(new WritableStream());
    const writer = stream.writable.getWriter();
    writer.write('text' as unknown as Uint8Array).catch(() => undefined);
    await expect(done).rejects.toBeInstanceOf(TypeError);
    expect(await outcome(stream.header)).toBeInstanceOf(TypeError);
  });

  it('Web decryptStream: cancelled while the keyring is asked, the header rejects and nothing more happens', async () => {
    const stream = decryptStream({ keyring: slow(30) });
    const writer = stream.writable.getWriter();
    writer.write(ciphertext).catch(() => undefined);
    await sleep(5);
    await stream.readable.cancel(new Error('gone'));
    expect(await outcome(stream.header)).toMatchObject({ message: 'gone' });
  });

  it('Node createDecryptStream and createRewrapStream: destroy rejects the header', async () => {
    for (const make of [() => createDecryptStream({ keyring }), () => createRewrapStream({ keyring, to: testKeyring('new', 2) })]) {
      const quiet = make();
      quiet.write(head);
      quiet.destroy();
      const err = await outcome(quiet.header);
      expect(err).toBeInstanceOf(SealboxError);
      expect((err as SealboxError).code).toBe('ERR_STATE');

      const failed = make();
      failed.on('error', () => undefined);
      failed.write(head);
      const reason = new Error('stop');
      failed.destroy(reason);
      expect(await outcome(failed.header)).toBe(reason);

      const piped = make();
      const network = new Error('network');
      const source = new Readable({
        read() {
          this.push(head);
          this.destroy(network);
        },
      });
      await expect(pipeline(source, piped, new Writable({ write: (_c, _e, cb) => cb() }))).rejects.toBe(network);
      expect(await outcome(piped.header)).toBe(network);
    }
  });

  it('Node createDecryptStream destroyed while the keyring is asked: no plaintext is pushed afterwards', async () => {
    for (const suite of [undefined, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384]) {
      const message = (await encrypt(pattern(5000), { keyring, frameLength: 100, suite })).ciphertext;
      const t = createDecryptStream({ keyring: slow(30) });
      const { pushed, errors } = watched(t);
      t.write(message);
      await sleep(5);
      t.destroy();
      await sleep(100);
      expect(pushed).toEqual([]);
      expect(errors).toEqual([]);
      expect((await outcome(t.header)) as SealboxError).toMatchObject({ code: 'ERR_STATE' });
    }
  });

  it('Node createDecryptStream destroyed while a large chunk waits for its turn: skipped, quietly', async () => {
    const { ciphertext: large } = await encrypt(pattern(100_000), { keyring, frameLength: 1000 });
    const t = createDecryptStream({ keyring });
    const { pushed, errors } = watched(t);
    let written: unknown = 'not called';
    t.write(large, (err) => (written = err));
    t.destroy();
    await sleep(50);
    expect(pushed).toEqual([]);
    expect(errors).toEqual([]);
    expect(written ?? null).toBe(null);
  });
});

describe('Node streams: a materials manager that fails with a value Node reads as "no error"', async () => {
  const { ciphertext } = await encrypt(pattern(1000), { keyring, frameLength: 100 });
  const throwing = (value: unknown): MaterialsManager => ({
    getEncryptionMaterials: () => Promise.reject(value),
    getDecryptionMaterials: () => Promise.reject(value),
  });

  it.each([undefined, null, 0, ''])('%j fails the stream and its header with ERR_KEYRING, the value as cause', async (value) => {
    const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });
    const dec = createDecryptStream({ materialsManager: throwing(value) });
    const decrypted = await pipeline(Readable.from([ciphertext.subarray(0, 500), ciphertext.subarray(500)]), dec, sink()).then(() => 'resolved', (err: unknown) => err);
    expect(decrypted).toMatchObject({ code: 'ERR_KEYRING' });
    expect((decrypted as SealboxError).cause).toBe(value);
    expect(await outcome(dec.header)).toBe(decrypted);

    const enc = createEncryptStream({ materialsManager: throwing(value) });
    const encrypted = await pipeline(Readable.from([pattern(10)]), enc, sink()).then(() => 'resolved', (err: unknown) => err);
    expect(encrypted).toMatchObject({ code: 'ERR_KEYRING' });
    expect((encrypted as SealboxError).cause).toBe(value);
    expect(await outcome(enc.header)).toBe(encrypted);
  });
});
