import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmsKeyring } from '../../src/keyring/kms.js';
import { LocalKms } from '../../src/local-kms/index.js';
import { SealboxError } from '../../src/errors.js';
import { encrypt, decrypt } from '../../src/index.js';

let kms: LocalKms;
beforeAll(() => {
  kms = LocalKms.open({ dataDir: mkdtempSync(join(tmpdir(), 'sealbox-kms-message-')), rootKey: new Uint8Array(32).fill(4) });
});
afterAll(() => kms.close());

/** The error a promise rejects with. */
async function failure(p: Promise<unknown>): Promise<SealboxError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SealboxError);
  return err as SealboxError;
}

it("a KMS failure's SealboxError.message names the operation, the key, the exception and KMS's own reason", async () => {
  const { KeyMetadata } = await kms.createKey({});
  const arn = KeyMetadata!.Arn!;
  const keyring = new KmsKeyring({ generatorKeyId: arn, client: kms });
  const { ciphertext } = await encrypt(new Uint8Array([1, 2, 3]), { keyring });
  await kms.disableKey({ KeyId: arn });

  const onEncrypt = await failure(encrypt(new Uint8Array([1]), { keyring }));
  expect(onEncrypt.code).toBe('ERR_KEYRING');
  const cause = onEncrypt.cause as Error;
  expect(cause.name).toBe('DisabledException');
  expect(onEncrypt.message).toContain('GenerateDataKey');
  expect(onEncrypt.message).toContain(arn);
  expect(onEncrypt.message).toContain(cause.name);
  expect(onEncrypt.message).toContain(cause.message);

  // One key, one EDK: decrypt reports that key's own ERR_KEYRING (docs/SPEC.md §8.3).
  const onDecrypt = await failure(decrypt(ciphertext, { keyring }));
  expect(onDecrypt.code).toBe('ERR_KEYRING');
  expect(onDecrypt.message).toContain(arn);
  expect(onDecrypt.message).toContain((onDecrypt.cause as Error).message);
});
