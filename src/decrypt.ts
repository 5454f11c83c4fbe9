import type { AeadBackendName } from './crypto/backend.js';
import { getAeadBackend } from './crypto/backend.js';
import { assertBytes } from './crypto/bytes.js';
import { SealboxError } from './errors.js';
import { checkExpectedContext } from './format/context.js';
import { FINAL_FRAME_PREFIX, walkFrames } from './format/frame.js';
import type { HeaderLimits, MessageHeader } from './format/header.js';
import { decodeHeader, readPreamble } from './format/header.js';
import type { EncryptionContext } from './keyring/keyring.js';
import { DEFAULT_MAX_ENCRYPTED_DATA_KEYS, DEFAULT_MAX_FRAME_LENGTH, MAX_FRAME_LENGTH, MAX_HEADER_BYTES, TAG_BYTES } from './limits.js';
import type { KeySource } from './materials/resolve.js';
import { resolveMaterialsManager } from './materials/resolve.js';
import { startDecryption } from './message/decrypt-session.js';

/** Options of {@link decrypt}. Give exactly one of `keyring` or `materialsManager`. */
export interface DecryptOptions extends KeySource {
  /** Pairs the message's encryption context must contain (it may contain more). */
  expectedEncryptionContext?: EncryptionContext;
  /** Refuse headers with more EDKs than this (default 16, at most 255): each may cost a KMS call. */
  maxEncryptedDataKeys?: number;
  /** Refuse frame lengths above this (default 4 MiB, at most 16 MiB): bounds stream memory. */
  maxFrameLength?: number;
  /** Refuse headers larger than this many bytes (default and maximum 1 MiB). */
  maxHeaderBytes?: number;
  /** Force an AES-GCM backend (default: the fastest this runtime has). */
  backend?: AeadBackendName;
}

/** What {@link decrypt} returns. */
export interface DecryptResult {
  readonly plaintext: Uint8Array;
  /** The message's authenticated encryption context. */
  readonly encryptionContext: EncryptionContext;
  readonly header: MessageHeader;
}

/** Decrypt-side limits from options, each checked as a programmer error when out of range. */
export function headerLimits(options: Pick<DecryptOptions, 'maxEncryptedDataKeys' | 'maxFrameLength' | 'maxHeaderBytes'>): HeaderLimits {
  const limit = (name: string, value: number | undefined, dflt: number, max: number): number => {
    if (value === undefined) return dflt;
    if (!Number.isInteger(value) || value < 1 || value > max) throw new RangeError(`"${name}" expected an integer from 1 to ${max}, got ${value}`);
    return value;
  };
  return {
    maxEncryptedDataKeys: limit('maxEncryptedDataKeys', options.maxEncryptedDataKeys, DEFAULT_MAX_ENCRYPTED_DATA_KEYS, 255),
    maxFrameLength: limit('maxFrameLength', options.maxFrameLength, DEFAULT_MAX_FRAME_LENGTH, MAX_FRAME_LENGTH),
    maxHeaderBytes: limit('maxHeaderBytes', options.maxHeaderBytes, MAX_HEADER_BYTES, MAX_HEADER_BYTES),
  };
}

/**
 * Decrypts a whole message. Nothing is returned unless the commitment, the header tag and
 * every frame verify; on any failure the partial output is zeroed.
 *
 * @example
 * ```ts
 * const { plaintext, encryptionContext } = await decrypt(ciphertext, {
 *   keyring,
 *   expectedEncryptionContext: { tenant: 'acme' },
 * });
 * ```
 * @throws SealboxError ERR_FORMAT_INVALID, ERR_UNSUPPORTED_VERSION, ERR_LIMIT_EXCEEDED, ERR_TRUNCATED,
 * ERR_TRAILING_DATA, ERR_ENCRYPTION_CONTEXT_MISMATCH, ERR_NO_MATCHING_KEY, ERR_KEYRING,
 * ERR_COMMITMENT_MISMATCH, ERR_DECRYPTION_FAILED (opaque: any tag failure).
 */
export async function decrypt(ciphertext: Uint8Array, options: DecryptOptions): Promise<DecryptResult> {
  assertBytes('ciphertext', ciphertext);
  const cmm = resolveMaterialsManager(options);
  const limits = headerLimits(options);
  const backend = getAeadBackend(options.backend);

  const headerEnd = readPreamble(ciphertext, limits.maxHeaderBytes);
  if (headerEnd === undefined || ciphertext.length < headerEnd + TAG_BYTES) {
    throw new SealboxError('ERR_TRUNCATED', 'The message ends inside its header');
  }
  const headerBytes = ciphertext.subarray(0, headerEnd);
  const header = decodeHeader(headerBytes, limits);
  checkExpectedContext(header.encryptionContext, options.expectedEncryptionContext);
  const bodyStart = headerEnd + TAG_BYTES;
  // Structure first (public information), so the output can be allocated exactly once.
  const { regular, finalLength } = walkFrames(ciphertext, bodyStart, header.frameLength);

  const materials = await cmm.getDecryptionMaterials({
    suite: header.suite,
    encryptionContext: header.encryptionContext,
    encryptedDataKeys: header.encryptedDataKeys,
  });
  const session = await startDecryption(header, headerBytes, ciphertext.subarray(headerEnd, bodyStart), materials, backend);

  const F = header.frameLength;
  const out = new Uint8Array(regular * F + finalLength);
  let pos = bodyStart;
  try {
    for (let i = 0; i <= regular; i++) {
      const final = i === regular;
      const len = final ? finalLength : F;
      pos += final ? FINAL_FRAME_PREFIX : 1;
      const opened = session.openFrame(i, final, ciphertext.subarray(pos, pos + len + TAG_BYTES));
      out.set(opened instanceof Promise ? await opened : opened, i * F);
      pos += len + TAG_BYTES;
    }
  } catch (err) {
    out.fill(0);
    throw err;
  }
  return { plaintext: out, encryptionContext: header.encryptionContext, header };
}
