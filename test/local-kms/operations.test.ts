import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DecryptCommand, EncryptCommand, GenerateDataKeyCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import type { LocalKms } from '../../src/local-kms/index.js';
import { LocalKmsError } from '../../src/local-kms/index.js';
import { encodeBlob } from '../../src/local-kms/ciphertext-blob.js';
import { errorName, freshKms, type TestClock } from './helpers.js';

let kms: LocalKms;
let clock: TestClock;
let cleanup: () => void;
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

beforeEach(() => ({ kms, clock, cleanup } = freshKms()));
afterEach(() => cleanup());

async function newKey(input = {}): Promise<string> {
  const { KeyMetadata } = await kms.createKey(input);
  return KeyMetadata!.KeyId!;
}

describe('keys', () => {
  it('CreateKey, DescribeKey, ListKeys, UpdateKeyDescription, tags', async () => {
    const { KeyMetadata } = await kms.createKey({ Description: 'd1', Tags: [{ TagKey: 'team', TagValue: 'a' }] });
    expect(KeyMetadata).toMatchObject({ KeyState: 'Enabled', Enabled: true, KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Origin: 'AWS_KMS', Description: 'd1', AWSAccountId: '111122223333' });
    expect(KeyMetadata!.KeyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(KeyMetadata!.Arn).toBe(`arn:aws:kms:us-east-1:111122223333:key/${KeyMetadata!.KeyId}`);
    const id = KeyMetadata!.KeyId!;
    await kms.updateKeyDescription({ KeyId: id, Description: 'd2' });
    expect((await kms.describeKey({ KeyId: KeyMetadata!.Arn! })).KeyMetadata!.Description).toBe('d2');
    await kms.tagResource({ KeyId: id, Tags: [{ TagKey: 'env', TagValue: 'dev' }] });
    await kms.untagResource({ KeyId: id, TagKeys: ['team'] });
    expect((await kms.listResourceTags({ KeyId: id })).Tags).toEqual([{ TagKey: 'env', TagValue: 'dev' }]);
    await newKey();
    const listed = await kms.listKeys({ Limit: 1 });
    expect(listed.Keys!.length).toBe(1);
    expect(listed.Truncated).toBe(true);
    const rest = await kms.listKeys({ Marker: listed.NextMarker! });
    expect(rest.Keys!.length).toBe(1);
    expect(await errorName(kms.tagResource({ KeyId: id, Tags: [{ TagKey: 'aws:x', TagValue: '1' }] }))).toBe('TagException');
  });

  it('creates every key spec with its usages, and refuses bad combinations', async () => {
    for (const [KeySpec, KeyUsage] of [['RSA_2048', 'SIGN_VERIFY'], ['RSA_2048', 'ENCRYPT_DECRYPT'], ['ECC_NIST_P256', 'SIGN_VERIFY'], ['ECC_NIST_P384', 'SIGN_VERIFY'], ['ECC_NIST_P521', 'SIGN_VERIFY'], ['HMAC_224', 'GENERATE_VERIFY_MAC'], ['HMAC_512', 'GENERATE_VERIFY_MAC']] as const) {
      const { KeyMetadata } = await kms.createKey({ KeySpec, KeyUsage });
      expect(KeyMetadata).toMatchObject({ KeySpec, KeyUsage, KeyState: 'Enabled' });
    }
    expect(await errorName(kms.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'ENCRYPT_DECRYPT' }))).toBe('ValidationException');
    expect(await errorName(kms.createKey({ KeySpec: 'NOPE' as never }))).toBe('ValidationException');
    expect(await errorName(kms.createKey({ Policy: '{not json' }))).toBe('MalformedPolicyDocumentException');
  });

  it('Enable/Disable, and cryptographic use of a Disabled key is DisabledException', async () => {
    const id = await newKey();
    const { CiphertextBlob } = await kms.encrypt({ KeyId: id, Plaintext: bytes('x') });
    await kms.disableKey({ KeyId: id });
    expect((await kms.describeKey({ KeyId: id })).KeyMetadata!.KeyState).toBe('Disabled');
    expect(await errorName(kms.encrypt({ KeyId: id, Plaintext: bytes('x') }))).toBe('DisabledException');
    expect(await errorName(kms.generateDataKey({ KeyId: id, KeySpec: 'AES_256' }))).toBe('DisabledException');
    expect(await errorName(kms.decrypt({ CiphertextBlob }))).toBe('DisabledException');
    await kms.enableKey({ KeyId: id });
    expect((await kms.decrypt({ CiphertextBlob })).Plaintext).toEqual(bytes('x'));
  });

  it('identifies keys by id, ARN, alias name and alias ARN exactly where AWS does', async () => {
    const id = await newKey();
    await kms.createAlias({ AliasName: 'alias/app', TargetKeyId: id });
    for (const KeyId of [id, `arn:aws:kms:us-east-1:111122223333:key/${id}`, 'alias/app', 'arn:aws:kms:us-east-1:111122223333:alias/app']) {
      expect((await kms.describeKey({ KeyId })).KeyMetadata!.KeyId).toBe(id);
      expect((await kms.encrypt({ KeyId, Plaintext: bytes('x') })).KeyId).toContain(id);
    }
    expect(await errorName(kms.disableKey({ KeyId: 'alias/app' }))).toBe('NotFoundException');
    expect(await errorName(kms.describeKey({ KeyId: `arn:aws:kms:eu-west-1:111122223333:key/${id}` }))).toBe('NotFoundException');
    expect(await errorName(kms.describeKey({ KeyId: `arn:aws:kms:us-east-1:999999999999:key/${id}` }))).toBe('NotFoundException');
    expect(await errorName(kms.describeKey({ KeyId: '00000000-0000-0000-0000-000000000000' }))).toBe('NotFoundException');
    expect(await errorName(kms.describeKey({ KeyId: 'not-a-key' }))).toBe('NotFoundException');
  });

  it('validates input members like AWS', async () => {
    expect(await errorName(kms.execute('Encrypt', { KeyId: 5, Plaintext: bytes('x') }))).toBe('SerializationException');
    expect(await errorName(kms.execute('Encrypt', { KeyId: 'alias/x' }))).toBe('ValidationException');
    expect(await errorName(kms.execute('Encrypt', { KeyId: 'alias/x', Plaintext: new Uint8Array(4097) }))).toBe('ValidationException');
    expect(await errorName(kms.execute('NoSuchThing', {}))).toBe('UnknownOperationException');
    expect(await errorName(kms.generateRandom({ NumberOfBytes: 1025 }))).toBe('ValidationException');
    expect((await kms.generateRandom({ NumberOfBytes: 1024 })).Plaintext!.length).toBe(1024);
  });
});

describe('aliases', () => {
  it('create, update, list, delete; alias/aws/ is reserved; names are checked', async () => {
    const a = await newKey();
    const b = await newKey();
    await kms.createAlias({ AliasName: 'alias/one', TargetKeyId: a });
    expect(await errorName(kms.createAlias({ AliasName: 'alias/one', TargetKeyId: b }))).toBe('AlreadyExistsException');
    expect(await errorName(kms.createAlias({ AliasName: 'alias/aws/x', TargetKeyId: a }))).toBe('InvalidAliasNameException');
    expect(await errorName(kms.createAlias({ AliasName: 'alias/bad name', TargetKeyId: a }))).toBe('ValidationException');
    expect(await errorName(kms.createAlias({ AliasName: 'noprefix', TargetKeyId: a }))).toBe('ValidationException');
    expect(await errorName(kms.createAlias({ AliasName: 'alias/' + 'x'.repeat(251), TargetKeyId: a }))).toBe('ValidationException');
    await kms.updateAlias({ AliasName: 'alias/one', TargetKeyId: b });
    const { Aliases } = await kms.listAliases({});
    expect(Aliases).toMatchObject([{ AliasName: 'alias/one', TargetKeyId: b, AliasArn: 'arn:aws:kms:us-east-1:111122223333:alias/one' }]);
    expect((await kms.listAliases({ KeyId: a })).Aliases).toEqual([]);
    await kms.deleteAlias({ AliasName: 'alias/one' });
    expect(await errorName(kms.deleteAlias({ AliasName: 'alias/one' }))).toBe('NotFoundException');
    expect(await errorName(kms.encrypt({ KeyId: 'alias/one', Plaintext: bytes('x') }))).toBe('NotFoundException');
  });
});

describe('deletion', () => {
  it('schedules within 7-30 days, cancels to Disabled, and deletes for real after the window', async () => {
    const id = await newKey();
    await kms.createAlias({ AliasName: 'alias/doomed', TargetKeyId: id });
    expect(await errorName(kms.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 6 }))).toBe('ValidationException');
    expect(await errorName(kms.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 31 }))).toBe('ValidationException');
    const scheduled = await kms.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 7 });
    expect(scheduled).toMatchObject({ KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    expect(await errorName(kms.encrypt({ KeyId: id, Plaintext: bytes('x') }))).toBe('KMSInvalidStateException');
    expect(await errorName(kms.enableKey({ KeyId: id }))).toBe('KMSInvalidStateException');
    await kms.cancelKeyDeletion({ KeyId: id });
    expect((await kms.describeKey({ KeyId: id })).KeyMetadata!.KeyState).toBe('Disabled');
    expect(await errorName(kms.cancelKeyDeletion({ KeyId: id }))).toBe('KMSInvalidStateException');
    const defaultWindow = await kms.scheduleKeyDeletion({ KeyId: id });
    expect(defaultWindow.PendingWindowInDays).toBe(30);
    clock.advanceDays(29);
    expect((await kms.describeKey({ KeyId: id })).KeyMetadata!.KeyState).toBe('PendingDeletion');
    clock.advanceDays(1);
    expect(await errorName(kms.describeKey({ KeyId: id }))).toBe('NotFoundException');
    expect((await kms.listAliases({})).Aliases).toEqual([]);
    const rows = kms.database.prepare('SELECT count(*) AS n FROM key_versions WHERE key_id = ?').get(id) as { n: number };
    expect(rows.n).toBe(0);
  });
});

describe('rotation', () => {
  it('rotates when due by the clock and on demand; every version still decrypts', async () => {
    const id = await newKey();
    expect(await errorName(kms.enableKeyRotation({ KeyId: id, RotationPeriodInDays: 10 }))).toBe('ValidationException');
    expect(await errorName(kms.enableKeyRotation({ KeyId: id, RotationPeriodInDays: 2561 }))).toBe('ValidationException');
    await kms.enableKeyRotation({ KeyId: id, RotationPeriodInDays: 90 });
    const status = await kms.getKeyRotationStatus({ KeyId: id });
    expect(status).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 90 });
    expect(status.NextRotationDate!.getTime()).toBe(clock.time + 90 * 86_400_000);
    const blobs = [(await kms.encrypt({ KeyId: id, Plaintext: bytes('v1') })).CiphertextBlob!];
    clock.advanceDays(90);
    blobs.push((await kms.encrypt({ KeyId: id, Plaintext: bytes('v2') })).CiphertextBlob!);
    await kms.rotateKeyOnDemand({ KeyId: id });
    blobs.push((await kms.encrypt({ KeyId: id, Plaintext: bytes('v3') })).CiphertextBlob!);
    const { Rotations } = await kms.listKeyRotations({ KeyId: id });
    expect(Rotations!.map((r) => r.RotationType)).toEqual(['AUTOMATIC', 'ON_DEMAND']);
    expect(new Set(blobs.map((b) => Buffer.from(b.subarray(17, 21)).readUInt32BE())).size).toBe(3);
    for (const [i, CiphertextBlob] of blobs.entries()) expect((await kms.decrypt({ CiphertextBlob })).Plaintext).toEqual(bytes(`v${i + 1}`));
    await kms.disableKeyRotation({ KeyId: id });
    expect((await kms.getKeyRotationStatus({ KeyId: id })).KeyRotationEnabled).toBe(false);
    const rsa = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
    expect(await errorName(kms.enableKeyRotation({ KeyId: rsa }))).toBe('UnsupportedOperationException');
  });

  it('a rotation that fell due while the store was idle is dated when it fell due, and the next counts from there', async () => {
    const DAY = 86_400_000;
    const start = clock.time;
    const id = await newKey();
    await kms.enableKeyRotation({ KeyId: id, RotationPeriodInDays: 90 });
    const days = (d: Date | undefined): number => (d!.getTime() - start) / DAY;
    clock.advanceDays(150); // due on day 90; the first call comes on day 150
    expect(days((await kms.getKeyRotationStatus({ KeyId: id })).NextRotationDate)).toBe(180);
    expect((await kms.listKeyRotations({ KeyId: id })).Rotations!.map((r) => days(r.RotationDate))).toEqual([90]);
    clock.advanceDays(250); // day 400: the rotations due on days 180, 270 and 360 are all done
    const { Rotations } = await kms.listKeyRotations({ KeyId: id });
    expect(Rotations!.map((r) => [days(r.RotationDate), r.RotationType])).toEqual([[90, 'AUTOMATIC'], [180, 'AUTOMATIC'], [270, 'AUTOMATIC'], [360, 'AUTOMATIC']]);
    expect(days((await kms.getKeyRotationStatus({ KeyId: id })).NextRotationDate)).toBe(450);
    const blob = (await kms.encrypt({ KeyId: id, Plaintext: bytes('x') })).CiphertextBlob!;
    expect(Buffer.from(blob.subarray(17, 21)).readUInt32BE()).toBe(5);
    const rows = kms.readAudit().filter((r) => r.operation === 'RotateKey');
    expect(rows.map((r) => JSON.parse(r.request).due)).toEqual([90, 180, 270, 360].map((d) => new Date(start + d * DAY).toISOString()));
  });
});

describe('rotation of a disabled key', () => {
  // AWS KMS API Reference, GetKeyRotationStatus, "Disabled": "while the KMS key is disabled, KMS
  // does not rotate the key material. When you re-enable the KMS key, rotation resumes. If the
  // key material in the re-enabled KMS key hasn't been rotated in one year [the rotation period],
  // KMS rotates it immediately, and every year thereafter. If it's been less than a year since
  // the key material in the re-enabled KMS key was rotated, the KMS key resumes its prior
  // rotation schedule."
  const DAY = 86_400_000;

  it('is not rotated while disabled; re-enabled past its date, it is rotated once, then, and every period from then', async () => {
    const start = clock.time;
    const days = (d: Date | undefined): number => (d!.getTime() - start) / DAY;
    const id = await newKey();
    await kms.enableKeyRotation({ KeyId: id, RotationPeriodInDays: 90 });
    clock.advanceDays(10);
    await kms.disableKey({ KeyId: id });
    clock.advanceDays(190); // day 200: the dates of days 90 and 180 passed while it was disabled
    expect((await kms.listKeyRotations({ KeyId: id })).Rotations).toEqual([]);
    expect(await errorName(kms.enableKeyRotation({ KeyId: id, RotationPeriodInDays: 90 }))).toBe('DisabledException');
    expect((await kms.getKeyRotationStatus({ KeyId: id })).KeyRotationEnabled).toBe(true);
    await kms.enableKey({ KeyId: id });
    const { Rotations } = await kms.listKeyRotations({ KeyId: id });
    expect(Rotations!.map((r) => [days(r.RotationDate), r.RotationType])).toEqual([[200, 'AUTOMATIC']]);
    expect(days((await kms.getKeyRotationStatus({ KeyId: id })).NextRotationDate)).toBe(290);
  });

  it('re-enabled before its date, it keeps its schedule', async () => {
    const start = clock.time;
    const days = (d: Date | undefined): number => (d!.getTime() - start) / DAY;
    const id = await newKey();
    await kms.enableKeyRotation({ KeyId: id, RotationPeriodInDays: 90 });
    clock.advanceDays(10);
    await kms.disableKey({ KeyId: id });
    clock.advanceDays(50);
    await kms.enableKey({ KeyId: id });
    expect(days((await kms.getKeyRotationStatus({ KeyId: id })).NextRotationDate)).toBe(90);
    clock.advanceDays(40);
    expect((await kms.listKeyRotations({ KeyId: id })).Rotations!.map((r) => days(r.RotationDate))).toEqual([90]);
  });
});

describe('encryption', () => {
  it('Encrypt/Decrypt bind the exact encryption context; Decrypt KeyId is optional and checked', async () => {
    const id = await newKey();
    const other = await newKey();
    const ctx = { app: 'sealbox', tenant: 'a' };
    const { CiphertextBlob, KeyId, EncryptionAlgorithm } = await kms.encrypt({ KeyId: id, Plaintext: bytes('secret'), EncryptionContext: ctx });
    expect(KeyId).toBe(`arn:aws:kms:us-east-1:111122223333:key/${id}`);
    expect(EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
    expect((await kms.decrypt({ CiphertextBlob, EncryptionContext: ctx })).Plaintext).toEqual(bytes('secret'));
    expect((await kms.decrypt({ CiphertextBlob, EncryptionContext: ctx, KeyId: id })).KeyId).toBe(KeyId);
    expect(await errorName(kms.decrypt({ CiphertextBlob, EncryptionContext: { app: 'sealbox' } }))).toBe('InvalidCiphertextException');
    expect(await errorName(kms.decrypt({ CiphertextBlob, EncryptionContext: { ...ctx, extra: '1' } }))).toBe('InvalidCiphertextException');
    expect(await errorName(kms.decrypt({ CiphertextBlob }))).toBe('InvalidCiphertextException');
    expect(await errorName(kms.decrypt({ CiphertextBlob, EncryptionContext: ctx, KeyId: other }))).toBe('IncorrectKeyException');
    for (const at of [0, 5, 20, 30, CiphertextBlob!.length - 1]) {
      const tampered = CiphertextBlob!.slice();
      tampered[at]! ^= 1;
      expect(await errorName(kms.decrypt({ CiphertextBlob: tampered, EncryptionContext: ctx }))).toMatch(/InvalidCiphertextException|NotFoundException/);
    }
    expect(await errorName(kms.decrypt({ CiphertextBlob: bytes('garbage') }))).toBe('InvalidCiphertextException');
  });

  it('ReEncrypt moves a ciphertext to another key and context', async () => {
    const a = await newKey();
    const b = await newKey();
    const { CiphertextBlob } = await kms.encrypt({ KeyId: a, Plaintext: bytes('m'), EncryptionContext: { k: '1' } });
    const re = await kms.reEncrypt({ CiphertextBlob, SourceEncryptionContext: { k: '1' }, DestinationKeyId: b, DestinationEncryptionContext: { k: '2' } });
    expect(re.SourceKeyId).toContain(a);
    expect(re.KeyId).toContain(b);
    expect((await kms.decrypt({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { k: '2' } })).Plaintext).toEqual(bytes('m'));
    expect(await errorName(kms.reEncrypt({ CiphertextBlob, DestinationKeyId: b }))).toBe('InvalidCiphertextException');
  });

  it('GenerateDataKey and WithoutPlaintext: exactly one of KeySpec and NumberOfBytes', async () => {
    const id = await newKey();
    const dk = await kms.generateDataKey({ KeyId: id, KeySpec: 'AES_256', EncryptionContext: { a: 'b' } });
    expect(dk.Plaintext!.length).toBe(32);
    expect((await kms.decrypt({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { a: 'b' } })).Plaintext).toEqual(dk.Plaintext);
    expect((await kms.generateDataKey({ KeyId: id, KeySpec: 'AES_128' })).Plaintext!.length).toBe(16);
    expect((await kms.generateDataKey({ KeyId: id, NumberOfBytes: 7 })).Plaintext!.length).toBe(7);
    const np = await kms.generateDataKeyWithoutPlaintext({ KeyId: id, NumberOfBytes: 64 });
    expect(np).not.toHaveProperty('Plaintext');
    expect((await kms.decrypt({ CiphertextBlob: np.CiphertextBlob })).Plaintext!.length).toBe(64);
    expect(await errorName(kms.generateDataKey({ KeyId: id }))).toBe('ValidationException');
    expect(await errorName(kms.generateDataKey({ KeyId: id, KeySpec: 'AES_256', NumberOfBytes: 32 }))).toBe('ValidationException');
    expect(await errorName(kms.generateDataKey({ KeyId: id, NumberOfBytes: 1025 }))).toBe('ValidationException');
  });

  it('Encrypt with a SIGN_VERIFY or HMAC key is InvalidKeyUsageException; RSA encryption keys use OAEP', async () => {
    const sign = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
    expect(await errorName(kms.encrypt({ KeyId: sign, Plaintext: bytes('x') }))).toBe('InvalidKeyUsageException');
    const mac = (await kms.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata!.KeyId!;
    expect(await errorName(kms.generateDataKey({ KeyId: mac, KeySpec: 'AES_256' }))).toBe('InvalidKeyUsageException');
    const rsa = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!.KeyId!;
    expect(await errorName(kms.encrypt({ KeyId: rsa, Plaintext: bytes('x') }))).toBe('InvalidKeyUsageException');
    const { CiphertextBlob } = await kms.encrypt({ KeyId: rsa, Plaintext: bytes('rsa'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
    expect(CiphertextBlob!.length).toBe(256);
    expect((await kms.decrypt({ CiphertextBlob, KeyId: rsa, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })).Plaintext).toEqual(bytes('rsa'));
    expect(await errorName(kms.decrypt({ CiphertextBlob, KeyId: rsa, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }))).toBe('InvalidCiphertextException');
    expect(await errorName(kms.encrypt({ KeyId: rsa, Plaintext: new Uint8Array(191), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }))).toBe('ValidationException');
  });

  it('a blob naming an RSA encryption key, without KeyId, is InvalidCiphertextException (Decrypt, ReEncrypt)', async () => {
    const rsa = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!.KeyId!;
    const dest = await newKey();
    // The symmetric blob format, naming the RSA key: no such ciphertext can exist, so it is forged.
    const forged = encodeBlob(rsa, 1, new Uint8Array(12), new Uint8Array(32));
    expect(await errorName(kms.decrypt({ CiphertextBlob: forged }))).toBe('InvalidCiphertextException');
    expect(await errorName(kms.reEncrypt({ CiphertextBlob: forged, DestinationKeyId: dest }))).toBe('InvalidCiphertextException');
    // Naming the key is the RSA path, as before: not an OAEP ciphertext either.
    expect(await errorName(kms.decrypt({ CiphertextBlob: forged, KeyId: rsa, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }))).toBe('InvalidCiphertextException');
  });

  it('send() runs @aws-sdk/client-kms commands in-process', async () => {
    const created = await kms.send<{ KeyMetadata: { KeyId: string } }>(new CreateKeyCommand({}));
    const KeyId = created.KeyMetadata.KeyId;
    const dk = await kms.send<{ Plaintext: Uint8Array; CiphertextBlob: Uint8Array; $metadata: unknown }>(new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256', EncryptionContext: { a: '1' } }));
    expect(dk.$metadata).toEqual({ httpStatusCode: 200 });
    const enc = await kms.send<{ CiphertextBlob: Uint8Array }>(new EncryptCommand({ KeyId, Plaintext: dk.Plaintext }));
    const dec = await kms.send<{ Plaintext: Uint8Array }>(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
    expect(dec.Plaintext).toEqual(dk.Plaintext);
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }))).rejects.toBeInstanceOf(LocalKmsError);
  });
});
