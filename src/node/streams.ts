import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { MaybePromise } from '../crypto/aead.js';
import { SealboxError } from '../errors.js';
import type { MessageHeader } from '../format/header.js';
import type { DecryptOptions, EncryptOptions, EncryptPlan } from '../message/prologue.js';
import type { EncryptSession } from '../message/encrypt-session.js';
import { beginEncryption, planDecryption, planEncryption } from '../message/prologue.js';
import type { DecryptFramer } from '../stream/decrypt-framer.js';
import type { Gatherer } from '../stream/decrypt-stream.js';
import { createDecryptFramer, gatherSmall, headerPromise, stoppedBeforeHeader } from '../stream/decrypt-stream.js';
import { EncryptFramer } from '../stream/encrypt-framer.js';

/**
 * A failure as a Node stream callback can report it. Node reads a falsy error (`undefined`,
 * `null`, `0`, `''`) as success, and a custom materials manager (or the keyring behind it) may
 * reject with one: the stream then went on as if it had not failed (a decrypt stream reported
 * ERR_STATE at its next step, an encrypt stream a TypeError from inside Sealbox). Such a value
 * becomes ERR_KEYRING with the value as its cause; anything else is passed on as it is.
 */
export function failure(err: unknown): Error {
  if (err) return err as Error;
  return new SealboxError('ERR_KEYRING', `Failed with ${JSON.stringify(err) ?? String(err)} instead of an Error (a materials manager or keyring)`, { cause: err });
}

/** Runs one framer step and reports to a Node stream callback, synchronously when it can. */
export function settle(step: () => MaybePromise<void>, callback: TransformCallback, onError?: (err: unknown) => void): void {
  let r: MaybePromise<void>;
  try {
    r = step();
  } catch (err) {
    const error = failure(err);
    onError?.(error);
    callback(error);
    return;
  }
  if (r instanceof Promise) {
    r.then(
      () => callback(),
      (err: unknown) => {
        const error = failure(err);
        onError?.(error);
        callback(error);
      },
    );
  } else {
    callback();
  }
}

/** Chunks at least this large are sealed or opened in a later turn (see {@link later}). */
const DEFER_BYTES = 16 * 1024;

/**
 * Runs the crypto for a large chunk from `setImmediate` instead of inside `write()`. Inside
 * `write()` it would run before the source stream gets to ask for its next chunk, so a file read
 * (on libuv's thread pool) and the encryption of the chunk before it would take turns instead of
 * overlapping; deferring let a 256 MiB createReadStream -> Transform -> createWriteStream
 * pipeline go from ~870 ms to ~690 ms here. The writable side holds two chunks (about two
 * frames) so that the source is not paused meanwhile. Small chunks are only copied into the
 * frame buffer: they run at once. A stream destroyed meanwhile skips the chunk.
 */
function later(stream: Transform, chunk: unknown, callback: TransformCallback, run: () => void): void {
  if (chunk instanceof Uint8Array && chunk.length >= DEFER_BYTES) setImmediate(() => (stream.destroyed ? callback() : run()));
  else run();
}

export function checkChunk(chunk: unknown): Uint8Array {
  if (!(chunk instanceof Uint8Array)) throw new TypeError(`"chunk" expected Buffer or Uint8Array, got ${typeof chunk}`);
  return chunk;
}

/**
 * A Node Transform that encrypts the bytes written to it into one Sealbox message: the same
 * framer (and the same output bytes) as `encryptStream` and one-shot `encrypt`. Made by
 * {@link createEncryptStream}; the class is exported for `instanceof` and its `header` promise.
 *
 * @example
 * ```ts
 * const encryptor = createEncryptStream({ keyring });
 * await pipeline(createReadStream('in.bin'), encryptor, createWriteStream('in.bin.sbx'));
 * console.log((await encryptor.header).messageId);
 * ```
 * @throws TypeError/RangeError for bad options, SealboxError ERR_ENCRYPTION_CONTEXT_INVALID /
 * ERR_LIMIT_EXCEEDED for a bad encryption context (constructor). The stream errors with
 * SealboxError ERR_KEYRING, ERR_LIMIT_EXCEEDED (too many frames), ERR_STATE, and TypeError for
 * a chunk that is not a Uint8Array, or whose buffer is detached or shrunk before it is sealed.
 */
export class EncryptTransform extends Transform {
  /**
   * Resolves with the header once the data key is wrapped. Rejects with the stream's error, or,
   * when it is destroyed first, with the destroy error (ERR_STATE without one).
   */
  readonly header: Promise<MessageHeader>;
  readonly #plan: EncryptPlan;
  readonly #messageId: Uint8Array | undefined;
  readonly #headerPromise = headerPromise();
  #framer: EncryptFramer | undefined;
  /** Settles once the materials manager has answered: resolves when the framer is made, rejects with the stream's error. */
  #ready: Promise<void> = Promise.resolve();

  /** @internal Use {@link createEncryptStream}. */
  constructor(options: EncryptOptions, messageId?: Uint8Array) {
    const plan = planEncryption(options);
    // Buffer about two frames on each side: memory stays a few frames whatever the consumer does.
    super({ writableHighWaterMark: 2 * plan.frameLength + 1, readableHighWaterMark: 2 * plan.frameLength });
    this.#plan = plan;
    this.#messageId = messageId;
    this.header = this.#headerPromise.promise;
  }

  /**
   * Asks the materials manager, but reports the stream constructed at once: Node holds back
   * `_destroy` until `_construct`'s callback, so a stream destroyed (or a pipeline aborted) while
   * the keyring was asked stayed open until it answered, and a keyring failing after a plain
   * `destroy()` then emitted 'error' (an uncaught exception without a listener). Writes and the
   * end wait for the answer instead; a failure destroys the stream with it, as before.
   */
  override _construct(callback: (error?: Error | null) => void): void {
    // Node calls this also for a stream destroyed as soon as it was made: no keyring call then.
    if (this.destroyed) return callback();
    // A promise whatever beginEncryption does (it may answer at once, or throw at once).
    this.#ready = new Promise<EncryptSession>((resolve) => resolve(beginEncryption(this.#plan, undefined, this.#messageId))).then(
      (session) => {
        if (this.destroyed) return; // stopped meanwhile: the session is dropped unused
        this.#framer = new EncryptFramer(session);
        this.#headerPromise.resolve(session.header);
      },
      (err: unknown) => {
        const error = failure(err);
        this.#headerPromise.reject(error);
        this.destroy(error); // no-op when already destroyed: a stopped stream reports nothing more
        throw error;
      },
    );
    this.#ready.catch(() => undefined);
    callback();
  }

  /** Runs `step` with the framer once the keyring has answered; a stream destroyed meanwhile skips it. */
  #withFramer(callback: TransformCallback, step: (framer: EncryptFramer) => void): void {
    const framer = this.#framer;
    if (framer !== undefined) step(framer);
    else this.#ready.then(() => (this.#framer === undefined ? callback() : step(this.#framer)), callback);
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#withFramer(callback, (framer) => later(this, chunk, callback, () => settle(() => framer.push(checkChunk(chunk), (bytes) => this.push(bytes)), callback)));
  }

  override _flush(callback: TransformCallback): void {
    this.#withFramer(callback, (framer) => settle(() => framer.finish((bytes) => this.push(bytes)), callback));
  }

  /** Destroyed (by the caller, or by a pipeline): the plaintext of a partly filled frame is zeroed, and a header not yet made rejects. */
  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#framer?.abort();
    this.#headerPromise.reject(stoppedBeforeHeader(err ?? undefined));
    callback(err);
  }
}

/**
 * A Node Transform that decrypts one Sealbox message. Each frame's plaintext is pushed only
 * after its tag verifies; the stream errors with ERR_TRUNCATED when input ends before the
 * final frame and ERR_TRAILING_DATA when bytes follow it (see docs/streaming.md for what was
 * already released then). Made by {@link createDecryptStream}.
 *
 * @example
 * ```ts
 * const decryptor = createDecryptStream({ keyring, expectedEncryptionContext: { tenant: 'acme' } });
 * await pipeline(createReadStream('in.bin.sbx'), decryptor, createWriteStream('in.bin'));
 * ```
 * @throws TypeError/RangeError for bad options (constructor). The stream errors with
 * SealboxError ERR_FORMAT_INVALID, ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED,
 * ERR_ENCRYPTION_CONTEXT_MISMATCH, ERR_NO_MATCHING_KEY, ERR_KEYRING, ERR_COMMITMENT_MISMATCH,
 * ERR_DECRYPTION_FAILED, ERR_TRUNCATED, ERR_TRAILING_DATA, ERR_SIGNATURE_POLICY, ERR_STATE. A signed
 * message's last frame with plaintext (the final frame, or the last regular frame when the final
 * frame is empty) is pushed only after its signature verifies (docs/streaming.md).
 */
export class DecryptTransform extends Transform {
  /**
   * Resolves with the authenticated header before the first plaintext byte. Rejects with the
   * stream's error, or, when it is destroyed first, with the destroy error (ERR_STATE without one).
   */
  readonly header: Promise<MessageHeader>;
  readonly #framer: DecryptFramer;
  readonly #reject: (err: unknown) => void;
  /** Small frames' plaintext, gathered into larger arrays (see gatherSmall). */
  readonly #out: Gatherer;

  /** @internal Use {@link createDecryptStream}. */
  constructor(options: DecryptOptions) {
    const plan = planDecryption(options);
    super({ writableHighWaterMark: 2 * 64 * 1024 + 1, readableHighWaterMark: 128 * 1024 });
    const h = headerPromise();
    this.header = h.promise;
    this.#reject = h.reject;
    this.#framer = createDecryptFramer(plan, h.resolve);
    this.#out = gatherSmall((bytes) => this.push(bytes));
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    // What the chunk's frames released goes out before the callback, also when a later frame failed.
    const done: TransformCallback = (err) => {
      this.#out.flush();
      callback(err);
    };
    later(this, chunk, callback, () => settle(() => this.#framer.push(checkChunk(chunk), this.#out.emit), done, this.#reject));
  }

  override _flush(callback: TransformCallback): void {
    settle(() => this.#framer.finish(), callback, this.#reject);
  }

  /** Destroyed (by the caller, or by a pipeline whose source failed): nothing more is released, and a header not yet read rejects. */
  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#framer.abort();
    this.#out.drop();
    this.#reject(stoppedBeforeHeader(err ?? undefined));
    callback(err);
  }
}

/**
 * Creates a Node Transform stream that encrypts into one Sealbox message, for
 * `stream.pipeline`.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises';
 * import { createReadStream, createWriteStream } from 'node:fs';
 * import { createEncryptStream } from 'sealbox/node';
 * await pipeline(createReadStream('in.bin'), createEncryptStream({ keyring }), createWriteStream('in.bin.sbx'));
 * ```
 * @throws TypeError/RangeError for bad options, SealboxError ERR_ENCRYPTION_CONTEXT_INVALID /
 * ERR_LIMIT_EXCEEDED for a bad encryption context (synchronously). The stream errors with
 * SealboxError ERR_KEYRING, ERR_LIMIT_EXCEEDED (too many frames).
 */
export function createEncryptStream(options: EncryptOptions): EncryptTransform {
  return new EncryptTransform(options);
}

/**
 * Creates a Node Transform stream that decrypts one Sealbox message, for `stream.pipeline`.
 *
 * @example
 * ```ts
 * await pipeline(createReadStream('in.bin.sbx'), createDecryptStream({ keyring }), createWriteStream('in.bin'));
 * ```
 * @throws TypeError/RangeError for bad options (synchronously). The stream errors with
 * SealboxError ERR_FORMAT_INVALID, ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED,
 * ERR_ENCRYPTION_CONTEXT_MISMATCH, ERR_NO_MATCHING_KEY, ERR_KEYRING, ERR_COMMITMENT_MISMATCH,
 * ERR_DECRYPTION_FAILED (a tag or a signed message's signature), ERR_TRUNCATED, ERR_TRAILING_DATA,
 * ERR_SIGNATURE_POLICY.
 */
export function createDecryptStream(options: DecryptOptions): DecryptTransform {
  return new DecryptTransform(options);
}
