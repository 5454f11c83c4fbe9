// In-page KMS round trip as a page without a bundler does it: an import map names
// @aws-sdk/client-kms (one browser ES module), Sealbox is the minified bundle, and the bundle's
// KmsKeyring wraps and unwraps data keys through a KMSClient that signs SigV4 requests to the
// local KMS HTTP endpoint on another origin (CORS).
import { KMSClient } from '@aws-sdk/client-kms';
import * as api from '../../../src/index.js';
import { equalBytes, pattern, toBase64 } from '../shared.js';

interface KmsArgs {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  keyId: string;
  /** An RSA ENCRYPT_DECRYPT key for the KmsRsaKeyring round trip. */
  rsaKeyId: string;
}

interface Failure {
  code?: string;
  name?: string;
  cause?: Failure;
  errors?: Failure[];
}

/** `code:name` of a failure and of the first non-Sealbox error under it (the KMS exception), or 'none'. */
async function failure(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return 'none';
  } catch (err) {
    let inner: Failure | undefined = err as Failure;
    while (inner && inner.name === 'SealboxError') inner = inner.cause ?? inner.errors?.[0];
    return `${(err as Failure).code}:${inner?.name}`;
  }
}

async function kmsRoundTrip(args: KmsArgs) {
  const client = (secretAccessKey: string): KMSClient =>
    new KMSClient({ endpoint: args.endpoint, region: args.region, credentials: { accessKeyId: args.accessKeyId, secretAccessKey }, maxAttempts: 1 });
  const good = client(args.secretAccessKey);
  const keyring = new api.KmsKeyring({ generatorKeyId: args.keyId, client: good });
  const plaintext = pattern(100_000, 3);
  const { ciphertext, header } = await api.encrypt(plaintext, { keyring, encryptionContext: { tenant: 'acme' } });
  const result = await api.decrypt(ciphertext, { keyring, expectedEncryptionContext: { tenant: 'acme' } });
  // A wrapped key replayed under another context is refused by KMS; so is a wrong secret.
  const foreignContext = await failure(() => keyring.unwrapKey({ suite: header.suite, encryptionContext: { tenant: 'other' }, encryptedDataKeys: header.encryptedDataKeys }));
  // An RSA KMS key: the page fetches the public key (GetPublicKey), wraps locally, KMS decrypts.
  const rsa = new api.KmsRsaKeyring({ keyId: args.rsaKeyId, client: good });
  const rsaMessage = await api.encrypt(pattern(5000, 4), { keyring: rsa });
  const rsaOk = equalBytes((await api.decrypt(rsaMessage.ciphertext, { keyring: rsa })).plaintext, pattern(5000, 4));
  const wrong = client('wrong');
  const badCredentials = await failure(() => api.encrypt(plaintext, { keyring: new api.KmsKeyring({ generatorKeyId: args.keyId, client: wrong }) }));
  good.destroy();
  wrong.destroy();
  return {
    ok: equalBytes(result.plaintext, plaintext) && result.encryptionContext.tenant === 'acme',
    provider: header.encryptedDataKeys[0]?.providerId,
    keyArn: new TextDecoder().decode(header.encryptedDataKeys[0]?.providerInfo),
    foreignContext,
    badCredentials,
    ciphertext: toBase64(ciphertext),
    rsaOk,
    rsaCiphertext: toBase64(rsaMessage.ciphertext),
  };
}

(globalThis as unknown as { sealboxKms: typeof kmsRoundTrip }).sealboxKms = kmsRoundTrip;
