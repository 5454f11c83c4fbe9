import { formatInvalid } from '../errors.js';
import type { Suite } from '../crypto/suites.js';

/**
 * The encryption context key that carries a signed message's public key (SPEC §11.1): the
 * compressed P-384 point in standard base64 with padding (RFC 4648 §4), 68 characters. It is
 * in the context so that keyrings bind it when they wrap the data key.
 *
 * @example
 * ```ts
 * const header = await readHeader(bytes);
 * header.encryptionContext[SIGNING_KEY_CONTEXT_KEY]; // defined exactly when header.suite.signed
 * ```
 */
export const SIGNING_KEY_CONTEXT_KEY = 'sealbox:ecdsa-p384-public-key';

/**
 * SPEC §8.1 stage 5, after the context's pairs, rule 38: the signing key pair is present
 * exactly when the suite signs. Its text (rule 39) and point (rule 40) are checked at stage 7,
 * by code loaded only for signed messages (src/message/signing.ts).
 *
 * @throws SealboxError ERR_FORMAT_INVALID
 */
export function checkSigningKeyPresence(suite: Suite, hasSigningKey: boolean): void {
  if (suite.signed !== hasSigningKey) throw formatInvalid(SIGNING_KEY_CONTEXT_KEY);
}
