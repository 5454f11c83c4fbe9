import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decrypt } from '../../src/decrypt.js';
import { encrypt } from '../../src/encrypt.js';
import type { SealboxError } from '../../src/errors.js';
import type { KmsClientLike } from '../../src/keyring/kms-client-supplier.js';
import { KmsDiscoveryKeyring, KmsKeyring } from '../../src/keyring/kms.js';
import { LocalKms } from '../../src/local-kms/index.js';
import { credentialStoreFor, startKmsServer, type RunningKmsServer } from '../../src/kms-server/server.js';
import { bytesEqual, pattern, thrown } from '../helpers/keys.js';

// Real multi-Region keys: one `sealbox kms serve` endpoint (127.0.0.1, free port) over one
// store, a primary in us-east-1 and replicas in eu-west-1 and ap-southeast-2 made with
// ReplicateKey, and one real @aws-sdk/client-kms KMSClient per region signing for that region.
// Nothing is emulated: each region's requests reach the server with their own SigV4 scope and
// are answered by that region's replica.
const dir = mkdtempSync(join(tmpdir(), 'sealbox-kms-mrk-'));
let kms: LocalKms;
let server: RunningKmsServer;
let credentials: { accessKeyId: string; secretAccessKey: string };
let mrk: string;
let account: string;
const replica = (region: string): string => `arn:aws:kms:${region}:${account}:key/${mrk}`;
const calls: { region: string; op: string; keyId: unknown }[] = [];
const clients = new Map<string, KMSClient>();

function regionClient(region: string): KmsClientLike {
  let client = clients.get(region);
  if (client === undefined) {
    client = new KMSClient({ endpoint: server.url, region, credentials, maxAttempts: 1 });
    clients.set(region, client);
  }
  const real = client;
  return {
    send(command: object) {
      const input = (command as { input: Record<string, unknown> }).input;
      calls.push({ region, op: command.constructor.name.replace(/Command$/, ''), keyId: input.KeyId });
      return real.send(command as never);
    },
  };
}
const clientSupplier = (region: string | undefined): KmsClientLike => regionClient(region ?? 'us-east-1');

beforeAll(async () => {
  kms = LocalKms.open({ dataDir: dir, rootKey: new Uint8Array(randomBytes(32)), region: 'us-east-1' });
  account = kms.accountId;
  server = await startKmsServer({ kms });
  const key = credentialStoreFor(kms).create({ principal: `arn:aws:iam::${account}:root` });
  credentials = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
  mrk = (await kms.createKey({ MultiRegion: true })).KeyMetadata!.KeyId!;
  await kms.replicateKey({ KeyId: mrk, ReplicaRegion: 'eu-west-1' });
  await kms.replicateKey({ KeyId: mrk, ReplicaRegion: 'ap-southeast-2' });
});
afterAll(async () => {
  for (const c of clients.values()) c.destroy();
  await server.close();
  kms.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('KMS keyring: Multi-Region keys (real replicas over HTTP)', () => {
  const data = pattern(3000);
  const context = { purpose: 'mrk' };

  it('a keyring holding the eu-west-1 replica decrypts an EDK made under the us-east-1 primary, asking eu-west-1', async () => {
    const { ciphertext, header } = await encrypt(data, { keyring: new KmsKeyring({ generatorKeyId: replica('us-east-1'), clientSupplier }), encryptionContext: context });
    expect(new TextDecoder().decode(header.encryptedDataKeys[0]!.providerInfo)).toBe(replica('us-east-1'));
    calls.length = 0;
    const out = await decrypt(ciphertext, { keyring: new KmsKeyring({ keyIds: [replica('eu-west-1')], clientSupplier }) });
    expect(bytesEqual(out.plaintext, data)).toBe(true);
    expect(calls).toEqual([{ region: 'eu-west-1', op: 'Decrypt', keyId: replica('eu-west-1') }]);

    calls.length = 0;
    const discovered = await decrypt(ciphertext, { keyring: new KmsDiscoveryKeyring({ clientSupplier, region: 'ap-southeast-2' }) });
    expect(bytesEqual(discovered.plaintext, data)).toBe(true);
    expect(calls).toEqual([{ region: 'ap-southeast-2', op: 'Decrypt', keyId: replica('ap-southeast-2') }]);
  });

  it('a message made under a replica decrypts with the primary', async () => {
    const { ciphertext } = await encrypt(data, { keyring: new KmsKeyring({ generatorKeyId: replica('ap-southeast-2'), clientSupplier }), encryptionContext: context });
    calls.length = 0;
    const out = await decrypt(ciphertext, { keyring: new KmsKeyring({ keyIds: [replica('us-east-1')], clientSupplier }) });
    expect(bytesEqual(out.plaintext, data)).toBe(true);
    expect(calls).toEqual([{ region: 'us-east-1', op: 'Decrypt', keyId: replica('us-east-1') }]);
  });

  it('a region with no replica cannot decrypt: the keyring fails with ERR_KEYRING after asking that region', async () => {
    const { ciphertext } = await encrypt(data, { keyring: new KmsKeyring({ generatorKeyId: replica('us-east-1'), clientSupplier }) });
    calls.length = 0;
    const err = await thrown(() => decrypt(ciphertext, { keyring: new KmsKeyring({ keyIds: [replica('sa-east-1')], clientSupplier }) }));
    expect((err as SealboxError).code).toBe('ERR_KEYRING');
    expect(calls).toEqual([{ region: 'sa-east-1', op: 'Decrypt', keyId: replica('sa-east-1') }]);
  });

  it('a replica ARN in another account is not the same key: ERR_NO_MATCHING_KEY without a call', async () => {
    const { ciphertext } = await encrypt(data, { keyring: new KmsKeyring({ generatorKeyId: replica('us-east-1'), clientSupplier }) });
    calls.length = 0;
    const other = `arn:aws:kms:eu-west-1:999999999999:key/${mrk}`;
    const err = await thrown(() => decrypt(ciphertext, { keyring: new KmsKeyring({ keyIds: [other], clientSupplier }) }));
    expect((err as SealboxError).code).toBe('ERR_NO_MATCHING_KEY');
    expect(calls).toHaveLength(0);
  });

  it('a replica scheduled for deletion stops decrypting in its region while the others still do', async () => {
    const { ciphertext } = await encrypt(data, { keyring: new KmsKeyring({ generatorKeyId: replica('us-east-1'), clientSupplier }) });
    const extra = (await kms.createKey({ MultiRegion: true })).KeyMetadata!.KeyId!;
    expect(extra).not.toBe(mrk);
    await regionClient('ap-southeast-2').send(new ScheduleKeyDeletionCommand({ KeyId: mrk, PendingWindowInDays: 7 }));
    const err = await thrown(() => decrypt(ciphertext, { keyring: new KmsKeyring({ keyIds: [replica('ap-southeast-2')], clientSupplier }) }));
    expect((err as SealboxError).code).toBe('ERR_KEYRING');
    const out = await decrypt(ciphertext, { keyring: new KmsKeyring({ keyIds: [replica('eu-west-1')], clientSupplier }) });
    expect(bytesEqual(out.plaintext, data)).toBe(true);
  });
});
