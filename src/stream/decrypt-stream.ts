import type { MaybePromise } from '../crypto/aead.js';
import { assertBytes, ownByteLength } from '../crypto/bytes.js';
import { SealboxError } from '../errors.js';
import type { MessageHeader } from '../format/header.js';
import type { DecryptOptions, DecryptPlan } from '../message/prologue.js';
import type { DecryptSession } from '../message/decrypt-session.js';
import { acceptHeader, beginDecryption, planDecryption } from '../message/prologue.js';
import { DecryptFramer } from './decrypt-framer.js';
import type { Emit } from './encrypt-framer.js';

/** A TransformStream from a Sealbox message to its plaintext, with the message's header. */
export interface DecryptionStream extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * Resolves with the header once it is authenticated (data key unwrapped, commitment and
   * header tag checked), before the first plaintext byte; rejects if that fails, or if the
   * stream is cancelled or aborted first (with the reason, or ERR_STATE when it is not an
   * Error; in runtimes that call a transformer's `cancel`: Node, not browsers yet).
   */
  readonly header: Promise<MessageHeader>;
}

/** Binds a decrypt framer to a plan; `onHeader` hears of the authenticated header. */
export function createDecryptFramer(plan: DecryptPlan, onHeader?: (header: MessageHeader) => void): DecryptFramer {
  return new DecryptFramer({
    maxHeaderBytes: plan.limits.maxHeaderBytes,
    acceptHeader: (bytes) => acceptHeader(plan, bytes),
    begin: (header, bytes, tag) => new Promise<DecryptSession>((resolve) => resolve(beginDecryption(plan, header, bytes, tag))),
    onHeader,
  });
}

/**
 * Queue size of a chunk in bytes. Not-bytes count as 1 so that they reach `transform`, which
 * rejects them with a TypeError that errors both sides (a throwing size() would error only
 * the writable side and leave readers hanging). The length is read by the intrinsic getter, as
 * `transform` reads the chunk: a subclass's `byteLength` (which may throw or be NaN) is not
 * asked, and a Proxy of a Uint8Array counts as 1 and is refused there.
 */
export function chunkBytes(chunk: unknown): number {
  return chunk instanceof Uint8Array ? (ownByteLength(chunk) ?? 1) : 1;
}

/** Arrays below this many bytes are gathered by {@link gatherSmall}. */
const SMALL_BYTES = 4096;
/** Size of the arrays {@link gatherSmall} gathers into. */
const GATHER_BYTES = 64 * 1024;

/** What {@link gatherSmall} returns. */
export interface Gatherer {
  /** Passes `bytes` on, at once or gathered with the small arrays before and after it. */
  readonly emit: Emit;
  /** Passes on what is gathered. Call it when the step that emitted ends, whether it failed or not. */
  flush(): void;
  /** Forgets what is gathered (zeroed): the stream stopped. */
  drop(): void;
}

/**
 * An emit for a decrypt stream's plaintext that copies arrays under 4 KiB (small frames: the
 * frame length is the sender's choice, down to 1 byte) into arrays of up to 64 KiB before
 * passing them on, in order. The streams' queues count bytes, not arrays: one array per
 * 1-byte frame held about 200 bytes of memory per byte queued (30 MiB for a consumer that
 * stopped reading, and ten times an input chunk while it was opened). Larger arrays pass
 * through as they are, after what was gathered before them.
 */
export function gatherSmall(emit: Emit): Gatherer {
  let buffer: Uint8Array | undefined;
  let filled = 0;
  const flush = (): void => {
    if (filled === 0) return;
    const full = buffer as Uint8Array;
    // A partly filled buffer is passed on as a copy of its bytes (not a view keeping 64 KiB
    // alive for a few bytes of plaintext) and used again.
    const out = filled === full.length ? full : full.slice(0, filled);
    if (out === full) buffer = undefined;
    else full.fill(0, 0, filled);
    filled = 0;
    emit(out);
  };
  return {
    emit(bytes) {
      if (bytes.length >= SMALL_BYTES) {
        flush();
        emit(bytes);
        return;
      }
      if (buffer && filled + bytes.length > buffer.length) flush();
      buffer ??= new Uint8Array(GATHER_BYTES);
      buffer.set(bytes, filled);
      filled += bytes.length;
      if (filled === buffer.length) flush();
    },
    flush,
    drop() {
      buffer?.fill(0);
      buffer = undefined;
      filled = 0;
    },
  };
}

/** A promise that never raises "unhandled rejection" when nobody awaits it. */
export function headerPromise(): { promise: Promise<MessageHeader>; resolve: (h: MessageHeader) => void; reject: (e: unknown) => void } {
  let resolve!: (h: MessageHeader) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<MessageHeader>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Decrypts a Sealbox message arriving as a stream of chunks (Web Streams: Node >= 18 and
 * browsers). Each frame's plaintext is released only after that frame's tag verifies (frames
 * under 4 KiB gathered into arrays of up to 64 KiB, per input chunk); for a
 * signed message (suite 2) the last frame that has plaintext (the final frame, or the last
 * regular frame when the final frame is empty) only after the signature verifies too, each
 * other frame once the frame after it has verified, so the stream never closes normally on a
 * forged message and never releases one whole. A chunk in a SharedArrayBuffer is copied
 * before its frames are opened; any other chunk must not change once written, and one
 * detached or shrunk before its frames are done fails the stream with a TypeError.
 *
 * What a consumer may have received before an error: every frame before the failing point
 * was authenticated on its own, but a stream that errors with ERR_TRUNCATED was cut and its
 * plaintext is incomplete; treat the output as unusable unless the stream closes normally.
 * See docs/streaming.md.
 *
 * @example
 * ```ts
 * const dec = decryptStream({ keyring, expectedEncryptionContext: { file: 'report.pdf' } });
 * await download.pipeThrough(dec).pipeTo(fileSink);
 * // Only signed messages: unsigned ones error with ERR_SIGNATURE_POLICY before any key is used.
 * const signedOnly = decryptStream({ keyring, signaturePolicy: 'require-signed' });
 * ```
 * @throws TypeError/RangeError for bad options (synchronously). The stream errors with
 * SealboxError ERR_FORMAT_INVALID, ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED,
 * ERR_ENCRYPTION_CONTEXT_MISMATCH, ERR_NO_MATCHING_KEY, ERR_KEYRING, ERR_COMMITMENT_MISMATCH,
 * ERR_DECRYPTION_FAILED (a tag, or a signed message's signature), ERR_TRUNCATED (input ended before the
 * final frame or inside the signature), ERR_TRAILING_DATA, ERR_SIGNATURE_POLICY (`signaturePolicy`).
 */
export function decryptStream(options: DecryptOptions): DecryptionStream {
  const plan = planDecryption(options);
  const header = headerPromise();
  const framer = createDecryptFramer(plan, header.resolve);
  const stream = framerTransform(framer, header.reject, true);
  return Object.assign(stream, { header: header.promise }) as DecryptionStream;
}

/**
 * What a header promise rejects with when its stream is destroyed, cancelled or aborted before
 * the header was read: the reason given when it is an Error, else ERR_STATE (with the reason,
 * if any, as its cause).
 */
export function stoppedBeforeHeader(reason: unknown): unknown {
  if (reason instanceof Error) return reason;
  return new SealboxError('ERR_STATE', 'The stream was stopped before its header was read', reason === undefined ? {} : { cause: reason });
}

/**
 * The Web TransformStream around a framer (decrypt, rewrap): chunks are checked and pushed, the
 * end of input declared on flush; any failure errors the stream and goes to `reject` too. A
 * cancelled or aborted stream (the transformer's `cancel`, where the runtime calls it) aborts
 * the framer, so that work under way releases nothing, and rejects a header not yet read.
 * With `gather` (decrypt), small arrays are released gathered ({@link gatherSmall}): what a
 * chunk's frames released before a failure still goes out before the stream errors.
 */
export function framerTransform(
  framer: { push(chunk: Uint8Array, emit: (bytes: Uint8Array) => void): MaybePromise<void>; finish(): void; abort(): void },
  reject: (err: unknown) => void,
  gather = false,
): TransformStream<Uint8Array, Uint8Array> {
  let controller!: TransformStreamDefaultController<Uint8Array>;
  const enqueue = (bytes: Uint8Array): void => controller.enqueue(bytes);
  const out: Gatherer | undefined = gather ? gatherSmall(enqueue) : undefined;
  const emit = out ? out.emit : enqueue;
  const fail = (err: unknown): never => {
    try {
      out?.flush();
    } catch {
      // The stream is already errored or cancelled: its own error stands.
    }
    reject(err);
    throw err;
  };
  return new TransformStream<Uint8Array, Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      transform(chunk) {
        try {
          assertBytes('chunk', chunk);
          const r = framer.push(chunk, emit);
          if (r instanceof Promise) return r.then(() => out?.flush(), fail);
          out?.flush();
          return undefined;
        } catch (err) {
          return fail(err);
        }
      },
      flush() {
        try {
          framer.finish();
        } catch (err) {
          fail(err);
        }
      },
      // The Streams standard's hook for a cancelled readable or an aborted writable (Node calls
      // it; TypeScript's DOM types do not list it yet, and browsers ignore it as yet).
      cancel(reason: unknown) {
        framer.abort();
        out?.drop();
        reject(stoppedBeforeHeader(reason));
      },
    } as Transformer<Uint8Array, Uint8Array>,
    { highWaterMark: 64 * 1024, size: chunkBytes },
    { highWaterMark: 128 * 1024, size: chunkBytes },
  );
}
