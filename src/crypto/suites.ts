import { SealboxError } from '../errors.js';

/**
 * Algorithm suites. A suite fixes every algorithm and length a message uses, so a decoder
 * never negotiates (SPEC §3, §5, §11).
 */
export interface Suite {
  /** Numeric id stored in the header. */
  readonly id: number;
  /** Human-readable name. */
  readonly name: string;
  /** Data key length in bytes (keyrings generate and wrap keys of exactly this length). */
  readonly dataKeyLength: number;
  /** Content key length in bytes. */
  readonly contentKeyLength: number;
  /** Commitment length in bytes. */
  readonly commitmentLength: number;
  /**
   * The suite id named in the key derivation labels (SPEC §5): the suite's own id, except for a
   * suite that shares another's frames byte for byte (suite 3 derives as suite 1).
   */
  readonly derivationId: number;
  /**
   * Bytes of the random header salt the header carries and the header tag's nonce is made of
   * (SPEC §6): 0 (the fixed header nonce of suite 1) or 8 (suite 3).
   */
  readonly headerSaltLength: number;
  /**
   * True when messages of this suite carry an ECDSA P-384 signature after the final frame
   * (SPEC §11): only the holder of the message's signing key could have written them, not
   * merely anyone who can unwrap its data key.
   */
  readonly signed: boolean;
  /** Bytes of the signature after the final frame: 0 for an unsigned suite, 96 for ECDSA P-384. */
  readonly signatureLength: number;
}

/**
 * AES-256-GCM frames, HKDF-SHA-512 key derivation, 256-bit key commitment, no signature.
 *
 * @example
 * ```ts
 * header.suite === SUITE_AES256_GCM_HKDF_SHA512_COMMIT; // encrypt's default: unsigned, never rewrapped
 * ```
 */
export const SUITE_AES256_GCM_HKDF_SHA512_COMMIT: Suite = Object.freeze({
  id: 1,
  name: 'AES256_GCM_HKDF_SHA512_COMMIT_KEY',
  dataKeyLength: 32,
  contentKeyLength: 32,
  commitmentLength: 32,
  derivationId: 1,
  headerSaltLength: 0,
  signed: false,
  signatureLength: 0,
});

/**
 * Suite 1's algorithms, key derivation and frames, with an 8-byte random salt in the header
 * that makes the header tag's nonce (SPEC §3, §6): what `rewrap` writes. A message rewrapped
 * from suite 1 keeps its frames byte for byte (same content key), while its new header tag never
 * reuses the old one's nonce under that key (docs/rewrap.md).
 *
 * @example
 * ```ts
 * (await rewrap(message, { keyring, to })).header.suite === SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT;
 * ```
 */
export const SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT: Suite = Object.freeze({
  id: 3,
  name: 'AES256_GCM_HKDF_SHA512_COMMIT_KEY_HEADER_SALT',
  dataKeyLength: 32,
  contentKeyLength: 32,
  commitmentLength: 32,
  derivationId: 1,
  headerSaltLength: 8,
  signed: false,
  signatureLength: 0,
});

/**
 * Suite 2: suite 1 plus an ECDSA P-384 / SHA-384 signature with a fresh key pair per message
 * (SPEC §11). The public key travels in the encryption context under
 * `sealbox:ecdsa-p384-public-key`, so keyrings bind it when they wrap the data key; the
 * signature (96 bytes, r ‖ s, low s) follows the final frame and covers every byte before it.
 * Protects against a recipient who can unwrap the data key and would write another message under
 * the same keys, which suite 1 cannot.
 *
 * @example
 * ```ts
 * const { ciphertext } = await encrypt(data, { keyring, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 });
 * await decrypt(ciphertext, { keyring, signaturePolicy: 'require-signed' });
 * ```
 */
export const SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384: Suite = Object.freeze({
  id: 2,
  name: 'AES256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384',
  dataKeyLength: 32,
  contentKeyLength: 32,
  commitmentLength: 32,
  derivationId: 2,
  headerSaltLength: 0,
  signed: true,
  signatureLength: 96,
});

/**
 * The suite `encrypt` uses.
 *
 * @example
 * ```ts
 * DEFAULT_SUITE.dataKeyLength; // 32: what keyrings must generate
 * ```
 */
export const DEFAULT_SUITE = SUITE_AES256_GCM_HKDF_SHA512_COMMIT;

const SUITES: ReadonlyMap<number, Suite> = new Map(
  [SUITE_AES256_GCM_HKDF_SHA512_COMMIT, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT].map((suite) => [suite.id, suite]),
);

/**
 * The suite an `encrypt` caller named: suite 1, 2 or 3 as exported (or a suite equal to one by
 * id), else a TypeError (a programmer mistake). Suite 3 is what rewrap writes; a message
 * encrypted in it keeps its header length through its first rewrap too (docs/rewrap.md).
 */
export function checkSuiteOption(suite: unknown): Suite {
  const id = (suite as Partial<Suite> | null)?.id;
  if (id !== 1 && id !== 2 && id !== 3) throw new TypeError('"suite"');
  return SUITES.get(id) as Suite;
}

/** Look up a suite by id (any unsigned integer, a bigint above 2^53); unknown ids are ERR_UNSUPPORTED_VERSION. */
export function suiteById(id: number | bigint): Suite {
  const suite = typeof id === 'number' ? SUITES.get(id) : undefined;
  if (!suite) throw new SealboxError('ERR_UNSUPPORTED_VERSION', `Unknown algorithm suite ${id}`);
  return suite;
}
