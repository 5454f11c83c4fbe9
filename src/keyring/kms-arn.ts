/**
 * AWS KMS key identifiers: parsing key ARNs and matching Multi-Region keys.
 *
 * A KMS key ARN is `arn:<partition>:kms:<region>:<account>:key/<key-id>`. A Multi-Region key
 * (MRK) has a key id starting with `mrk-`; its replicas in other regions share the key id and
 * the key material, so a ciphertext made under one replica decrypts under any other. Two ARNs
 * name "the same MRK" when everything but the region matches.
 */

/** The parts of a KMS key ARN. */
export interface KmsKeyArn {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  /** `key` or `alias`. Only `key` ARNs name a key that can appear in an EDK. */
  readonly resourceType: 'key' | 'alias';
  /** The key id (a UUID or `mrk-<hex>`) or alias name without `alias/`. */
  readonly resourceId: string;
}

// Partition, region and account are restricted to the characters AWS uses, so a hostile EDK
// cannot smuggle separators or control characters into a client lookup or an error message.
const ARN_PATTERN = /^arn:([a-z][a-z0-9-]{0,62}):kms:([a-z0-9-]{1,64}):([0-9]{12}):(key|alias)\/([A-Za-z0-9:/_-]{1,256})$/;

// AWS region names: a two-letter area, one to three words, a number (us-east-1, us-gov-west-1,
// us-isob-east-1, ap-southeast-7): every region of every partition the SDK's endpoint rules list.
const REGION_PATTERN = /^[a-z]{2}(?:-[a-z]{1,16}){1,3}-[0-9]{1,2}$/;

/**
 * True when `name` has the syntax of an AWS region name (`us-east-1`, `us-gov-west-1`). It says
 * nothing about whether the region exists.
 *
 * @example
 * ```ts
 * isAwsRegionName('eu-west-1'); // true
 * isAwsRegionName('eu-west-1.attacker.example'); // false
 * ```
 * @throws Never.
 */
export function isAwsRegionName(name: unknown): name is string {
  return typeof name === 'string' && REGION_PATTERN.test(name);
}

/**
 * Parses a KMS ARN; `undefined` when `text` is not one (a bare key id, an alias name, junk).
 *
 * @example
 * ```ts
 * parseKmsArn('arn:aws:kms:us-east-1:111122223333:key/mrk-1234')?.region; // 'us-east-1'
 * ```
 * @throws Never: anything that is not a KMS ARN gives `undefined`.
 */
export function parseKmsArn(text: string): KmsKeyArn | undefined {
  if (typeof text !== 'string') return undefined;
  const m = ARN_PATTERN.exec(text);
  if (!m) return undefined;
  const [, partition, region, accountId, resourceType, resourceId] = m as unknown as [string, string, string, string, 'key' | 'alias', string];
  if (resourceType === 'key' && resourceId.includes('/')) return undefined;
  // A region of another partition than the ARN's names no key that exists. In an EDK, it would
  // get past a discovery filter on the partition and send the call to that other partition's
  // endpoint (arn:aws:kms:cn-north-1:... under { partition: 'aws' }).
  const home = partitionOfRegion(region);
  if ((KNOWN_PARTITIONS.has(partition) || home !== 'aws') && home !== partition) return undefined;
  return { partition, region, accountId, resourceType, resourceId };
}

/** The partitions whose regions {@link partitionOfRegion} knows; an ARN of another partition is not checked. */
const KNOWN_PARTITIONS: ReadonlySet<string> = new Set(['aws', 'aws-cn', 'aws-us-gov', 'aws-iso', 'aws-iso-b', 'aws-iso-e', 'aws-iso-f', 'aws-eusc']);

/** The partition a region name belongs to, by its prefix (the SDK's endpoint rules); 'aws' for all others. */
function partitionOfRegion(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (region.startsWith('eusc-')) return 'aws-eusc';
  return 'aws';
}

/** Formats ARN parts back into the ARN string. */
export function formatKmsArn(arn: KmsKeyArn): string {
  return `arn:${arn.partition}:kms:${arn.region}:${arn.accountId}:${arn.resourceType}/${arn.resourceId}`;
}

/** True when the ARN names a Multi-Region key (`key/mrk-...`). */
export function isMultiRegionKey(arn: KmsKeyArn): boolean {
  return arn.resourceType === 'key' && arn.resourceId.startsWith('mrk-');
}

/**
 * True when `a` and `b` name the same key: identical ARNs, or replicas of the same
 * Multi-Region key (every part equal except the region).
 *
 * @example
 * ```ts
 * sameKmsKey(parseKmsArn(usEast1Mrk)!, parseKmsArn(euWest1Mrk)!); // true for replicas
 * ```
 * @throws Never.
 */
export function sameKmsKey(a: KmsKeyArn, b: KmsKeyArn): boolean {
  if (a.partition !== b.partition || a.accountId !== b.accountId || a.resourceType !== b.resourceType || a.resourceId !== b.resourceId) return false;
  if (a.region === b.region) return true;
  return isMultiRegionKey(a) && isMultiRegionKey(b);
}

/** The region a key identifier implies: an ARN's region; `undefined` for key ids and alias names. */
export function regionOfKeyId(keyId: string): string | undefined {
  return parseKmsArn(keyId)?.region;
}
