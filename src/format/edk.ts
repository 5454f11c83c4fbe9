import { formatInvalid, limitExceeded } from '../errors.js';
import { MAX_EDK_CIPHERTEXT_BYTES, MAX_PROVIDER_ID_BYTES, MAX_PROVIDER_INFO_BYTES } from '../limits.js';
import { copyBytes, utf8Length } from '../crypto/bytes.js';

/**
 * One wrapped copy of the data key, as stored in the header.
 *
 * - `providerId` names the kind of keyring (`aws-kms`, `sealbox-local-kms`, or a raw keyring's namespace).
 * - `providerInfo` says which key within that provider (a key ARN, a raw key name plus IV, ...).
 * - `ciphertext` is the wrapped data key.
 */
export interface EncryptedDataKey {
  readonly providerId: string;
  readonly providerInfo: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/** A frozen EDK with its own copies of the bytes (nothing shared with `edk`'s arrays). */
export function copyEncryptedDataKey(edk: EncryptedDataKey): EncryptedDataKey {
  return Object.freeze({ providerId: edk.providerId, providerInfo: copyBytes(edk.providerInfo), ciphertext: copyBytes(edk.ciphertext) });
}

/** Throws ERR_FORMAT_INVALID / ERR_LIMIT_EXCEEDED unless `edk` is a well-formed EDK within limits. */
export function checkEncryptedDataKey(edk: EncryptedDataKey): void {
  if (typeof edk !== 'object' || edk === null) throw formatInvalid('encrypted data key is not an object');
  if (typeof edk.providerId !== 'string' || edk.providerId.length === 0) throw formatInvalid(EMPTY_ID);
  if (!(edk.providerInfo instanceof Uint8Array)) throw formatInvalid('EDK provider info must be bytes');
  if (!(edk.ciphertext instanceof Uint8Array)) throw formatInvalid(EMPTY_CIPHERTEXT);
  checkEdkLengths(utf8Length(edk.providerId), edk.providerInfo.length, edk.ciphertext.length);
}

const EMPTY_ID = 'EDK provider id must be a non-empty string';
const EMPTY_CIPHERTEXT = 'EDK ciphertext must be non-empty bytes';

/**
 * SPEC §8.1 stage 5 for one EDK, on the byte lengths of its fields: a non-empty provider id
 * (rule 23) and ciphertext (24), then the bounds of provider id, provider info and ciphertext
 * (25, 26, 27). Header decoding calls it before it copies or decodes any of them.
 *
 * @throws SealboxError ERR_FORMAT_INVALID, ERR_LIMIT_EXCEEDED
 */
export function checkEdkLengths(idBytes: number, infoBytes: number, ciphertextBytes: number): void {
  if (idBytes === 0) throw formatInvalid(EMPTY_ID);
  if (ciphertextBytes === 0) throw formatInvalid(EMPTY_CIPHERTEXT);
  if (idBytes > MAX_PROVIDER_ID_BYTES) throw limitExceeded('EDK provider id bytes', idBytes, MAX_PROVIDER_ID_BYTES);
  if (infoBytes > MAX_PROVIDER_INFO_BYTES) throw limitExceeded('EDK provider info bytes', infoBytes, MAX_PROVIDER_INFO_BYTES);
  if (ciphertextBytes > MAX_EDK_CIPHERTEXT_BYTES) throw limitExceeded('EDK ciphertext bytes', ciphertextBytes, MAX_EDK_CIPHERTEXT_BYTES);
}
