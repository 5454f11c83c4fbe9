/**
 * Multi-Region keys in one store (AWS KMS Developer Guide, "Multi-Region keys in AWS KMS";
 * API Reference: CreateKey MultiRegion, ReplicateKey, UpdatePrimaryRegion, ScheduleKeyDeletion,
 * KeyMetadata.MultiRegionConfiguration). Each region is a LocalKms over the same directory.
 */
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalKms } from '../../src/local-kms/index.js';
import { errorName, ROOT_KEY, TestClock } from './helpers.js';

let dir: string;
let clock: TestClock;
let us: LocalKms;
let eu: LocalKms;
let ap: LocalKms;
const ACCOUNT = '111122223333';
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sealbox-mrk-'));
  clock = new TestClock();
  us = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY, clock: clock.now });
  eu = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY, clock: clock.now, region: 'eu-west-1' });
  ap = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY, clock: clock.now, region: 'ap-southeast-2' });
});
afterEach(() => {
  for (const k of [us, eu, ap]) k.close();
  rmSync(dir, { recursive: true, force: true });
});

async function primaryKey(input: Record<string, unknown> = {}): Promise<string> {
  return (await us.createKey({ MultiRegion: true, ...input })).KeyMetadata!.KeyId!;
}

describe('CreateKey MultiRegion and DescribeKey', () => {
  it('makes an mrk- key id, MultiRegion true and a PRIMARY configuration; single-Region keys stay UUIDs', async () => {
    const meta = (await us.createKey({ MultiRegion: true })).KeyMetadata!;
    expect(meta.KeyId).toMatch(/^mrk-[0-9a-f]{32}$/);
    expect(meta.Arn).toBe(`arn:aws:kms:us-east-1:${ACCOUNT}:key/${meta.KeyId}`);
    expect(meta.MultiRegion).toBe(true);
    expect(meta.MultiRegionConfiguration).toEqual({ MultiRegionKeyType: 'PRIMARY', PrimaryKey: { Arn: meta.Arn, Region: 'us-east-1' }, ReplicaKeys: [] });
    const single = (await us.createKey({})).KeyMetadata!;
    expect(single.KeyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(single.MultiRegion).toBe(false);
    expect(single.MultiRegionConfiguration).toBeUndefined();
  });

  it('keys live in their region: another region neither lists nor finds them', async () => {
    const id = await primaryKey();
    const single = (await us.createKey({})).KeyMetadata!.KeyId!;
    expect((await eu.listKeys({})).Keys).toEqual([]);
    expect(await errorName(eu.describeKey({ KeyId: id }))).toBe('NotFoundException');
    expect(await errorName(eu.describeKey({ KeyId: single }))).toBe('NotFoundException');
    expect(await errorName(eu.describeKey({ KeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${single}` }))).toBe('NotFoundException');
    expect((await us.listKeys({})).Keys!.map((k) => k.KeyId).sort()).toEqual([id, single].sort());
  });

  it('EXTERNAL origin multi-Region keys are refused (not built), as UnsupportedOperationException', async () => {
    expect(await errorName(us.createKey({ MultiRegion: true, Origin: 'EXTERNAL' }))).toBe('UnsupportedOperationException');
  });
});

describe('ReplicateKey', () => {
  it('makes a replica with the same key id, spec, usage and origin, its own policy, description and tags', async () => {
    const id = await primaryKey({ Description: 'primary', Tags: [{ TagKey: 'team', TagValue: 'a' }] });
    const out = await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1', Tags: [{ TagKey: 'where', TagValue: 'eu' }] });
    const replica = out.ReplicaKeyMetadata!;
    expect(replica.KeyId).toBe(id);
    expect(replica.Arn).toBe(`arn:aws:kms:eu-west-1:${ACCOUNT}:key/${id}`);
    expect(replica.Description).toBe('');
    expect(replica.KeyState).toBe('Enabled');
    expect(replica.MultiRegionConfiguration).toEqual({
      MultiRegionKeyType: 'REPLICA',
      PrimaryKey: { Arn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${id}`, Region: 'us-east-1' },
      ReplicaKeys: [{ Arn: replica.Arn, Region: 'eu-west-1' }],
    });
    expect(out.ReplicaTags).toEqual([{ TagKey: 'where', TagValue: 'eu' }]);
    expect(JSON.parse(out.ReplicaPolicy!).Statement[0].Principal.AWS).toBe(`arn:aws:iam::${ACCOUNT}:root`);
    expect((await eu.listResourceTags({ KeyId: id })).Tags).toEqual([{ TagKey: 'where', TagValue: 'eu' }]);
    expect((await us.listResourceTags({ KeyId: id })).Tags).toEqual([{ TagKey: 'team', TagValue: 'a' }]);
    expect((await eu.listKeys({})).Keys).toEqual([{ KeyId: id, KeyArn: replica.Arn }]);
    const primary = (await us.describeKey({ KeyId: id })).KeyMetadata!;
    expect(primary.Description).toBe('primary');
    expect(primary.MultiRegionConfiguration!.ReplicaKeys).toEqual([{ Arn: replica.Arn, Region: 'eu-west-1' }]);
  });

  it('refuses a single-Region key, a replica, the primary region and a region that has one (AWS exception names)', async () => {
    const single = (await us.createKey({})).KeyMetadata!.KeyId!;
    expect(await errorName(us.replicateKey({ KeyId: single, ReplicaRegion: 'eu-west-1' }))).toBe('UnsupportedOperationException');
    const id = await primaryKey();
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1' });
    expect(await errorName(eu.replicateKey({ KeyId: id, ReplicaRegion: 'ap-southeast-2' }))).toBe('UnsupportedOperationException');
    expect(await errorName(us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1' }))).toBe('AlreadyExistsException');
    expect(await errorName(us.replicateKey({ KeyId: id, ReplicaRegion: 'us-east-1' }))).toBe('AlreadyExistsException');
    expect(await errorName(us.replicateKey({ KeyId: id, ReplicaRegion: 'not a region' }))).toBe('ValidationException');
    expect((await ap.listKeys({})).Keys).toEqual([]);
  });

  it('a replica policy is checked like any key policy', async () => {
    const id = await primaryKey();
    const policy = JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { Bogus: { 'kms:Nope': 'x' } } }] });
    expect(await errorName(us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1', Policy: policy }))).toBe('MalformedPolicyDocumentException');
    expect(await errorName(eu.describeKey({ KeyId: id }))).toBe('NotFoundException');
  });

  it('needs kms:ReplicateKey on the primary: a principal without it gets AccessDeniedException and no replica', async () => {
    const mallory = `arn:aws:iam::${ACCOUNT}:user/mallory`;
    const policy = JSON.stringify({
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: { AWS: mallory }, Action: 'kms:ReplicateKey', Resource: '*' },
      ],
    });
    const id = await primaryKey({ Policy: policy });
    const asMallory = { principal: mallory, accountId: ACCOUNT };
    await expect(us.execute('ReplicateKey', { KeyId: id, ReplicaRegion: 'eu-west-1' }, asMallory)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    const stranger = { principal: 'arn:aws:iam::444455556666:root', accountId: '444455556666' };
    // By ARN (a bare id from another account names a key of that account: NotFoundException); ReplicateKey does not reach another account's keys.
    await expect(us.execute('ReplicateKey', { KeyId: id, ReplicaRegion: 'eu-west-1' }, stranger)).rejects.toMatchObject({ name: 'NotFoundException' });
    await expect(us.execute('ReplicateKey', { KeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${id}`, ReplicaRegion: 'eu-west-1' }, stranger)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(await errorName(eu.describeKey({ KeyId: id }))).toBe('NotFoundException');
  });
});

describe('shared key material', () => {
  it('a ciphertext made under one related key decrypts under any other, also after rotation on the primary', async () => {
    const id = await primaryKey();
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1' });
    const before = await us.encrypt({ KeyId: id, Plaintext: bytes('one'), EncryptionContext: { a: 'b' } });
    const rotated = await us.rotateKeyOnDemand({ KeyId: id });
    expect(rotated.KeyId).toBe(id);
    // Replicated after the rotation: gets both versions.
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'ap-southeast-2' });
    const after = await eu.encrypt({ KeyId: id, Plaintext: bytes('two'), EncryptionContext: { a: 'b' } });
    for (const [kms, blob, text] of [[eu, before, 'one'], [ap, before, 'one'], [us, after, 'two'], [ap, after, 'two']] as const) {
      const out = await kms.decrypt({ CiphertextBlob: blob.CiphertextBlob!, EncryptionContext: { a: 'b' } });
      expect(new TextDecoder().decode(out.Plaintext)).toBe(text);
      expect(out.KeyId).toBe(`arn:aws:kms:${kms.region}:${ACCOUNT}:key/${id}`);
      expect((await kms.decrypt({ KeyId: id, CiphertextBlob: blob.CiphertextBlob!, EncryptionContext: { a: 'b' } })).KeyId).toBe(out.KeyId);
    }
    expect((await eu.listKeyRotations({ KeyId: id })).Rotations).toHaveLength(1);
    expect(await errorName(eu.decrypt({ CiphertextBlob: before.CiphertextBlob!, EncryptionContext: { a: 'c' } }))).toBe('InvalidCiphertextException');
  });

  it('automatic rotation is set on the primary and reaches the replicas; a replica cannot set it or rotate', async () => {
    const id = await primaryKey();
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1' });
    expect(await errorName(eu.enableKeyRotation({ KeyId: id }))).toBe('UnsupportedOperationException');
    expect(await errorName(eu.rotateKeyOnDemand({ KeyId: id }))).toBe('UnsupportedOperationException');
    await us.enableKeyRotation({ KeyId: id, RotationPeriodInDays: 90 });
    expect((await eu.getKeyRotationStatus({ KeyId: id })).KeyRotationEnabled).toBe(true);
    expect((await eu.getKeyRotationStatus({ KeyId: id })).RotationPeriodInDays).toBe(90);
    clock.advanceDays(91);
    await us.listKeys({});
    const blob = await us.encrypt({ KeyId: id, Plaintext: bytes('x') });
    expect(new DataView(blob.CiphertextBlob!.buffer, blob.CiphertextBlob!.byteOffset).getUint32(17)).toBe(2);
    expect(new TextDecoder().decode((await eu.decrypt({ CiphertextBlob: blob.CiphertextBlob! })).Plaintext)).toBe('x');
    expect((await eu.listKeyRotations({ KeyId: id })).Rotations!.map((r) => r.RotationType)).toEqual(['AUTOMATIC']);
  });

  it('asymmetric and HMAC replicas share the key pair and MAC key', async () => {
    const sign = await primaryKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    await us.replicateKey({ KeyId: sign, ReplicaRegion: 'eu-west-1' });
    expect(Buffer.from((await eu.getPublicKey({ KeyId: sign })).PublicKey!)).toEqual(Buffer.from((await us.getPublicKey({ KeyId: sign })).PublicKey!));
    const { Signature } = await eu.sign({ KeyId: sign, Message: bytes('m'), SigningAlgorithm: 'ECDSA_SHA_256' });
    const spki = createPublicKey({ key: Buffer.from((await us.getPublicKey({ KeyId: sign })).PublicKey!), format: 'der', type: 'spki' });
    expect(nodeVerify('sha256', bytes('m'), spki, Signature!)).toBe(true);
    const mac = await primaryKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    await us.replicateKey({ KeyId: mac, ReplicaRegion: 'eu-west-1' });
    const tag = await us.generateMac({ KeyId: mac, Message: bytes('m'), MacAlgorithm: 'HMAC_SHA_256' });
    expect((await eu.verifyMac({ KeyId: mac, Message: bytes('m'), Mac: tag.Mac!, MacAlgorithm: 'HMAC_SHA_256' })).MacValid).toBe(true);
  });

  it('state, aliases and grants are per related key', async () => {
    const id = await primaryKey();
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1' });
    await us.disableKey({ KeyId: id });
    expect(await errorName(us.encrypt({ KeyId: id, Plaintext: bytes('x') }))).toBe('DisabledException');
    await eu.encrypt({ KeyId: id, Plaintext: bytes('x') });
    await us.createAlias({ AliasName: 'alias/app', TargetKeyId: id });
    expect(await errorName(eu.encrypt({ KeyId: 'alias/app', Plaintext: bytes('x') }))).toBe('NotFoundException');
    await eu.createAlias({ AliasName: 'alias/app', TargetKeyId: id });
    expect((await eu.listAliases({})).Aliases!.map((a) => [a.AliasArn, a.TargetKeyId])).toEqual([[`arn:aws:kms:eu-west-1:${ACCOUNT}:alias/app`, id]]);
    await eu.encrypt({ KeyId: 'alias/app', Plaintext: bytes('x') });
    const grantee = `arn:aws:iam::${ACCOUNT}:role/g`;
    await eu.createGrant({ KeyId: id, GranteePrincipal: grantee, Operations: ['Encrypt'] });
    expect((await eu.listGrants({ KeyId: id })).Grants).toHaveLength(1);
    expect((await us.listGrants({ KeyId: id })).Grants).toHaveLength(0);
  });
});

describe('UpdatePrimaryRegion', () => {
  it('swaps the roles; the rotation setting moves to the new primary', async () => {
    const id = await primaryKey();
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1' });
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'ap-southeast-2' });
    await us.enableKeyRotation({ KeyId: id });
    await us.updatePrimaryRegion({ KeyId: id, PrimaryRegion: 'eu-west-1' });
    const config = (await ap.describeKey({ KeyId: id })).KeyMetadata!.MultiRegionConfiguration!;
    expect(config.PrimaryKey).toEqual({ Arn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${id}`, Region: 'eu-west-1' });
    expect(config.ReplicaKeys!.map((k) => k.Region)).toEqual(['ap-southeast-2', 'us-east-1']);
    expect((await us.describeKey({ KeyId: id })).KeyMetadata!.MultiRegionConfiguration!.MultiRegionKeyType).toBe('REPLICA');
    expect((await us.getKeyRotationStatus({ KeyId: id })).KeyRotationEnabled).toBe(true);
    expect(await errorName(us.rotateKeyOnDemand({ KeyId: id }))).toBe('UnsupportedOperationException');
    await eu.rotateKeyOnDemand({ KeyId: id });
    expect(await errorName(us.updatePrimaryRegion({ KeyId: id, PrimaryRegion: 'ap-southeast-2' }))).toBe('UnsupportedOperationException');
    expect(await errorName(eu.updatePrimaryRegion({ KeyId: id, PrimaryRegion: 'sa-east-1' }))).toBe('NotFoundException');
    expect(await errorName(eu.updatePrimaryRegion({ KeyId: id, PrimaryRegion: 'eu-west-1' }))).toBe('NotFoundException');
  });

  it('needs kms:UpdatePrimaryRegion under the replica\'s own policy too', async () => {
    const alice = `arn:aws:iam::${ACCOUNT}:user/alice`;
    const allowAll = (p: string) => ({ Effect: 'Allow', Principal: { AWS: p }, Action: 'kms:*', Resource: '*' });
    const id = await primaryKey({ Policy: JSON.stringify({ Statement: [allowAll(`arn:aws:iam::${ACCOUNT}:root`), allowAll(alice)] }) });
    const replicaPolicy = JSON.stringify({ Statement: [allowAll(`arn:aws:iam::${ACCOUNT}:root`), { Effect: 'Deny', Principal: { AWS: alice }, Action: 'kms:UpdatePrimaryRegion', Resource: '*' }] });
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1', Policy: replicaPolicy });
    await expect(us.execute('UpdatePrimaryRegion', { KeyId: id, PrimaryRegion: 'eu-west-1' }, { principal: alice, accountId: ACCOUNT })).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect((await us.describeKey({ KeyId: id })).KeyMetadata!.MultiRegionConfiguration!.MultiRegionKeyType).toBe('PRIMARY');
  });
});

describe('deletion', () => {
  it('a primary with replicas waits in PendingReplicaDeletion until the last replica is deleted, then its window starts', async () => {
    const id = await primaryKey();
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1' });
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'ap-southeast-2' });
    const scheduled = await us.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 7 });
    expect(scheduled.KeyState).toBe('PendingReplicaDeletion');
    expect(scheduled.DeletionDate).toBeUndefined();
    expect(scheduled.PendingWindowInDays).toBe(7);
    let meta = (await us.describeKey({ KeyId: id })).KeyMetadata!;
    expect(meta.KeyState).toBe('PendingReplicaDeletion');
    expect(meta.PendingDeletionWindowInDays).toBe(7);
    expect(meta.DeletionDate).toBeUndefined();
    expect(await errorName(us.encrypt({ KeyId: id, Plaintext: bytes('x') }))).toBe('KMSInvalidStateException');
    expect(await errorName(us.replicateKey({ KeyId: id, ReplicaRegion: 'sa-east-1' }))).toBe('KMSInvalidStateException');
    clock.advanceDays(100);
    expect((await us.describeKey({ KeyId: id })).KeyMetadata!.KeyState).toBe('PendingReplicaDeletion');
    await eu.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 7 });
    await ap.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 10 });
    clock.advanceDays(8);
    expect(await errorName(eu.describeKey({ KeyId: id }))).toBe('NotFoundException');
    expect((await us.describeKey({ KeyId: id })).KeyMetadata!.KeyState).toBe('PendingReplicaDeletion');
    clock.advanceDays(2);
    meta = (await us.describeKey({ KeyId: id })).KeyMetadata!;
    expect(meta.KeyState).toBe('PendingDeletion');
    expect(meta.DeletionDate).toEqual(new Date(clock.time + 7 * 86_400_000));
    expect(meta.MultiRegionConfiguration!.ReplicaKeys).toEqual([]);
    clock.advanceDays(7);
    expect(await errorName(us.describeKey({ KeyId: id }))).toBe('NotFoundException');
  });

  it('a primary in PendingReplicaDeletion reports rotation off, as any key pending deletion; cancelled, its setting is back', async () => {
    // AWS KMS API Reference, GetKeyRotationStatus: "While a KMS key is pending deletion, its key
    // rotation status is false ... If you cancel the deletion, the original key rotation status
    // returns to true."
    const id = await primaryKey();
    await us.enableKeyRotation({ KeyId: id });
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1' });
    expect((await us.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 7 })).KeyState).toBe('PendingReplicaDeletion');
    const pending = await us.getKeyRotationStatus({ KeyId: id });
    expect(pending.KeyRotationEnabled).toBe(false);
    expect(pending.NextRotationDate).toBeUndefined();
    await us.cancelKeyDeletion({ KeyId: id });
    expect((await us.getKeyRotationStatus({ KeyId: id })).KeyRotationEnabled).toBe(true);
  });

  it("a primary's own window counts from when its last replica's deletion fell due, not from the next call", async () => {
    const DAY = 86_400_000;
    const start = clock.time;
    const id = await primaryKey();
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1' });
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'ap-southeast-2' });
    await us.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 7 });
    await eu.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 7 }); // deleted on day 7
    await ap.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 9 }); // deleted on day 9, the last
    clock.advanceDays(12); // no call until day 12: the primary is PendingDeletion until day 16
    const meta = (await us.describeKey({ KeyId: id })).KeyMetadata!;
    expect(meta.KeyState).toBe('PendingDeletion');
    expect((meta.DeletionDate!.getTime() - start) / DAY).toBe(16);
    clock.advanceDays(4);
    expect(await errorName(us.describeKey({ KeyId: id }))).toBe('NotFoundException');
  });

  it('a primary whose window has passed by the next call is deleted in that call', async () => {
    const id = await primaryKey();
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1' });
    await us.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 7 });
    await eu.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 7 });
    clock.advanceDays(30); // replica due on day 7, primary on day 14
    expect(await errorName(us.describeKey({ KeyId: id }))).toBe('NotFoundException');
    const deletions = us.readAudit().filter((r) => r.operation === 'DeleteKey' && r.caller === 'sealbox:scheduler');
    expect(deletions.map((r) => JSON.parse(r.request).due)).toEqual([7, 14].map((d) => new Date(Date.UTC(2026, 0, 1) + d * 86_400_000).toISOString()));
  });

  it('CancelKeyDeletion of a primary waiting for its replicas leaves it Disabled', async () => {
    const id = await primaryKey();
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1' });
    await us.scheduleKeyDeletion({ KeyId: id });
    await us.cancelKeyDeletion({ KeyId: id });
    expect((await us.describeKey({ KeyId: id })).KeyMetadata!.KeyState).toBe('Disabled');
  });

  it('a deleted replica can be made again; it does not inherit the old replica\'s grants', async () => {
    const id = await primaryKey();
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1' });
    const blob = await us.encrypt({ KeyId: id, Plaintext: bytes('kept') });
    await eu.createGrant({ KeyId: id, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:role/old`, Operations: ['Decrypt'] });
    await eu.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 7 });
    clock.advanceDays(8);
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1' });
    expect((await eu.listGrants({ KeyId: id })).Grants).toEqual([]);
    expect(new TextDecoder().decode((await eu.decrypt({ CiphertextBlob: blob.CiphertextBlob! })).Plaintext)).toBe('kept');
  });
});

describe('stores made before regions (core schema 2)', () => {
  it('keep their keys, aliases and ciphertexts, in the region of the first LocalKms to open them', async () => {
    const { default: Database } = await import('better-sqlite3');
    const oldDir = mkdtempSync(join(tmpdir(), 'sealbox-mrk-old-'));
    try {
      const first = LocalKms.open({ dataDir: oldDir, rootKey: ROOT_KEY });
      const id = (await first.createKey({})).KeyMetadata!.KeyId!;
      await first.createAlias({ AliasName: 'alias/old', TargetKeyId: id });
      const blob = (await first.encrypt({ KeyId: 'alias/old', Plaintext: bytes('old') })).CiphertextBlob!;
      first.close();
      // Back to the schema before core migration 3, as a Sealbox of that time left it.
      const db = new Database(join(oldDir, 'kms.sqlite'));
      db.exec(`
        DELETE FROM schema_migrations WHERE module = 'core' AND version = 3;
        DELETE FROM meta WHERE name = 'legacy_region';
        DROP INDEX keys_by_region; DROP INDEX keys_by_mrk;
        ALTER TABLE keys DROP COLUMN region; ALTER TABLE keys DROP COLUMN mrk_id; ALTER TABLE keys DROP COLUMN mrk_role;
        CREATE TABLE aliases_old (alias_name TEXT PRIMARY KEY, key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
        INSERT INTO aliases_old SELECT alias_name, key_id, created_at, updated_at FROM aliases;
        DROP TABLE aliases; ALTER TABLE aliases_old RENAME TO aliases; CREATE INDEX aliases_by_key ON aliases(key_id);
      `);
      db.close();
      const paris = LocalKms.open({ dataDir: oldDir, rootKey: ROOT_KEY, region: 'eu-west-3' });
      const later = LocalKms.open({ dataDir: oldDir, rootKey: ROOT_KEY, region: 'us-east-1' });
      try {
        expect((await paris.describeKey({ KeyId: 'alias/old' })).KeyMetadata!.Arn).toBe(`arn:aws:kms:eu-west-3:${ACCOUNT}:key/${id}`);
        expect(new TextDecoder().decode((await paris.decrypt({ CiphertextBlob: blob })).Plaintext)).toBe('old');
        expect((await paris.listAliases({})).Aliases!.map((a) => a.TargetKeyId)).toEqual([id]);
        // Adopted once: a second region opening the store later does not take them.
        expect((await later.listKeys({})).Keys).toEqual([]);
        expect(paris.meta('legacy_region')).toBe('eu-west-3');
        expect(paris.verifyAudit().ok).toBe(true);
      } finally {
        paris.close();
        later.close();
      }
    } finally {
      rmSync(oldDir, { recursive: true, force: true });
    }
  });
});
