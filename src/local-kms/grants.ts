/**
 * Grants: the `grants` table and the CreateGrant, ListGrants, ListRetirableGrants, RetireGrant
 * and RevokeGrant operations (AWS KMS API Reference). Whether a grant covers a request is
 * decided by grant-rules.ts; the authorize hook that consults grants lives in access.ts.
 *
 * Grant tokens: AWS returns a token so that a new grant can be used before it has propagated.
 * The local store is consistent at once, so a token is never needed for access; it is still
 * issued, checked when presented (a token that was not issued here is
 * `InvalidGrantTokenException`), and identifies a grant to RetireGrant. A grant's first token is
 * the grant id plus 32 random bytes; only a SHA-256 of the random part is stored. An idempotent
 * CreateGrant (same Name and terms) returns the same grant id with a new token, and every token
 * issued for a grant stays valid as long as the grant, as in AWS. Such a reissued token stores
 * nothing: it is the grant id plus the grant id sealed (AES-256-GCM, a fresh IV) under a key
 * derived from the store's root key, so that repeating a CreateGrant any number of times neither
 * grows the database nor makes checking a token slower. Tokens reissued by earlier versions
 * (rows of `grant_tokens`) stay valid. A key has at most {@link MAX_GRANTS_PER_KEY} grants.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SqliteDatabase as Database } from './sqlite.js';
import { LocalKmsError } from './errors.js';
import { getKeyByStorageId, keyStateError } from './key-store.js';
import type { KeyRecord } from './key-record.js';
import { SERVICE_PRINCIPAL } from './validate.js';
import { checkGrantOperationsForKey, constraintsAtLeastAsStrict, grantCovers, validateGrantTerms, type GrantConstraints, type GrantTerms } from './grant-rules.js';
import { defineOperation, type Caller, type Migration, type OperationContext } from './operation.js';

/** Most grant tokens one request may carry (AWS limit). */
export const MAX_GRANT_TOKENS = 10;

/** Most grants one KMS key may have (AWS KMS quota "Grants for a KMS key"); CreateGrant beyond it is `LimitExceededException`. */
export const MAX_GRANTS_PER_KEY = 50_000;

/** The sealing label of reissued grant tokens (`OperationContext.seal`). */
const REISSUED_TOKEN_LABEL = 'grant token';
/** Bytes of a grant id, of a first token (id and secret) and of a reissued token (id, then the id sealed: IV, 32 bytes, tag). */
const GRANT_ID_BYTES = 32;
const FIRST_TOKEN_BYTES = 64;
const REISSUED_TOKEN_BYTES = GRANT_ID_BYTES + 12 + GRANT_ID_BYTES + 16;

/** The `grants` table, owned by the `grants` module. */
export const grantMigrations: readonly Migration[] = [
  {
    module: 'grants',
    version: 1,
    up: (db) =>
      db.exec(`
        CREATE TABLE grants (
          grant_id TEXT PRIMARY KEY,
          key_id TEXT NOT NULL,
          key_arn TEXT NOT NULL,
          name TEXT,
          grantee_principal TEXT NOT NULL,
          retiring_principal TEXT,
          issuing_account TEXT NOT NULL,
          operations TEXT NOT NULL,
          constraints TEXT,
          token_hash BLOB NOT NULL,
          created_at INTEGER NOT NULL
        );
        CREATE INDEX grants_by_key ON grants (key_id);
        CREATE INDEX grants_by_retiring ON grants (retiring_principal);
      `),
  },
  {
    // Tokens handed out again by an idempotent CreateGrant (same Name, same terms). AWS returns a
    // new token every time and "all grant tokens for the same grant ID can be used
    // interchangeably" (API Reference, CreateGrant, Name), so each issued token stays valid:
    // grants.token_hash keeps the first, this table the later ones, gone with their grant.
    module: 'grants',
    version: 2,
    up: (db) =>
      db.exec(`
        CREATE TABLE grant_tokens (grant_id TEXT NOT NULL, token_hash BLOB NOT NULL);
        CREATE INDEX grant_tokens_by_grant ON grant_tokens (grant_id);
        CREATE TRIGGER grant_tokens_with_grant AFTER DELETE ON grants
          BEGIN DELETE FROM grant_tokens WHERE grant_id = old.grant_id; END;
      `),
  },
];

interface GrantRow {
  rowid: number;
  grant_id: string;
  key_id: string;
  key_arn: string;
  name: string | null;
  grantee_principal: string;
  retiring_principal: string | null;
  issuing_account: string;
  operations: string;
  constraints: string | null;
  token_hash: Buffer;
  created_at: number;
}

/** A stored grant, decoded. */
export interface StoredGrant extends GrantTerms {
  readonly grantId: string;
  readonly keyId: string;
  readonly keyArn: string;
  readonly name: string | undefined;
  readonly retiringPrincipal: string | undefined;
  readonly issuingAccount: string;
  readonly createdAt: Date;
}

function decode(row: GrantRow): StoredGrant {
  return {
    grantId: row.grant_id,
    keyId: row.key_id,
    keyArn: row.key_arn,
    name: row.name ?? undefined,
    granteePrincipal: row.grantee_principal,
    retiringPrincipal: row.retiring_principal ?? undefined,
    issuingAccount: row.issuing_account,
    operations: JSON.parse(row.operations) as string[],
    constraints: row.constraints === null ? undefined : (JSON.parse(row.constraints) as GrantConstraints),
    createdAt: new Date(row.created_at),
  };
}

/** The GrantListEntry shape of the KMS API. */
function listEntry(g: StoredGrant): Record<string, unknown> {
  return {
    KeyId: g.keyArn,
    GrantId: g.grantId,
    Name: g.name,
    CreationDate: g.createdAt,
    GranteePrincipal: g.granteePrincipal,
    RetiringPrincipal: g.retiringPrincipal,
    IssuingAccount: `arn:aws:iam::${g.issuingAccount}:root`,
    Operations: g.operations,
    Constraints: g.constraints,
  };
}

/**
 * The grants on a key whose grantee is `caller` or its account's root: the only ones that can
 * cover the caller's request (grant-rules.ts, `grantCovers`), selected by SQLite so that a key
 * with many grants costs a request only the caller's own.
 */
export function grantsForCaller(db: Database, keyId: string, caller: { principal: string; accountId: string }): StoredGrant[] {
  const rows = db.prepare('SELECT rowid, * FROM grants WHERE key_id = ? AND grantee_principal IN (?, ?)').all(keyId, caller.principal, `arn:aws:iam::${caller.accountId}:root`);
  return (rows as GrantRow[]).map(decode);
}

function tokenHash(secret: Buffer): Buffer {
  return createHash('sha256').update(secret).digest();
}

function invalidToken(): LocalKmsError {
  return new LocalKmsError('InvalidGrantTokenException', 'The grant token is not valid.');
}

/** A token's grant id and the rest: the secret of a first token, or the sealed id of a reissued one. */
function parseToken(token: string): { grantId: string; rest: Buffer; reissued: boolean } {
  const raw = /^[A-Za-z0-9_-]{86}$|^[A-Za-z0-9_-]{123}$/.test(token) ? Buffer.from(token, 'base64url') : undefined;
  if (raw === undefined || (raw.length !== FIRST_TOKEN_BYTES && raw.length !== REISSUED_TOKEN_BYTES)) throw invalidToken();
  return { grantId: raw.subarray(0, GRANT_ID_BYTES).toString('hex'), rest: raw.subarray(GRANT_ID_BYTES), reissued: raw.length === REISSUED_TOKEN_BYTES };
}

/** A new token for an existing grant (idempotent CreateGrant): nothing is stored. */
function reissuedToken(ctx: OperationContext, grantId: string): string {
  const id = Buffer.from(grantId, 'hex');
  return Buffer.concat([id, ctx.seal(REISSUED_TOKEN_LABEL, id)]).toString('base64url');
}

/**
 * Checks grant tokens presented with a request: at most 10, each issued by this store. Returns
 * the ids of the grants they name that still exist.
 *
 * @throws LocalKmsError `ValidationException` (more than 10), `InvalidGrantTokenException`.
 * @example
 * ```ts
 * checkGrantTokens(ctx, input.GrantTokens);
 * ```
 */
export function checkGrantTokens(ctx: OperationContext, tokens: readonly string[] | undefined): string[] {
  if (tokens === undefined) return [];
  if (tokens.length > MAX_GRANT_TOKENS) throw new LocalKmsError('ValidationException', `At most ${MAX_GRANT_TOKENS} grant tokens.`);
  const { db } = ctx;
  const ids: string[] = [];
  for (const token of tokens) {
    const { grantId, rest, reissued } = parseToken(token);
    const row = db.prepare('SELECT token_hash FROM grants WHERE grant_id = ?').get(grantId) as { token_hash: Buffer } | undefined;
    // A token for a grant since retired or revoked is genuine but grants nothing.
    if (row === undefined) continue;
    if (reissued) {
      // Opening checks the GCM tag; the sealed id must then be the token's own.
      let sealedId: Uint8Array;
      try {
        sealedId = ctx.unseal(REISSUED_TOKEN_LABEL, rest);
      } catch {
        throw invalidToken();
      }
      if (!timingSafeEqual(Buffer.from(sealedId), Buffer.from(grantId, 'hex'))) throw invalidToken();
    } else {
      const hash = tokenHash(rest);
      // Tokens reissued before reissued tokens were sealed (no new rows since).
      const reissuedBefore = db.prepare('SELECT token_hash FROM grant_tokens WHERE grant_id = ?').all(grantId) as { token_hash: Buffer }[];
      // Compare with every issued token (no early exit): each comparison is constant-time.
      let valid = timingSafeEqual(row.token_hash, hash);
      for (const r of reissuedBefore) valid = timingSafeEqual(r.token_hash, hash) || valid;
      if (!valid) throw invalidToken();
    }
    ids.push(grantId);
  }
  return ids;
}

const PRINCIPAL = { type: 'string', min: 1, max: 256, pattern: /^[\w+=,.@:/-]+$/ } as const;
const KEY_ID = { type: 'string', required: true, min: 1, max: 2048 } as const;
const GRANT_ID = { type: 'string', min: 1, max: 128, pattern: /^[a-zA-Z0-9-]+$/ } as const;
const PAGING = { Limit: { type: 'integer', min: 1, max: 100 }, Marker: { type: 'string', min: 1, max: 1024 } } as const;

function page(rows: GrantRow[], limit: number): Record<string, unknown> {
  const shown = rows.slice(0, limit);
  const truncated = rows.length > limit;
  return {
    Grants: shown.map((r) => listEntry(decode(r))),
    Truncated: truncated,
    ...(truncated ? { NextMarker: String(shown.at(-1)!.rowid) } : {}),
  };
}

function markerRowid(marker: string | undefined): number {
  if (marker === undefined) return 0;
  if (!/^\d{1,15}$/.test(marker)) throw new LocalKmsError('InvalidMarkerException', 'The marker is not valid.');
  return Number(marker);
}

function dryRun(input: { DryRun?: boolean }): void {
  if (input.DryRun === true) throw new LocalKmsError('DryRunOperationException', 'The request would have succeeded.');
}

function isAccountRoot(caller: Caller, accountId: string): boolean {
  return caller.principal === `arn:aws:iam::${accountId}:root`;
}

/** The encryption contexts a CreateGrant's constraints name (none without constraints). */
function constraintContexts(constraints: GrantConstraints | undefined): Readonly<Record<string, string>>[] {
  if (constraints === undefined) return [];
  return [constraints.EncryptionContextEquals, constraints.EncryptionContextSubset].filter(
    (c): c is Readonly<Record<string, string>> => c !== undefined,
  );
}

interface CreateGrantInput {
  KeyId: string;
  GranteePrincipal: string;
  Operations: string[];
  RetiringPrincipal?: string;
  Constraints?: GrantConstraints;
  GrantTokens?: string[];
  Name?: string;
  DryRun?: boolean;
}

const createGrant = defineOperation<CreateGrantInput>(
  'CreateGrant',
  {
    KeyId: KEY_ID,
    GranteePrincipal: { ...PRINCIPAL, required: true },
    GranteeServicePrincipal: SERVICE_PRINCIPAL,
    RetiringServicePrincipal: SERVICE_PRINCIPAL,
    Operations: { type: 'stringList', required: true, min: 1 },
    RetiringPrincipal: PRINCIPAL,
    Constraints: { type: 'structure' },
    GrantTokens: { type: 'stringList', max: MAX_GRANT_TOKENS, memberLength: { min: 1, max: 8192 } },
    Name: { type: 'string', min: 1, max: 256, pattern: /^[a-zA-Z0-9:/_-]+$/ },
    DryRun: { type: 'boolean' },
  },
  (ctx, input) => {
    validateGrantTerms(input.Operations, input.Constraints);
    checkGrantTokens(ctx, input.GrantTokens);
    // AWS evaluates kms:EncryptionContext:* and kms:EncryptionContextKeys of a CreateGrant
    // against the encryption context in its constraints: each constraint is authorized.
    const [firstContext, ...moreContexts] = constraintContexts(input.Constraints);
    const key = ctx.resolveKey(input.KeyId, {
      allowAlias: false,
      action: 'kms:CreateGrant',
      ...(input.GrantTokens ? { grantTokens: input.GrantTokens } : {}),
      ...(firstContext ? { encryptionContext: firstContext } : {}),
    });
    for (const encryptionContext of moreContexts) ctx.authorize({ action: 'kms:CreateGrant', key, keyArn: key.arn, encryptionContext });
    // AWS KMS Developer Guide, key state table, CreateGrant: Disabled is DisabledException;
    // pending deletion (or replica deletion), pending import and Creating are
    // KMSInvalidStateException; Unavailable and Updating keys take grants.
    if (key.state === 'Disabled' || key.state === 'PendingDeletion' || key.state === 'PendingReplicaDeletion' || key.state === 'PendingImport' || key.state === 'Creating') {
      throw keyStateError(key);
    }
    checkGrantOperationsForKey(input.Operations, key, input.Constraints);
    // A caller allowed only through a grant with CreateGrant may pass on no more than that
    // grant gives: the same or fewer operations under constraints at least as strict (AWS).
    // Allowed "by policy" means as the authorize hooks decide with grants left out: the key
    // policy with its conditions on this request (kms:GranteePrincipal, ...) and the caller's
    // identity policies, combined as for any other call. (The key policy alone said "allow"
    // whenever it named the caller's account, even when the caller's identity policies did
    // not allow CreateGrant: a grantee of CreateGrant could then grant itself anything.)
    const caller = { principal: ctx.caller.principal, accountId: ctx.caller.accountId, action: 'kms:CreateGrant', keyArn: key.arn };
    const byPolicy = [firstContext, ...moreContexts].every((encryptionContext) => {
      try {
        ctx.authorize({ action: 'kms:CreateGrant', key, keyArn: key.arn, withoutGrants: true, ...(encryptionContext ? { encryptionContext } : {}) });
        return true;
      } catch (err) {
        if (err instanceof LocalKmsError && err.name === 'AccessDeniedException') return false;
        throw err;
      }
    });
    if (!byPolicy) {
      const parent = grantsForCaller(ctx.db, key.storageId, caller).find(
        (g) =>
          grantCovers({ ...g, constraints: undefined }, caller) &&
          input.Operations.every((op) => g.operations.includes(op)) &&
          constraintsAtLeastAsStrict(input.Constraints, g.constraints),
      );
      if (parent === undefined) throw new LocalKmsError('AccessDeniedException', 'A grant may only pass on what it allows.');
    }
    const operations = [...input.Operations].sort();
    const constraints = input.Constraints && Object.keys(input.Constraints).length > 0 ? JSON.stringify(input.Constraints) : null;
    // CreateGrant is idempotent on Name: the same terms under the same name return the same grant.
    const same =
      input.Name === undefined
        ? undefined
        : (ctx.db
            .prepare(
              `SELECT grant_id FROM grants WHERE key_id = ? AND name = ? AND grantee_principal = ? AND operations = ?
                 AND constraints IS ? AND retiring_principal IS ?`,
            )
            .get(key.storageId, input.Name, input.GranteePrincipal, JSON.stringify(operations), constraints, input.RetiringPrincipal ?? null) as
            | { grant_id: string }
            | undefined);
    if (same === undefined) {
      const { n } = ctx.db.prepare('SELECT count(*) AS n FROM grants WHERE key_id = ?').get(key.storageId) as { n: number };
      // The API Reference names LimitExceededException for "a quota was exceeded".
      if (n >= MAX_GRANTS_PER_KEY) throw new LocalKmsError('LimitExceededException', `A KMS key can have at most ${MAX_GRANTS_PER_KEY} grants; retire or revoke some first.`);
    }
    dryRun(input);
    // A new token for the same grant, stored nowhere; the tokens already handed out stay valid.
    if (same !== undefined) return { GrantId: same.grant_id, GrantToken: reissuedToken(ctx, same.grant_id) };
    const secret = randomBytes(32);
    const id = randomBytes(32);
    const grantId = id.toString('hex');
    ctx.db
      .prepare(
        `INSERT INTO grants (grant_id, key_id, key_arn, name, grantee_principal, retiring_principal, issuing_account,
           operations, constraints, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        grantId,
        key.storageId,
        key.arn,
        input.Name ?? null,
        input.GranteePrincipal,
        input.RetiringPrincipal ?? null,
        ctx.accountId,
        JSON.stringify(operations),
        constraints,
        tokenHash(secret),
        ctx.now.getTime(),
      );
    return { GrantId: grantId, GrantToken: Buffer.concat([id, secret]).toString('base64url') };
  },
  { sensitive: ['GrantTokens'] },
);

interface ListGrantsInput {
  KeyId: string;
  Limit?: number;
  Marker?: string;
  GrantId?: string;
  GranteePrincipal?: string;
}

const listGrants = defineOperation<ListGrantsInput>(
  'ListGrants',
  { KeyId: KEY_ID, ...PAGING, GrantId: GRANT_ID, GranteePrincipal: PRINCIPAL, GranteeServicePrincipal: SERVICE_PRINCIPAL },
  (ctx, input) => {
    const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:ListGrants' });
    const limit = input.Limit ?? 50;
    const rows = ctx.db
      .prepare(
        `SELECT rowid, * FROM grants WHERE key_id = ? AND rowid > ? AND (? IS NULL OR grant_id = ?)
           AND (? IS NULL OR grantee_principal = ?) ORDER BY rowid LIMIT ?`,
      )
      .all(key.storageId, markerRowid(input.Marker), input.GrantId ?? null, input.GrantId ?? null, input.GranteePrincipal ?? null, input.GranteePrincipal ?? null, limit + 1) as GrantRow[];
    return page(rows, limit);
  },
);

const listRetirableGrants = defineOperation<{ RetiringPrincipal: string; Limit?: number; Marker?: string }>(
  'ListRetirableGrants',
  { RetiringPrincipal: { ...PRINCIPAL, required: true }, ...PAGING, RetiringServicePrincipal: SERVICE_PRINCIPAL },
  (ctx, input) => {
    // "The authorized resource in ListRetirableGrants calls is the retiring principal specified
    // in the request" (AWS KMS API Reference, ListRetirableGrants): an identity policy's Resource
    // is matched against it. (Before, against `*`: a Deny naming the principal never applied.)
    ctx.authorize({ action: 'kms:ListRetirableGrants', keyArn: input.RetiringPrincipal });
    const limit = input.Limit ?? 50;
    const rows = ctx.db
      .prepare('SELECT rowid, * FROM grants WHERE retiring_principal = ? AND rowid > ? ORDER BY rowid LIMIT ?')
      .all(input.RetiringPrincipal, markerRowid(input.Marker), limit + 1) as GrantRow[];
    return page(rows, limit);
  },
);

function findGrant(db: Database, grantId: string): StoredGrant | undefined {
  const row = db.prepare('SELECT rowid, * FROM grants WHERE grant_id = ?').get(grantId) as GrantRow | undefined;
  return row === undefined ? undefined : decode(row);
}

interface RetireGrantInput {
  GrantToken?: string;
  KeyId?: string;
  GrantId?: string;
  DryRun?: boolean;
}

const retireGrant = defineOperation<RetireGrantInput>(
  'RetireGrant',
  { GrantToken: { type: 'string', min: 1, max: 8192 }, KeyId: { type: 'string', min: 1, max: 2048 }, GrantId: GRANT_ID, DryRun: { type: 'boolean' } },
  (ctx, input) => {
    let grant: StoredGrant | undefined;
    let key: KeyRecord | undefined;
    if (input.GrantToken !== undefined) {
      const [grantId] = checkGrantTokens(ctx, [input.GrantToken]);
      grant = grantId === undefined ? undefined : findGrant(ctx.db, grantId);
      if (grant === undefined) throw new LocalKmsError('NotFoundException', 'The grant does not exist.');
      key = getKeyByStorageId(ctx.db, ctx.accountId, grant.keyId);
    } else {
      if (input.KeyId === undefined || input.GrantId === undefined) {
        throw new LocalKmsError('ValidationException', 'RetireGrant needs GrantToken, or KeyId and GrantId.');
      }
      key = ctx.resolveKey(input.KeyId, { allowAlias: false });
      grant = findGrant(ctx.db, input.GrantId);
      if (grant === undefined || grant.keyId !== key.storageId) throw new LocalKmsError('NotFoundException', 'The grant does not exist.');
    }
    ctx.auditKey(grant.keyId);
    if (key === undefined) throw new LocalKmsError('NotFoundException', 'The grant does not exist.');
    // Who may retire (AWS): the retiring principal, the grantee when the grant includes
    // RetireGrant, and the account that issued the grant; the authorize hook adds what identity
    // policies say (a Deny of kms:RetireGrant holds).
    const caller = ctx.caller;
    const allowed =
      caller.principal === grant.retiringPrincipal ||
      (caller.principal === grant.granteePrincipal && grant.operations.includes('RetireGrant')) ||
      isAccountRoot(caller, grant.issuingAccount);
    ctx.authorize({ action: 'kms:RetireGrant', key, keyArn: key.arn, retireAllowedByGrant: allowed });
    dryRun(input);
    ctx.db.prepare('DELETE FROM grants WHERE grant_id = ?').run(grant.grantId);
    return undefined;
  },
  { sensitive: ['GrantToken'] },
);

const revokeGrant = defineOperation<{ KeyId: string; GrantId: string; DryRun?: boolean }>(
  'RevokeGrant',
  { KeyId: KEY_ID, GrantId: { ...GRANT_ID, required: true }, DryRun: { type: 'boolean' } },
  (ctx: OperationContext, input) => {
    const key = ctx.resolveKey(input.KeyId, { allowAlias: false, action: 'kms:RevokeGrant' });
    const grant = findGrant(ctx.db, input.GrantId);
    if (grant === undefined || grant.keyId !== key.storageId) throw new LocalKmsError('NotFoundException', 'The grant does not exist.');
    dryRun(input);
    ctx.db.prepare('DELETE FROM grants WHERE grant_id = ?').run(grant.grantId);
    return undefined;
  },
);

/** The grant operations, for the access extension. */
export const grantOperations = [createGrant, listGrants, listRetirableGrants, retireGrant, revokeGrant] as const;
