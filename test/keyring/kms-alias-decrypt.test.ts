import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmsKeyring } from '../../src/keyring/kms.js';
import { MultiKeyring } from '../../src/keyring/multi.js';
import { RawAesKeyring } from '../../src/keyring/raw-aes.js';
import { LocalKms } from '../../src/local-kms/index.js';
import { SealboxError } from '../../src/errors.js';
import { encrypt, decrypt } from '../../src/index.js';

let kms: LocalKms;
let keyId: string;
let arn: string;
beforeAll(async () => {
  kms = LocalKms.open({ dataDir: mkdtempSync(join(tmpdir(), 'sealbox-kms-alias-')), rootKey: new Uint8Array(32).fill(5) });
  const { KeyMetadata } = await kms.createKey({});
  keyId = KeyMetadata!.KeyId!;
  arn = KeyMetadata!.Arn!;
  await kms.createAlias({ AliasName: 'alias/app', TargetKeyId: keyId });
});
afterAll(() => kms.close());

const data = new Uint8Array([1, 2, 3]);

async function code(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => 'ok', (e: unknown) => e);
  return err instanceof SealboxError ? err.code : String(err);
}

it('a KmsKeyring given an alias or a bare key id decrypts what it encrypted (generator and keyIds)', async () => {
  for (const options of [{ generatorKeyId: 'alias/app' }, { generatorKeyId: keyId }, { generatorKeyId: arn, keyIds: ['alias/app'] }, { generatorKeyId: `arn:aws:kms:us-east-1:111122223333:alias/app` }]) {
    const keyring = new KmsKeyring({ ...options, client: kms });
    const { ciphertext } = await encrypt(data, { keyring });
    expect((await decrypt(ciphertext, { keyring })).plaintext).toEqual(data);
  }
});

it('another keyring with only the alias cannot know the EDK is its key: ERR_NO_MATCHING_KEY saying a key ARN is needed; the ARN or allowedKeyArns decrypts', async () => {
  const { ciphertext } = await encrypt(data, { keyring: new KmsKeyring({ generatorKeyId: 'alias/app', client: kms }) });
  expect(await code(decrypt(ciphertext, { keyring: new KmsKeyring({ generatorKeyId: 'alias/app', client: kms }) }))).toBe('ERR_NO_MATCHING_KEY');
  expect(await code(decrypt(ciphertext, { keyring: new KmsKeyring({ generatorKeyId: keyId, client: kms }) }))).toBe('ERR_NO_MATCHING_KEY');
  expect((await decrypt(ciphertext, { keyring: new KmsKeyring({ generatorKeyId: arn, client: kms }) })).plaintext).toEqual(data);
  expect((await decrypt(ciphertext, { keyring: new KmsKeyring({ generatorKeyId: 'alias/app', allowedKeyArns: [arn], client: kms }) })).plaintext).toEqual(data);
  // In a multi-keyring, another child that holds the key still decrypts.
  const raw = new RawAesKeyring({ namespace: 'n', name: 'k', wrappingKey: new Uint8Array(32).fill(1) });
  const both = await encrypt(data, { keyring: new MultiKeyring({ generator: raw, children: [new KmsKeyring({ generatorKeyId: arn, client: kms })] }) });
  expect((await decrypt(both.ciphertext, { keyring: new MultiKeyring({ children: [new KmsKeyring({ generatorKeyId: 'alias/app', client: kms }), raw] }) })).plaintext).toEqual(data);
});

it('what a keyring learned is only what KMS answered for its own ids: a message naming another key of the store is not decrypted', async () => {
  const { KeyMetadata } = await kms.createKey({});
  const other = new KmsKeyring({ generatorKeyId: KeyMetadata!.Arn!, client: kms });
  const { ciphertext } = await encrypt(data, { keyring: other });
  const keyring = new KmsKeyring({ generatorKeyId: 'alias/app', client: kms });
  await encrypt(data, { keyring }); // learns the alias's key, not the other one
  expect(await code(decrypt(ciphertext, { keyring }))).toBe('ERR_NO_MATCHING_KEY');
});
