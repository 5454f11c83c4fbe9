/**
 * A discovery KMS keyring reads regions from EDKs, which anyone can write. A message naming
 * ever new regions must not make it call (and create a client for) each one: at most
 * MAX_KMS_DISCOVERY_REGIONS distinct regions per message, and none outside `regions`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decrypt, encrypt } from '../../src/index.js';
import { DEFAULT_SUITE } from '../../src/crypto/suites.js';
import type { SealboxError } from '../../src/errors.js';
import type { EncryptedDataKey } from '../../src/format/edk.js';
import type { Keyring } from '../../src/keyring/keyring.js';
import { KmsDiscoveryKeyring, KmsKeyring } from '../../src/keyring/kms.js';
import type { KmsClientLike } from '../../src/keyring/kms-client-supplier.js';
import { MAX_KMS_DISCOVERY_REGIONS } from '../../src/limits.js';
import { LocalKms } from '../../src/local-kms/index.js';
import { bytesEqual, thrown } from '../helpers/keys.js';
import { regionName } from '../helpers/hostile-names.js';

const ACCOUNT = '111122223333';
const dir = mkdtempSync(join(tmpdir(), 'sealbox-discovery-regions-'));
let kms: LocalKms;
let keyArn: string;

beforeAll(async () => {
  kms = LocalKms.open({ dataDir: dir, rootKey: new Uint8Array(32).fill(3), region: 'us-east-1', accountId: ACCOUNT });
  keyArn = (await kms.createKey({})).KeyMetadata!.Arn!;
});
afterAll(() => {
  kms.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An `aws-kms` EDK naming a key in region `regionName(i)`, as an attacker writes one. */
function foreignEdk(i: number): EncryptedDataKey {
  const arn = `arn:aws:kms:${regionName(i)}:${ACCOUNT}:key/00000000-0000-0000-0000-${String(i).padStart(12, '0')}`;
  return { providerId: 'aws-kms', providerInfo: new TextEncoder().encode(arn), ciphertext: new Uint8Array([1, 2, 3]) };
}

/** A client supplier that records each region it is asked for and answers with the LocalKms. */
function countingSupplier(): { calls: (string | undefined)[]; supplier: (region: string | undefined) => KmsClientLike } {
  const calls: (string | undefined)[] = [];
  return { calls, supplier: (region) => (calls.push(region), kms) };
}

/** A keyring that writes `before` foreign EDKs, then the LocalKms key's real one. */
function paddedKeyring(before: number, from = 0): Keyring {
  const real = new KmsKeyring({ generatorKeyId: keyArn, client: kms });
  return {
    async wrapKey(request) {
      const r = await real.wrapKey(request);
      return { dataKey: r.dataKey, encryptedDataKeys: [...Array.from({ length: before }, (_, i) => foreignEdk(from + i)), ...r.encryptedDataKeys] };
    },
    unwrapKey: (request) => real.unwrapKey(request),
  };
}

describe('KmsDiscoveryKeyring and the regions EDKs name', () => {
  it(`1,000 EDKs in 1,000 regions reach the client supplier for at most ${MAX_KMS_DISCOVERY_REGIONS} regions`, async () => {
    const { calls, supplier } = countingSupplier();
    const keyring = new KmsDiscoveryKeyring({ clientSupplier: supplier });
    const encryptedDataKeys = Array.from({ length: 1000 }, (_, i) => foreignEdk(i));
    const err = (await thrown(() => keyring.unwrapKey({ suite: DEFAULT_SUITE, encryptionContext: {}, encryptedDataKeys }))) as SealboxError;
    expect(err.code).toBe('ERR_KEYRING');
    expect(new Set(calls).size).toBe(MAX_KMS_DISCOVERY_REGIONS);
    expect(calls.length).toBe(MAX_KMS_DISCOVERY_REGIONS);
    // The caller learns that EDKs were left untried, and why.
    expect((err.errors as SealboxError[]).map((e) => e.code)).toContain('ERR_LIMIT_EXCEEDED');
  });

  it('messages naming 1,000 regions in all make at most the limit of supplier calls each', async () => {
    const { calls, supplier } = countingSupplier();
    const keyring = new KmsDiscoveryKeyring({ clientSupplier: supplier });
    const data = new TextEncoder().encode('regions');
    let messages = 0;
    for (let from = 0; from < 1000; from += 250) {
      const { ciphertext } = await encrypt(data, { keyring: paddedKeyring(250, from) });
      const err = (await thrown(() => decrypt(ciphertext, { keyring, maxEncryptedDataKeys: 255 }))) as SealboxError;
      expect(err.code).toBe('ERR_KEYRING');
      messages++;
    }
    expect(calls.length).toBe(messages * MAX_KMS_DISCOVERY_REGIONS);
  });

  it('with a region allow-list, EDKs elsewhere cost no supplier call and the real one decrypts', async () => {
    const { calls, supplier } = countingSupplier();
    const data = new TextEncoder().encode('allow-list');
    const { ciphertext } = await encrypt(data, { keyring: paddedKeyring(200) });
    const keyring = new KmsDiscoveryKeyring({ clientSupplier: supplier, regions: ['us-east-1'] });
    expect(bytesEqual((await decrypt(ciphertext, { keyring, maxEncryptedDataKeys: 255 })).plaintext, data)).toBe(true);
    expect(calls).toEqual(['us-east-1']);
    // Without it, the 200 foreign regions come first and the real EDK is beyond the limit.
    const unlimited = new KmsDiscoveryKeyring({ clientSupplier: supplier });
    const err = (await thrown(() => decrypt(ciphertext, { keyring: unlimited, maxEncryptedDataKeys: 255 }))) as SealboxError;
    expect(err.code).toBe('ERR_KEYRING');
  });

  it('a message in a few regions still decrypts, whichever EDK comes first', async () => {
    const { calls, supplier } = countingSupplier();
    const data = new TextEncoder().encode('few');
    const { ciphertext } = await encrypt(data, { keyring: paddedKeyring(MAX_KMS_DISCOVERY_REGIONS - 1) });
    const keyring = new KmsDiscoveryKeyring({ clientSupplier: supplier, discoveryFilter: { accountIds: [ACCOUNT], partition: 'aws' } });
    expect(bytesEqual((await decrypt(ciphertext, { keyring })).plaintext, data)).toBe(true);
    expect(calls.length).toBe(MAX_KMS_DISCOVERY_REGIONS);
  });

  it('refuses a bad regions option', () => {
    for (const regions of [[], ['US-EAST-1'], ['us-east-1', 7], 'us-east-1']) {
      expect(() => new KmsDiscoveryKeyring({ client: kms, regions: regions as string[] })).toThrow(TypeError);
    }
  });
});
