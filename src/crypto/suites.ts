import { SealboxError } from '../errors.js';

/**
 * Algorithm suites. A suite fixes every algorithm and length a message uses, so a decoder
 * never negotiates. Only one exists in format version 1.
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
}

/**
 * AES-256-GCM frames, HKDF-SHA-512 key derivation, 256-bit key commitment, no signature.
 *
 * @example
 * ```ts
 * header.suite === SUITE_AES256_GCM_HKDF_SHA512_COMMIT; // every v1 message
 * ```
 */
export const SUITE_AES256_GCM_HKDF_SHA512_COMMIT: Suite = Object.freeze({
  id: 1,
  name: 'AES256_GCM_HKDF_SHA512_COMMIT_KEY',
  dataKeyLength: 32,
  contentKeyLength: 32,
  commitmentLength: 32,
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

const SUITES: ReadonlyMap<number, Suite> = new Map([[SUITE_AES256_GCM_HKDF_SHA512_COMMIT.id, SUITE_AES256_GCM_HKDF_SHA512_COMMIT]]);

/** Look up a suite by id (any unsigned integer, a bigint above 2^53); unknown ids are ERR_UNSUPPORTED_VERSION. */
export function suiteById(id: number | bigint): Suite {
  const suite = typeof id === 'number' ? SUITES.get(id) : undefined;
  if (!suite) throw new SealboxError('ERR_UNSUPPORTED_VERSION', `Unknown algorithm suite ${id}`);
  return suite;
}
