import { CreateKeyCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import type { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decrypt, encrypt } from '../../src/index.js';
import { KmsKeyring } from '../../src/keyring/kms.js';
import type { KmsClientLike } from '../../src/keyring/kms-client-supplier.js';
import { CachingMaterialsManager } from '../../src/materials/caching.js';
import { bytesEqual, pattern } from '../helpers/keys.js';
import type { Moto } from '../helpers/moto.js';
import { startMoto } from '../helpers/moto.js';

/**
 * GenerateDataKey calls are counted by a counting wrapper around a real KMSClient (every call
 * still goes over HTTP to moto_server); moto itself keeps no request counts.
 */
function countingClient(client: KMSClient): KmsClientLike & { generateDataKey: number; total: number } {
  const counter = {
    generateDataKey: 0,
    total: 0,
    send(command: object, options?: { abortSignal?: AbortSignal }) {
      counter.total++;
      if (command instanceof GenerateDataKeyCommand) counter.generateDataKey++;
      return client.send(command as GenerateDataKeyCommand, options);
    },
  };
  return counter;
}

let moto: Moto | undefined;
let keyArn: string;

beforeAll(async () => {
  moto = await startMoto();
  if (moto) keyArn = (await moto.client().send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
});
afterAll(async () => {
  await moto?.stop();
});

describe('caching manager in front of a KMS keyring (moto_server)', () => {
  const skip = (): boolean => {
    if (!moto) console.log('moto unavailable: case skipped');
    return !moto;
  };

  it('10,000 encrypts under one key with max messages 1,000 make at most 10 GenerateDataKey calls', async () => {
    if (skip()) return;
    const client = countingClient(moto!.client());
    const cmm = new CachingMaterialsManager({
      keyring: new KmsKeyring({ generatorKeyId: keyArn, client }),
      capacity: 10,
      maxAgeMs: 10 * 60_000,
      maxMessagesEncrypted: 1_000,
    });
    const data = pattern(64, 2);
    let last: Uint8Array | undefined;
    for (let i = 0; i < 10_000; i++) last = (await encrypt(data, { materialsManager: cmm, encryptionContext: { app: 'bench' } })).ciphertext;
    console.log(`10,000 encrypts: ${client.generateDataKey} GenerateDataKey calls (counted by a wrapper around a real KMSClient)`);
    expect(client.generateDataKey).toBeLessThanOrEqual(10);
    expect(client.generateDataKey).toBe(10);
    const out = await decrypt(last!, { keyring: new KmsKeyring({ keyIds: [keyArn], client: moto!.client() }) });
    expect(bytesEqual(out.plaintext, data)).toBe(true);
  });

  it('100 concurrent encrypts on a cold cache make exactly 1 GenerateDataKey call', async () => {
    if (skip()) return;
    const client = countingClient(moto!.client());
    const cmm = new CachingMaterialsManager({
      keyring: new KmsKeyring({ generatorKeyId: keyArn, client }),
      capacity: 10,
      maxAgeMs: 60_000,
      maxMessagesEncrypted: 1_000,
    });
    const data = pattern(64, 3);
    await Promise.all(Array.from({ length: 100 }, () => encrypt(data, { materialsManager: cmm })));
    expect(client.generateDataKey).toBe(1);
    expect(client.total).toBe(1);
  });

  it('decrypt through the cache: 100 concurrent decrypts of one message make one Decrypt call', async () => {
    if (skip()) return;
    const data = pattern(500, 4);
    const { ciphertext } = await encrypt(data, { keyring: new KmsKeyring({ generatorKeyId: keyArn, client: moto!.client() }), encryptionContext: { a: 'b' } });
    const client = countingClient(moto!.client());
    const cmm = new CachingMaterialsManager({ keyring: new KmsKeyring({ keyIds: [keyArn], client }), capacity: 10, maxAgeMs: 60_000 });
    const outs = await Promise.all(Array.from({ length: 100 }, () => decrypt(ciphertext, { materialsManager: cmm })));
    expect(outs.every((o) => bytesEqual(o.plaintext, data))).toBe(true);
    expect(client.total).toBe(1);
  });
});
