/**
 * Extension points of the local KMS: how operations, tables and authorization plug in.
 *
 * Every operation (`Encrypt`, `CreateKey`, ...) is an {@link OperationDefinition}: an input
 * shape checked like AWS checks it, and a synchronous handler. `LocalKms.execute` runs the
 * handler inside one SQLite write transaction (`BEGIN IMMEDIATE`, so concurrent processes
 * queue on the busy timeout instead of failing) and, in the same transaction, appends the
 * audit row. A failing handler is rolled back to a savepoint first, so its audit row (with the
 * error name) is still written and nothing else it did survives.
 *
 * Handlers are synchronous on purpose: `better-sqlite3` transactions cannot span an `await`,
 * and `node:crypto` offers synchronous versions of everything a KMS operation needs.
 *
 * Modules (key policies, grants, SigV4 credentials, ...) contribute a {@link LocalKmsExtension}:
 * more operations, their own tables through {@link Migration}s (versioned per module), and an
 * {@link AuthorizeHook} that may veto any key operation. Built-in extensions are listed in
 * `extensions.ts`; callers can add more with `LocalKms.open({ extensions })`.
 *
 * @example
 * ```ts
 * // grants.ts (sketch)
 * export const grantsExtension: LocalKmsExtension = {
 *   name: 'grants',
 *   migrations: [{ module: 'grants', version: 1, up: (db) => db.exec('CREATE TABLE grants (...)') }],
 *   operations: [
 *     defineOperation('ListGrants', { KeyId: { type: 'string', required: true } }, (ctx, input) => {
 *       const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:ListGrants' });
 *       return { Grants: listGrants(ctx.db, key.keyId), Truncated: false };
 *     }),
 *   ],
 *   authorize: (req) => { if (!allowedByGrant(req)) throw new LocalKmsError('AccessDeniedException', '...'); },
 * };
 * ```
 */
import type { SqliteDatabase as Database } from './sqlite.js';
import type { KeyRecord } from './key-record.js';
import type { KeyPairParams } from './key-specs.js';

/** Who is calling: an IAM principal ARN and its account. */
export interface Caller {
  /** The principal ARN, e.g. `arn:aws:iam::111122223333:root` or `arn:aws:iam::111122223333:user/alice`. */
  readonly principal: string;
  /** The twelve-digit account id of the principal. */
  readonly accountId: string;
  /**
   * The region the call is made in (the KMS endpoint takes it from the request's SigV4
   * credential scope). Default: the LocalKms's `region`.
   */
  readonly region?: string;
}

/** The type of one input member, as in the AWS JSON protocol model. */
export type MemberType =
  /** A string. */
  | 'string'
  /** Bytes: a `Uint8Array` in-process (base64 text on the wire; the HTTP layer converts). */
  | 'blob'
  /** An integer number. */
  | 'integer'
  | 'boolean'
  /** A `Date` in-process (epoch seconds on the wire). */
  | 'timestamp'
  /** An array of strings. */
  | 'stringList'
  /** An object of string to string (EncryptionContext). */
  | 'stringMap'
  /** An array of `{ TagKey, TagValue }`. */
  | 'tagList'
  /** Any JSON object (checked by the handler). */
  | 'structure'
  /**
   * A member AWS KMS has and the local KMS does not implement (`Recipient`): sent (not null),
   * it is a SerializationException rather than being ignored.
   */
  | 'unsupported'
  /**
   * A parameter of a feature the local KMS does not have (service principals, material versions,
   * custom key stores): sent (not null), it is UnsupportedOperationException ("a specified
   * parameter is not supported"), before any other check of the input, with `reason`.
   */
  | 'unsupportedParameter';

/** Constraints on one input member. Type mismatches raise SerializationException, constraint violations ValidationException, as AWS does. */
export interface MemberSpec {
  readonly type: MemberType;
  readonly required?: boolean;
  /** Minimum length (strings, blobs, lists) or value (integers). */
  readonly min?: number;
  /** Maximum length (strings, blobs, lists), value (integers), or UTF-8 bytes of keys and values together (string maps). */
  readonly max?: number;
  /** Length bounds of each string in a `stringList` (GrantTokens: 1-8192, TagKeys: 1-128), as the AWS model gives them. */
  readonly memberLength?: { readonly min: number; readonly max: number };
  /** Allowed values of a string. */
  readonly enum?: readonly string[];
  /** Pattern a string must match. */
  readonly pattern?: RegExp;
  /**
   * A string holding a JSON document (a policy): the strings in it, once parsed, must be
   * well-formed Unicode too (a `\ud800` escape is well-formed text but not a well-formed string).
   */
  readonly jsonDocument?: boolean;
  /** Why an `unsupportedParameter` member is refused, for its error message. */
  readonly reason?: string;
}

/**
 * An operation's input members by name. Members not listed are dropped before the handler sees
 * them (validate.ts); list a member the local KMS cannot honour, and refuse it (`type:
 * 'unsupported'`, or a check in the handler), rather than leave it out.
 */
export type InputShape = Readonly<Record<string, MemberSpec>>;

/** Options of {@link OperationContext.resolveKey}. */
export interface ResolveKeyOptions {
  /** Accept `alias/...` names and alias ARNs (AWS allows them for cryptographic operations and DescribeKey, not for management). */
  readonly allowAlias: boolean;
  /** The IAM action to authorize, e.g. `kms:Encrypt`. Omit only for internal lookups. */
  readonly action?: string;
  readonly encryptionContext?: Readonly<Record<string, string>>;
  readonly grantTokens?: readonly string[];
  /**
   * The id comes from a ciphertext blob, not from the caller: resolved in the store's account
   * for a caller of another account too (a blob names its key unambiguously). A bare key id or
   * alias the caller gives names a key of the caller's own account, as in AWS.
   */
  readonly fromCiphertext?: boolean;
}

/** What an {@link AuthorizeHook} is asked. */
export interface AuthorizeRequest {
  readonly caller: Caller;
  /** The IAM action, e.g. `kms:Encrypt`, `kms:CreateKey`. */
  readonly action: string;
  /** The operation name, e.g. `Encrypt`. */
  readonly operation: string;
  /**
   * The key the action is on; absent for key-less actions (CreateKey, ListKeys, GenerateRandom,
   * ...), whose resource is `*`. A key-less action on another resource gives its ARN here
   * without `key` (ListRetirableGrants: the retiring principal).
   */
  readonly keyArn?: string;
  /** The key itself (its `policy` text is what a policy evaluator reads). */
  readonly key?: KeyRecord;
  readonly encryptionContext?: Readonly<Record<string, string>>;
  readonly grantTokens?: readonly string[];
  /** The operation's input, as validated: request parameters that policy conditions test (`kms:SigningAlgorithm`, `aws:RequestTag/...`). */
  readonly input?: Readonly<Record<string, unknown>>;
  /** The alias name the request named the key by (`alias/...`), for `kms:RequestAlias`; absent when it used a key id or ARN. */
  readonly requestAlias?: string;
  /**
   * For a key-less `kms:CreateKey` check made by an operation whose input does not describe the
   * key it makes (ReplicateKey's replica): that key's properties, which `kms:KeySpec`,
   * `kms:KeyUsage`, `kms:KeyOrigin`, `kms:MultiRegion` and `kms:MultiRegionKeyType` then read.
   * Absent, CreateKey's own input members give them.
   */
  readonly keyToCreate?: Pick<KeyRecord, 'keySpec' | 'keyUsage' | 'origin' | 'multiRegion'>;
  /** The running operation (gives the hook the database and the clock). */
  readonly context: OperationContext;
  /**
   * Decide by policies alone (the key policy and identity policies), as if the key had no
   * grants: CreateGrant asks this to learn whether its caller may pass on more than a grant of
   * its own gives. A hook that knows nothing of grants can ignore it.
   */
  readonly withoutGrants?: boolean;
  /**
   * For `kms:RetireGrant` only: whether the grant itself lets the caller retire it (its retiring
   * principal, its grantee when it allows RetireGrant, its account). AWS decides RetireGrant by
   * the grant, not the key policy; an identity policy can still deny it, or delegate it to a
   * principal of the key's account (AWS KMS Developer Guide, "Retiring and revoking grants"). A
   * hook that knows nothing of grants can ignore it.
   */
  readonly retireAllowedByGrant?: boolean;
}

/**
 * Decides whether a call may proceed. Throw a `LocalKmsError` (normally `AccessDeniedException`)
 * to deny; return to allow. Every hook of every extension must allow. With no hooks, every
 * call is allowed (the local account owns everything).
 */
export type AuthorizeHook = (request: AuthorizeRequest) => void;

/** One schema change of one module. Versions of a module run in order, each once, in one transaction. */
export interface Migration {
  /** The module that owns the tables, e.g. `core`, `grants`. */
  readonly module: string;
  /** 1, 2, 3, ... within the module. */
  readonly version: number;
  readonly up: (db: Database) => void;
}

/** The per-call environment a handler runs in. Valid only during the call. */
export interface OperationContext {
  /** The open database, inside the operation's transaction. */
  readonly db: Database;
  /** The operation name, e.g. `Encrypt`. */
  readonly operation: string;
  /** The injected clock, read once per call. */
  readonly now: Date;
  readonly region: string;
  readonly accountId: string;
  readonly caller: Caller;
  /** The ARN of a key id in this call's region and account. */
  keyArn(keyId: string): string;
  /**
   * Finds the key a `KeyId` member names (key id, key ARN, and where allowed alias name or
   * alias ARN), records it in the audit row and, when `action` is given, authorizes it.
   * @throws NotFoundException (no such key, or an ARN for another region or account),
   * ValidationException / InvalidArnException (malformed), AccessDeniedException (a hook denied).
   */
  resolveKey(keyId: string, options: ResolveKeyOptions): KeyRecord;
  /** Runs every authorize hook; for key-less actions (`kms:CreateKey`, `kms:ListKeys`, ...). */
  authorize(request: Omit<AuthorizeRequest, 'caller' | 'operation' | 'context' | 'input'>): void;
  /** Names the key this call concerns in its audit row (resolveKey does this itself). */
  auditKey(keyId: string): void;
  /**
   * Throws unless `key` may be used for cryptography now: DisabledException when Disabled,
   * KMSInvalidStateException when PendingDeletion, PendingImport (or any other state).
   */
  requireUsable(key: KeyRecord): void;
  /**
   * The key material of `version` (default: the current version), unsealed: 32 raw bytes for
   * SYMMETRIC_DEFAULT, raw bytes for HMAC keys, PKCS#8 DER for RSA and ECC keys.
   * @throws KMSInvalidStateException when the key has no material (PendingImport);
   * InvalidCiphertextException when the version does not exist; KMSInternalException when the
   * stored material does not open as this key's (another key's, or a key spec, usage or origin
   * changed in the store).
   */
  material(key: KeyRecord, version?: number): Uint8Array;
  /**
   * A fresh key pair's private key (PKCS#8 DER; the caller zeroes it when done). Through
   * `LocalKms.execute` an RSA pair is made on libuv's thread pool, not on the event loop: the
   * first run of the operation stops here (everything it did is rolled back, no audit row), the
   * pair is made, and the operation runs again from the start and is handed it. Elsewhere
   * (executeBatch, the scheduler) the pair is made at once.
   */
  keyPair(params: KeyPairParams): Uint8Array;
  /**
   * Stores material as the key's version 1 (imported keys) or next version, sealed under the
   * root key and bound to key id, version, key spec, key usage and origin (as the key's row
   * holds them now); returns the version number. `storageId` is
   * {@link KeyRecord.storageId}; a multi-Region key's new version reaches all its related keys.
   */
  addMaterial(storageId: string, material: Uint8Array): number;
  /** Deletes every version of a key's material (DeleteImportedKeyMaterial, expiry). */
  deleteMaterial(storageId: string): void;
  /** Updates key columns (state, validTo, ...) of the `keys` table (by {@link KeyRecord.storageId}). */
  updateKey(storageId: string, changes: Partial<Pick<KeyRecord, 'state' | 'validTo' | 'currentVersion'>>): void;
  /** Seals bytes under a root-derived key, bound to `label` (e.g. import token material). */
  seal(label: string, plaintext: Uint8Array): Uint8Array;
  /** Opens what {@link seal} sealed with the same label; throws InvalidCiphertextException otherwise. */
  unseal(label: string, sealed: Uint8Array): Uint8Array;
}

/** An operation: name, input shape, synchronous handler, and which members the audit log must never hold. */
export interface OperationDefinition<I = Record<string, unknown>, O = unknown> {
  readonly name: string;
  readonly input: InputShape;
  readonly handler: (context: OperationContext, input: I) => O;
  /** Input members left out of the audit row besides blobs (which are always reduced to their length). */
  readonly sensitive?: readonly string[];
}

/**
 * Declares an operation.
 *
 * @example
 * ```ts
 * const getRandomByte = defineOperation('GetRandomByte', {}, () => ({ Byte: randomBytes(1)[0] }));
 * ```
 * @throws TypeError when `name` is not PascalCase.
 */
export function defineOperation<I = Record<string, unknown>, O = unknown>(
  name: string,
  input: InputShape,
  handler: (context: OperationContext, input: I) => O,
  options: { sensitive?: readonly string[] } = {},
): OperationDefinition<I, O> {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) throw new TypeError('"name" expected a PascalCase operation name');
  return { name, input, handler, ...(options.sensitive ? { sensitive: options.sensitive } : {}) };
}

/** A bundle of operations, tables and an authorize hook that plugs into the local KMS. */
export interface LocalKmsExtension {
  readonly name: string;
  readonly migrations?: readonly Migration[];
  // Handlers are stored type-erased; defineOperation keeps them typed where they are written.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly operations?: readonly OperationDefinition<any, any>[];
  readonly authorize?: AuthorizeHook;
}
