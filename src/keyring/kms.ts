import { fromUtf8, utf8 } from '../crypto/bytes.js';
import { SealboxError, limitExceeded } from '../errors.js';
import { MAX_KMS_DISCOVERY_REGIONS, MAX_TIMER_MS } from '../limits.js';
import type { EncryptedDataKey } from '../format/edk.js';
import type { Keyring, UnwrapRequest, WrapRequest, WrapResult } from './keyring.js';
import { acceptDataKey, unwrapFailed } from './keyring.js';
import type { KmsKeyArn } from './kms-arn.js';
import { formatKmsArn, isMultiRegionKey, parseKmsArn, sameKmsKey } from './kms-arn.js';
import type { KmsCaller } from './kms-call.js';
import { DEFAULT_KMS_CALL_TIMEOUT_MS, KMS_PROVIDER_ID, kmsDecrypt, kmsEncrypt, kmsGenerateDataKey } from './kms-call.js';
import type { KmsClientLike, KmsClientSupplier } from './kms-client-supplier.js';
import { kmsClientSupplier, singleClientSupplier } from './kms-client-supplier.js';

/** How a KMS keyring reaches KMS. Give at most one of `client` and `clientSupplier`. */
export interface KmsConnectionOptions {
  /** One client for every key (a `KMSClient` with an endpoint, or the in-process `LocalKms`). */
  client?: KmsClientLike;
  /** A client per region (default: {@link kmsClientSupplier} with the SDK's default credentials). */
  clientSupplier?: KmsClientSupplier;
  /** Grant tokens sent with every KMS call (at most 10, as KMS allows). */
  grantTokens?: readonly string[];
  /**
   * Deadline of one KMS call including the SDK's retries, in ms (default 60,000; at most
   * 2^31 - 1, the longest a timer holds). Enforced by Sealbox whatever the client does (the
   * client's `abortSignal` is aborted then too).
   */
  timeoutMs?: number;
}

/** Options of {@link KmsKeyring}. */
export interface KmsKeyringOptions extends KmsConnectionOptions {
  /** Generates the data key (GenerateDataKey). Key ARN, key id, alias name or alias ARN. */
  generatorKeyId?: string;
  /** Each wraps the same data key (Encrypt). On decrypt only key ARNs can match an EDK. */
  keyIds?: readonly string[];
  /**
   * Pins the keys this keyring may wrap under: when given, every key ARN KMS answers with on
   * encrypt (what an alias or key id resolved to) must be in this list, or encrypt fails with
   * `ERR_KEYRING` before any EDK leaves the keyring. Whoever may call UpdateAlias can repoint an
   * alias at another key, and every later message "under the alias" would be wrapped for that
   * key; with this list they cannot. The listed keys are also keys this keyring decrypts with,
   * so `{ generatorKeyId: 'alias/app', allowedKeyArns: [arnA, arnB] }` decrypts what either
   * key wrapped. Key ARNs only (no aliases); a key ARN given in `generatorKeyId` or `keyIds`
   * must be listed too.
   *
   * @example
   * ```ts
   * new KmsKeyring({ generatorKeyId: 'alias/app', allowedKeyArns: ['arn:aws:kms:us-east-1:111122223333:key/1234abcd-...'], client });
   * ```
   */
  allowedKeyArns?: readonly string[];
}

/** Options of {@link KmsDiscoveryKeyring}. */
export interface KmsDiscoveryKeyringOptions extends KmsConnectionOptions {
  /** Only EDKs under keys of these accounts in this partition are tried. */
  discoveryFilter?: { readonly accountIds: readonly string[]; readonly partition: string };
  /**
   * Multi-Region aware discovery: Multi-Region EDKs are decrypted with the replica in this
   * region, and single-region EDKs from other regions are skipped.
   */
  region?: string;
  /**
   * Only EDKs in these regions are tried (after the Multi-Region mapping of `region`); others
   * are skipped without a call, like EDKs outside `discoveryFilter`. Without it, at most 8
   * distinct regions are called for one message.
   */
  regions?: readonly string[];
}

/** The validated connection options of a KMS keyring (the KMS and KMS RSA keyrings share them). */
export function kmsCallerFrom(options: KmsConnectionOptions): KmsCaller {
  if (options.client && options.clientSupplier) throw new TypeError('pass either "client" or "clientSupplier", not both');
  const supplier = options.client ? singleClientSupplier(options.client) : (options.clientSupplier ?? kmsClientSupplier());
  if (typeof supplier !== 'function') throw new TypeError('"clientSupplier" expected a function');
  const tokens = options.grantTokens;
  if (tokens !== undefined) {
    if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== 'string' || t.length === 0)) throw new TypeError('"grantTokens" expected an array of non-empty strings');
    if (tokens.length > 10) throw new RangeError(`"grantTokens" expected at most 10 tokens, got ${tokens.length}`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_KMS_CALL_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMER_MS) {
    throw new RangeError(`"timeoutMs" expected an integer from 1 to 2^31 - 1 (the longest a timer holds), got ${timeoutMs}`);
  }
  return { supplier, grantTokens: tokens && tokens.length > 0 ? Object.freeze([...tokens]) : undefined, timeoutMs };
}

/** Checks the `allowedKeyArns` option: key ARNs, and every key ARN configured is among them. */
function allowedKeyArnsFrom(allowed: unknown, configured: readonly string[]): readonly string[] | undefined {
  if (allowed === undefined) return undefined;
  if (!Array.isArray(allowed) || allowed.length === 0) throw new TypeError('"allowedKeyArns" expected a non-empty array of KMS key ARNs');
  allowed.forEach((a: unknown, i) => {
    if (typeof a !== 'string' || parseKmsArn(a)?.resourceType !== 'key') throw new TypeError(`"allowedKeyArns[${i}]" expected a KMS key ARN, got ${String(a)}`);
  });
  for (const id of configured) {
    if (parseKmsArn(id)?.resourceType === 'key' && !allowed.includes(id)) throw new TypeError(`"allowedKeyArns" does not list the configured key ${id}`);
  }
  return Object.freeze([...(allowed as string[])]);
}

function checkKeyId(name: string, id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 2048) throw new TypeError(`"${name}" expected a KMS key id, ARN or alias`);
  return id;
}

/** The key ARN an EDK names, when it is a well-formed `aws-kms` EDK; else undefined (not a KMS EDK). */
function edkArn(edk: EncryptedDataKey): KmsKeyArn | undefined {
  if (edk.providerId !== KMS_PROVIDER_ID) return undefined;
  let text: string;
  try {
    text = fromUtf8(edk.providerInfo);
  } catch {
    return undefined;
  }
  const arn = parseKmsArn(text);
  return arn?.resourceType === 'key' ? arn : undefined;
}

/**
 * Tries each candidate in order; returns the first data key, else reports every failure
 * (`errors` may already hold why other EDKs were not tried).
 */
async function unwrapFirst(
  caller: KmsCaller,
  request: UnwrapRequest,
  candidates: readonly { edk: EncryptedDataKey; keyArn: string }[],
  errors: unknown[] = [],
): Promise<Uint8Array | null> {
  let mismatched = false;
  for (const { edk, keyArn } of candidates) {
    let dataKey: Uint8Array;
    try {
      dataKey = await kmsDecrypt(caller, keyArn, edk.ciphertext, request.suite.dataKeyLength, { context: request.encryptionContext });
    } catch (err) {
      // Go on to the next EDK: another key (or region) may still work.
      errors.push(err);
      continue;
    }
    if (await acceptDataKey(request, dataKey)) return dataKey;
    mismatched = true;
  }
  if (errors.length === 0 && !mismatched) return null;
  // EDKs were for this keyring and none gave the message's key (SPEC §8.3).
  if (mismatched) throw unwrapFailed('KMS keyring', true, { errors });
  throw new SealboxError('ERR_KEYRING', `No KMS key could decrypt the data key (${errors.length} failed)`, { errors });
}

/**
 * A keyring over AWS KMS (or anything speaking its API: the local KMS over HTTP or in-process).
 * Strict mode: it uses exactly the keys it is given.
 *
 * - Encrypt: the generator makes the data key with GenerateDataKey; every key in `keyIds`
 *   wraps the same data key with Encrypt. Each EDK has provider id `aws-kms` and the key ARN
 *   KMS returned (UTF-8) as provider info. The message's encryption context goes to KMS.
 * - Decrypt: only EDKs whose ARN is one of the configured key ARNs are tried (a Multi-Region
 *   key matches its replicas in other regions: Decrypt then goes to the configured replica),
 *   each with Decrypt naming that KeyId and the message's encryption context. An alias or bare
 *   key id matches the key ARNs KMS answered for it when this keyring encrypted (so a keyring
 *   decrypts what it encrypted) and those in `allowedKeyArns`; otherwise decrypt fails with
 *   ERR_NO_MATCHING_KEY saying that a key ARN is needed.
 * - Every response is checked: the KeyId KMS names must be the key asked for, and the data key
 *   must have the suite's length. With an alias, "the key asked for" is whatever the alias
 *   points to when the call is made: give `allowedKeyArns` to pin it (docs/kms-keyring.md,
 *   "Aliases").
 *
 * @example
 * ```ts
 * import { encrypt, KmsKeyring, kmsClientSupplier } from 'sealbox';
 * const keyring = new KmsKeyring({
 *   generatorKeyId: 'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd',
 *   keyIds: ['arn:aws:kms:eu-west-1:111122223333:key/0f1e2d3c-...'],
 *   clientSupplier: kmsClientSupplier(),
 * });
 * const { ciphertext } = await encrypt(data, { keyring, encryptionContext: { tenant: 'acme' } });
 * ```
 * @throws TypeError / RangeError for bad options. Encrypt: SealboxError ERR_KEYRING (a KMS call
 * failed, `cause` is the KMS exception; or a response was refused, including a key ARN that
 * `allowedKeyArns` does not list). Decrypt: ERR_KEYRING
 * with every failure in `errors` when EDKs matched but none could be decrypted;
 * ERR_COMMITMENT_MISMATCH when one decrypted to a key that is not the message's;
 * ERR_NO_MATCHING_KEY, saying that a key ARN is needed, when the keyring was given an alias or
 * bare key id (and no `allowedKeyArns`) and no EDK names a key it knows.
 */
export class KmsKeyring implements Keyring {
  readonly generatorKeyId: string | undefined;
  readonly keyIds: readonly string[];
  /** The `allowedKeyArns` option, when given. */
  readonly allowedKeyArns: readonly string[] | undefined;
  readonly #caller: KmsCaller;
  readonly #decryptArns: readonly KmsKeyArn[];
  /** Configured ids that are not key ARNs (aliases, bare key ids): decrypt cannot match them by name. */
  readonly #unnamed: readonly string[];
  /** Key ARNs KMS answered for those ids when this keyring encrypted: it decrypts what it encrypted. */
  readonly #learned: KmsKeyArn[] = [];

  constructor(options: KmsKeyringOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('KmsKeyring expected an options object');
    const keyIds = options.keyIds ?? [];
    if (!Array.isArray(keyIds)) throw new TypeError('"keyIds" expected an array of key ids');
    this.generatorKeyId = options.generatorKeyId === undefined ? undefined : checkKeyId('generatorKeyId', options.generatorKeyId);
    this.keyIds = Object.freeze(keyIds.map((id, i) => checkKeyId(`keyIds[${i}]`, id)));
    if (this.generatorKeyId === undefined && this.keyIds.length === 0) throw new TypeError('KmsKeyring needs a generatorKeyId or at least one of keyIds');
    this.#caller = kmsCallerFrom(options);
    const all = this.generatorKeyId === undefined ? this.keyIds : [this.generatorKeyId, ...this.keyIds];
    const configured = all.map(parseKmsArn).filter((a): a is KmsKeyArn => a?.resourceType === 'key');
    this.allowedKeyArns = allowedKeyArnsFrom(options.allowedKeyArns, all);
    this.#decryptArns = [...configured, ...(this.allowedKeyArns ?? []).map((a) => parseKmsArn(a)!)];
    this.#unnamed = all.filter((id) => parseKmsArn(id)?.resourceType !== 'key');
  }

  /**
   * Remembers the key ARN KMS answered for an alias or bare key id this keyring was given (after
   * the allowedKeyArns check), so that the keyring decrypts the messages it encrypted. Safe: the
   * ARN is KMS's own answer for an id the caller chose, never something read from a message.
   */
  #learn(asked: string, keyArn: string): void {
    if (!this.#unnamed.includes(asked)) return;
    const arn = parseKmsArn(keyArn);
    if (arn?.resourceType === 'key' && !this.#learned.some((k) => formatKmsArn(k) === keyArn)) this.#learned.push(arn);
  }

  /** Refuses a key ARN KMS answered with that `allowedKeyArns` does not list. */
  #checkAllowed(asked: string, keyArn: string): void {
    if (this.allowedKeyArns !== undefined && !this.allowedKeyArns.includes(keyArn)) {
      throw new SealboxError('ERR_KEYRING', `KMS used ${keyArn} for ${asked}, which allowedKeyArns does not list`);
    }
  }

  async wrapKey(request: WrapRequest): Promise<WrapResult> {
    const context = request.encryptionContext;
    const edks: EncryptedDataKey[] = [];
    let dataKey = request.dataKey;
    let generated: Uint8Array | undefined;
    let wrapWith = this.keyIds;
    if (!dataKey) {
      if (this.generatorKeyId === undefined) throw new SealboxError('ERR_KEYRING', 'KmsKeyring without a generatorKeyId cannot create a data key');
      const g = await kmsGenerateDataKey(this.#caller, this.generatorKeyId, request.suite.dataKeyLength, context);
      dataKey = generated = g.dataKey;
      try {
        this.#checkAllowed(this.generatorKeyId, g.keyArn);
        this.#learn(this.generatorKeyId, g.keyArn);
      } catch (err) {
        generated.fill(0);
        throw err;
      }
      edks.push(kmsEdk(g.keyArn, g.ciphertext));
    } else if (this.generatorKeyId !== undefined) {
      wrapWith = [this.generatorKeyId, ...this.keyIds];
    }
    try {
      const key = dataKey;
      // Independent keys, possibly in several regions: wrap concurrently.
      const wrapped = await Promise.all(wrapWith.map((id) => kmsEncrypt(this.#caller, id, key, context)));
      wrapped.forEach((w, i) => this.#checkAllowed(wrapWith[i]!, w.keyArn));
      wrapped.forEach((w, i) => this.#learn(wrapWith[i]!, w.keyArn));
      for (const w of wrapped) edks.push(kmsEdk(w.keyArn, w.ciphertext));
    } catch (err) {
      generated?.fill(0);
      throw err;
    }
    return { dataKey, encryptedDataKeys: edks };
  }

  async unwrapKey(request: UnwrapRequest): Promise<Uint8Array | null> {
    const candidates: { edk: EncryptedDataKey; keyArn: string }[] = [];
    for (const edk of request.encryptedDataKeys) {
      const arn = edkArn(edk);
      if (!arn) continue;
      // Decrypt with the configured key (for an MRK, the configured replica), never with
      // whatever the EDK names: an EDK cannot steer us to another key.
      const mine = this.#decryptArns.find((k) => sameKmsKey(k, arn)) ?? this.#learned.find((k) => formatKmsArn(k) === formatKmsArn(arn));
      if (mine) candidates.push({ edk, keyArn: formatKmsArn(mine) });
    }
    if (candidates.length === 0 && this.#unnamed.length > 0 && this.allowedKeyArns === undefined && request.encryptedDataKeys.some((edk) => edkArn(edk) !== undefined)) {
      // Say why, instead of a bare "no matching key": an alias or key id cannot be matched to
      // the key ARN an EDK names without asking KMS, which an EDK must not make us do.
      throw new SealboxError(
        'ERR_NO_MATCHING_KEY',
        `KmsKeyring was given ${this.#unnamed.join(', ')}, not key ARNs: it decrypts only the messages it encrypted itself. Give the key ARN, or allowedKeyArns, or use a KmsDiscoveryKeyring`,
      );
    }
    return unwrapFirst(this.#caller, request, candidates);
  }
}

/**
 * A KMS keyring that decrypts with whatever KMS key ARN an EDK names, as far as the caller's
 * credentials allow, optionally limited to some accounts in one partition. It cannot encrypt.
 * With `region`, it is Multi-Region aware: `mrk-` EDKs from any region are decrypted with the
 * replica in `region`, other EDKs only when they are in `region`. With `regions`, EDKs in other
 * regions are skipped. Regions come from EDKs, which anyone can write: whatever the options, at
 * most 8 distinct regions (`MAX_KMS_DISCOVERY_REGIONS`) are called for one message, and EDKs
 * in further regions are not tried (the final error then lists an `ERR_LIMIT_EXCEEDED`).
 *
 * @example
 * ```ts
 * const keyring = new KmsDiscoveryKeyring({
 *   clientSupplier: kmsClientSupplier({ regions: ['us-east-1', 'eu-west-1'] }),
 *   discoveryFilter: { accountIds: ['111122223333'], partition: 'aws' },
 *   regions: ['us-east-1', 'eu-west-1'],
 * });
 * const { plaintext } = await decrypt(ciphertext, { keyring });
 * ```
 * @throws TypeError for bad options; wrapKey always throws SealboxError ERR_KEYRING; decrypt
 * ERR_KEYRING with every failure in `errors` when EDKs were tried and none decrypted,
 * ERR_COMMITMENT_MISMATCH when one decrypted to a key that is not the message's.
 */
export class KmsDiscoveryKeyring implements Keyring {
  readonly #caller: KmsCaller;
  readonly #accounts: ReadonlySet<string> | undefined;
  readonly #partition: string | undefined;
  readonly #region: string | undefined;
  readonly #regions: ReadonlySet<string> | undefined;

  constructor(options: KmsDiscoveryKeyringOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('KmsDiscoveryKeyring expected an options object');
    this.#caller = kmsCallerFrom(options);
    const filter = options.discoveryFilter;
    if (filter !== undefined) {
      if (typeof filter !== 'object' || filter === null || !Array.isArray(filter.accountIds) || filter.accountIds.length === 0
        || filter.accountIds.some((a) => typeof a !== 'string' || !/^[0-9]{12}$/.test(a))) {
        throw new TypeError('"discoveryFilter.accountIds" expected a non-empty array of 12-digit account ids');
      }
      if (typeof filter.partition !== 'string' || filter.partition.length === 0) throw new TypeError('"discoveryFilter.partition" expected a partition name such as "aws"');
      this.#accounts = new Set(filter.accountIds);
      this.#partition = filter.partition;
    }
    if (options.region !== undefined && !isRegionOption(options.region)) {
      throw new TypeError('"region" expected a region name such as "us-east-1"');
    }
    this.#region = options.region;
    if (options.regions !== undefined && (!Array.isArray(options.regions) || options.regions.length === 0 || !options.regions.every(isRegionOption))) {
      throw new TypeError('"regions" expected a non-empty array of region names such as "us-east-1"');
    }
    this.#regions = options.regions === undefined ? undefined : new Set(options.regions);
  }

  async wrapKey(_request: WrapRequest): Promise<WrapResult> {
    throw new SealboxError('ERR_KEYRING', 'A KMS discovery keyring cannot encrypt: use a KmsKeyring with key ids');
  }

  async unwrapKey(request: UnwrapRequest): Promise<Uint8Array | null> {
    const candidates: { edk: EncryptedDataKey; keyArn: string }[] = [];
    // The regions called so far, and those named beyond the limit (EDKs there are not tried).
    const called = new Set<string>();
    const beyond = new Set<string>();
    for (const edk of request.encryptedDataKeys) {
      let arn = edkArn(edk);
      if (!arn) continue;
      if (this.#accounts && (arn.partition !== this.#partition || !this.#accounts.has(arn.accountId))) continue;
      if (this.#region !== undefined && arn.region !== this.#region) {
        if (!isMultiRegionKey(arn)) continue;
        arn = { ...arn, region: this.#region };
      }
      if (this.#regions && !this.#regions.has(arn.region)) continue;
      if (!called.has(arn.region)) {
        if (called.size >= MAX_KMS_DISCOVERY_REGIONS) {
          beyond.add(arn.region);
          continue;
        }
        called.add(arn.region);
      }
      candidates.push({ edk, keyArn: formatKmsArn(arn) });
    }
    const errors = beyond.size === 0 ? [] : [limitExceeded('KMS regions named by one message', called.size + beyond.size, MAX_KMS_DISCOVERY_REGIONS)];
    return unwrapFirst(this.#caller, request, candidates, errors);
  }
}

/** A region name as the keyring options take it (the client supplier may be stricter). */
function isRegionOption(region: unknown): region is string {
  return typeof region === 'string' && /^[a-z0-9-]{1,64}$/.test(region);
}

function kmsEdk(keyArn: string, ciphertext: Uint8Array): EncryptedDataKey {
  return { providerId: KMS_PROVIDER_ID, providerInfo: utf8(keyArn), ciphertext };
}
