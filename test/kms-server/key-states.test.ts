/**
 * AWS KMS's key state table, operation by operation and state by state, over HTTP with the real
 * `@aws-sdk/client-kms`: whether each call succeeds, else its exception, HTTP status and message.
 *
 * Source: AWS KMS Developer Guide, "Key states of AWS KMS keys", key state table
 * (https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html; the text as in
 * awsdocs/aws-kms-developer-guide, doc_source/key-state.md), with its footnotes:
 *   [1] DisabledException: <key ARN> is disabled.
 *   [2] DisabledException: <key ARN> is pending deletion (or pending replica deletion).
 *   [3] KMSInvalidStateException: <key ARN> is pending deletion (or pending replica deletion).
 *   [4] KMSInvalidStateException: <key ARN> is not pending deletion (or pending replica deletion).
 *   [5] KMSInvalidStateException: <key ARN> is pending import.
 *   [6] UnsupportedOperationException: <key ARN> origin is EXTERNAL which is not valid for this operation.
 *   [8] If the KMS key has imported key material: KMSInvalidStateException.
 *   [9] Import operations succeed only on keys that can have imported key material.
 *   [10] UpdateAlias: a source key pending deletion succeeds; a destination key pending deletion is [3].
 * HTTP statuses: the `httpError` traits of the KMS service model (DisabledException and
 * KMSInvalidStateException 409, UnsupportedOperationException 400).
 *
 * States the local KMS can reach: Enabled, Disabled, PendingDeletion, PendingImport and
 * PendingReplicaDeletion. Unavailable (custom key stores), Creating and Updating (transient while
 * ReplicateKey and UpdatePrimaryRegion complete asynchronously in AWS) never occur locally.
 * Cells the table marks N/A, and operations it does not list (RotateKeyOnDemand,
 * ListKeyRotations), are not asserted here.
 */
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateMacCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  ListAliasesCommand,
  ListGrantsCommand,
  ListKeyPoliciesCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  ReplicateKeyCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  UpdateKeyDescriptionCommand,
  UpdatePrimaryRegionCommand,
  VerifyCommand,
  VerifyMacCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { failure, useServedKms } from './served-kms.js';

const served = useServedKms();

type State = 'Enabled' | 'Disabled' | 'PendingDeletion' | 'PendingImport' | 'PendingReplicaDeletion';
/** sym: symmetric encryption key; sign: ECC_NIST_P256 signing key; mac: HMAC_256; ext: EXTERNAL symmetric key; mrk: multi-Region primary. */
type Kind = 'sym' | 'sign' | 'mac' | 'ext' | 'mrk';

interface Fixture {
  arn: string;
  keyId: string;
  /** Made while Enabled. */
  alias: string;
  grantId?: string;
  grantToken?: string;
  ciphertext?: Uint8Array;
  signature?: Uint8Array;
  mac?: Uint8Array;
  /** EXTERNAL keys: the material imported, and an unused import token for it (got while Enabled). */
  material?: Buffer;
  spare?: { ImportToken: Uint8Array; EncryptedKeyMaterial: Uint8Array };
}

const MESSAGE = new TextEncoder().encode('message');
const REPLICA_REGION = 'eu-west-1';
let serial = 0;

async function importParts(c: KMSClient, keyId: string, material: Buffer): Promise<{ ImportToken: Uint8Array; EncryptedKeyMaterial: Uint8Array }> {
  const p = await c.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
  const wrapped = publicEncrypt({ key: createPublicKey({ key: Buffer.from(p.PublicKey!), format: 'der', type: 'spki' }), oaepHash: 'sha256', padding: constants.RSA_PKCS1_OAEP_PADDING }, material);
  return { ImportToken: p.ImportToken!, EncryptedKeyMaterial: new Uint8Array(wrapped) };
}

/** A new key of this kind in this state, with an alias, a grant and a ciphertext, signature or MAC made while it was Enabled. */
async function makeFixture(kind: Kind, state: State): Promise<Fixture> {
  const c = served.root;
  const accountId = served.kms.accountId;
  const external = kind === 'ext' || (kind === 'sym' && state === 'PendingImport');
  const multiRegion = kind === 'mrk' || state === 'PendingReplicaDeletion';
  const created = await c.send(new CreateKeyCommand({
    ...(kind === 'sign' ? { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' } : {}),
    ...(kind === 'mac' ? { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' } : {}),
    ...(external ? { Origin: 'EXTERNAL' } : {}),
    ...(multiRegion ? { MultiRegion: true } : {}),
  }));
  const keyId = created.KeyMetadata!.KeyId!;
  const f: Fixture = { arn: created.KeyMetadata!.Arn!, keyId, alias: `alias/key-states-${++serial}` };
  await c.send(new CreateAliasCommand({ AliasName: f.alias, TargetKeyId: keyId }));
  // An EXTERNAL key of kind ext in PendingImport has never had material: nothing else is made.
  if (kind === 'ext' && state === 'PendingImport') return f;
  if (external) {
    f.material = randomBytes(32);
    await c.send(new ImportKeyMaterialCommand({ KeyId: keyId, ...(await importParts(c, keyId, f.material)), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
    if (kind === 'ext') f.spare = await importParts(c, keyId, f.material);
  }
  const operations = kind === 'sign' ? ['Sign'] : kind === 'mac' ? ['GenerateMac'] : ['Encrypt', 'Decrypt'];
  const grant = await c.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: `arn:aws:iam::${accountId}:user/grantee`, Operations: operations as never }));
  f.grantId = grant.GrantId!;
  f.grantToken = grant.GrantToken!;
  if (kind === 'sign') f.signature = (await c.send(new SignCommand({ KeyId: keyId, Message: MESSAGE, SigningAlgorithm: 'ECDSA_SHA_256' }))).Signature!;
  else if (kind === 'mac') f.mac = (await c.send(new GenerateMacCommand({ KeyId: keyId, Message: MESSAGE, MacAlgorithm: 'HMAC_SHA_256' }))).Mac!;
  else f.ciphertext = (await c.send(new EncryptCommand({ KeyId: keyId, Plaintext: MESSAGE }))).CiphertextBlob!;
  // A multi-Region primary has a replica, except one PendingDeletion (with a replica it would be PendingReplicaDeletion).
  if (multiRegion && state !== 'PendingDeletion') await c.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: REPLICA_REGION }));
  if (state === 'Disabled') await c.send(new DisableKeyCommand({ KeyId: keyId }));
  if (state === 'PendingDeletion' || state === 'PendingReplicaDeletion') await c.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
  if (state === 'PendingImport') await c.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
  const described = await c.send(new DescribeKeyCommand({ KeyId: keyId }));
  expect(described.KeyMetadata!.KeyState).toBe(state);
  return f;
}

const cache = new Map<string, Promise<Fixture>>();
/** A shared fixture for calls that change nothing; a fresh one for calls that may. */
function fixture(kind: Kind, state: State, fresh: boolean): Promise<Fixture> {
  if (fresh) return makeFixture(kind, state);
  const id = `${kind}/${state}`;
  let f = cache.get(id);
  if (!f) cache.set(id, (f = makeFixture(kind, state)));
  return f;
}

/** A failure the table names: exception names it allows, HTTP status, and the message (by key ARN and state). */
interface Failure {
  names: string[];
  status: number;
  message?: (arn: string, state: State) => string | RegExp;
}

const pending = (arn: string, state: State): string | RegExp =>
  state === 'PendingReplicaDeletion' ? new RegExp(`^${arn} is pending (replica )?deletion\\.$`) : `${arn} is pending deletion.`;
const F1: Failure = { names: ['DisabledException'], status: 409, message: (arn) => `${arn} is disabled.` };
const F2or3: Failure = { names: ['DisabledException', 'KMSInvalidStateException'], status: 409, message: pending };
const F3: Failure = { names: ['KMSInvalidStateException'], status: 409, message: pending };
const F4: Failure = { names: ['KMSInvalidStateException'], status: 409, message: (arn) => `${arn} is not pending deletion.` };
const F5: Failure = { names: ['KMSInvalidStateException'], status: 409, message: (arn) => `${arn} is pending import.` };
const F6: Failure = { names: ['UnsupportedOperationException'], status: 400, message: (arn) => `${arn} origin is EXTERNAL which is not valid for this operation.` };
const F8: Failure = { names: ['KMSInvalidStateException'], status: 409 };
const OK = 'ok' as const;
type Outcome = typeof OK | Failure;

interface Row {
  operation: string;
  kind: Kind;
  /** Whether a success changes the key (so it gets a fresh fixture). */
  mutates?: boolean;
  run: (c: KMSClient, f: Fixture) => Promise<unknown>;
  expected: Partial<Record<State, Outcome>>;
}

/** The table's usual rows: cryptographic use, and management of the key's settings. */
const CRYPTO = { Enabled: OK, Disabled: F1, PendingDeletion: F2or3, PendingImport: F5, PendingReplicaDeletion: F2or3 } as const;
const SETTINGS = { Enabled: OK, Disabled: OK, PendingDeletion: F3, PendingImport: OK, PendingReplicaDeletion: F3 } as const;
const ALWAYS = { Enabled: OK, Disabled: OK, PendingDeletion: OK, PendingImport: OK, PendingReplicaDeletion: OK } as const;
/** Rows of asymmetric and HMAC keys: PendingImport is N/A. */
const { PendingImport: _na, ...CRYPTO_NO_IMPORT } = CRYPTO;

const rows: Row[] = [
  { operation: 'CancelKeyDeletion', kind: 'sym', mutates: true, run: (c, f) => c.send(new CancelKeyDeletionCommand({ KeyId: f.keyId })), expected: { Enabled: F4, Disabled: F4, PendingDeletion: OK, PendingImport: F4, PendingReplicaDeletion: OK } },
  { operation: 'CreateAlias', kind: 'sym', mutates: true, run: (c, f) => c.send(new CreateAliasCommand({ AliasName: `alias/key-states-new-${++serial}`, TargetKeyId: f.keyId })), expected: SETTINGS },
  { operation: 'CreateGrant', kind: 'sym', mutates: true, run: (c, f) => c.send(new CreateGrantCommand({ KeyId: f.keyId, GranteePrincipal: `arn:aws:iam::${served.kms.accountId}:user/other`, Operations: ['Decrypt'] })), expected: { Enabled: OK, Disabled: F1, PendingDeletion: F2or3, PendingImport: F5, PendingReplicaDeletion: F2or3 } },
  { operation: 'Decrypt', kind: 'sym', run: (c, f) => c.send(new DecryptCommand({ CiphertextBlob: f.ciphertext })), expected: CRYPTO },
  { operation: 'DeleteAlias', kind: 'sym', mutates: true, run: (c, f) => c.send(new DeleteAliasCommand({ AliasName: f.alias })), expected: ALWAYS },
  { operation: 'DeleteImportedKeyMaterial', kind: 'ext', mutates: true, run: (c, f) => c.send(new DeleteImportedKeyMaterialCommand({ KeyId: f.keyId })), expected: { Enabled: OK, Disabled: OK, PendingDeletion: OK, PendingImport: OK } },
  { operation: 'DescribeKey', kind: 'sym', run: (c, f) => c.send(new DescribeKeyCommand({ KeyId: f.keyId })), expected: ALWAYS },
  { operation: 'DisableKey', kind: 'sym', mutates: true, run: (c, f) => c.send(new DisableKeyCommand({ KeyId: f.keyId })), expected: { Enabled: OK, Disabled: OK, PendingDeletion: F3, PendingImport: F5, PendingReplicaDeletion: F3 } },
  { operation: 'DisableKeyRotation', kind: 'sym', mutates: true, run: (c, f) => c.send(new DisableKeyRotationCommand({ KeyId: f.keyId })), expected: { Enabled: OK, Disabled: F1, PendingDeletion: F3, PendingImport: F6, PendingReplicaDeletion: F3 } },
  { operation: 'EnableKey', kind: 'sym', mutates: true, run: (c, f) => c.send(new EnableKeyCommand({ KeyId: f.keyId })), expected: { Enabled: OK, Disabled: OK, PendingDeletion: F3, PendingImport: F5, PendingReplicaDeletion: F3 } },
  { operation: 'EnableKeyRotation', kind: 'sym', mutates: true, run: (c, f) => c.send(new EnableKeyRotationCommand({ KeyId: f.keyId })), expected: { Enabled: OK, Disabled: F1, PendingDeletion: F3, PendingImport: F6, PendingReplicaDeletion: F3 } },
  { operation: 'Encrypt', kind: 'sym', run: (c, f) => c.send(new EncryptCommand({ KeyId: f.keyId, Plaintext: MESSAGE })), expected: CRYPTO },
  { operation: 'GenerateDataKey', kind: 'sym', run: (c, f) => c.send(new GenerateDataKeyCommand({ KeyId: f.keyId, KeySpec: 'AES_256' })), expected: CRYPTO },
  { operation: 'GenerateDataKeyPair', kind: 'sym', run: (c, f) => c.send(new GenerateDataKeyPairCommand({ KeyId: f.keyId, KeyPairSpec: 'ECC_NIST_P256' })), expected: CRYPTO },
  { operation: 'GenerateDataKeyPairWithoutPlaintext', kind: 'sym', run: (c, f) => c.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: f.keyId, KeyPairSpec: 'ECC_NIST_P256' })), expected: CRYPTO },
  { operation: 'GenerateDataKeyWithoutPlaintext', kind: 'sym', run: (c, f) => c.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: f.keyId, KeySpec: 'AES_256' })), expected: CRYPTO },
  { operation: 'GenerateMac', kind: 'mac', run: (c, f) => c.send(new GenerateMacCommand({ KeyId: f.keyId, Message: MESSAGE, MacAlgorithm: 'HMAC_SHA_256' })), expected: CRYPTO_NO_IMPORT },
  { operation: 'GetKeyPolicy', kind: 'sym', run: (c, f) => c.send(new GetKeyPolicyCommand({ KeyId: f.keyId, PolicyName: 'default' })), expected: ALWAYS },
  // Enabled, Disabled, pending deletion: [7], which fails only for keys with imported key material
  // or in a custom key store. (PendingImport, [6], is left out: since AWS rotates imported key
  // material, whether GetKeyRotationStatus still refuses EXTERNAL keys is not documented.)
  { operation: 'GetKeyRotationStatus', kind: 'sym', run: (c, f) => c.send(new GetKeyRotationStatusCommand({ KeyId: f.keyId })), expected: { Enabled: OK, Disabled: OK, PendingDeletion: OK, PendingReplicaDeletion: OK } },
  { operation: 'GetParametersForImport', kind: 'ext', run: (c, f) => c.send(new GetParametersForImportCommand({ KeyId: f.keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' })), expected: { Enabled: OK, Disabled: OK, PendingDeletion: F8, PendingImport: OK } },
  { operation: 'GetPublicKey', kind: 'sign', run: (c, f) => c.send(new GetPublicKeyCommand({ KeyId: f.keyId })), expected: CRYPTO_NO_IMPORT },
  {
    operation: 'ImportKeyMaterial',
    kind: 'ext',
    mutates: true,
    run: async (c, f) => c.send(new ImportKeyMaterialCommand({ KeyId: f.keyId, ...(f.spare ?? (await importParts(c, f.keyId, randomBytes(32)))), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' })),
    expected: { Enabled: OK, Disabled: OK, PendingDeletion: F8, PendingImport: OK },
  },
  { operation: 'ListAliases', kind: 'sym', run: (c, f) => c.send(new ListAliasesCommand({ KeyId: f.keyId })), expected: ALWAYS },
  { operation: 'ListGrants', kind: 'sym', run: (c, f) => c.send(new ListGrantsCommand({ KeyId: f.keyId })), expected: ALWAYS },
  { operation: 'ListKeyPolicies', kind: 'sym', run: (c, f) => c.send(new ListKeyPoliciesCommand({ KeyId: f.keyId })), expected: ALWAYS },
  { operation: 'ListResourceTags', kind: 'sym', run: (c, f) => c.send(new ListResourceTagsCommand({ KeyId: f.keyId })), expected: ALWAYS },
  {
    operation: 'PutKeyPolicy',
    kind: 'sym',
    mutates: true,
    run: async (c, f) => c.send(new PutKeyPolicyCommand({ KeyId: f.keyId, PolicyName: 'default', Policy: (await c.send(new GetKeyPolicyCommand({ KeyId: f.keyId, PolicyName: 'default' }))).Policy })),
    expected: ALWAYS,
  },
  { operation: 'ReEncrypt', kind: 'sym', run: (c, f) => c.send(new ReEncryptCommand({ CiphertextBlob: f.ciphertext, DestinationKeyId: f.keyId })), expected: CRYPTO },
  { operation: 'ReplicateKey', kind: 'mrk', mutates: true, run: (c, f) => c.send(new ReplicateKeyCommand({ KeyId: f.keyId, ReplicaRegion: 'ap-southeast-2' })), expected: { Enabled: OK, Disabled: F1, PendingDeletion: F2or3, PendingReplicaDeletion: F2or3 } },
  { operation: 'RetireGrant', kind: 'sym', mutates: true, run: (c, f) => c.send(new RetireGrantCommand({ KeyId: f.arn, GrantId: f.grantId })), expected: ALWAYS },
  { operation: 'RevokeGrant', kind: 'sym', mutates: true, run: (c, f) => c.send(new RevokeGrantCommand({ KeyId: f.keyId, GrantId: f.grantId })), expected: ALWAYS },
  { operation: 'ScheduleKeyDeletion', kind: 'sym', mutates: true, run: (c, f) => c.send(new ScheduleKeyDeletionCommand({ KeyId: f.keyId, PendingWindowInDays: 7 })), expected: { Enabled: OK, Disabled: OK, PendingDeletion: F3, PendingImport: OK, PendingReplicaDeletion: F3 } },
  { operation: 'Sign', kind: 'sign', run: (c, f) => c.send(new SignCommand({ KeyId: f.keyId, Message: MESSAGE, SigningAlgorithm: 'ECDSA_SHA_256' })), expected: CRYPTO_NO_IMPORT },
  { operation: 'TagResource', kind: 'sym', mutates: true, run: (c, f) => c.send(new TagResourceCommand({ KeyId: f.keyId, Tags: [{ TagKey: 'k', TagValue: 'v' }] })), expected: SETTINGS },
  { operation: 'UntagResource', kind: 'sym', mutates: true, run: (c, f) => c.send(new UntagResourceCommand({ KeyId: f.keyId, TagKeys: ['k'] })), expected: SETTINGS },
  // [10]: the destination key's state decides (the source is an Enabled key's alias).
  {
    operation: 'UpdateAlias (to this key)',
    kind: 'sym',
    mutates: true,
    run: async (c, f) => {
      const other = (await c.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const alias = `alias/key-states-move-${++serial}`;
      await c.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: other }));
      return c.send(new UpdateAliasCommand({ AliasName: alias, TargetKeyId: f.keyId }));
    },
    expected: { Enabled: OK, Disabled: OK, PendingDeletion: F3, PendingImport: OK, PendingReplicaDeletion: F3 },
  },
  // [10]: moving an alias away from a key in any state succeeds.
  {
    operation: 'UpdateAlias (from this key)',
    kind: 'sym',
    mutates: true,
    run: async (c, f) => c.send(new UpdateAliasCommand({ AliasName: f.alias, TargetKeyId: (await c.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId! })),
    expected: ALWAYS,
  },
  { operation: 'UpdateKeyDescription', kind: 'sym', mutates: true, run: (c, f) => c.send(new UpdateKeyDescriptionCommand({ KeyId: f.keyId, Description: 'new' })), expected: SETTINGS },
  { operation: 'UpdatePrimaryRegion', kind: 'mrk', mutates: true, run: (c, f) => c.send(new UpdatePrimaryRegionCommand({ KeyId: f.keyId, PrimaryRegion: REPLICA_REGION })), expected: { Enabled: OK, Disabled: F1, PendingReplicaDeletion: F2or3 } },
  { operation: 'Verify', kind: 'sign', run: (c, f) => c.send(new VerifyCommand({ KeyId: f.keyId, Message: MESSAGE, Signature: f.signature, SigningAlgorithm: 'ECDSA_SHA_256' })), expected: CRYPTO_NO_IMPORT },
  { operation: 'VerifyMac', kind: 'mac', run: (c, f) => c.send(new VerifyMacCommand({ KeyId: f.keyId, Message: MESSAGE, Mac: f.mac, MacAlgorithm: 'HMAC_SHA_256' })), expected: CRYPTO_NO_IMPORT },
];

/** The states each kind of fixture is made in (PendingReplicaDeletion: a multi-Region primary with a replica). */
const STATES_OF: Record<Kind, State[]> = {
  sym: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport', 'PendingReplicaDeletion'],
  sign: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingReplicaDeletion'],
  mac: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingReplicaDeletion'],
  ext: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'],
  mrk: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingReplicaDeletion'],
};

describe('the key state table: each operation in each key state', () => {
  for (const row of rows) {
    for (const [state, outcome] of Object.entries(row.expected) as [State, Outcome][]) {
      if (!STATES_OF[row.kind].includes(state)) throw new Error(`no ${row.kind} fixture in ${state}`);
      const label = outcome === OK ? 'succeeds' : `is ${outcome.names.join(' or ')} (${outcome.status})`;
      it(`${row.operation} on a ${state} key ${label}`, async () => {
        const f = await fixture(row.kind, state, row.mutates === true && outcome === OK);
        const call = row.run(served.root, f);
        if (outcome === OK) {
          await call;
          return;
        }
        const err = (await failure(call)) as Error & { $metadata?: { httpStatusCode?: number } };
        expect(outcome.names).toContain(err.name);
        expect(err.$metadata?.httpStatusCode).toBe(outcome.status);
        if (outcome.message) {
          const message = outcome.message(f.arn, state);
          if (typeof message === 'string') expect(err.message).toBe(message);
          else expect(err.message).toMatch(message);
        }
      });
    }
  }
});

describe('what a state change leaves behind', () => {
  it('a key pending deletion reports rotation false (its setting kept), and true again once the deletion is cancelled', async () => {
    // AWS KMS API Reference, GetKeyRotationStatus: "While a KMS key is pending deletion, its key
    // rotation status is false ... If you cancel the deletion, the original key rotation status
    // returns to true."
    const c = served.root;
    const keyId = (await c.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await c.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 180 }));
    await c.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    const during = await c.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    expect(during.KeyRotationEnabled).toBe(false);
    expect(during.RotationPeriodInDays).toBeUndefined();
    await c.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
    const after = await c.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    expect(after.KeyRotationEnabled).toBe(true);
    expect(after.RotationPeriodInDays).toBe(180);
  });

  it('DeleteImportedKeyMaterial on a key pending deletion leaves it PendingDeletion, with its deletion date', async () => {
    // AWS KMS API Reference, DeleteImportedKeyMaterial: "When the specified KMS key is in the
    // PendingDeletion state, this operation does not change the KMS key's state."
    const f = await fixture('ext', 'PendingDeletion', true);
    const before = (await served.root.send(new DescribeKeyCommand({ KeyId: f.keyId }))).KeyMetadata!;
    await served.root.send(new DeleteImportedKeyMaterialCommand({ KeyId: f.keyId }));
    const after = (await served.root.send(new DescribeKeyCommand({ KeyId: f.keyId }))).KeyMetadata!;
    expect(after.KeyState).toBe('PendingDeletion');
    expect(after.DeletionDate).toEqual(before.DeletionDate);
    expect(after.ExpirationModel).toBeUndefined();
  });

  it('cryptographic use through the alias of a key pending deletion names the key ARN, not the alias', async () => {
    const f = await fixture('sym', 'PendingDeletion', false);
    const err = (await failure(served.root.send(new EncryptCommand({ KeyId: f.alias, Plaintext: MESSAGE })))) as Error & { $metadata?: { httpStatusCode?: number } };
    expect(err.name).toBe('KMSInvalidStateException');
    expect(err.$metadata?.httpStatusCode).toBe(409);
    expect(err.message).toBe(`${f.arn} is pending deletion.`);
  });
});
