import type { KeySpec, KeyState, KeyUsageType, OriginType } from '@aws-sdk/client-kms';

/** The role of a multi-Region key in its set of related keys. */
export type MultiRegionRole = 'PRIMARY' | 'REPLICA';

/**
 * One KMS key as the store holds it (the `keys` table), decoded. Key material is not part of
 * it: material lives, sealed under the root key, in `key_versions`.
 */
export interface KeyRecord {
  /** The key id: a UUID, or `mrk-` and 32 hex digits for a multi-Region key. */
  readonly keyId: string;
  /**
   * The row's id in the store (`keys.key_id`, what other tables reference): the key id itself,
   * except for a multi-Region key, whose replicas share the key id: `mrk-.../<region>`.
   */
  readonly storageId: string;
  /** The region the key lives in. */
  readonly region: string;
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
  /** Set while the key is PendingDeletion or PendingReplicaDeletion. */
  readonly pendingWindowInDays: number | undefined;
  /** Automatic rotation; for a replica, its primary's setting is what counts (see ops-multi-region.ts). */
  readonly rotationEnabled: boolean;
  readonly rotationPeriodInDays: number | undefined;
  /** When automatic rotation is next due (if enabled). */
  readonly nextRotationAt: Date | undefined;
  /** The version that encrypts; older versions still decrypt. 0 when no material (EXTERNAL, not imported yet). */
  readonly currentVersion: number;
  /** Imported material expiry, if any. */
  readonly validTo: Date | undefined;
  /** PRIMARY or REPLICA for a multi-Region key; undefined for a single-Region key. */
  readonly multiRegion: MultiRegionRole | undefined;
}
