// The Node Transforms (createEncryptStream, createDecryptStream, createRewrapStream) against
// Node's stream contract (nodejs.org/api/stream.html): destroy() emits 'close' once, and
// 'error' only when given one; a pipeline aborted through its AbortSignal rejects with an
// AbortError; a stalled consumer bounds what is pulled from the source; writes that are not
// bytes are TypeErrors. And what Sealbox adds: nothing is released after a stop, what is held
// is zeroed, and work still under way (a keyring call) never surfaces afterwards.
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encrypt, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../../src/index.js';
import { concat } from '../../src/crypto/bytes.js';
import { createDecryptStream, createEncryptStream, createRewrapStream } from '../../src/node/index.js';
import type { Keyring } from '../../src/keyring/keyring.js';
import { beginEncryption, planEncryption } from '../../src/message/prologue.js';
import { EncryptFramer } from '../../src/stream/encrypt-framer.js';
import { parse } from '../helpers/forge.js';
import { bytesEqual, pattern, testKeyring } from '../helpers/keys.js';
import { recordOpens } from '../helpers/record-opens.js';

const keyring = testKeyring('life', 3);
const newKey = testKeyring('life-new', 4);
const SIGNED = SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384;

afterEach(() => vi.restoreAllMocks());

/** Lets the event loop run `n` turns (setImmediate): enough for nextTicks, microtasks and Node's stream callbacks. */
async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/**
 * How a pipeline stopped through its AbortSignal rejects: with an AbortError, or (Node 24, when
 * the abort comes while a stream is still starting or its source has ended) with
 * ERR_STREAM_PREMATURE_CLOSE for a stream the abort destroyed. Either is Node's report that the
 * pipeline was stopped; what these tests check of Sealbox is that it settles at once (not
 * 'pending') and that nothing is released afterwards.
 */
function isStop(value: unknown): boolean {
  const e = value as { name?: string; code?: string } | null;
  return e?.name === 'AbortError' || e?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/** How `promise` has settled after a few event-loop turns: the error, 'resolved', or 'pending'. */
async function settled(promise: Promise<unknown>): Promise<unknown> {
  let state: unknown = 'pending';
  promise.then(
    () => (state = 'resolved'),
    (err: unknown) => (state = err),
  );
  await turns();
  return state;
}

/** `keyring`, whose calls wait until `answer` (resolve) or `fail` (reject with a keyring error) is called; `asked` resolves on the first call. */
function heldKeyring(inner: Keyring = keyring) {
  let release!: (ok: boolean) => void;
  const gate = new Promise<boolean>((r) => (release = r));
  let asked!: () => void;
  const wasAsked = new Promise<void>((r) => (asked = r));
  const wait = async (): Promise<void> => {
    asked();
    if (!(await gate)) throw new Error('KMS unavailable');
  };
  const held: Keyring = {
    wrapKey: async (request) => (await wait(), inner.wrapKey(request)),
    unwrapKey: async (request) => (await wait(), inner.unwrapKey(request)),
  };
  return { keyring: held, asked: wasAsked, answer: () => release(true), fail: () => release(false) };
}

/** What a transform pushes (end of stream aside), the errors it emits and how often it closes. */
function watched(t: Transform): { pushed: Uint8Array[]; errors: unknown[]; closes: () => number } {
  const pushed: Uint8Array[] = [];
  const push = t.push.bind(t);
  t.push = (chunk: unknown) => {
    if (chunk !== null) pushed.push(chunk as Uint8Array);
    return push(chunk);
  };
  const errors: unknown[] = [];
  t.on('error', (err) => errors.push(err));
  let closes = 0;
  t.on('close', () => closes++);
  return { pushed, errors, closes: () => closes };
}

/** Every array the default backend's frame keys opened (decrypt), in order. */
function recordKeys(): { opened: Uint8Array[] } {
  return { opened: recordOpens() };
}

const zero = (b: Uint8Array): boolean => b.every((x) => x === 0);
const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

describe('createEncryptStream destroyed while its keyring is asked', () => {
  it('destroy(): closes once at once, never errors (also when the keyring fails later), pushes nothing, rejects its header with ERR_STATE', async () => {
    for (const outcome of ['fail', 'answer'] as const) {
      const held = heldKeyring();
      const t = createEncryptStream({ keyring: held.keyring });
      const { pushed, errors, closes } = watched(t);
      t.write(pattern(100));
      await held.asked;
      t.destroy();
      // 'close' does not wait for the keyring (a KMS call can take its retries' time).
      await turns();
      expect(closes(), outcome).toBe(1);
      expect(await settled(t.header), outcome).toMatchObject({ code: 'ERR_STATE' });
      held[outcome]();
      await turns();
      // Node: destroy() without an error emits no 'error'; without a listener one would be an
      // uncaught exception (the keyring's failure, which crashed the process).
      expect(errors, outcome).toEqual([]);
      expect(pushed, outcome).toEqual([]);
      expect(closes(), outcome).toBe(1);
    }
  });

  it('destroy(err): emits err once and closes once; the header rejects with err', async () => {
    const held = heldKeyring();
    const t = createEncryptStream({ keyring: held.keyring });
    const { errors, closes } = watched(t);
    await held.asked;
    const reason = new Error('stop');
    t.destroy(reason);
    await turns();
    expect(closes()).toBe(1);
    expect(await settled(t.header)).toBe(reason);
    held.fail();
    await turns();
    expect(errors).toEqual([reason]);
    expect(closes()).toBe(1);
  });

  it('a pipeline aborted through its AbortSignal rejects with AbortError without waiting for the keyring', async () => {
    const held = heldKeyring();
    const ac = new AbortController();
    const t = createEncryptStream({ keyring: held.keyring });
    const { pushed } = watched(t);
    const piping = pipeline(Readable.from([Buffer.from(pattern(1000))]), t, sink(), { signal: ac.signal });
    await held.asked;
    ac.abort();
    expect(isStop(await settled(piping)), 'stopped at once').toBe(true);
    expect(isStop(await settled(t.header)), 'stopped at once').toBe(true);
    held.answer();
    await turns();
    expect(pushed).toEqual([]);
  });

  it('destroyed as soon as it was made: the keyring is never asked', async () => {
    let asked = 0;
    const counting: Keyring = { wrapKey: (r) => (asked++, keyring.wrapKey(r)), unwrapKey: (r) => keyring.unwrapKey(r) };
    const t = createEncryptStream({ keyring: counting });
    const { errors, closes } = watched(t);
    t.destroy();
    await turns();
    expect(asked).toBe(0);
    expect(closes()).toBe(1);
    expect(errors).toEqual([]);
    expect(await settled(t.header)).toMatchObject({ code: 'ERR_STATE' });
  });

  it('a keyring that fails with no stop still errors the stream and its pending writes', async () => {
    const held = heldKeyring();
    const t = createEncryptStream({ keyring: held.keyring });
    const { errors, closes } = watched(t);
    let written: unknown = 'not called';
    t.write(pattern(10), (err) => (written = err));
    await held.asked;
    held.fail();
    await turns();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_KEYRING' });
    expect(written).toBeInstanceOf(Error);
    expect(closes()).toBe(1);
    expect(await settled(t.header)).toBe(errors[0]);
  });
});

describe('createEncryptStream destroyed with a partly filled frame', () => {
  it('zeroes the plaintext it held', async () => {
    const F = 1000;
    const t = createEncryptStream({ keyring, frameLength: F });
    await t.header;
    // The framer's frame buffer is the only array of F bytes that Uint8Array.prototype.set writes
    // the chunk into; keep every such array.
    const targets: Uint8Array[] = [];
    const set = Uint8Array.prototype.set;
    vi.spyOn(Uint8Array.prototype, 'set').mockImplementation(function (this: Uint8Array, source: ArrayLike<number>, offset?: number) {
      if (this.length === F) targets.push(this);
      return set.call(this, source, offset);
    });
    const plaintext = pattern(F - 300, 9).map((b) => b | 1);
    await new Promise<void>((resolve, reject) => t.write(plaintext, (err) => (err ? reject(err) : resolve())));
    vi.restoreAllMocks();
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.some((b) => bytesEqual(b.subarray(0, F - 300), plaintext))).toBe(true);
    t.destroy();
    await once(t, 'close');
    expect(targets.every(zero)).toBe(true);
  });
});

describe('EncryptFramer.abort while a chunk is sealed (an asynchronous backend)', () => {
  it('seals and copies nothing more of the chunk; later calls are ERR_STATE', async () => {
    const F = 100;
    const session = await beginEncryption(planEncryption({ keyring, frameLength: F, backend: 'webcrypto' }));
    const framer = new EncryptFramer(session);
    const emitted: Uint8Array[] = [];
    const targets: Uint8Array[] = [];
    const set = Uint8Array.prototype.set;
    vi.spyOn(Uint8Array.prototype, 'set').mockImplementation(function (this: Uint8Array, source: ArrayLike<number>, offset?: number) {
      if (this.length === F) targets.push(this);
      return set.call(this, source, offset);
    });
    // Two whole frames (sealed in place, one after the other) and 50 bytes for the frame buffer.
    const pushed = framer.push(pattern(2 * F + 50, 4), (b) => emitted.push(b));
    expect(pushed).toBeInstanceOf(Promise);
    framer.abort();
    await pushed;
    vi.restoreAllMocks();
    // The header only: frame 0, sealed when the abort came, is dropped, and the rest not read.
    expect(emitted).toEqual([session.headerBytes]);
    expect(targets).toEqual([]);
    expect(() => framer.finish(() => undefined)).toThrow(expect.objectContaining({ code: 'ERR_STATE' }));
  });
});

describe('createDecryptStream in a pipeline aborted through its AbortSignal', () => {
  /**
   * A source that pushes `parts`, then waits for `go` before pushing `rest` (which it never does
   * once destroyed). A plain Readable, not an async generator: Node 22 and 24 let a pipeline
   * settle only once every stream has closed, and a generator suspended at an await closes only
   * when that await returns.
   */
  function pausedSource(parts: Uint8Array[], rest: Uint8Array[]) {
    let reached!: () => void;
    const atGate = new Promise<void>((r) => (reached = r));
    let started = false;
    const source = new Readable({
      read() {
        if (started) return;
        started = true;
        for (const p of parts) this.push(Buffer.from(p));
        reached();
      },
    });
    const go = (): void => {
      if (source.destroyed) return;
      for (const p of rest) source.push(Buffer.from(p));
      source.push(null);
    };
    return { source, atGate, go };
  }

  function collectingSink(): { sink: Writable; received: Uint8Array[] } {
    const received: Uint8Array[] = [];
    return { received, sink: new Writable({ write: (c: Uint8Array, _e, cb) => (received.push(c), cb()) }) };
  }

  it('while the keyring is asked: AbortError, the header rejects with it, nothing is released after', async () => {
    const { ciphertext } = await encrypt(pattern(3000), { keyring, frameLength: 500 });
    const held = heldKeyring();
    const ac = new AbortController();
    const t = createDecryptStream({ keyring: held.keyring });
    const { pushed, errors, closes } = watched(t);
    const { sink: out, received } = collectingSink();
    const piping = pipeline(Readable.from([Buffer.from(ciphertext)]), t, out, { signal: ac.signal });
    await held.asked;
    ac.abort();
    expect(isStop(await settled(piping)), 'stopped at once').toBe(true);
    expect(isStop(await settled(t.header)), 'stopped at once').toBe(true);
    held.answer();
    await turns();
    expect(pushed).toEqual([]);
    expect(received).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(isStop(errors[0])).toBe(true);
    expect(closes()).toBe(1);
  });

  it('mid-frame (a frame split across chunks): AbortError; what came out is whole verified frames only', async () => {
    const F = 400;
    const plaintext = pattern(5 * F + 7, 2);
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: F });
    const frames = parse(ciphertext).frames;
    // Up to the middle of frame 2.
    const cut = frames[2]!.start + 100;
    const ac = new AbortController();
    const { source, atGate, go } = pausedSource([ciphertext.subarray(0, cut)], [ciphertext.subarray(cut)]);
    const t = createDecryptStream({ keyring });
    const { pushed } = watched(t);
    const { sink: out, received } = collectingSink();
    const piping = pipeline(source, t, out, { signal: ac.signal });
    await atGate;
    await turns();
    ac.abort();
    expect(isStop(await settled(piping)), 'stopped at once').toBe(true);
    go();
    await turns();
    expect(bytesEqual(concat(...pushed), plaintext.subarray(0, 2 * F))).toBe(true);
    expect(concat(...received).length).toBeLessThanOrEqual(2 * F);
  });

  it('a signed message waiting for its signature: AbortError; the withheld frames are never released and are zeroed', async () => {
    const F = 64;
    const plaintext = pattern(3 * F + 22, 6);
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: F, suite: SIGNED });
    const { opened } = recordKeys();
    const ac = new AbortController();
    // Everything but the last 10 signature bytes: the final frame has verified and is withheld.
    const { source, atGate, go } = pausedSource([ciphertext.subarray(0, ciphertext.length - 10)], [ciphertext.subarray(ciphertext.length - 10)]);
    const t = createDecryptStream({ keyring });
    const { pushed } = watched(t);
    const piping = pipeline(source, t, sink(), { signal: ac.signal });
    await atGate;
    await turns();
    const final = opened.filter((b) => b.length === 22);
    expect(final).toHaveLength(1);
    expect(zero(final[0]!)).toBe(false);
    ac.abort();
    expect(isStop(await settled(piping)), 'stopped at once').toBe(true);
    go();
    await turns();
    // The regular frames were released as the frames after them verified; the final frame never.
    expect(bytesEqual(concat(...pushed), plaintext.subarray(0, 3 * F))).toBe(true);
    expect(zero(final[0]!)).toBe(true);
    expect((await t.header).frameLength).toBe(F);
  });
});

describe('createDecryptStream and createRewrapStream destroyed or aborted while the keyring is asked', () => {
  it.each([
    ['decrypt', (k: Keyring) => createDecryptStream({ keyring: k })],
    ['rewrap', (k: Keyring) => createRewrapStream({ keyring: k, to: newKey })],
  ])('%s: destroy() closes once, never errors when the keyring fails later, pushes nothing; a pipeline abort is AbortError', async (_name, make) => {
    const { ciphertext } = await encrypt(pattern(3000), { keyring, frameLength: 500 });
    for (const outcome of ['fail', 'answer'] as const) {
      const held = heldKeyring();
      const t = make(held.keyring);
      const { pushed, errors, closes } = watched(t);
      t.write(ciphertext);
      await held.asked;
      t.destroy();
      await turns();
      expect(closes(), outcome).toBe(1);
      held[outcome]();
      await turns();
      expect(errors, outcome).toEqual([]);
      expect(pushed, outcome).toEqual([]);
      expect(await settled(t.header), outcome).toMatchObject({ code: 'ERR_STATE' });
    }
    const held = heldKeyring();
    const ac = new AbortController();
    const t = make(held.keyring);
    const { pushed } = watched(t);
    const piping = pipeline(Readable.from([Buffer.from(ciphertext)]), t, sink(), { signal: ac.signal });
    await held.asked;
    ac.abort();
    expect(isStop(await settled(piping)), 'stopped at once').toBe(true);
    held.answer();
    await turns();
    expect(pushed).toEqual([]);
  });
});

describe('a consumer that stops reading', () => {
  /**
   * Pipes an endless source through `transforms` into a sink that takes one chunk and never
   * calls back; returns how many bytes were pulled from the source once it stopped being pulled.
   */
  async function pulledWhenStalled(first: Uint8Array | undefined, body: () => Uint8Array, transforms: Transform[]): Promise<number> {
    let pulled = 0;
    let sentFirst = first === undefined;
    const source = new Readable({
      highWaterMark: 64 * 1024,
      read() {
        const chunk = sentFirst ? body() : (sentFirst = true, first!);
        pulled += chunk.length;
        this.push(chunk);
      },
    });
    const stalled = new Writable({ write: () => undefined });
    const streams = [source, ...transforms, stalled] as const;
    pipeline(streams as unknown as [Readable, Writable]).catch(() => undefined);
    let last = -1;
    // Until the source is no longer pulled (or far too much was: a stream that ignored backpressure).
    for (let quiet = 0; quiet < 30 && pulled < 64 * 1024 * 1024; ) {
      await turns(5);
      quiet = pulled === last ? quiet + 1 : 0;
      last = pulled;
    }
    for (const s of streams) s.destroy();
    return pulled;
  }

  it('encrypt then decrypt: a few frames are pulled, not the source', async () => {
    const chunk = pattern(64 * 1024, 1);
    const pulled = await pulledWhenStalled(undefined, () => chunk.slice(), [createEncryptStream({ keyring }), createDecryptStream({ keyring })]);
    // Queues: the source (64 KiB), encrypt (two frames each side), decrypt (128 KiB each side), the sink's one chunk.
    expect(pulled).toBeLessThan(1024 * 1024);
  });

  it('rewrap: the same', async () => {
    // A message of up to 2^32 frames: the body is an endless run of regular frames.
    const F = 4096;
    const { ciphertext } = await encrypt(pattern(2 * F), { keyring, frameLength: F });
    const frames = parse(ciphertext).frames;
    const head = ciphertext.subarray(0, frames[0]!.start);
    const frame = ciphertext.subarray(frames[0]!.start, frames[1]!.start);
    const sixteen = concat(...Array.from({ length: 16 }, () => frame));
    const pulled = await pulledWhenStalled(head, () => sixteen.slice(), [createRewrapStream({ keyring, to: newKey })]);
    expect(pulled).toBeLessThan(1024 * 1024);
  });
});

describe('writes that are not bytes, and writes after end', () => {
  const makers: [string, () => Transform][] = [
    ['encrypt', () => createEncryptStream({ keyring })],
    ['decrypt', () => createDecryptStream({ keyring })],
    ['rewrap', () => createRewrapStream({ keyring, to: newKey })],
  ];

  it.each(makers)('%s: numbers, objects, ArrayBuffers and null throw a TypeError from write(); the stream is not broken by it', async (_name, make) => {
    const t = make();
    const { errors } = watched(t);
    for (const value of [42, { length: 3 }, new ArrayBuffer(4), [1, 2]]) {
      expect(() => t.write(value)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }));
    }
    expect(() => t.write(null)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_STREAM_NULL_VALUES' }));
    await turns();
    expect(errors).toEqual([]);
    expect(t.destroyed).toBe(false);
    t.destroy();
  });

  it.each(makers)('%s: a write after end() fails with ERR_STREAM_WRITE_AFTER_END', async (name, make) => {
    const t = make();
    const { errors } = watched(t);
    t.resume();
    t.end();
    let written: unknown;
    t.write(new Uint8Array(3), (err) => (written = err));
    await turns();
    expect(written).toMatchObject({ code: 'ERR_STREAM_WRITE_AFTER_END' });
    // An empty message is no message: decrypt and rewrap had already failed with ERR_TRUNCATED.
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual([name === 'encrypt' ? 'ERR_STREAM_WRITE_AFTER_END' : 'ERR_TRUNCATED']);
  });
});

describe('empty and one-byte input', () => {
  const run = async (t: Transform, input: Uint8Array[]): Promise<{ out: Uint8Array; code: string }> => {
    const out: Uint8Array[] = [];
    const code = await pipeline(Readable.from(input.map((b) => Buffer.from(b)), { objectMode: false }), t, new Writable({ write: (c: Uint8Array, _e, cb) => (out.push(c), cb()) })).then(
      () => 'OK',
      (e: unknown) => (e as { code?: string }).code ?? String(e),
    );
    return { out: concat(...out), code };
  };

  it('encrypt: an empty message and a one-byte one, which decrypt', async () => {
    for (const input of [[], [Uint8Array.of(7)]]) {
      const { out, code } = await run(createEncryptStream({ keyring }), input);
      expect(code).toBe('OK');
      const back = await run(createDecryptStream({ keyring }), [out]);
      expect(back.code).toBe('OK');
      expect(back.out).toEqual(concat(...input));
    }
  });

  it.each([
    ['decrypt', () => createDecryptStream({ keyring })],
    ['rewrap', () => createRewrapStream({ keyring, to: newKey })],
  ])('%s: no input or one byte of the magic is ERR_TRUNCATED, one other byte ERR_FORMAT_INVALID; nothing comes out', async (_name, make) => {
    expect(await run(make(), [])).toEqual({ out: new Uint8Array(0), code: 'ERR_TRUNCATED' });
    expect(await run(make(), [Uint8Array.of(0x53)])).toEqual({ out: new Uint8Array(0), code: 'ERR_TRUNCATED' });
    expect(await run(make(), [Uint8Array.of(0x00)])).toEqual({ out: new Uint8Array(0), code: 'ERR_FORMAT_INVALID' });
  });
});

describe('a source that fails', () => {
  it('fails the pipeline with its error; the destination gets nothing after it', async () => {
    const F = 1000;
    const { ciphertext } = await encrypt(pattern(20 * F), { keyring, frameLength: F });
    const network = new Error('network');
    let failedAt = -1;
    const received: number[] = [];
    const source = new Readable({
      read() {
        this.push(Buffer.from(ciphertext.subarray(0, ciphertext.length - 3 * F)));
        setImmediate(() => {
          failedAt = received.length;
          this.destroy(network);
        });
      },
    });
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Uint8Array, _e, cb) {
        received.push(chunk.length);
        setImmediate(cb);
      },
    });
    await expect(pipeline(source, createDecryptStream({ keyring }), slow)).rejects.toBe(network);
    await turns();
    expect(failedAt).toBeGreaterThanOrEqual(0);
    expect(received.length).toBeLessThanOrEqual(failedAt + 1);
  });
});

describe('for await over a decrypt stream, left early', () => {
  it('destroys it: closes once, a signed message\'s withheld frame is never released and is zeroed', async () => {
    const F = 5000;
    const plaintext = pattern(3 * F + 22, 8);
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: F, suite: SIGNED });
    const { opened } = recordKeys();
    const t = createDecryptStream({ keyring });
    const { pushed, errors, closes } = watched(t);
    // The signature's last bytes never arrive: the final frame stays withheld.
    t.write(ciphertext.subarray(0, ciphertext.length - 10));
    let first: Uint8Array | undefined;
    for await (const chunk of t) {
      first = chunk as Uint8Array;
      break;
    }
    await turns();
    expect(t.destroyed).toBe(true);
    expect(closes()).toBe(1);
    // Node's async iterator destroys the stream with an AbortError when the loop is left early.
    expect(errors.map((e) => (e as Error).name)).toEqual(['AbortError']);
    expect((await t.header).frameLength).toBe(F);
    // Whole regular frames (Node's read() joins what is queued), never the final frame.
    expect(first!.length % F).toBe(0);
    expect(first!.length).toBeGreaterThan(0);
    expect(bytesEqual(first!, plaintext.subarray(0, first!.length))).toBe(true);
    expect(pushed.every((p) => p.length === F)).toBe(true);
    const final = opened.filter((b) => b.length === 22);
    expect(final).toHaveLength(1);
    expect(zero(final[0]!)).toBe(true);
  });
});

describe('many streams in one process', () => {
  it('add no listeners that pile up (no MaxListenersExceededWarning), one after another and side by side', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const plaintext = pattern(3000, 1);
      const once_ = async (signal?: AbortSignal): Promise<void> => {
        const sealed: Uint8Array[] = [];
        await pipeline(Readable.from([Buffer.from(plaintext)]), createEncryptStream({ keyring, frameLength: 500 }), createRewrapStream({ keyring, to: newKey }), new Writable({ write: (c: Uint8Array, _e, cb) => (sealed.push(c), cb()) }), { signal });
        const out: Uint8Array[] = [];
        await pipeline(Readable.from([Buffer.from(concat(...sealed))]), createDecryptStream({ keyring: newKey }), new Writable({ write: (c: Uint8Array, _e, cb) => (out.push(c), cb()) }), { signal });
        expect(bytesEqual(concat(...out), plaintext)).toBe(true);
      };
      for (let i = 0; i < 100; i++) await once_(i % 2 === 0 ? new AbortController().signal : undefined);
      await Promise.all(Array.from({ length: 40 }, () => once_(new AbortController().signal)));
      // Streams destroyed before their end, too.
      for (let i = 0; i < 40; i++) {
        for (const t of [createEncryptStream({ keyring }), createDecryptStream({ keyring }), createRewrapStream({ keyring, to: newKey })]) {
          t.write(pattern(10));
          t.destroy();
        }
      }
      await turns();
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});
