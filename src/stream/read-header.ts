import { copyBytes, ownView } from '../crypto/bytes.js';
import { SealboxError } from '../errors.js';
import type { MessageHeader } from '../format/header.js';
import { decodeHeader, readPreamble } from '../format/header.js';
import { PREAMBLE_BYTES } from '../limits.js';
import type { DecryptOptions } from '../message/prologue.js';
import { headerLimits, signingKeyVerifier } from '../message/prologue.js';

/** Where {@link readHeader} reads from. */
export type HeaderSource = Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** Limits {@link readHeader} applies; the same defaults as decrypt. */
export type ReadHeaderOptions = Pick<DecryptOptions, 'maxEncryptedDataKeys' | 'maxFrameLength' | 'maxHeaderBytes'>;

async function* chunksOf(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (typeof (source as ReadableStream<Uint8Array>).getReader === 'function') {
    const reader = (source as ReadableStream<Uint8Array>).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      // Leave the rest unread but unlocked: the caller may still cancel or read it.
      reader.releaseLock();
    }
  }
  yield* source as AsyncIterable<Uint8Array>;
}

/** SPEC §8.1 stage 7 on a decoded header: a signed message's public key (rules 39, 40). */
async function checked(header: MessageHeader): Promise<MessageHeader> {
  await signingKeyVerifier(header);
  return header;
}

/**
 * Reads and validates only a message's header: version, suite, message id, encryption
 * context, EDK providers and frame length, with the same strict decoding and limits as
 * decrypt, and without asking any keyring. For routing a message to the right key, or
 * inspecting it. The header tag is NOT checked (that needs the data key): treat the result as
 * unauthenticated until a decrypt succeeds.
 *
 * A ReadableStream is read only as far as the header (plus the rest of the chunk it ends in)
 * and its lock is released; use `stream.tee()` first if the whole message is needed
 * afterwards. An async iterable is closed (its `return()` is called) once the header is read.
 * The header is decoded from a copy (a `Uint8Array` source in a SharedArrayBuffer could
 * otherwise change while it is decoded).
 *
 * @example
 * ```ts
 * const header = await readHeader(response.body!);
 * const providers = header.encryptedDataKeys.map((edk) => edk.providerId);
 * header.suite.signed; // true for a signed message (suite 2): decrypt will verify its signature
 * ```
 * @throws SealboxError ERR_FORMAT_INVALID, ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED,
 * ERR_TRUNCATED (the source ends inside the header). A signed message's public key is checked
 * as decrypt checks it before asking a keyring (SPEC rules 39 and 40: canonical text, a point of
 * P-384; ERR_FORMAT_INVALID). TypeError for a bad source.
 */
export async function readHeader(source: HeaderSource, options: ReadHeaderOptions = {}): Promise<MessageHeader> {
  const limits = headerLimits(options);
  if (source instanceof Uint8Array) {
    const bytes = ownView('source', source, false);
    const end = readPreamble(bytes, limits.maxHeaderBytes);
    if (end === undefined || bytes.length < end) throw new SealboxError('ERR_TRUNCATED', 'The message ends inside its header');
    // Decoded from our own copy: another thread writing a SharedArrayBuffer could otherwise
    // change a length or a context between its check and its use.
    return checked(decodeHeader(copyBytes(bytes.subarray(0, end)), limits));
  }
  const isStream = typeof source === 'object' && source !== null && typeof (source as ReadableStream).getReader === 'function';
  const isIterable = typeof source === 'object' && source !== null && typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function';
  if (!isStream && !isIterable) throw new TypeError('"source" expected a Uint8Array, a ReadableStream or an async iterable of Uint8Array');

  // The preamble arrives first (8 bytes); only then is the declared header length, already
  // checked against the limit, allocated.
  let buffer = new Uint8Array(PREAMBLE_BYTES);
  let filled = 0;
  let total: number | undefined;
  for await (const chunk of chunksOf(source)) {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('"source" chunks expected Uint8Array');
    let pos = 0;
    while (pos < chunk.length) {
      const need = (total ?? PREAMBLE_BYTES) - filled;
      const take = Math.min(need, chunk.length - pos);
      buffer.set(chunk.subarray(pos, pos + take), filled);
      filled += take;
      pos += take;
      if (total === undefined) {
        total = readPreamble(buffer.subarray(0, filled), limits.maxHeaderBytes);
        if (total !== undefined) {
          const grown = new Uint8Array(total);
          grown.set(buffer.subarray(0, filled));
          buffer = grown;
        }
      }
      if (total !== undefined && filled === total) return checked(decodeHeader(buffer, limits));
    }
  }
  throw new SealboxError('ERR_TRUNCATED', 'The message ends inside its header');
}
