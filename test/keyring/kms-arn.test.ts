import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatKmsArn, isMultiRegionKey, parseKmsArn, sameKmsKey } from '../../src/keyring/kms-arn.js';
import { checkResponseKeyId } from '../../src/keyring/kms-call.js';
import { KmsDiscoveryKeyring, KmsKeyring } from '../../src/keyring/kms.js';
import type { SealboxError } from '../../src/errors.js';
import { DEFAULT_SUITE } from '../../src/crypto/suites.js';
import { thrown } from '../helpers/keys.js';

const east = 'arn:aws:kms:us-east-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef';
const west = 'arn:aws:kms:eu-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef';
const plain = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('KMS ARNs', () => {
  it('parses key and alias ARNs; refuses anything else', () => {
    expect(parseKmsArn(plain)).toEqual({ partition: 'aws', region: 'us-east-1', accountId: '111122223333', resourceType: 'key', resourceId: '1234abcd-12ab-34cd-56ef-1234567890ab' });
    expect(parseKmsArn('arn:aws-cn:kms:cn-north-1:111122223333:alias/app/key')?.resourceType).toBe('alias');
    for (const bad of ['1234abcd-12ab', 'alias/x', 'arn:aws:s3:us-east-1:111122223333:key/x', 'arn:aws:kms:us-east-1:1111:key/x',
      'arn:aws:kms:us-east-1:111122223333:key/', 'arn:aws:kms:us-east-1:111122223333:key/a/b', `${plain}\n`, 'arn:aws:kms:US-EAST-1:111122223333:key/x']) {
      expect(parseKmsArn(bad)).toBeUndefined();
    }
  });

  it("refuses an ARN whose region belongs to another partition (the SDK's partition rules); an unknown partition is not checked", async () => {
    for (const bad of [
      'arn:aws:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      'arn:aws:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      'arn:aws-cn:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      'arn:aws-iso:kms:us-isob-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    ]) {
      expect([bad, parseKmsArn(bad)]).toEqual([bad, undefined]);
    }
    for (const good of [
      'arn:aws-cn:kms:cn-northwest-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      'arn:aws-us-gov:kms:us-gov-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      'arn:aws-iso-b:kms:us-isob-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      'arn:aws-eusc:kms:eusc-de-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      'arn:aws-future:kms:xy-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    ]) {
      expect([good, parseKmsArn(good)?.resourceType]).toEqual([good, 'key']);
    }
    // A discovery keyring filtered to the aws partition does not call the China partition for an
    // EDK that names a cn- region under "aws" (before, it asked its supplier for cn-north-1).
    const asked: string[] = [];
    const keyring = new KmsDiscoveryKeyring({
      discoveryFilter: { accountIds: ['111122223333'], partition: 'aws' },
      clientSupplier: (region) => {
        asked.push(String(region));
        return { send: () => Promise.reject(new Error('no call expected')) };
      },
    });
    const arn = 'arn:aws:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const edk = { providerId: 'aws-kms', providerInfo: new TextEncoder().encode(arn), ciphertext: new Uint8Array([1]) };
    expect(await keyring.unwrapKey({ suite: DEFAULT_SUITE, encryptionContext: {}, encryptedDataKeys: [edk] })).toBeNull();
    expect(asked).toEqual([]);
  });

  it('format(parse(x)) === x for every ARN it accepts', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => {
      const arn = parseKmsArn(s);
      if (arn) expect(formatKmsArn(arn)).toBe(s);
    }));
    expect(formatKmsArn(parseKmsArn(east)!)).toBe(east);
  });

  it('Multi-Region replicas are the same key; single-region keys in other regions are not', () => {
    const e = parseKmsArn(east)!;
    const w = parseKmsArn(west)!;
    expect(isMultiRegionKey(e)).toBe(true);
    expect(sameKmsKey(e, w)).toBe(true);
    const p = parseKmsArn(plain)!;
    expect(sameKmsKey(p, { ...p, region: 'eu-west-1' })).toBe(false);
    expect(sameKmsKey(e, { ...w, accountId: '999999999999' })).toBe(false);
    expect(sameKmsKey(e, { ...w, partition: 'aws-cn' })).toBe(false);
  });
});

describe('KMS response checks', () => {
  it('accepts only the key asked for', () => {
    expect(checkResponseKeyId(plain, plain)).toBe(plain);
    expect(checkResponseKeyId('1234abcd-12ab-34cd-56ef-1234567890ab', plain)).toBe(plain);
    expect(checkResponseKeyId('alias/app', plain)).toBe(plain);
    expect(checkResponseKeyId('arn:aws:kms:us-east-1:111122223333:alias/app', plain)).toBe(plain);
    for (const [asked, got] of [[plain, west], [east, west], ['other-key-id', plain], [plain, undefined], [plain, 'alias/app'], ['alias/app', 'not an arn'], ['arn:aws:kms:eu-west-1:111122223333:alias/app', plain], ['arn:aws:kms:us-east-1:999999999999:alias/app', plain]]) {
      let err: unknown;
      try {
        checkResponseKeyId(asked as string, got);
      } catch (e) {
        err = e;
      }
      expect((err as SealboxError).code).toBe('ERR_KEYRING');
    }
  });
});

describe('KMS keyring options', () => {
  const client = { send: async () => ({}) };
  it('refuses bad options with TypeError / RangeError', () => {
    expect(() => new KmsKeyring({ client })).toThrow(TypeError);
    expect(() => new KmsKeyring({ generatorKeyId: '', client })).toThrow(TypeError);
    expect(() => new KmsKeyring({ generatorKeyId: plain, client, clientSupplier: () => client })).toThrow(TypeError);
    expect(() => new KmsKeyring({ generatorKeyId: plain, client, grantTokens: Array(11).fill('t') })).toThrow(RangeError);
    expect(() => new KmsKeyring({ generatorKeyId: plain, client, timeoutMs: 0 })).toThrow(RangeError);
    expect(() => new KmsDiscoveryKeyring({ client, discoveryFilter: { accountIds: [], partition: 'aws' } })).toThrow(TypeError);
    expect(() => new KmsDiscoveryKeyring({ client, discoveryFilter: { accountIds: ['12'], partition: 'aws' } })).toThrow(TypeError);
  });

  it('a client returning a response for another key is refused (ERR_KEYRING)', async () => {
    // A well-formed answer naming the wrong key: what a confused endpoint could send.
    const wrong = { send: async () => ({ KeyId: west, Plaintext: new Uint8Array(32).fill(7), CiphertextBlob: new Uint8Array(10) }) };
    const keyring = new KmsKeyring({ generatorKeyId: plain, client: wrong });
    const err = await thrown(() => keyring.wrapKey({ suite: DEFAULT_SUITE, encryptionContext: {} }));
    expect((err as SealboxError).code).toBe('ERR_KEYRING');
  });

  it('a Decrypt answer naming another key, or a key of the wrong length, is refused and reported', async () => {
    const edk = { providerId: 'aws-kms', providerInfo: new TextEncoder().encode(plain), ciphertext: new Uint8Array(10) };
    const suite = DEFAULT_SUITE;
    for (const answer of [{ KeyId: west, Plaintext: new Uint8Array(32) }, { KeyId: plain, Plaintext: new Uint8Array(16) }, { KeyId: plain }]) {
      const keyring = new KmsKeyring({ keyIds: [plain], client: { send: async () => ({ ...answer }) } });
      const err = await thrown(() => keyring.unwrapKey({ suite, encryptionContext: {}, encryptedDataKeys: [edk] }));
      expect((err as SealboxError).code).toBe('ERR_KEYRING');
      expect(((err as SealboxError).errors[0] as SealboxError).code).toBe('ERR_KEYRING');
    }
  });
});
