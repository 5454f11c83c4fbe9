import { SealboxError } from '../errors.js';
import { LocalKmsError } from '../local-kms/errors.js';

/** Exit codes (docs/cli.md). */
export const EXIT = {
  OK: 0,
  /** Usage errors, bad arguments, files that cannot be read or written. */
  USAGE: 1,
  /** The message is not authentic or not what was required: tampered, truncated, wrong context. */
  INTEGRITY: 2,
  /** A key service or keyring failed, or no key could unwrap the message. */
  KEY_SERVICE: 3,
  /** stdout's reader went away (EPIPE): what a shell reports for a process killed by SIGPIPE. */
  BROKEN_PIPE: 141,
} as const;

/** A usage error raised by the CLI itself; shown with the code ERR_USAGE (exit 1). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const INTEGRITY_CODES = new Set([
  'ERR_DECRYPTION_FAILED',
  'ERR_COMMITMENT_MISMATCH',
  'ERR_TRUNCATED',
  'ERR_TRAILING_DATA',
  'ERR_FORMAT_INVALID',
  'ERR_UNSUPPORTED_VERSION',
  'ERR_ENCRYPTION_CONTEXT_MISMATCH',
  'ERR_LIMIT_EXCEEDED',
  'ERR_SIGNATURE_POLICY',
]);

/** Local KMS exceptions that say an argument is wrong, whatever the key's state: exit 1. */
const ARGUMENT_REFUSED = new Set(['ValidationException', 'MalformedPolicyDocumentException', 'InvalidAliasNameException', 'TagException']);

/**
 * What each key tried said, each failure's own message (which for KMS names the key and KMS's
 * reason, e.g. "... for arn:...:key/... (KMSInvalidStateException): ... is pending deletion."),
 * so that "no matching key" says what to do. Messages never carry key material.
 */
function tried(errors: readonly unknown[]): string {
  const lines = errors.map((e) => {
    if (e instanceof SealboxError) return e.code === 'ERR_KEYRING' ? e.message : `${e.message} (${e.code})`;
    return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  });
  return lines.length ? `: ${[...new Set(lines)].join('; ')}` : '';
}

/** One line for stderr and the exit code for an error. Never includes key material. */
export function describeError(err: unknown): { line: string; code: number } {
  if (err instanceof SealboxError) {
    const exit = INTEGRITY_CODES.has(err.code) ? EXIT.INTEGRITY : err.code === 'ERR_ENCRYPTION_CONTEXT_INVALID' || err.code === 'ERR_RANGE' || err.code === 'ERR_STATE' || err.code === 'ERR_WORKER' ? EXIT.USAGE : EXIT.KEY_SERVICE;
    // The cause's name only when the message does not already say it ("... failed (DisabledException)").
    // The cause only when the message does not already say it (KMS failures carry KMS's reason).
    const cause = err.cause instanceof Error && !err.message.includes(err.cause.message) ? `: ${err.message.includes(err.cause.name) ? '' : `${err.cause.name}: `}${err.cause.message}` : '';
    return { line: `${err.message}${cause}${tried(err.errors)} (${err.code})`, code: exit };
  }
  // The key service refusing an argument (a rotation period of 10 days, a 3-day deletion
  // window, a reserved alias name or tag key, a policy document that is not JSON) is the
  // user's mistake, not a key service failure.
  if (err instanceof LocalKmsError) return { line: `${err.message} (${err.name})`, code: ARGUMENT_REFUSED.has(err.name) ? EXIT.USAGE : EXIT.KEY_SERVICE };
  if (err instanceof UsageError) return { line: `${err.message} (ERR_USAGE)`, code: EXIT.USAGE };
  if (err instanceof Error && err.name === 'NoKeyStoreError') return { line: `${err.message} (ERR_NO_KEY_STORE)`, code: EXIT.KEY_SERVICE };
  if (err instanceof FileError) return { line: `${err.message} (${err.code})`, code: EXIT.USAGE };
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && e.syscall) {
    return { line: e.path ? `${fileError(e, e.path, ['open', 'read', 'write'].includes(e.syscall) ? e.syscall : 'use').message} (${e.code})` : `${e.message} (${e.code})`, code: EXIT.USAGE };
  }
  if (err instanceof TypeError || err instanceof RangeError) return { line: `${err.message} (${err.name})`, code: EXIT.USAGE };
  const name = err instanceof Error ? err.name : 'Error';
  // Errors from AWS SDK clients carry the service's exception name.
  if (err instanceof Error && (err as { $fault?: unknown }).$fault) return { line: `${err.message} (${name})`, code: EXIT.KEY_SERVICE };
  return { line: `${err instanceof Error ? err.message : String(err)} (${name})`, code: EXIT.USAGE };
}

/** System error texts without Node's "ENOENT: ..., open '<path>'" wrapping. */
const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EIO: 'input/output error',
};

/**
 * A file system error as one line naming the path the user gave (not an internal name), with
 * the system code kept for the exit line: "cannot read x.sbx: no such file or directory (ENOENT)".
 */
export function fileError(err: unknown, path: string, verb: string): Error {
  const e = err as NodeJS.ErrnoException;
  if (!e || typeof e.code !== 'string') return err as Error;
  return new FileError(`cannot ${verb} ${path}: ${REASONS[e.code] ?? e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')}`, e.code);
}

/** A file that cannot be read or written, by the path the user gave; exit 1 with its system code. */
export class FileError extends Error {
  override readonly name = 'FileError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}
