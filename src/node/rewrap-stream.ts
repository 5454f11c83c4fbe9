import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { MessageHeader } from '../format/header.js';
import type { RewrapOptions } from '../message/rewrap-session.js';
import { headerPromise, stoppedBeforeHeader } from '../stream/decrypt-stream.js';
import { RewrapFramer } from '../stream/rewrap-framer.js';
import { checkChunk, settle } from './streams.js';

/**
 * A Node Transform that rewraps one Sealbox message: the same framer as `rewrapStream`. Made by
 * {@link createRewrapStream}; the class is exported for `instanceof` and its `header` promise.
 */
export class RewrapTransform extends Transform {
  /** Resolves with the new header once the old one is authenticated and rewrapped; rejects as `DecryptTransform`'s header. */
  readonly header: Promise<MessageHeader>;
  readonly #framer: RewrapFramer;
  readonly #reject: (err: unknown) => void;

  /** @internal Use {@link createRewrapStream}. */
  constructor(options: RewrapOptions) {
    const h = headerPromise();
    const framer = new RewrapFramer(options, h.resolve);
    super({ writableHighWaterMark: 2 * 64 * 1024 + 1, readableHighWaterMark: 128 * 1024 });
    this.header = h.promise;
    this.#reject = h.reject;
    this.#framer = framer;
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    settle(() => this.#framer.push(checkChunk(chunk), (bytes) => this.push(bytes)), callback, this.#reject);
  }

  override _flush(callback: TransformCallback): void {
    settle(() => this.#framer.finish(), callback, this.#reject);
  }

  /** Destroyed (by the caller, or by a pipeline whose source failed): a header not yet emitted never is, and the header promise rejects. */
  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#framer.abort();
    this.#reject(stoppedBeforeHeader(err ?? undefined));
    callback(err);
  }
}

/**
 * Creates a Node Transform stream that rewraps one Sealbox message (see `rewrapStream`): the
 * old header is authenticated and replaced, the body passed through unchanged while its frame
 * structure is walked. For bodies that are not files; for files use `rewrapFile`.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises';
 * import { createRewrapStream } from 'sealbox/node';
 * await pipeline(s3Body, createRewrapStream({ keyring: oldKey, to: newKey }), uploadStream);
 * ```
 * @throws TypeError/RangeError for bad options (synchronously). The stream errors with
 * SealboxError ERR_FORMAT_INVALID, ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED,
 * ERR_ENCRYPTION_CONTEXT_MISMATCH, ERR_NO_MATCHING_KEY, ERR_KEYRING, ERR_COMMITMENT_MISMATCH,
 * ERR_DECRYPTION_FAILED, ERR_TRUNCATED, ERR_TRAILING_DATA.
 */
export function createRewrapStream(options: RewrapOptions): RewrapTransform {
  return new RewrapTransform(options);
}
