/**
 * Every failure Sealbox reports on purpose is a {@link SealboxError} with a stable `code`.
 * Callers `switch (err.code)`; tests assert codes, never message text.
 *
 * Programmer mistakes (wrong argument types, impossible option values) throw `TypeError`
 * or `RangeError` instead, as the platform does.
 */

/** The stable error codes. New codes may be added in minor releases; none is ever renamed. */
export type SealboxErrorCode =
  /** The bytes are not a Sealbox message (bad magic, malformed CBOR, non-canonical header, wrong field types). */
  | 'ERR_FORMAT_INVALID'
  /** The message declares a format version or algorithm suite this release does not know. */
  | 'ERR_UNSUPPORTED_VERSION'
  /** The data key does not match the key commitment in the header (no EDK gave one that does, SPEC §8.3). */
  | 'ERR_COMMITMENT_MISMATCH'
  /** Authentication failed (header tag or a frame tag). Deliberately opaque. */
  | 'ERR_DECRYPTION_FAILED'
  /** The message ended before its final frame. */
  | 'ERR_TRUNCATED'
  /** Bytes follow the final frame. */
  | 'ERR_TRAILING_DATA'
  /** No offered key is for any of the message's encrypted data keys (SPEC §8.3). */
  | 'ERR_NO_MATCHING_KEY'
  /** A declared size or count is above a limit (see limits). */
  | 'ERR_LIMIT_EXCEEDED'
  /** The encryption context is missing expected pairs, or is itself invalid. */
  | 'ERR_ENCRYPTION_CONTEXT_MISMATCH'
  /** The encryption context given to encrypt is invalid (reserved prefix, bad UTF-16, too large). */
  | 'ERR_ENCRYPTION_CONTEXT_INVALID'
  /** A keyring or key service failed; see `cause`. Also: keys were for the message's EDKs but none unwrapped (every failure in `errors`). */
  | 'ERR_KEYRING'
  /** A range request lies outside the message. */
  | 'ERR_RANGE'
  /** An operation was used in the wrong order or state (e.g. writing after end). */
  | 'ERR_STATE'
  /** A worker thread Sealbox started for the operation stopped or failed (Node files: a frame worker thread of `concurrency` >= 2, the hash thread of a signed file). No output is left. */
  | 'ERR_WORKER'
  /**
   * The message is signed or unsigned against the caller's `signaturePolicy` ('require-signed',
   * 'refuse-signed'), or `decryptRange` was asked for part of a signed message without
   * `skipSignatureVerification` (SPEC §8.2 rule 44).
   */
  | 'ERR_SIGNATURE_POLICY';

/** Options for {@link SealboxError}. */
export interface SealboxErrorOptions {
  /** The underlying error, when there is one (for example a KMS exception). */
  cause?: unknown;
  /** Several underlying errors, e.g. one per keyring tried. */
  errors?: readonly unknown[];
}

/**
 * The one error class Sealbox throws for expected failures.
 *
 * @example
 * ```ts
 * try {
 *   await decrypt(bytes, { keyring });
 * } catch (err) {
 *   if (err instanceof SealboxError && err.code === 'ERR_DECRYPTION_FAILED') console.error('not authentic');
 *   else throw err;
 * }
 * ```
 */
export class SealboxError extends Error {
  /** Stable, machine-readable reason. */
  readonly code: SealboxErrorCode;
  /** Underlying errors, when several things were tried (e.g. every keyring's failure). */
  readonly errors: readonly unknown[];

  constructor(code: SealboxErrorCode, message: string, options: SealboxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SealboxError';
    this.code = code;
    this.errors = options.errors ?? [];
  }
}

/** The fixed message of every authentication failure: it says nothing about where or why. */
export const DECRYPTION_FAILED_MESSAGE = 'Decryption failed: the message is not authentic';

/** An opaque authentication failure. Same text whatever failed inside. */
export function decryptionFailed(): SealboxError {
  return new SealboxError('ERR_DECRYPTION_FAILED', DECRYPTION_FAILED_MESSAGE);
}

/** Shorthand for a format error. */
export function formatInvalid(what: string): SealboxError {
  return new SealboxError('ERR_FORMAT_INVALID', `Not a valid Sealbox message: ${what}`);
}

/** Shorthand for a limit error; `what` names the limit, never a secret. */
export function limitExceeded(what: string, value: number | bigint, limit: number | bigint): SealboxError {
  return new SealboxError('ERR_LIMIT_EXCEEDED', `${what} is ${value}, above the limit of ${limit}`);
}

/**
 * True when `err` is a SealboxError (with the given code, if one is named).
 *
 * @example
 * ```ts
 * try {
 *   await decrypt(bytes, { keyring });
 * } catch (err) {
 *   if (isSealboxError(err, 'ERR_NO_MATCHING_KEY')) askForAnotherKey();
 *   else throw err;
 * }
 * ```
 * @throws Never: not for a value whose prototype cannot be read either (a revoked Proxy, a
 * Proxy whose `getPrototypeOf` trap throws), which is not a SealboxError.
 */
export function isSealboxError(err: unknown, code?: SealboxErrorCode): err is SealboxError {
  try {
    return err instanceof SealboxError && (code === undefined || err.code === code);
  } catch {
    return false;
  }
}

/**
 * `text` on one line, for an error message built from what other code supplied (an exception's
 * name or message from a keyring or an endpoint): control and format characters (newlines,
 * escape sequences, bidirectional overrides) and line and paragraph separators become a space,
 * and beyond `max` characters it is cut short with "...". Not exported from the package.
 */
export function printable(text: string, max: number): string {
  const line = text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ').trim();
  // Never cut between the two halves of a surrogate pair.
  return line.length > max ? `${line.slice(0, max).replace(/[\uD800-\uDBFF]$/, '')}...` : line;
}
