import type { KeySpec, KeyState, KeyUsageType, OriginType } from '@aws-sdk/client-kms';

/**
 * One KMS key as the store holds it (the `keys` table), decoded. Key material is not part of
 * it: material lives, sealed under the root key, in `key_versions`.
 */
export interface KeyRecord {
  /** The key id, a UUID. */
  readonly keyId: string;
  /** `arn:aws:kms:<region>:<account>:key/<keyId>`. */
  readonly arn: string;
  readonly keySpec: KeySpec;
  readonly keyUsage: KeyUsageType;
  readonly origin: OriginType;
  readonly state: KeyState;
  readonly description: string;
  /** The key policy document, as text (CreateKey's Policy, or the default policy). */
  readonly policy: string;
  readonly createdAt: Date;
  /** Set while the key is PendingDeletion. */
  readonly deletionDate: Date | undefined;
  readonly pendingWindowInDays: number | undefined;
  readonly rotationEnabled: boolean;
  readonly rotationPeriodInDays: number | undefined;
  /** When automatic rotation is next due (if enabled). */
  readonly nextRotationAt: Date | undefined;
  /** The version that encrypts; older versions still decrypt. 0 when no material (EXTERNAL, not imported yet). */
  readonly currentVersion: number;
  /** Imported material expiry, if any. */
  readonly validTo: Date | undefined;
}
