import { describe, expect, it } from 'vitest';
import { KmsDiscoveryKeyring, KmsKeyring, KmsRsaKeyring, MultiKeyring, RawAesKeyring } from '../../src/index.js';
import type { KmsClientLike } from '../../src/keyring/kms-client-supplier.js';
import type { UnwrapRequest } from '../../src/keyring/keyring.js';
import type { SealboxError } from '../../src/errors.js';
import { DEFAULT_SUITE } from '../../src/crypto/suites.js';
import { pattern, thrown } from '../helpers/keys.js';

// Attacks by a malicious or buggy KMS endpoint, and by whoever writes a message's EDKs, against
// the KMS keyrings, through an in-process client (`execute`) that answers whatever the test
// scripts. Each answer is checked by the keyring before anything of it is used.

const ACCOUNT = '111122223333';
const ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const OTHER = `arn:aws:kms:us-east-1:${ACCOUNT}:key/00000000-0000-0000-0000-000000000000`;
const MRK_EAST = `arn:aws:kms:us-east-1:${ACCOUNT}:key/mrk-0123456789abcdef0123456789abcdef`;
const MRK_WEST = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/mrk-0123456789abcdef0123456789abcdef`;

interface Call { region: string | undefined; operation: string; input: Record<string, unknown> }

/** A client supplier whose clients answer with `answer(operation, input)`, recording every call and the region asked for. */
function scripted(answer: (operation: string, input: Record<string, unknown>) => unknown) {
  const calls: Call[] = [];
  const regions: (string | undefined)[] = [];
  const clientSupplier = (region: string | undefined): KmsClientLike => {
    regions.push(region);
    return {
      send: () => Promise.reject(new Error('execute() expected')),
      execute: async (operation: string, input: unknown) => {
        calls.push({ region, operation, input: input as Record<string, unknown> });
        return answer(operation, input as Record<string, unknown>);
      },
    };
  };
  return { clientSupplier, calls, regions };
}

const kmsEdk = (arn: string | Uint8Array, ciphertext = new Uint8Array([1, 2, 3])) => ({
  providerId: 'aws-kms',
  providerInfo: typeof arn === 'string' ? new TextEncoder().encode(arn) : arn,
  ciphertext,
});

const unwrapRequest = (edks: ReturnType<typeof kmsEdk>[], seen?: Uint8Array[]): UnwrapRequest => ({
  suite: DEFAULT_SUITE,
  encryptionContext: { tenant: 'acme' },
  encryptedDataKeys: edks,
  isMessageKey: async (dataKey) => {
    seen?.push(dataKey);
    return true;
  },
});

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

describe('KMS answers a keyring must refuse', () => {
  for (const length of [0, 16, 31, 33, 64]) {
    it(`GenerateDataKey with a ${length}-byte Plaintext: ERR_KEYRING, the answer's bytes zeroed, no Encrypt for the other keys`, async () => {
      const plaintexts: Uint8Array[] = [];
      const { clientSupplier, calls } = scripted((operation, input) => {
        const Plaintext = new Uint8Array(length).fill(0x5a);
        plaintexts.push(Plaintext);
        return { KeyId: input.KeyId, Plaintext, CiphertextBlob: new Uint8Array(40) };
      });
      const keyring = new KmsKeyring({ generatorKeyId: ARN, keyIds: [OTHER], clientSupplier });
      const err = await thrown(() => keyring.wrapKey({ suite: DEFAULT_SUITE, encryptionContext: {} }));
      expect((err as SealboxError).code).toBe('ERR_KEYRING');
      expect((err as SealboxError).message).toMatch(length === 0 ? /rejected/ : new RegExp(`${length} bytes, expected 32`));
      expect(calls.map((c) => c.operation)).toEqual(['GenerateDataKey']);
      for (const p of plaintexts) expect(isZero(p)).toBe(true);
    });
  }

  it('Encrypt for a child key answering with another KeyId: encrypt fails, no EDK for the key nobody chose', async () => {
    const { clientSupplier } = scripted((operation, input) =>
      operation === 'GenerateDataKey'
        ? { KeyId: input.KeyId, Plaintext: new Uint8Array(32).fill(1), CiphertextBlob: new Uint8Array(40) }
        : { KeyId: MRK_EAST, CiphertextBlob: new Uint8Array(40) },
    );
    const keyring = new KmsKeyring({ generatorKeyId: ARN, keyIds: [OTHER], clientSupplier });
    const err = await thrown(() => keyring.wrapKey({ suite: DEFAULT_SUITE, encryptionContext: {} }));
    expect((err as SealboxError).code).toBe('ERR_KEYRING');
    expect((err as SealboxError).message).toMatch(/KeyId differs/);
    // The same as a multi-keyring child: the whole encrypt fails, and the generator's key is zeroed.
    const generator = new RawAesKeyring({ namespace: 'acme', name: 'g', wrappingKey: pattern(32, 1) });
    let generated: Uint8Array | undefined;
    const watching = { wrapKey: async (r: Parameters<RawAesKeyring['wrapKey']>[0]) => { const w = await generator.wrapKey(r); generated = w.dataKey; return w; }, unwrapKey: (r: UnwrapRequest) => generator.unwrapKey(r) };
    const multi = new MultiKeyring({ generator: watching, children: [new KmsKeyring({ keyIds: [OTHER], clientSupplier })] });
    const multiErr = await thrown(() => multi.wrapKey({ suite: DEFAULT_SUITE, encryptionContext: {} }));
    expect((multiErr as SealboxError).code).toBe('ERR_KEYRING');
    expect(isZero(generated!)).toBe(true);
  });

  it('Decrypt answered for another key (strict, discovery, MRK-aware discovery, RSA): refused, its plaintext zeroed, the next EDK tried', async () => {
    const plaintexts: Uint8Array[] = [];
    let answerKeyId = OTHER;
    const { clientSupplier, calls } = scripted((_operation, input) => {
      const Plaintext = new Uint8Array(32).fill(0x33);
      plaintexts.push(Plaintext);
      // The first call is answered for another key; later ones for the key asked for.
      const KeyId = calls.length === 1 ? answerKeyId : input.KeyId;
      return { KeyId, Plaintext };
    });
    const cases: [string, () => Promise<Uint8Array | null>][] = [
      ['strict', () => new KmsKeyring({ keyIds: [ARN], clientSupplier }).unwrapKey(unwrapRequest([kmsEdk(ARN), kmsEdk(ARN)]))],
      ['discovery', () => new KmsDiscoveryKeyring({ clientSupplier, discoveryFilter: { accountIds: [ACCOUNT], partition: 'aws' } }).unwrapKey(unwrapRequest([kmsEdk(ARN), kmsEdk(ARN)]))],
      ['mrk discovery', () => {
        // The endpoint claims the replica named in the EDK decrypted, not the one asked for.
        answerKeyId = MRK_EAST;
        return new KmsDiscoveryKeyring({ clientSupplier, region: 'eu-west-1' }).unwrapKey(unwrapRequest([kmsEdk(MRK_EAST), kmsEdk(MRK_EAST)]));
      }],
      ['rsa', () => {
        answerKeyId = OTHER;
        const edk = { ...kmsEdk(ARN), providerId: 'aws-kms-rsa' };
        return new KmsRsaKeyring({ keyId: ARN, clientSupplier }).unwrapKey(unwrapRequest([edk, edk]));
      }],
    ];
    for (const [name, run] of cases) {
      calls.length = 0;
      plaintexts.length = 0;
      const key = await run();
      expect([name, key?.length]).toEqual([name, 32]);
      expect([name, calls.length]).toEqual([name, 2]);
      expect([name, isZero(plaintexts[0]!)]).toEqual([name, true]);
      // The Decrypt names the key to use (for MRK-aware discovery, the local replica), never none.
      const asked = name === 'mrk discovery' ? MRK_WEST : ARN;
      expect([name, calls.map((c) => c.input.KeyId)]).toEqual([name, [asked, asked]]);
    }
  });

  it('Decrypt with a Plaintext of the wrong length: refused and zeroed (strict, discovery, RSA)', async () => {
    for (const length of [16, 33]) {
      const plaintexts: Uint8Array[] = [];
      const { clientSupplier } = scripted((_operation, input) => {
        const Plaintext = new Uint8Array(length).fill(0x44);
        plaintexts.push(Plaintext);
        return { KeyId: input.KeyId, Plaintext };
      });
      const rsaEdk = { ...kmsEdk(ARN), providerId: 'aws-kms-rsa' };
      const runs = [
        () => new KmsKeyring({ keyIds: [ARN], clientSupplier }).unwrapKey(unwrapRequest([kmsEdk(ARN)])),
        () => new KmsDiscoveryKeyring({ clientSupplier }).unwrapKey(unwrapRequest([kmsEdk(ARN)])),
        () => new KmsRsaKeyring({ keyId: ARN, clientSupplier }).unwrapKey(unwrapRequest([rsaEdk])),
      ];
      for (const run of runs) {
        const err = await thrown(run);
        expect((err as SealboxError).code).toBe('ERR_KEYRING');
      }
      expect(plaintexts).toHaveLength(3);
      for (const p of plaintexts) expect(isZero(p)).toBe(true);
    }
  });
});

describe('EDKs a message writer controls', () => {
  const encoder = new TextEncoder();
  const hostile: (string | Uint8Array)[] = [
    `${ARN}\n`,
    `${ARN}\u0000`,
    ` ${ARN}`,
    ARN.toUpperCase(),
    `arn:aws:kms:us-east-1.attacker.example:${ACCOUNT}:key/1234abcd`,
    `arn:aws:kms:us-east-1:${ACCOUNT}:alias/app`,
    `arn:aws:kms:us-east-1:${ACCOUNT}:key/a/b`,
    `arn:aws:kms::${ACCOUNT}:key/1234abcd`,
    `arn:aws:kms:us-east-1:11112222333\uff13:key/1234abcd`,
    `arn:aws:kms:us-east-1:${ACCOUNT}:key/${'a'.repeat(3000)}`,
    `arn:aws:kms:cn-north-1:${ACCOUNT}:key/1234abcd`,
    `arn:aws-cn:kms:us-east-1:${ACCOUNT}:key/1234abcd`,
    `arn:aws:kms:us-east-1:444455556666:key/1234abcd`,
    `arn:aws-us-gov:kms:us-gov-west-1:${ACCOUNT}:key/1234abcd`,
    Uint8Array.of(...encoder.encode('arn:aws:kms:us-east-1:'), 0xff, 0xfe, ...encoder.encode(`:${ACCOUNT}:key/x`)),
    new Uint8Array(0),
  ];

  it('a discovery keyring filtered to one account in "aws" makes no call for any of them ("not mine")', async () => {
    const { clientSupplier, calls, regions } = scripted(() => {
      throw new Error('no call expected');
    });
    const keyring = new KmsDiscoveryKeyring({ clientSupplier, discoveryFilter: { accountIds: [ACCOUNT], partition: 'aws' } });
    expect(await keyring.unwrapKey(unwrapRequest(hostile.map((arn) => kmsEdk(arn))))).toBeNull();
    expect(calls).toEqual([]);
    expect(regions).toEqual([]);
  });

  it('a strict keyring matches only its configured ARN, exactly; the call goes to the region of the configured key', async () => {
    const { clientSupplier, calls } = scripted((_operation, input) => ({ KeyId: input.KeyId, Plaintext: new Uint8Array(32).fill(2) }));
    const keyring = new KmsKeyring({ keyIds: [ARN, MRK_WEST], clientSupplier });
    expect(await keyring.unwrapKey(unwrapRequest(hostile.map((arn) => kmsEdk(arn))))).toBeNull();
    expect(calls).toEqual([]);
    // An EDK naming the us-east-1 replica of the configured MRK is decrypted by the eu-west-1 one.
    await keyring.unwrapKey(unwrapRequest([kmsEdk(MRK_EAST)]));
    expect(calls.map((c) => [c.region, c.input.KeyId])).toEqual([['eu-west-1', MRK_WEST]]);
  });

  it('EDKs of another provider id, or KMS RSA EDKs naming another ARN, cost no call', async () => {
    const { clientSupplier, calls } = scripted(() => {
      throw new Error('no call expected');
    });
    const edks = [
      { ...kmsEdk(ARN), providerId: 'aws-kms ' },
      { ...kmsEdk(ARN), providerId: 'AWS-KMS' },
      { ...kmsEdk(OTHER), providerId: 'aws-kms-rsa' },
      { ...kmsEdk(`${ARN}\u0000`), providerId: 'aws-kms-rsa' },
    ];
    expect(await new KmsDiscoveryKeyring({ clientSupplier }).unwrapKey(unwrapRequest(edks))).toBeNull();
    expect(await new KmsKeyring({ keyIds: [ARN], clientSupplier }).unwrapKey(unwrapRequest(edks))).toBeNull();
    expect(await new KmsRsaKeyring({ keyId: ARN, clientSupplier }).unwrapKey(unwrapRequest(edks))).toBeNull();
    expect(calls).toEqual([]);
  });
});
