import type { SqliteDatabase as Database, SqliteTransaction as Transaction } from './sqlite.js';
import type {
  CancelKeyDeletionRequest,
  CancelKeyDeletionResponse,
  CreateAliasRequest,
  CreateGrantRequest,
  CreateGrantResponse,
  CreateKeyRequest,
  CreateKeyResponse,
  DecryptRequest,
  DecryptResponse,
  DeleteAliasRequest,
  DeleteImportedKeyMaterialRequest,
  DeleteImportedKeyMaterialResponse,
  DescribeKeyRequest,
  DescribeKeyResponse,
  DisableKeyRequest,
  DisableKeyRotationRequest,
  EnableKeyRequest,
  EnableKeyRotationRequest,
  EncryptRequest,
  EncryptResponse,
  GenerateDataKeyPairRequest,
  GenerateDataKeyPairResponse,
  GenerateDataKeyPairWithoutPlaintextRequest,
  GenerateDataKeyPairWithoutPlaintextResponse,
  GenerateDataKeyRequest,
  GenerateDataKeyResponse,
  GenerateDataKeyWithoutPlaintextRequest,
  GenerateDataKeyWithoutPlaintextResponse,
  GenerateMacRequest,
  GenerateMacResponse,
  GenerateRandomRequest,
  GenerateRandomResponse,
  GetKeyPolicyRequest,
  GetKeyPolicyResponse,
  GetKeyRotationStatusRequest,
  GetKeyRotationStatusResponse,
  GetParametersForImportRequest,
  GetParametersForImportResponse,
  GetPublicKeyRequest,
  GetPublicKeyResponse,
  ImportKeyMaterialRequest,
  ImportKeyMaterialResponse,
  ListAliasesRequest,
  ListAliasesResponse,
  ListGrantsRequest,
  ListGrantsResponse,
  ListKeyPoliciesRequest,
  ListKeyPoliciesResponse,
  ListKeyRotationsRequest,
  ListKeyRotationsResponse,
  ListKeysRequest,
  ListKeysResponse,
  ListResourceTagsRequest,
  ListResourceTagsResponse,
  ListRetirableGrantsRequest,
  PutKeyPolicyRequest,
  ReEncryptRequest,
  ReplicateKeyRequest,
  ReplicateKeyResponse,
  ReEncryptResponse,
  RetireGrantRequest,
  RevokeGrantRequest,
  RotateKeyOnDemandRequest,
  RotateKeyOnDemandResponse,
  ScheduleKeyDeletionRequest,
  ScheduleKeyDeletionResponse,
  SignRequest,
  SignResponse,
  TagResourceRequest,
  UntagResourceRequest,
  UpdateAliasRequest,
  UpdateKeyDescriptionRequest,
  UpdatePrimaryRegionRequest,
  VerifyMacRequest,
  VerifyMacResponse,
  VerifyRequest,
  VerifyResponse,
} from '@aws-sdk/client-kms';
import envPaths from 'env-paths';
import { LocalKmsError, storeError } from './errors.js';
import type { Caller, LocalKmsExtension, Migration, OperationContext, OperationDefinition } from './operation.js';
import { adoptLegacyRegion, coreMigrations, getMeta, initMeta, migrate, openDatabase, walBytes } from './store.js';
import { MAX_LOCAL_KMS_WAL_LEFT_BYTES } from '../limits.js';
import { passphraseKdf, resolveRootKey } from './root-key.js';
import { Sealer } from './sealing.js';
import { constantTimeEqual } from '../crypto/bytes.js';
import { AUDIT_KEY_PURPOSE, appendAudit, auditHead, exportAudit, readAudit, sanitizeRequest, upgradeAudit, verifyAudit } from './audit.js';
import type { AuditRecord, AuditVerification } from './audit.js';
import { aliasNamed, getKey, keyArn, REGION_NAME, requireUsable, resolveKeyId } from './key-store.js';
import { validateInput } from './validate.js';
import { builtInExtensions } from './core-ops.js';
import { runDueWork } from './scheduler.js';
import { identityPolicyOperations } from './identity-policies.js';
import type { KeyRecord } from './key-record.js';
import type { KeyPairParams } from './key-specs.js';
import { keyPairDer, keyPairDerAsync } from './key-specs.js';

/** Key pairs {@link LocalKms.execute} made off the event loop for the run under way. */
interface KeyPairSupply {
  /** Whether a run that needs an RSA pair none was made for stops (KeyPairNeeded) rather than making it. */
  defer: boolean;
  readonly ready: { readonly params: KeyPairParams; readonly der: Uint8Array }[];
}

/** Thrown through a run that needs an RSA key pair not yet made (never leaves LocalKms). */
class KeyPairNeeded extends Error {
  constructor(readonly params: KeyPairParams) {
    super('An RSA key pair is needed');
  }
}

const sameKeyPair = (a: KeyPairParams, b: KeyPairParams): boolean =>
  a.type === 'rsa' ? b.type === 'rsa' && a.modulusLength === b.modulusLength : b.type === 'ec' && a.namedCurve === b.namedCurve;

/** Key versions whose unsealed material is kept in memory at most. */
const MATERIAL_CACHE_ENTRIES = 256;

/**
 * The associated data key material is sealed under: key id (a multi-Region key's, shared by its
 * related keys), version, and the key spec, usage and origin it was made for, so material is
 * only ever used as what it was made for. Without them, someone who can write kms.sqlite (and
 * holds no root key) could relabel a symmetric key HMAC_256 / GENERATE_VERIFY_MAC and get MACs
 * under its AES key, or turn a signing key into a decryption key.
 */
function materialLabel(keyId: string, version: number, key: { keySpec: string; keyUsage: string; origin: string }): string {
  return JSON.stringify(['sealbox key material v2', keyId, version, key.keySpec, key.keyUsage, key.origin]);
}

/** The associated data of material sealed before Sealbox bound it to spec, usage and origin: key id and version only. */
const legacyMaterialLabel = (keyId: string, version: number): string => `${keyId}/${version}`;

/** Options of {@link LocalKms.open}. */
export interface LocalKmsOptions {
  /** Data directory. Default: `SEALBOX_HOME`, else the platform data directory (env-paths). */
  dataDir?: string;
  /** 32-byte root key. Default: `SEALBOX_ROOT_KEY`, a passphrase, or the directory's root.key file. */
  rootKey?: Uint8Array;
  /** Passphrase to stretch into the root key with scrypt (or `SEALBOX_PASSPHRASE`). */
  passphrase?: string;
  /**
   * The region calls act in unless the caller names another (`Caller.region`, which the KMS
   * endpoint sets from each request's SigV4 scope). One store holds the keys of every region.
   * Default `us-east-1`.
   */
  region?: string;
  /** Twelve-digit account id in ARNs. Default `111122223333`. */
  accountId?: string;
  /** Injected clock (tests move it through rotation, deletion windows and expiry). */
  clock?: () => Date;
  /** Who in-process calls act as. Default: the account's root principal. */
  caller?: Caller;
  /** More operations, tables and authorize hooks. */
  extensions?: readonly LocalKmsExtension[];
}

/**
 * The default data directory: `SEALBOX_HOME`, else the platform's data directory for `sealbox`
 * (`$XDG_DATA_HOME/sealbox` or `~/.local/share/sealbox` on Linux).
 *
 * @example
 * ```ts
 * const kms = LocalKms.open({ dataDir: defaultDataDir() }); // the store the CLI uses
 * ```
 * @throws Never.
 */
export function defaultDataDir(): string {
  return process.env.SEALBOX_HOME || envPaths('sealbox', { suffix: '' }).data;
}

// Command class -> operation name, for send(): instanceof-style lookup works even when a
// bundler renames classes. Built on the first send(), so opening the local KMS does not load
// the AWS SDK (about 450 ms).
let commandNames: Promise<Map<unknown, string>> | undefined;
function commandNameMap(): Promise<Map<unknown, string>> {
  commandNames ??= import('@aws-sdk/client-kms').then((sdk) => new Map<unknown, string>(
    Object.entries(sdk)
      .filter(([name, value]) => name.endsWith('Command') && typeof value === 'function')
      .map(([name, value]) => [value, name.slice(0, -'Command'.length)]),
  ));
  return commandNames;
}

/**
 * Operations whose handlers write nothing but their audit row (checked against the handlers:
 * ops-crypto.ts and the reads of ops-keys.ts and ops-aliases.ts write no table).
 */
const AUDIT_ONLY_OPERATIONS: ReadonlySet<string> = new Set(['DescribeKey', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'Encrypt', 'Decrypt', 'GenerateRandom', 'ListKeys', 'ListAliases']);

/**
 * The bundled local key service: AWS KMS's operations, names, states and errors, on this
 * machine, in a SQLite database, with no account and no network.
 *
 * @example
 * ```ts
 * import { LocalKms } from 'sealbox/local-kms';
 * const kms = LocalKms.open();                       // SEALBOX_HOME or the platform data dir
 * const { KeyMetadata } = await kms.createKey({ Description: 'app data' });
 * const { CiphertextBlob } = await kms.encrypt({ KeyId: KeyMetadata!.KeyId, Plaintext: bytes, EncryptionContext: { app: 'x' } });
 * kms.close();
 * ```
 * @throws LocalKmsError with the AWS exception name (`NotFoundException`, `DisabledException`,
 * `KMSInvalidStateException`, `InvalidCiphertextException`, `ValidationException`, ...);
 * `DependencyTimeoutException` when another process held the store's write lock past the busy
 * timeout (retry). Never a raw SQLite error.
 */
export class LocalKms {
  /** The data directory in use. */
  readonly dataDir: string;
  readonly region: string;
  readonly accountId: string;
  readonly #db: Database;
  readonly #rootKey: Uint8Array;
  readonly #materialSealer: Sealer;
  /** The audit chain's MAC key, derived from the root key: without it no row can be forged. */
  readonly #auditKey: Uint8Array;
  readonly #clock: () => Date;
  readonly #caller: Caller;
  readonly #operations = new Map<string, OperationDefinition>();
  readonly #authorizers: ((req: Parameters<NonNullable<LocalKmsExtension['authorize']>>[0]) => void)[] = [];
  /**
   * The transaction wrappers, made once: better-sqlite3 builds a wrapper per `db.transaction()`
   * call, which measured ~9 us, a tenth of an Encrypt. Called inside another, one is a savepoint.
   */
  readonly #transaction: Transaction<[body: () => unknown], unknown>;
  /** Unsealed key material by sealed bytes (see {@link LocalKms.#material}). */
  readonly #materialCache = new Map<string, { sealed: Buffer; material: Uint8Array }>();
  #closed = false;
  /** Whether this instance committed anything but audit rows of AUDIT_ONLY_OPERATIONS (see {@link LocalKms.onlyAuditRowsWritten}). */
  #changedState = false;

  private constructor(options: LocalKmsOptions) {
    this.dataDir = options.dataDir ?? defaultDataDir();
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '111122223333';
    if (!/^[a-z0-9-]+$/.test(this.region)) throw new RangeError('"region" expected a region name like us-east-1');
    if (!/^\d{12}$/.test(this.accountId)) throw new RangeError('"accountId" expected 12 digits');
    this.#clock = options.clock ?? (() => new Date());
    this.#caller = options.caller ?? { principal: `arn:aws:iam::${this.accountId}:root`, accountId: this.accountId };
    const extensions = [...builtInExtensions, ...(options.extensions ?? [])];
    try {
      this.#db = openDatabase(this.dataDir);
    } catch (err) {
      throw storeError(err);
    }
    this.#transaction = this.#db.transaction((body: () => unknown): unknown => body());
    try {
      const migrations: Migration[] = [...coreMigrations, ...extensions.flatMap((e) => e.migrations ?? [])];
      migrate(this.#db, migrations);
      adoptLegacyRegion(this.#db, this.region);
      // Whether the store holds key material or audit rows (both written only under a root key).
      const used = (): boolean => (this.#db.prepare('SELECT EXISTS (SELECT 1 FROM key_versions) OR EXISTS (SELECT 1 FROM audit) AS used').get() as { used: number }).used === 1;
      // Sealed already: it recorded a root key's check value, or holds material or audit rows.
      const sealedAlready = (): boolean => getMeta(this.#db, 'root_key_check') !== undefined || used();
      this.#rootKey = resolveRootKey(this.dataDir, options, () => passphraseKdf(this.#db), sealedAlready);
      const expected = Sealer.checkValue(this.#rootKey);
      // A store's first open records the check value before anything is sealed or audited: one
      // holding material or audit rows without it had it deleted, and would take any root key
      // as its own (new keys sealed under a mistyped passphrase). Both read in one read
      // transaction: between two statements, another process's first open of the same new store
      // could record the value and commit its first key, and this one read "removed".
      const removed = this.#db.transaction(() => getMeta(this.#db, 'root_key_check') === undefined && used())();
      if (removed) {
        throw new LocalKmsError('RootKeyMismatchException', `The key store in ${this.dataDir} holds keys or audit rows but no root key check value (it was removed from the database): the root key given cannot be confirmed`);
      }
      const check = initMeta(this.#db, 'root_key_check', expected);
      if (!constantTimeEqual(new TextEncoder().encode(check), new TextEncoder().encode(expected))) {
        throw new LocalKmsError('RootKeyMismatchException', `The root key does not open the key store in ${this.dataDir}`);
      }
      this.#materialSealer = new Sealer(this.#rootKey, 'key material');
      this.#auditKey = Sealer.subkey(this.#rootKey, AUDIT_KEY_PURPOSE);
      // Opening changed the store if it created it, migrated it or stored a first value.
      this.#changedState = (this.#db.prepare('SELECT total_changes() AS n').get() as { n: number }).n > 0;
      for (const ext of extensions) {
        for (const op of ext.operations ?? []) this.#operations.set(op.name, op);
        if (ext.authorize) this.#authorizers.push(ext.authorize);
      }
    } catch (err) {
      this.#db.close();
      throw storeError(err);
    }
  }

  /**
   * Opens (creating on first use) the local KMS in a data directory.
   *
   * @example
   * ```ts
   * const kms = LocalKms.open({ dataDir: '/tmp/kms', rootKey: crypto.getRandomValues(new Uint8Array(32)) });
   * ```
   * @throws LocalKmsError `RootKeyMismatchException` when the root key is not this directory's;
   * `InsecurePermissionsException` for a data directory or key file others can access or own,
   * or a data directory below a directory another user owns or others can write (not sticky),
   * or reached through another user's symbolic link;
   * `DependencyTimeoutException` when a first open (or a migration) waited past the busy timeout
   * for another process's write; RangeError for bad options.
   */
  static open(options: LocalKmsOptions = {}): LocalKms {
    return new LocalKms(options);
  }

  /** Closes the database. Further calls throw. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
    this.#clearMaterialCache();
    this.#rootKey.fill(0);
    this.#auditKey.fill(0);
  }

  /**
   * True while everything this instance has committed since it opened is audit rows of
   * operations whose handlers only read (DescribeKey, GenerateDataKey, Encrypt, Decrypt, ...),
   * with no rotation, deletion or expiry falling due, and opening changed nothing either, and
   * the write-ahead log is at most 256 KiB (`MAX_LOCAL_KMS_WAL_LEFT_BYTES`).
   *
   * Such a process may end without {@link close}: SQLite then keeps its write-ahead log (the
   * next process reads it) instead of checkpointing it into the database file, which costs
   * four fsyncs and the log's re-creation on every short-lived process (the CLI). The bound
   * on the log matters: a process that opens the store alone reads the whole log, and cannot
   * know what an earlier process's checkpoint already copied, so SQLite's own checkpoints never
   * start the log over; past the bound this is false, and closing checkpoints and deletes it. Committed
   * work stays as durable as `synchronous = NORMAL` makes it while a process runs: a killed
   * process loses nothing; an OS crash before a later checkpoint can lose the last audit rows,
   * never key material, since anything else makes this false and the process closes (and
   * checkpoints) as usual.
   *
   * @example
   * ```ts
   * if (!kms.onlyAuditRowsWritten) kms.close(); // else exit without closing
   * ```
   */
  get onlyAuditRowsWritten(): boolean {
    return !this.#changedState && !this.#closed && walBytes(this.dataDir) <= MAX_LOCAL_KMS_WAL_LEFT_BYTES;
  }

  /**
   * Writes an audit row for a change to the store that is not a KMS operation: the KMS server's
   * access keys (`CreateAccessKey`, `UpdateAccessKey`, `DeleteAccessKey`, written by
   * `credentialStoreFor`). `request` must hold no secret; it is stored as JSON. Runs in a
   * transaction of its own, or as part of the caller's.
   *
   * @example
   * ```ts
   * kms.auditAction('DeleteAccessKey', { AccessKeyId: 'LKIA...' });
   * ```
   * @throws LocalKmsError `KMSInternalException` when the store is closed.
   */
  auditAction(operation: string, request: Readonly<Record<string, unknown>>, caller: Caller = this.#caller): void {
    if (this.#closed) throw new LocalKmsError('KMSInternalException', 'The local KMS is closed', 'server');
    this.#changedState = true;
    this.#immediate(() =>
      appendAudit(this.#db, this.#auditKey, { time: this.#clock().getTime(), operation, caller: caller.principal, keyId: null, request: JSON.stringify(request), error: null }),
    );
  }

  /** The open database (for extensions and tools such as the CLI's audit commands). */
  get database(): Database {
    return this.#db;
  }

  /** 32 bytes derived from the root key for one purpose (e.g. sealing access-key secrets). */
  deriveKey(purpose: string): Uint8Array {
    return Sealer.subkey(this.#rootKey, purpose);
  }

  /** Operation names this instance serves. */
  get operations(): string[] {
    return [...this.#operations.keys()].sort();
  }

  /**
   * Runs one operation by its AWS name with the AWS input shape: what the HTTP endpoint calls.
   * The operation, due rotations/deletions/expiries and its audit row commit in one transaction.
   *
   * @example
   * ```ts
   * await kms.execute('GenerateRandom', { NumberOfBytes: 32 });
   * ```
   * @throws LocalKmsError with the AWS exception name; `UnknownOperationException` for unknown names;
   * `DependencyTimeoutException` when another process held the store's write lock past the busy timeout.
   */
  async execute(operation: string, input: unknown, caller: Caller = this.#caller): Promise<unknown> {
    // RSA key pairs (CreateKey, GenerateDataKeyPair, GetParametersForImport) are made on libuv's
    // thread pool: a run that needs one stops where it would make it (KeyPairNeeded, rolled
    // back, not audited), and runs again with the pair made. Each run repeats every check, so
    // nothing that changed in between is missed; a pair left unused is zeroed.
    const pairs: KeyPairSupply = { defer: true, ready: [] };
    try {
      for (let run = 1; ; run++) {
        try {
          return this.#executeSync(operation, input, caller, pairs);
        } catch (err) {
          if (!(err instanceof KeyPairNeeded)) throw err;
          // An operation makes one pair; should a run need more than the last one was given,
          // the next run makes them on the event loop rather than looping.
          if (run >= 3) pairs.defer = false;
          pairs.ready.push({ params: err.params, der: await keyPairDerAsync(err.params) });
        }
      }
    } finally {
      for (const { der } of pairs.ready) der.fill(0);
    }
  }

  /**
   * Runs several operations, each exactly as {@link execute} runs it (its own checks, its own
   * savepoint, its own audit row), inside ONE SQLite transaction committed once: many small
   * operations (the CLI's GenerateDataKey per file with `--output-dir`) then pay one
   * transaction instead of one each. Nothing is shared between the operations: each
   * GenerateDataKey still makes its own fresh data key. Results are returned only after the
   * commit; if the commit fails, every operation fails with its error and none of the results
   * is released (an audited operation never hands out a key whose audit row was rolled back).
   *
   * @example
   * ```ts
   * const results = await kms.executeBatch([
   *   { operation: 'GenerateDataKey', input: { KeyId: 'alias/app', KeySpec: 'AES_256' } },
   *   { operation: 'GenerateDataKey', input: { KeyId: 'alias/app', KeySpec: 'AES_256' } },
   * ]);
   * for (const result of results) if (result.status === 'fulfilled') console.log(result.value);
   * ```
   * @throws LocalKmsError when the transaction cannot commit (then for every operation);
   * each operation's own failure is its `rejected` result, as {@link execute} would throw it.
   */
  async executeBatch(operations: readonly { operation: string; input: unknown }[], caller: Caller = this.#caller): Promise<PromiseSettledResult<unknown>[]> {
    if (!Array.isArray(operations)) throw new TypeError('"operations" expected an array of { operation, input }');
    if (this.#closed) throw new LocalKmsError('KMSInternalException', 'The local KMS is closed', 'server');
    return this.#immediate(() =>
      operations.map(({ operation, input }): PromiseSettledResult<unknown> => {
        try {
          return { status: 'fulfilled', value: this.#executeSync(operation, input, caller) };
        } catch (reason) {
          return { status: 'rejected', reason };
        }
      }),
    ) as PromiseSettledResult<unknown>[];
  }

  /**
   * Runs `body` in one IMMEDIATE transaction (the store's write lock, waited for up to the busy
   * timeout); a store failure is thrown as {@link storeError} types it, never as a SqliteError.
   */
  #immediate<T>(body: () => T): T {
    try {
      return this.#transaction.immediate(body) as T;
    } catch (err) {
      throw storeError(err);
    }
  }

  #executeSync(operation: string, input: unknown, caller: Caller, pairs?: KeyPairSupply): unknown {
    const op = this.#operations.get(operation);
    if (!op) throw new LocalKmsError('UnknownOperationException', `Unknown operation ${String(operation).slice(0, 64)}`);
    return this.#run(op, input, caller, pairs);
  }

  /** Runs one operation definition (a KMS operation, or a local one such as PutPrincipalPolicy). */
  #run(op: OperationDefinition, input: unknown, caller: Caller, pairs?: KeyPairSupply): unknown {
    if (this.#closed) throw new LocalKmsError('KMSInternalException', 'The local KMS is closed', 'server');
    const operation = op.name;
    const region = caller.region ?? this.region;
    if (region !== this.region && !REGION_NAME.test(region)) throw new LocalKmsError('ValidationException', 'The region is not a valid region name');
    const now = this.#clock();
    let auditKeyId: string | null = null;
    let request = '{}';
    const db = this.#db;
    const transaction = this.#transaction;
    const outcome = this.#immediate(() => {
      if (runDueWork(db, now, this.#auditKey, this.accountId, () => this.#contextFor('Scheduler', now, { principal: 'sealbox:scheduler', accountId: this.accountId }, () => undefined))) this.#changedState = true;
      if (!AUDIT_ONLY_OPERATIONS.has(operation)) this.#changedState = true;
      let result: unknown;
      let error: unknown;
      try {
        const valid = validateInput(op.input, input);
        request = sanitizeRequest(valid, op.sensitive);
        const ctx = this.#contextFor(operation, now, caller, (id) => (auditKeyId = id), valid as Record<string, unknown>, pairs);
        // A nested transaction is a savepoint: a failing handler leaves nothing but its audit row.
        result = transaction(() => {
          const out = op.handler(ctx, valid);
          // DryRun (AWS KMS API Reference, "Testing your permissions"): everything is checked and
          // done, then undone with the savepoint; the caller learns only that it would succeed.
          if ((valid as { DryRun?: unknown }).DryRun === true) {
            throw new LocalKmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun parameter was set.');
          }
          return out;
        });
      } catch (err) {
        // Out of the transaction, rolling it back: execute() makes the pair and runs again.
        if (err instanceof KeyPairNeeded) throw err;
        error = err instanceof LocalKmsError ? err : new LocalKmsError('KMSInternalException', 'Internal error', 'server');
        if (!(err instanceof LocalKmsError)) (error as Error).cause = err;
      }
      appendAudit(db, this.#auditKey, {
        time: now.getTime(),
        operation,
        caller: caller.principal,
        keyId: auditKeyId,
        request,
        error: error ? (error as LocalKmsError).name : null,
      });
      return { result, error };
    }) as { result: unknown; error: unknown };
    if (outcome.error) throw outcome.error;
    return outcome.result;
  }

  /**
   * Opens sealed key material, remembering the result for the sealed bytes it came from: the
   * database row stays the authority (it is read on every call, so deleted or replaced material
   * is never served from memory), and a hot key skips an AES-GCM open per call. The process holds
   * unsealed material while it uses it anyway; the cache is bounded and emptied by `close()`.
   */
  #material(sealed: Buffer, label: string, legacyLabel: string, sealer: Sealer): Uint8Array {
    const cached = this.#materialCache.get(label);
    // A copy: callers zero the material they were given when done.
    if (cached !== undefined && cached.sealed.equals(sealed)) return new Uint8Array(cached.material);
    let material: Uint8Array;
    try {
      material = sealer.open(sealed, label);
    } catch {
      // Material sealed by an earlier version, bound to key id and version only; what is sealed
      // under `label` never opens under this one.
      try {
        material = sealer.open(sealed, legacyLabel);
      } catch {
        throw new LocalKmsError('KMSInternalException', 'The key material does not open: it is not this key\'s, or the key\'s spec, usage or origin in the store is not the one it was made with', 'server');
      }
    }
    if (this.#materialCache.size >= MATERIAL_CACHE_ENTRIES) this.#clearMaterialCache();
    this.#materialCache.set(label, { sealed: Buffer.from(sealed), material: new Uint8Array(material) });
    return material;
  }

  #clearMaterialCache(): void {
    for (const { material } of this.#materialCache.values()) material.fill(0);
    this.#materialCache.clear();
  }

  #contextFor(operation: string, now: Date, caller: Caller, onKey: (keyId: string) => void, input: Readonly<Record<string, unknown>> = {}, pairs?: KeyPairSupply): OperationContext {
    const { accountId } = this;
    const region = caller.region ?? this.region;
    const db = this.#db;
    const sealer = this.#materialSealer;
    const authorizers = this.#authorizers;
    const ctx: OperationContext = {
      db,
      operation,
      now,
      region,
      accountId,
      caller,
      keyArn: (keyId) => keyArn(region, accountId, keyId),
      resolveKey: (keyId, options) => {
        // A key id or alias without an ARN names a key of the caller's own account (AWS KMS API
        // Reference, KeyId: "To specify a KMS key in a different AWS account, you must use the
        // key ARN or alias ARN"): for a caller of another account the store has none.
        if (caller.accountId !== accountId && !options.fromCiphertext && !keyId.startsWith('arn:')) {
          throw new LocalKmsError('NotFoundException', `Key '${keyId.slice(0, 256)}' does not exist in account ${caller.accountId}: name a key of another account by its ARN`);
        }
        const key = resolveKeyId(db, region, accountId, keyId, options.allowAlias);
        onKey(key.storageId);
        if (options.action) {
          const requestAlias = options.allowAlias ? aliasNamed(keyId) : undefined;
          for (const authorize of authorizers) {
            authorize({
              caller,
              operation,
              action: options.action,
              keyArn: key.arn,
              key,
              context: ctx,
              input,
              ...(requestAlias ? { requestAlias } : {}),
              ...(options.encryptionContext ? { encryptionContext: options.encryptionContext } : {}),
              ...(options.grantTokens ? { grantTokens: options.grantTokens } : {}),
            });
          }
        }
        return key;
      },
      authorize: (request) => {
        for (const authorize of authorizers) authorize({ ...request, caller, operation, context: ctx, input });
      },
      auditKey: (keyId) => onKey(keyId),
      requireUsable,
      material: (key: KeyRecord, version?: number) => {
        const v = version ?? key.currentVersion;
        if (v === 0) throw new LocalKmsError('KMSInvalidStateException', `${key.arn} has no key material.`);
        const row = db.prepare('SELECT sealed_material FROM key_versions WHERE key_id = ? AND version = ?').get(key.storageId, v) as { sealed_material: Buffer } | undefined;
        if (!row) throw new LocalKmsError('InvalidCiphertextException', 'The ciphertext refers to a key version that does not exist');
        // Sealed under the key id, not the row: related multi-Region keys hold the same sealed bytes.
        return this.#material(row.sealed_material, materialLabel(key.keyId, v, key), legacyMaterialLabel(key.keyId, v), sealer);
      },
      addMaterial: (storageId, material) => {
        // A multi-Region key's material is shared: a new version reaches every related key
        // (which share spec, usage and origin too).
        const key = db.prepare('SELECT mrk_id, key_spec, key_usage, origin FROM keys WHERE key_id = ?').get(storageId) as { mrk_id: string | null; key_spec: string; key_usage: string; origin: string } | undefined;
        if (key === undefined) throw new LocalKmsError('KMSInternalException', 'Internal error', 'server');
        const mrkId = key.mrk_id;
        const rows = mrkId === null ? [storageId] : (db.prepare('SELECT key_id FROM keys WHERE mrk_id = ?').all(mrkId) as { key_id: string }[]).map((r) => r.key_id);
        const last = db.prepare('SELECT max(version) AS v FROM key_versions WHERE key_id = ?').get(storageId) as { v: number | null };
        const version = (last.v ?? 0) + 1;
        const sealed = sealer.seal(material, materialLabel(mrkId ?? storageId, version, { keySpec: key.key_spec, keyUsage: key.key_usage, origin: key.origin }));
        for (const row of rows) {
          db.prepare('INSERT INTO key_versions (key_id, version, sealed_material, created_at) VALUES (?, ?, ?, ?)').run(row, version, sealed, now.getTime());
          db.prepare('UPDATE keys SET current_version = ? WHERE key_id = ?').run(version, row);
        }
        return version;
      },
      deleteMaterial: (keyId) => {
        db.prepare('DELETE FROM key_versions WHERE key_id = ?').run(keyId);
        db.prepare('UPDATE keys SET current_version = 0 WHERE key_id = ?').run(keyId);
      },
      updateKey: (keyId, changes) => {
        if (changes.state !== undefined) db.prepare('UPDATE keys SET state = ? WHERE key_id = ?').run(changes.state, keyId);
        if ('validTo' in changes) db.prepare('UPDATE keys SET valid_to = ? WHERE key_id = ?').run(changes.validTo ? changes.validTo.getTime() : null, keyId);
        if (changes.currentVersion !== undefined) db.prepare('UPDATE keys SET current_version = ? WHERE key_id = ?').run(changes.currentVersion, keyId);
      },
      keyPair: (params) => {
        const i = pairs ? pairs.ready.findIndex((p) => sameKeyPair(p.params, params)) : -1;
        // Handed over: the caller zeroes it, and execute() no longer does.
        if (i >= 0) return pairs!.ready.splice(i, 1)[0]!.der;
        if (pairs?.defer && params.type === 'rsa') throw new KeyPairNeeded(params);
        return keyPairDer(params);
      },
      seal: (label, plaintext) => new Sealer(this.#rootKey, `extension ${label}`).seal(plaintext, label),
      unseal: (label, sealed) => {
        try {
          return new Sealer(this.#rootKey, `extension ${label}`).open(sealed, label);
        } catch {
          throw new LocalKmsError('InvalidCiphertextException', 'The sealed value is not valid');
        }
      },
    };
    return ctx;
  }

  /**
   * Runs an `@aws-sdk/client-kms` command object in-process, so code written for a
   * `KMSClient` (`client.send(new EncryptCommand(input))`) runs against the local KMS.
   *
   * @example
   * ```ts
   * const out = await kms.send(new GenerateDataKeyCommand({ KeyId: 'alias/app', KeySpec: 'AES_256' }));
   * ```
   * @throws LocalKmsError as {@link execute}; TypeError for an object that is not a command.
   */
  async send<Output = unknown>(command: { input?: unknown; constructor: unknown }): Promise<Output> {
    return this.#send(command, this.#caller);
  }

  async #send<Output>(command: { input?: unknown; constructor: unknown }, caller: Caller): Promise<Output> {
    if (typeof command !== 'object' || command === null) throw new TypeError('"command" expected an @aws-sdk/client-kms Command');
    const ctor = (command as { constructor: { name?: string } }).constructor;
    const name = (await commandNameMap()).get(ctor) ?? ctor.name?.replace(/Command$/, '');
    if (!name) throw new TypeError('"command" expected an @aws-sdk/client-kms Command');
    const output = (await this.execute(name, command.input ?? {}, caller)) as Record<string, unknown>;
    return { ...output, $metadata: { httpStatusCode: 200 } } as Output;
  }

  /**
   * This store seen from another region, as a client of that region's endpoint would see it:
   * `send` and `execute` act in `region`, as this instance's caller. For keyrings that take a
   * client per region (multi-Region keys: a replica in `eu-west-1` of this store).
   *
   * @example
   * ```ts
   * const eu = kms.inRegion('eu-west-1');
   * await eu.send(new DecryptCommand({ KeyId: 'arn:aws:kms:eu-west-1:111122223333:key/mrk-...', CiphertextBlob }));
   * ```
   * @throws RangeError when `region` is not a region name (`us-east-1`).
   */
  inRegion(region: string): { readonly region: string; send<Output = unknown>(command: { input?: unknown; constructor: unknown }): Promise<Output>; execute(operation: string, input: unknown): Promise<unknown> } {
    if (typeof region !== 'string' || !REGION_NAME.test(region)) throw new RangeError('"region" expected a region name like eu-west-1');
    const caller: Caller = { ...this.#caller, region };
    return {
      region,
      send: <Output = unknown>(command: { input?: unknown; constructor: unknown }) => this.#send<Output>(command, caller),
      execute: (operation: string, input: unknown) => this.execute(operation, input, caller),
    };
  }

  // One method per operation, named and typed as in the AWS SDK v3 aggregated `KMS` client.
  /** AWS KMS `CreateKey`. */
  createKey(input: CreateKeyRequest = {}): Promise<CreateKeyResponse> {
    return this.execute('CreateKey', input) as Promise<CreateKeyResponse>;
  }

  /** AWS KMS `DescribeKey`. */
  describeKey(input: DescribeKeyRequest): Promise<DescribeKeyResponse> {
    return this.execute('DescribeKey', input) as Promise<DescribeKeyResponse>;
  }

  /** AWS KMS `ListKeys`. */
  listKeys(input: ListKeysRequest = {}): Promise<ListKeysResponse> {
    return this.execute('ListKeys', input) as Promise<ListKeysResponse>;
  }

  /** AWS KMS `EnableKey`. */
  enableKey(input: EnableKeyRequest): Promise<Record<string, never>> {
    return this.execute('EnableKey', input) as Promise<Record<string, never>>;
  }

  /** AWS KMS `DisableKey`. */
  disableKey(input: DisableKeyRequest): Promise<Record<string, never>> {
    return this.execute('DisableKey', input) as Promise<Record<string, never>>;
  }

  /** AWS KMS `UpdateKeyDescription`. */
  updateKeyDescription(input: UpdateKeyDescriptionRequest): Promise<Record<string, never>> {
    return this.execute('UpdateKeyDescription', input) as Promise<Record<string, never>>;
  }

  /** AWS KMS `TagResource`. */
  tagResource(input: TagResourceRequest): Promise<Record<string, never>> {
    return this.execute('TagResource', input) as Promise<Record<string, never>>;
  }

  /** AWS KMS `UntagResource`. */
  untagResource(input: UntagResourceRequest): Promise<Record<string, never>> {
    return this.execute('UntagResource', input) as Promise<Record<string, never>>;
  }

  /** AWS KMS `ListResourceTags`. */
  listResourceTags(input: ListResourceTagsRequest): Promise<ListResourceTagsResponse> {
    return this.execute('ListResourceTags', input) as Promise<ListResourceTagsResponse>;
  }

  /**
   * AWS KMS `ReplicateKey`: a replica of a multi-Region primary key in another region of this
   * store (same key id and material). Use it in that region with `LocalKms.open({ region })` on
   * the same data directory, or over `sealbox kms serve` signing for that region.
   *
   * @example
   * ```ts
   * const { KeyMetadata } = await kms.createKey({ MultiRegion: true });
   * await kms.replicateKey({ KeyId: KeyMetadata!.KeyId!, ReplicaRegion: 'eu-west-1' });
   * ```
   * @throws LocalKmsError `UnsupportedOperationException` (not a multi-Region primary key),
   * `AlreadyExistsException` (a related key exists in that region), `KMSInvalidStateException`,
   * `NotFoundException`, `AccessDeniedException`, `MalformedPolicyDocumentException`.
   */
  replicateKey(input: ReplicateKeyRequest): Promise<ReplicateKeyResponse> {
    return this.execute('ReplicateKey', input) as Promise<ReplicateKeyResponse>;
  }

  /**
   * AWS KMS `UpdatePrimaryRegion`: makes the replica in `PrimaryRegion` the primary key and the
   * current primary a replica.
   *
   * @example
   * ```ts
   * await kms.updatePrimaryRegion({ KeyId: 'mrk-...', PrimaryRegion: 'eu-west-1' });
   * ```
   * @throws LocalKmsError `NotFoundException` (no replica in that region),
   * `UnsupportedOperationException` (not a multi-Region primary key), `KMSInvalidStateException`,
   * `AccessDeniedException`.
   */
  updatePrimaryRegion(input: UpdatePrimaryRegionRequest): Promise<Record<string, never>> {
    return this.execute('UpdatePrimaryRegion', input) as Promise<Record<string, never>>;
  }

  /**
   * Attaches (or replaces) an identity policy to a principal of this account, as an IAM
   * administrator would (`PutUserPolicy`/`PutRolePolicy`): the key policy grammar without
   * `Principal`. Once a principal has one, it has exactly what AWS would give it (see
   * src/local-kms/identity-policies.ts); without any, it keeps full trust within its account.
   * Not an AWS KMS operation: in process only, by the account root; audited.
   *
   * @example
   * ```ts
   * await kms.putPrincipalPolicy({
   *   Principal: 'arn:aws:iam::111122223333:user/alice',
   *   PolicyName: 'decrypt-only',
   *   PolicyDocument: JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }] }),
   * });
   * ```
   * @throws LocalKmsError `MalformedPolicyDocumentException`, `ValidationException` (a principal
   * of another account, or the root), `AccessDeniedException` (the caller is not the account root).
   */
  putPrincipalPolicy(input: { Principal: string; PolicyName: string; PolicyDocument: string }): Promise<Record<string, never>> {
    return this.#identityOperation('PutPrincipalPolicy', input) as Promise<Record<string, never>>;
  }

  /** An identity policy of a principal. @throws LocalKmsError `NotFoundException`, `AccessDeniedException`. */
  getPrincipalPolicy(input: { Principal: string; PolicyName: string }): Promise<{ Principal: string; PolicyName: string; PolicyDocument: string }> {
    return this.#identityOperation('GetPrincipalPolicy', input) as Promise<{ Principal: string; PolicyName: string; PolicyDocument: string }>;
  }

  /** The names of a principal's identity policies. @throws LocalKmsError `AccessDeniedException`. */
  listPrincipalPolicies(input: { Principal: string }): Promise<{ PolicyNames: string[] }> {
    return this.#identityOperation('ListPrincipalPolicies', input) as Promise<{ PolicyNames: string[] }>;
  }

  /** Removes an identity policy. @throws LocalKmsError `NotFoundException`, `AccessDeniedException`. */
  deletePrincipalPolicy(input: { Principal: string; PolicyName: string }): Promise<Record<string, never>> {
    return this.#identityOperation('DeletePrincipalPolicy', input) as Promise<Record<string, never>>;
  }

  async #identityOperation(name: string, input: unknown): Promise<unknown> {
    return this.#run(identityPolicyOperations.find((op) => op.name === name)!, input, this.#caller);
  }

  /** AWS KMS `GenerateRandom`. */
  generateRandom(input: GenerateRandomRequest = {}): Promise<GenerateRandomResponse> {
    return this.execute('GenerateRandom', input) as Promise<GenerateRandomResponse>;
  }

  /** AWS KMS `CreateAlias`. */
  createAlias(input: CreateAliasRequest): Promise<Record<string, never>> {
    return this.execute('CreateAlias', input) as Promise<Record<string, never>>;
  }

  /** AWS KMS `UpdateAlias`. */
  updateAlias(input: UpdateAliasRequest): Promise<Record<string, never>> {
    return this.execute('UpdateAlias', input) as Promise<Record<string, never>>;
  }

  /** AWS KMS `DeleteAlias`. */
  deleteAlias(input: DeleteAliasRequest): Promise<Record<string, never>> {
    return this.execute('DeleteAlias', input) as Promise<Record<string, never>>;
  }

  /** AWS KMS `ListAliases`. */
  listAliases(input: ListAliasesRequest = {}): Promise<ListAliasesResponse> {
    return this.execute('ListAliases', input) as Promise<ListAliasesResponse>;
  }

  /** AWS KMS `ScheduleKeyDeletion`. */
  scheduleKeyDeletion(input: ScheduleKeyDeletionRequest): Promise<ScheduleKeyDeletionResponse> {
    return this.execute('ScheduleKeyDeletion', input) as Promise<ScheduleKeyDeletionResponse>;
  }

  /** AWS KMS `CancelKeyDeletion`. */
  cancelKeyDeletion(input: CancelKeyDeletionRequest): Promise<CancelKeyDeletionResponse> {
    return this.execute('CancelKeyDeletion', input) as Promise<CancelKeyDeletionResponse>;
  }

  /** AWS KMS `EnableKeyRotation`. */
  enableKeyRotation(input: EnableKeyRotationRequest): Promise<Record<string, never>> {
    return this.execute('EnableKeyRotation', input) as Promise<Record<string, never>>;
  }

  /** AWS KMS `DisableKeyRotation`. */
  disableKeyRotation(input: DisableKeyRotationRequest): Promise<Record<string, never>> {
    return this.execute('DisableKeyRotation', input) as Promise<Record<string, never>>;
  }

  /** AWS KMS `GetKeyRotationStatus`. */
  getKeyRotationStatus(input: GetKeyRotationStatusRequest): Promise<GetKeyRotationStatusResponse> {
    return this.execute('GetKeyRotationStatus', input) as Promise<GetKeyRotationStatusResponse>;
  }

  /** AWS KMS `RotateKeyOnDemand`. */
  rotateKeyOnDemand(input: RotateKeyOnDemandRequest): Promise<RotateKeyOnDemandResponse> {
    return this.execute('RotateKeyOnDemand', input) as Promise<RotateKeyOnDemandResponse>;
  }

  /** AWS KMS `ListKeyRotations`. */
  listKeyRotations(input: ListKeyRotationsRequest): Promise<ListKeyRotationsResponse> {
    return this.execute('ListKeyRotations', input) as Promise<ListKeyRotationsResponse>;
  }

  /** AWS KMS `Encrypt`. */
  encrypt(input: EncryptRequest): Promise<EncryptResponse> {
    return this.execute('Encrypt', input) as Promise<EncryptResponse>;
  }

  /** AWS KMS `Decrypt`. */
  decrypt(input: DecryptRequest): Promise<DecryptResponse> {
    return this.execute('Decrypt', input) as Promise<DecryptResponse>;
  }

  /** AWS KMS `ReEncrypt`. */
  reEncrypt(input: ReEncryptRequest): Promise<ReEncryptResponse> {
    return this.execute('ReEncrypt', input) as Promise<ReEncryptResponse>;
  }

  /** AWS KMS `GenerateDataKey`. */
  generateDataKey(input: GenerateDataKeyRequest): Promise<GenerateDataKeyResponse> {
    return this.execute('GenerateDataKey', input) as Promise<GenerateDataKeyResponse>;
  }

  /** AWS KMS `GenerateDataKeyWithoutPlaintext`. */
  generateDataKeyWithoutPlaintext(input: GenerateDataKeyWithoutPlaintextRequest): Promise<GenerateDataKeyWithoutPlaintextResponse> {
    return this.execute('GenerateDataKeyWithoutPlaintext', input) as Promise<GenerateDataKeyWithoutPlaintextResponse>;
  }

  /** AWS KMS `Sign`. */
  sign(input: SignRequest): Promise<SignResponse> {
    return this.execute('Sign', input) as Promise<SignResponse>;
  }

  /** AWS KMS `Verify`. */
  verify(input: VerifyRequest): Promise<VerifyResponse> {
    return this.execute('Verify', input) as Promise<VerifyResponse>;
  }

  /** AWS KMS `GetPublicKey`. */
  getPublicKey(input: GetPublicKeyRequest): Promise<GetPublicKeyResponse> {
    return this.execute('GetPublicKey', input) as Promise<GetPublicKeyResponse>;
  }

  /** AWS KMS `GenerateDataKeyPair`. */
  generateDataKeyPair(input: GenerateDataKeyPairRequest): Promise<GenerateDataKeyPairResponse> {
    return this.execute('GenerateDataKeyPair', input) as Promise<GenerateDataKeyPairResponse>;
  }

  /** AWS KMS `GenerateDataKeyPairWithoutPlaintext`. */
  generateDataKeyPairWithoutPlaintext(input: GenerateDataKeyPairWithoutPlaintextRequest): Promise<GenerateDataKeyPairWithoutPlaintextResponse> {
    return this.execute('GenerateDataKeyPairWithoutPlaintext', input) as Promise<GenerateDataKeyPairWithoutPlaintextResponse>;
  }

  /** AWS KMS `GenerateMac`. */
  generateMac(input: GenerateMacRequest): Promise<GenerateMacResponse> {
    return this.execute('GenerateMac', input) as Promise<GenerateMacResponse>;
  }

  /** AWS KMS `VerifyMac`. */
  verifyMac(input: VerifyMacRequest): Promise<VerifyMacResponse> {
    return this.execute('VerifyMac', input) as Promise<VerifyMacResponse>;
  }

  /** AWS KMS `GetParametersForImport`. */
  getParametersForImport(input: GetParametersForImportRequest): Promise<GetParametersForImportResponse> {
    return this.execute('GetParametersForImport', input) as Promise<GetParametersForImportResponse>;
  }

  /** AWS KMS `ImportKeyMaterial`. */
  importKeyMaterial(input: ImportKeyMaterialRequest): Promise<ImportKeyMaterialResponse> {
    return this.execute('ImportKeyMaterial', input) as Promise<ImportKeyMaterialResponse>;
  }

  /** AWS KMS `DeleteImportedKeyMaterial`. */
  deleteImportedKeyMaterial(input: DeleteImportedKeyMaterialRequest): Promise<DeleteImportedKeyMaterialResponse> {
    return this.execute('DeleteImportedKeyMaterial', input) as Promise<DeleteImportedKeyMaterialResponse>;
  }

  /** AWS KMS `PutKeyPolicy`. */
  putKeyPolicy(input: PutKeyPolicyRequest): Promise<Record<string, never>> {
    return this.execute('PutKeyPolicy', input) as Promise<Record<string, never>>;
  }

  /** AWS KMS `GetKeyPolicy`. */
  getKeyPolicy(input: GetKeyPolicyRequest): Promise<GetKeyPolicyResponse> {
    return this.execute('GetKeyPolicy', input) as Promise<GetKeyPolicyResponse>;
  }

  /** AWS KMS `ListKeyPolicies`. */
  listKeyPolicies(input: ListKeyPoliciesRequest): Promise<ListKeyPoliciesResponse> {
    return this.execute('ListKeyPolicies', input) as Promise<ListKeyPoliciesResponse>;
  }

  /** AWS KMS `CreateGrant`. */
  createGrant(input: CreateGrantRequest): Promise<CreateGrantResponse> {
    return this.execute('CreateGrant', input) as Promise<CreateGrantResponse>;
  }

  /** AWS KMS `ListGrants`. */
  listGrants(input: ListGrantsRequest): Promise<ListGrantsResponse> {
    return this.execute('ListGrants', input) as Promise<ListGrantsResponse>;
  }

  /** AWS KMS `ListRetirableGrants`. */
  listRetirableGrants(input: ListRetirableGrantsRequest = {}): Promise<ListGrantsResponse> {
    return this.execute('ListRetirableGrants', input) as Promise<ListGrantsResponse>;
  }

  /** AWS KMS `RetireGrant`. */
  retireGrant(input: RetireGrantRequest = {}): Promise<Record<string, never>> {
    return this.execute('RetireGrant', input) as Promise<Record<string, never>>;
  }

  /** AWS KMS `RevokeGrant`. */
  revokeGrant(input: RevokeGrantRequest): Promise<Record<string, never>> {
    return this.execute('RevokeGrant', input) as Promise<Record<string, never>>;
  }

  /**
   * Checks the audit chain (MACs under a key derived from the root key, links, sequence, head);
   * names the first row that was edited, inserted, deleted or reordered, and the problem. With
   * `anchor` (a head from {@link LocalKms.auditHead} kept elsewhere), also detects the log cut
   * back before that head or replaced by an older copy.
   *
   * @example
   * ```ts
   * const v = kms.verifyAudit({ anchor: savedHead });
   * if (!v.ok) console.error(`row ${v.firstBadSeq}: ${v.problem}`);
   * ```
   * @throws RangeError when `anchor` is not `<seq>:<64 hex>`.
   */
  verifyAudit(options: { anchor?: string } = {}): AuditVerification {
    return verifyAudit(this.#db, this.#auditKey, options);
  }

  /** The audit log's current head (`<seq>:<MAC>`) to keep elsewhere as an anchor; undefined while empty. */
  auditHead(): string | undefined {
    return auditHead(this.#db);
  }

  /**
   * Keys the audit rows of a store written before the chain was keyed (Sealbox 0.1 stores):
   * checks the old unkeyed chain, then rewrites it as MACs. Refuses (changing nothing) when the
   * old chain does not verify. It vouches for the old rows as they are: run it once, right
   * after upgrading, on a store nobody else could write.
   *
   * @example
   * ```ts
   * const { verification, upgraded } = kms.upgradeAudit();
   * ```
   * @throws Never (a chain that does not verify is reported in `verification`).
   */
  upgradeAudit(): { verification: AuditVerification; upgraded: number } {
    return upgradeAudit(this.#db, this.#auditKey);
  }

  /** Audit rows, oldest first (optionally only the last `limit`). */
  readAudit(options: { limit?: number } = {}): AuditRecord[] {
    return readAudit(this.#db, options);
  }

  /** The audit log as JSON lines. */
  exportAudit(): string {
    return exportAudit(this.#db);
  }

  /** Reads one key's record without auditing (tools; not an AWS operation). */
  peekKey(keyId: string): KeyRecord | undefined {
    return getKey(this.#db, this.region, this.accountId, keyId);
  }

  /** A stored meta value (schema version, passphrase salt, ...). */
  meta(name: string): string | undefined {
    return getMeta(this.#db, name);
  }
}
