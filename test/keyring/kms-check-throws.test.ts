import { describe, expect, it } from 'vitest';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { KmsDiscoveryKeyring, KmsKeyring, KmsRsaKeyring, MultiKeyring } from '../../src/index.js';
import type { Keyring, UnwrapRequest } from '../../src/keyring/keyring.js';
import { DEFAULT_SUITE } from '../../src/crypto/suites.js';
import { thrown } from '../helpers/keys.js';
import { useServedKms } from '../kms-server/served-kms.js';

// A keyring asks `isMessageKey` about each key it unwraps (SPEC §8.3). When that check throws
// (a materials manager of the application's, a check that cannot run), the error passes through
// and the key goes to nobody: it is zeroed. KMS keyrings here call the local KMS's SigV4
// endpoint through a real KMSClient.
const served = useServedKms();

/** An unwrap request whose check keeps the key it is asked about, then throws. */
function throwingCheck(encryptedDataKeys: UnwrapRequest['encryptedDataKeys']): { request: UnwrapRequest; seen: Uint8Array[]; failure: Error } {
  const seen: Uint8Array[] = [];
  const failure = new Error('the check could not run');
  const request: UnwrapRequest = {
    suite: DEFAULT_SUITE,
    encryptionContext: { purpose: 'test' },
    encryptedDataKeys,
    isMessageKey: async (dataKey) => {
      seen.push(dataKey);
      throw failure;
    },
  };
  return { request, seen, failure };
}

async function expectZeroedOnThrow(keyring: Keyring, encryptedDataKeys: UnwrapRequest['encryptedDataKeys']): Promise<void> {
  const { request, seen, failure } = throwingCheck(encryptedDataKeys);
  const err = await thrown(() => keyring.unwrapKey(request));
  expect(err === failure || (err as { errors?: unknown[] }).errors?.includes(failure) || (err as { cause?: unknown }).cause === failure).toBe(true);
  expect(seen).toHaveLength(1);
  expect(seen[0]).toHaveLength(32);
  expect(seen[0]!.every((b) => b === 0)).toBe(true);
}

describe('a data key whose commitment check throws is zeroed', () => {
  it('KmsKeyring and KmsDiscoveryKeyring', async () => {
    const arn = (await served.root.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const keyring = new KmsKeyring({ generatorKeyId: arn, client: served.root });
    const { dataKey, encryptedDataKeys } = await keyring.wrapKey({ suite: DEFAULT_SUITE, encryptionContext: { purpose: 'test' } });
    dataKey.fill(0);
    await expectZeroedOnThrow(keyring, encryptedDataKeys);
    await expectZeroedOnThrow(new KmsDiscoveryKeyring({ client: served.root }), encryptedDataKeys);
  });

  it('KmsRsaKeyring', async () => {
    const arn = (await served.root.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }))).KeyMetadata!.Arn!;
    const keyring = new KmsRsaKeyring({ keyId: arn, client: served.root });
    const { dataKey, encryptedDataKeys } = await keyring.wrapKey({ suite: DEFAULT_SUITE, encryptionContext: { purpose: 'test' } });
    dataKey.fill(0);
    await expectZeroedOnThrow(keyring, encryptedDataKeys);
  });

  it('MultiKeyring, for a child that leaves the check to it', async () => {
    const edk = { providerId: 'custom', providerInfo: new Uint8Array([1]), ciphertext: new Uint8Array([1]) };
    const child: Keyring = {
      wrapKey: async () => { throw new Error('not used'); },
      unwrapKey: async () => new Uint8Array(32).fill(9),
    };
    await expectZeroedOnThrow(new MultiKeyring({ children: [child] }), [edk]);
  });
});
