import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { CLI, ensureBuilt } from './build.js';
import { MOTO_SKIP, startMoto, type Moto } from '../helpers/moto.js';

// `kms:` keys go to AWS KMS through @aws-sdk/client-kms with the usual credential chain; here
// the endpoint is moto_server on 127.0.0.1 (a KMS implementation nobody here wrote).
let moto: Moto | undefined;
beforeAll(async () => {
  if (MOTO_SKIP) return; // the case below is skipped
  ensureBuilt();
  moto = await startMoto();
}, 120_000);
afterAll(async () => moto?.stop());

function sealbox(args: string[], input: Buffer | string): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, SEALBOX_HOME: mkdtempSync(join(tmpdir(), 'sealbox-cli-kms-')), AWS_ACCESS_KEY_ID: 'AKIAMOTOTEST', AWS_SECRET_ACCESS_KEY: 'moto-test-secret', AWS_REGION: 'us-east-1' };
    const child = spawn(process.execPath, [CLI, ...args], { env });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.end(input);
  });
}

it.skipIf(MOTO_SKIP)('encrypts and decrypts with a kms: key ARN and --endpoint-url', async () => {
  if (!moto) throw new Error('moto_server did not start');
  const { KeyMetadata } = await moto.client().send(new CreateKeyCommand({}));
  const arn = KeyMetadata!.Arn!;
  const enc = await sealbox(['encrypt', '--key', `kms:${arn}`, '--endpoint-url', moto.endpoint, '--context', 'via=moto'], 'through aws kms');
  expect(enc.stderr).toBe('');
  expect(enc.code).toBe(0);
  const dec = await sealbox(['decrypt', '--key', `kms:${arn}`, '--endpoint-url', moto.endpoint, '--require-context', 'via=moto'], enc.stdout);
  expect(dec.code).toBe(0);
  expect(dec.stdout.toString()).toBe('through aws kms');
  const noKey = await sealbox(['decrypt'], enc.stdout);
  expect(noKey.code).toBe(3);
  expect(noKey.stderr).toContain('ERR_NO_MATCHING_KEY');
}, 60_000);
