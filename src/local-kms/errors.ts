import { LOCAL_KMS_BUSY_TIMEOUT_MS } from '../limits.js';

/**
 * Errors of the local KMS. Each carries, as `name`, the exception name AWS KMS uses for the
 * same failure, so code written against `@aws-sdk/client-kms` (which matches on `err.name`)
 * handles local and remote failures alike. Messages never contain key material or plaintext.
 */

/** AWS KMS exception names the local KMS raises (plus the generic protocol ones). */
export type LocalKmsErrorName =
  | 'AccessDeniedException'
  | 'AlreadyExistsException'
  | 'DependencyTimeoutException'
  | 'DisabledException'
  | 'DryRunOperationException'
  | 'ExpiredImportTokenException'
  | 'IncorrectKeyException'
  | 'IncorrectKeyMaterialException'
  | 'InvalidAliasNameException'
  | 'InvalidArnException'
  | 'InvalidCiphertextException'
  | 'InvalidGrantIdException'
  | 'InvalidGrantTokenException'
  | 'InvalidImportTokenException'
  | 'InvalidKeyUsageException'
  | 'InvalidMarkerException'
  | 'KMSInternalException'
  | 'KMSInvalidMacException'
  | 'KMSInvalidSignatureException'
  | 'KMSInvalidStateException'
  | 'LimitExceededException'
  | 'MalformedPolicyDocumentException'
  | 'NotFoundException'
  | 'SerializationException'
  | 'TagException'
  | 'UnknownOperationException'
  | 'UnsupportedOperationException'
  | 'ValidationException'
  /** Not an AWS name: the root key given does not open this data directory. */
  | 'RootKeyMismatchException'
  /** Not an AWS name: the data directory or a key file is accessible to group or others. */
  | 'InsecurePermissionsException';

/**
 * An error raised by the local KMS. `name` is the AWS exception name; `$fault` says whose
 * fault it is, as in the AWS SDK (`client` for 4xx, `server` for 5xx).
 *
 * @example
 * ```ts
 * try {
 *   await kms.decrypt({ CiphertextBlob: blob });
 * } catch (err) {
 *   if (err instanceof LocalKmsError && err.name === 'InvalidCiphertextException') console.error('not a ciphertext of this KMS');
 *   else throw err;
 * }
 * ```
 */
export class LocalKmsError extends Error {
  override readonly name: LocalKmsErrorName;
  /** `client` when the request was wrong, `server` when the service failed. */
  readonly $fault: 'client' | 'server';
  /** Shape-compatible with AWS SDK service exceptions. */
  readonly $metadata: { readonly httpStatusCode: number };

  constructor(name: LocalKmsErrorName, message: string, fault: 'client' | 'server' = 'client') {
    super(message);
    this.name = name;
    this.$fault = fault;
    this.$metadata = { httpStatusCode: fault === 'server' ? 500 : 400 };
  }
}

/**
 * A store failure as a LocalKmsError a caller can act on. SQLite's "database is locked" (after
 * the busy timeout: another process held the store's write lock all that time) is
 * `DependencyTimeoutException`, AWS KMS's "timed out, you can retry" (HTTP 503 over
 * `sealbox kms serve`, which the AWS SDK retries); any other SQLite error (disk full, I/O) is
 * `KMSInternalException`. Both keep the SQLite error as `cause`; anything else is returned as is.
 */
export function storeError(err: unknown): unknown {
  if (!(err instanceof Error) || err.name !== 'SqliteError') return err;
  const code = (err as { code?: unknown }).code;
  const mapped = typeof code === 'string' && /^SQLITE_BUSY(_|$)/.test(code)
    ? new LocalKmsError('DependencyTimeoutException', `The key store is busy: another process held it for more than ${LOCAL_KMS_BUSY_TIMEOUT_MS / 1000} s; retry the request`, 'server')
    : new LocalKmsError('KMSInternalException', `The key store failed (${typeof code === 'string' ? code : 'SQLite'})`, 'server');
  mapped.cause = err;
  return mapped;
}

/** Shorthand constructors, one per common failure. */
export const kmsErrors = {
  validation: (message: string) => new LocalKmsError('ValidationException', message),
  serialization: (message: string) => new LocalKmsError('SerializationException', message),
  notFound: (message: string) => new LocalKmsError('NotFoundException', message),
  invalidState: (message: string) => new LocalKmsError('KMSInvalidStateException', message),
  disabled: (message: string) => new LocalKmsError('DisabledException', message),
  invalidKeyUsage: (message: string) => new LocalKmsError('InvalidKeyUsageException', message),
  invalidCiphertext: () => new LocalKmsError('InvalidCiphertextException', 'The ciphertext is invalid or does not match the encryption context'),
  incorrectKey: () => new LocalKmsError('IncorrectKeyException', 'The ciphertext was not encrypted under the KMS key given'),
  unsupported: (message: string) => new LocalKmsError('UnsupportedOperationException', message),
  alreadyExists: (message: string) => new LocalKmsError('AlreadyExistsException', message),
  internal: (message: string) => new LocalKmsError('KMSInternalException', message, 'server'),
} as const;

/** True when `err` is a LocalKmsError (with the given name, if one is named). */
export function isLocalKmsError(err: unknown, name?: LocalKmsErrorName): err is LocalKmsError {
  return err instanceof LocalKmsError && (name === undefined || err.name === name);
}
