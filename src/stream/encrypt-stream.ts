import { assertBytes } from '../crypto/bytes.js';
import type { MessageHeader } from '../format/header.js';
import type { EncryptSession } from '../message/encrypt-session.js';
import type { EncryptOptions } from '../message/prologue.js';
import { beginEncryption, planEncryption } from '../message/prologue.js';
import { chunkBytes, headerPromise } from './decrypt-stream.js';
import { EncryptFramer } from './encrypt-framer.js';

/** A TransformStream from plaintext to a Sealbox message, with the header it writes. */
export interface EncryptionStream extends TransformStream<Uint8Array, Uint8Array> {
  /** Resolves with the header once the data key is wrapped (before the first byte is output). */
  readonly header: Promise<MessageHeader>;
}

/**
 * Encrypts a stream of plaintext chunks into one message (Web Streams: Node >= 18 and
 * browsers). Any chunk sizes give exactly the bytes one-shot `encrypt` would write with the
 * same data key and message id. Holds at most one frame of plaintext beyond the chunk being
 * written, and respects the readable side's backpressure.
 *
 * @example
 * ```ts
 * const enc = encryptStream({ keyring, encryptionContext: { file: 'report.pdf' } });
 * await fileStream.pipeThrough(enc).pipeTo(uploadStream);
 * const header = await enc.header;
 * ```
 * @throws TypeError/RangeError for bad options, SealboxError ERR_ENCRYPTION_CONTEXT_INVALID /
 * ERR_LIMIT_EXCEEDED for a bad encryption context (synchronously). The stream errors with
 * SealboxError ERR_KEYRING, ERR_LIMIT_EXCEEDED (too many frames), or a TypeError for a chunk
 * that is not a Uint8Array, or whose buffer is detached or shrunk before its frames are sealed.
 */
export function encryptStream(options: EncryptOptions): EncryptionStream {
  return createEncryptionStream(options);
}

/**
 * {@link encryptStream} with an optional fixed message id. Internal (not exported from the
 * package): tests use it to compare streams with one-shot output byte for byte.
 */
export function createEncryptionStream(options: EncryptOptions, messageId?: Uint8Array): EncryptionStream {
  const plan = planEncryption(options);
  let framer: EncryptFramer | undefined;
  const header = headerPromise();

  const stream = new TransformStream<Uint8Array, Uint8Array>(
    {
      async start() {
        let session: EncryptSession;
        try {
          session = await beginEncryption(plan, undefined, messageId);
        } catch (err) {
          header.reject(err);
          throw err;
        }
        framer = new EncryptFramer(session);
        header.resolve(session.header);
      },
      transform(chunk, controller) {
        assertBytes('chunk', chunk);
        const r = (framer as EncryptFramer).push(chunk, (bytes) => controller.enqueue(bytes));
        return r instanceof Promise ? r : undefined;
      },
      flush(controller) {
        const r = (framer as EncryptFramer).finish((bytes) => controller.enqueue(bytes));
        return r instanceof Promise ? r : undefined;
      },
    },
    // Writable side: one frame of plaintext in flight; readable side: about two frames out.
    { highWaterMark: plan.frameLength, size: chunkBytes },
    { highWaterMark: 2 * plan.frameLength, size: chunkBytes },
  );
  return Object.assign(stream, { header: header.promise }) as EncryptionStream;
}
