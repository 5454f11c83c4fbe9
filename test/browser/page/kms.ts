// In-page KMS round trip: @aws-sdk/client-kms, bundled for the browser, signs SigV4 requests
// to the local KMS HTTP endpoint on another origin (CORS), and Sealbox (the minified bundle)
// encrypts and decrypts with the data keys it returns.
//
// Branch kms-keyring (the KMS keyring) does not exist yet, so the keyring here is a minimal
// stand-in written against the public Keyring contract; when KmsKeyring lands, this file
// should use it instead (same client, same assertions).
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import * as api from '../../../src/index.js';
import type { Keyring, UnwrapRequest, WrapRequest, WrapResult } from '../../../src/index.js';
import { equalBytes, pattern } from '../shared.js';

const PROVIDER = 'aws-kms';

class PageKmsKeyring implements Keyring {
  readonly #client: KMSClient;
  readonly #keyId: string;
  constructor(client: KMSClient, keyId: string) {
    this.#client = client;
    this.#keyId = keyId;
  }
  async wrapKey(request: WrapRequest): Promise<WrapResult> {
    if (request.dataKey) throw new api.SealboxError('ERR_KEYRING', 'stand-in keyring only generates');
    const out = await this.#client.send(new GenerateDataKeyCommand({ KeyId: this.#keyId, NumberOfBytes: request.suite.dataKeyLength, EncryptionContext: { ...request.encryptionContext } }));
    return { dataKey: out.Plaintext!, encryptedDataKeys: [{ providerId: PROVIDER, providerInfo: new TextEncoder().encode(out.KeyId!), ciphertext: out.CiphertextBlob! }] };
  }
  async unwrapKey(request: UnwrapRequest): Promise<Uint8Array | null> {
    const edk = request.encryptedDataKeys.find((e) => e.providerId === PROVIDER);
    if (!edk) return null;
    try {
      const out = await this.#client.send(new DecryptCommand({ KeyId: new TextDecoder().decode(edk.providerInfo), CiphertextBlob: edk.ciphertext, EncryptionContext: { ...request.encryptionContext } }));
      return out.Plaintext!;
    } catch (err) {
      throw new api.SealboxError('ERR_KEYRING', 'KMS could not decrypt the data key', { cause: err });
    }
  }
}

interface KmsArgs {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  keyId: string;
}

async function kmsRoundTrip(args: KmsArgs) {
  const client = new KMSClient({ endpoint: args.endpoint, region: args.region, credentials: { accessKeyId: args.accessKeyId, secretAccessKey: args.secretAccessKey }, maxAttempts: 1 });
  const keyring = new PageKmsKeyring(client, args.keyId);
  const plaintext = pattern(100_000, 3);
  const { ciphertext, header } = await api.encrypt(plaintext, { keyring, encryptionContext: { tenant: 'acme' } });
  const result = await api.decrypt(ciphertext, { keyring, expectedEncryptionContext: { tenant: 'acme' } });
  // The EDK is bound to the context: a header whose EDK is replayed under another context fails at KMS.
  let foreignKey = 'none';
  try {
    await keyring.unwrapKey({ suite: header.suite, encryptionContext: { tenant: 'other' }, encryptedDataKeys: header.encryptedDataKeys });
  } catch (err) {
    foreignKey = `${(err as { code?: string }).code}:${((err as Error).cause as Error | undefined)?.name}`;
  }
  let badCredentials = 'none';
  try {
    const wrong = new KMSClient({ endpoint: args.endpoint, region: args.region, credentials: { accessKeyId: args.accessKeyId, secretAccessKey: 'wrong' }, maxAttempts: 1 });
    await api.encrypt(plaintext, { keyring: new PageKmsKeyring(wrong, args.keyId) });
  } catch (err) {
    badCredentials = `${(err as { code?: string }).code}:${((err as Error).cause as Error | undefined)?.name}`;
  }
  client.destroy();
  return {
    ok: equalBytes(result.plaintext, plaintext),
    provider: header.encryptedDataKeys[0]?.providerId,
    foreignKey,
    badCredentials,
  };
}

(globalThis as unknown as { sealboxKms: typeof kmsRoundTrip }).sealboxKms = kmsRoundTrip;
