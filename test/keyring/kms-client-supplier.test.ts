/**
 * kmsClientSupplier with a counting stand-in for KMSClient: which regions get a client, how
 * many are made and how many are kept. Regions come from EDKs, which anyone can write.
 */
import { describe, expect, it, vi } from 'vitest';
import type { SealboxError } from '../../src/errors.js';
import { DEFAULT_SUITE } from '../../src/crypto/suites.js';
import { isAwsRegionName } from '../../src/keyring/kms-arn.js';
import { kmsClientSupplier } from '../../src/keyring/kms-client-supplier.js';
import { KmsDiscoveryKeyring } from '../../src/keyring/kms.js';
import { DEFAULT_KMS_CLIENT_CACHE_SIZE, MAX_KMS_DISCOVERY_REGIONS } from '../../src/limits.js';
import { thrown } from '../helpers/keys.js';
import { regionName } from '../helpers/hostile-names.js';

const made = vi.hoisted(() => ({ regions: [] as (string | undefined)[] }));

vi.mock('@aws-sdk/client-kms', async (importOriginal) => {
  const real = await importOriginal<typeof import('@aws-sdk/client-kms')>();
  class CountingKMSClient {
    constructor(config: { region?: string }) {
      made.regions.push(config.region);
    }
    send(): Promise<never> {
      return Promise.reject(Object.assign(new Error('no such key'), { name: 'NotFoundException' }));
    }
  }
  return { ...real, KMSClient: CountingKMSClient };
});

const region = regionName;

describe('isAwsRegionName', () => {
  it('accepts the shapes AWS uses, refuses anything else', () => {
    for (const name of ['us-east-1', 'eu-west-3', 'ap-southeast-7', 'us-gov-west-1', 'cn-north-1', 'us-isob-east-1', 'eu-isoe-west-1', 'mx-central-1', 'il-central-1']) {
      expect(isAwsRegionName(name)).toBe(true);
    }
    for (const name of ['', 'x', 'us-east', 'us-east-1-', 'US-EAST-1', 'us_east_1', 'us-east-1.evil.example', 'us-east-1/', 'local', '1-2-3', 'us-east-123', 'a-b-c-d-e-1', 7, undefined]) {
      expect(isAwsRegionName(name)).toBe(false);
    }
  });
});

describe('kmsClientSupplier', () => {
  it('refuses a malformed region without making a client', async () => {
    made.regions = [];
    const supplier = kmsClientSupplier();
    for (const bad of ['not_a_region', 'us-east-1.attacker.example', 'x', 'zz-1', 'us-east-1-']) {
      expect(() => supplier(bad)).toThrow(RangeError);
    }
    // Through a discovery keyring: the EDK's region is refused, no client made, ERR_KEYRING (the EDK was the keyring's, and it failed).
    const keyring = new KmsDiscoveryKeyring({ clientSupplier: supplier });
    const arn = 'arn:aws:kms:not-a-region:111122223333:key/00000000-0000-0000-0000-000000000001';
    const edk = { providerId: 'aws-kms', providerInfo: new TextEncoder().encode(arn), ciphertext: new Uint8Array([1]) };
    const err = (await thrown(() => keyring.unwrapKey({ suite: DEFAULT_SUITE, encryptionContext: {}, encryptedDataKeys: [edk] }))) as SealboxError;
    expect(err.code).toBe('ERR_KEYRING');
    expect(((err.errors as SealboxError[])[0]!.cause as Error)).toBeInstanceOf(RangeError);
    expect(made.regions).toEqual([]);
  });

  it('keeps at most maxClients clients, least recently used dropped first', async () => {
    made.regions = [];
    const supplier = kmsClientSupplier();
    const first = await supplier(region(0));
    for (let i = 1; i < 1000; i++) await supplier(region(i));
    expect(made.regions).toHaveLength(1000);
    // The most recent ones are still kept; the first was dropped and is made again.
    expect(await supplier(region(999))).toBe(await supplier(region(999)));
    expect(made.regions).toHaveLength(1000);
    for (let i = 1000 - DEFAULT_KMS_CLIENT_CACHE_SIZE; i < 1000; i++) await supplier(region(i));
    expect(made.regions).toHaveLength(1000);
    expect(await supplier(region(0))).not.toBe(first);
    expect(made.regions).toHaveLength(1001);
  });

  it('honours maxClients and regions, and checks them', async () => {
    made.regions = [];
    const supplier = kmsClientSupplier({ maxClients: 2, regions: ['us-east-1', 'eu-west-1', 'ap-south-1'] });
    const a = await supplier('us-east-1');
    await supplier('eu-west-1');
    expect(await supplier('us-east-1')).toBe(a);
    await supplier('ap-south-1'); // drops eu-west-1, the least recently used
    expect(await supplier('us-east-1')).toBe(a);
    expect(made.regions).toEqual(['us-east-1', 'eu-west-1', 'ap-south-1']);
    expect(() => supplier('sa-east-1')).toThrow(RangeError);
    expect(() => kmsClientSupplier({ maxClients: 0 })).toThrow(TypeError);
    expect(() => kmsClientSupplier({ regions: ['us-east-1', 'evil/'] })).toThrow(TypeError);
  });

  it('a discovery keyring over it makes at most the limit of clients for 1,000 regions', async () => {
    made.regions = [];
    const keyring = new KmsDiscoveryKeyring({ clientSupplier: kmsClientSupplier() });
    const encryptedDataKeys = Array.from({ length: 1000 }, (_, i) => ({
      providerId: 'aws-kms',
      providerInfo: new TextEncoder().encode(`arn:aws:kms:${region(i)}:111122223333:key/00000000-0000-0000-0000-000000000001`),
      ciphertext: new Uint8Array([1]),
    }));
    const err = (await thrown(() => keyring.unwrapKey({ suite: DEFAULT_SUITE, encryptionContext: {}, encryptedDataKeys }))) as SealboxError;
    expect(err.code).toBe('ERR_KEYRING');
    expect(made.regions).toHaveLength(MAX_KMS_DISCOVERY_REGIONS);
  });
});
