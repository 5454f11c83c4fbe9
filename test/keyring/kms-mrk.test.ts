import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decrypt } from '../../src/decrypt.js';
import { encrypt } from '../../src/encrypt.js';
import type { SealboxError } from '../../src/errors.js';
import type { KmsClientLike } from '../../src/keyring/kms-client-supplier.js';
import { KmsDiscoveryKeyring, KmsKeyring } from '../../src/keyring/kms.js';
import { LocalKms } from '../../src/local-kms/index.js';
import { bytesEqual, pattern, thrown } from '../helpers/keys.js';

// Neither KMS available here completes a Multi-Region decrypt end to end: moto 5.2 answers
// AccessDeniedException under replicas, and the local KMS refuses MultiRegion keys. So this
// file emulates what AWS does for replicas (every replica holds the same material) on top of
// one real LocalKms: each region's client renames `arn:aws:kms:<region>:<account>:key/mrk-X`
// to the LocalKms key behind it and renames the answer's KeyId back to the replica in its own
// region. The keyring, the SDK Command objects and the cryptography are real; only the
// replica naming is emulated. What it proves: a keyring configured with one replica decrypts
// EDKs made under another, asking its own region's client with its own replica's ARN, and
// accepts that client's answer naming its replica.
const dir = mkdtempSync(join(tmpdir(), 'sealbox-kms-mrk-'));
let kms: LocalKms;
let backing: string;
const mrk = 'mrk-0123456789abcdef0123456789abcdef';
const replica = (region: string): string => `arn:aws:kms:${region}:${backing.split(':')[4]}:key/${mrk}`;
const calls: { region: string; op: string; keyId: unknown }[] = [];

function regionClient(region: string): KmsClientLike {
  return {
    async send(command: object) {
      const ctor = command.constructor as new (input: Record<string, unknown>) => object;
      const input = { ...(command as { input: Record<string, unknown> }).input };
      calls.push({ region, op: ctor.name.replace(/Command$/, ''), keyId: input.KeyId });
      // A replica ARN must name this client's own region, as AWS requires.
      if (typeof input.KeyId === 'string' && input.KeyId.endsWith(mrk)) {
        if (input.KeyId !== replica(region)) throw Object.assign(new Error('wrong region'), { name: 'NotFoundException' });
        input.KeyId = backing;
      }
      const out = (await kms.send(new ctor(input))) as Record<string, unknown>;
      return out.KeyId === backing ? { ...out, KeyId: replica(region) } : out;
    },
  };
}
const clientSupplier = (region: string | undefined): KmsClientLike => regionClient(region ?? 'us-east-1');

beforeAll(async () => {
  kms = LocalKms.open({ dataDir: dir, rootKey: new Uint8Array(32).fill(9), region: 'us-east-1' });
  backing = (await kms.createKey({})).KeyMetadata!.Arn!;
});
afterAll(() => {
  kms.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('KMS keyring: Multi-Region keys (replicas emulated over one LocalKms)', () => {
  const data = pattern(3000);
  const context = { purpose: 'mrk' };

  it('a keyring holding the eu-west-1 replica decrypts an EDK made under the us-east-1 replica, asking eu-west-1', async () => {
    const { ciphertext, header } = await encrypt(data, { keyring: new KmsKeyring({ generatorKeyId: replica('us-east-1'), clientSupplier }), encryptionContext: context });
    expect(new TextDecoder().decode(header.encryptedDataKeys[0]!.providerInfo)).toBe(replica('us-east-1'));
    calls.length = 0;
    const out = await decrypt(ciphertext, { keyring: new KmsKeyring({ keyIds: [replica('eu-west-1')], clientSupplier }) });
    expect(bytesEqual(out.plaintext, data)).toBe(true);
    expect(calls).toEqual([{ region: 'eu-west-1', op: 'Decrypt', keyId: replica('eu-west-1') }]);

    calls.length = 0;
    const discovered = await decrypt(ciphertext, { keyring: new KmsDiscoveryKeyring({ clientSupplier, region: 'eu-west-1' }) });
    expect(bytesEqual(discovered.plaintext, data)).toBe(true);
    expect(calls).toEqual([{ region: 'eu-west-1', op: 'Decrypt', keyId: replica('eu-west-1') }]);
  });

  it('a replica ARN in another account is not the same key: ERR_NO_MATCHING_KEY without a call', async () => {
    const { ciphertext } = await encrypt(data, { keyring: new KmsKeyring({ generatorKeyId: replica('us-east-1'), clientSupplier }) });
    calls.length = 0;
    const other = `arn:aws:kms:eu-west-1:999999999999:key/${mrk}`;
    const err = await thrown(() => decrypt(ciphertext, { keyring: new KmsKeyring({ keyIds: [other], clientSupplier }) }));
    expect((err as SealboxError).code).toBe('ERR_NO_MATCHING_KEY');
    expect(calls).toHaveLength(0);
  });
});
