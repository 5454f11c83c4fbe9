/**
 * Errors the HTTP endpoint raises itself (authentication, protocol), shaped like the local
 * KMS's errors: `name` is the AWS exception name and `$fault` says whose fault it is, so one
 * serializer writes both as `{"__type", "message"}` and `@aws-sdk/client-kms` raises the
 * typed exception class.
 */

/** Whose fault an error is: `client` maps to HTTP 400 (or the status given), `server` to 500. */
export type Fault = 'client' | 'server';

/**
 * An AWS-shaped error raised by the KMS server before a request reaches the local KMS.
 *
 * @example
 * ```ts
 * throw new KmsProtocolError('UnknownOperationException', 'Unknown operation TrentService.Foo');
 * ```
 */
export class KmsProtocolError extends Error {
  /** Client or server fault, as in `@aws-sdk/client-kms` exceptions. */
  readonly $fault: Fault;
  /** The HTTP status the error is sent with. */
  readonly statusCode: number;

  constructor(name: string, message: string, options: { fault?: Fault; statusCode?: number } = {}) {
    super(message);
    this.name = name;
    this.$fault = options.fault ?? 'client';
    this.statusCode = options.statusCode ?? (this.$fault === 'server' ? 500 : 400);
  }
}

/** Error names AWS uses for authentication failures (SigV4 and policy). */
export const AUTH_ERRORS = {
  missing: 'MissingAuthenticationTokenException',
  incomplete: 'IncompleteSignatureException',
  unknownKey: 'UnrecognizedClientException',
  badSignature: 'InvalidSignatureException',
  denied: 'AccessDeniedException',
} as const;
