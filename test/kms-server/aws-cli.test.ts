/**
 * The AWS CLI (Debian's `awscli` package; `.ci/run` installs it when missing) against the
 * local KMS endpoint: create-key, encrypt, decrypt. Skipped, visibly, where no `aws` exists.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServedKms, type ServedKms } from './served-kms.js';

const run = promisify(execFile);

function findAws(): string | undefined {
  for (const candidate of ['/usr/bin/aws', ...(process.env.PATH ?? '').split(':').map((d) => join(d, 'aws'))]) {
    if (candidate !== '/aws' && existsSync(candidate)) return candidate;
  }
  return undefined;
}

const aws = findAws();

describe.skipIf(aws === undefined)('aws kms against the local endpoint', () => {
  let kms: ServedKms;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    kms = await startServedKms();
    dir = mkdtempSync(join(tmpdir(), 'sealbox-awscli-'));
    // Credentials only from the environment; no user config, no pager, no network elsewhere.
    env = {
      PATH: process.env.PATH,
      HOME: dir,
      AWS_ACCESS_KEY_ID: kms.rootCredential.accessKeyId,
      AWS_SECRET_ACCESS_KEY: kms.rootCredential.secretAccessKey,
      AWS_DEFAULT_REGION: kms.region,
      AWS_CONFIG_FILE: join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
      AWS_PAGER: '',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
  });

  afterAll(async () => {
    await kms?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cli = async (...args: string[]) => {
    const { stdout } = await run(aws!, ['kms', ...args, '--endpoint-url', kms.url, '--output', 'json'], { env, timeout: 30_000 });
    return JSON.parse(stdout) as Record<string, unknown>;
  };

  it('create-key, encrypt with context, decrypt', async () => {
    const created = (await cli('create-key', '--description', 'from the aws cli')) as { KeyMetadata: { KeyId: string; KeyState: string } };
    expect(created.KeyMetadata.KeyState).toBe('Enabled');
    const keyId = created.KeyMetadata.KeyId;
    // fileb:// reads raw bytes in both CLI v1 and v2 (their --plaintext text handling differs).
    const plainFile = join(dir, 'plain.bin');
    writeFileSync(plainFile, 'hello from the cli');
    const enc = (await cli('encrypt', '--key-id', keyId, '--plaintext', `fileb://${plainFile}`, '--encryption-context', 'app=cli')) as {
      CiphertextBlob: string;
      KeyId: string;
    };
    expect(enc.KeyId).toContain(keyId);
    const blobFile = join(dir, 'blob.bin');
    writeFileSync(blobFile, Buffer.from(enc.CiphertextBlob, 'base64'));
    const dec = (await cli('decrypt', '--ciphertext-blob', `fileb://${blobFile}`, '--encryption-context', 'app=cli')) as { Plaintext: string };
    expect(Buffer.from(dec.Plaintext, 'base64').toString()).toBe('hello from the cli');
    const wrong = await run(aws!, ['kms', 'decrypt', '--ciphertext-blob', `fileb://${blobFile}`, '--endpoint-url', kms.url], { env }).catch(
      (err: { stderr: string }) => err.stderr,
    );
    expect(String(wrong)).toContain('InvalidCiphertextException');
  });
});
