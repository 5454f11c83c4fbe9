import type { MessageHeader } from '../format/header.js';
import type { RewrapOptions } from '../message/rewrap-session.js';
import { framerTransform, headerPromise } from './decrypt-stream.js';
import { RewrapFramer } from './rewrap-framer.js';

/** A TransformStream from a Sealbox message to the same message rewrapped, with its new header. */
export interface RewrapStream extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * Resolves with the new header once the old one is authenticated and rewrapped; rejects if
   * that fails, or if the stream is cancelled or aborted first (as `decryptStream`'s header).
   */
  readonly header: Promise<MessageHeader>;
}

/**
 * `rewrap` for a message arriving as a stream (Web Streams: Node and browsers), for bodies that
 * are not files (an upload, an object store's response). The old header is authenticated
 * completely before the new one is emitted; then the body is passed through unchanged while its
 * frame structure is walked. A body cut short errors the stream with ERR_TRUNCATED at its end,
 * and bytes after the final frame with ERR_TRAILING_DATA: treat what was written before an error
 * as unusable (write to a temporary object and commit it only when the stream closes normally).
 * Frame tags are not checked (`verifyFrames` is refused with a TypeError here).
 *
 * @example
 * ```ts
 * const rw = rewrapStream({ keyring: oldKey, to: newKey });
 * await download.pipeThrough(rw).pipeTo(upload);
 * ```
 * @throws TypeError/RangeError for bad options (synchronously). The stream errors as `rewrap`
 * fails: ERR_FORMAT_INVALID, ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED,
 * ERR_ENCRYPTION_CONTEXT_MISMATCH, ERR_NO_MATCHING_KEY, ERR_KEYRING, ERR_COMMITMENT_MISMATCH,
 * ERR_DECRYPTION_FAILED, ERR_TRUNCATED, ERR_TRAILING_DATA.
 */
export function rewrapStream(options: RewrapOptions): RewrapStream {
  const header = headerPromise();
  const framer = new RewrapFramer(options, header.resolve);
  const stream = framerTransform(framer, header.reject);
  return Object.assign(stream, { header: header.promise });
}
