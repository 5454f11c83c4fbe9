import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { CLI, ensureBuilt } from './build.js';
import { LocalKms } from '../../src/local-kms/index.js';

const home = mkdtempSync(join(tmpdir(), 'sealbox-cli-serve-'));
const env = { ...process.env, SEALBOX_HOME: home };
let server: ChildProcess | undefined;
let url = '';

beforeAll(async () => {
  ensureBuilt();
  server = spawn(process.execPath, [CLI, 'kms', 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server!.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    server!.once('exit', (code) => reject(new Error(`kms serve exited with ${code}`)));
  });
}, 120_000);
afterAll(() => {
  server?.kill('SIGTERM');
});

it('sealbox kms serve: a real KMSClient with credentials from `sealbox kms credentials create` round-trips', async () => {
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const created = spawnSync(process.execPath, [CLI, '--json', 'kms', 'credentials', 'create', '--description', 'test'], { env });
  expect(created.status).toBe(0);
  const { accessKeyId, secretAccessKey, region } = JSON.parse(created.stdout.toString());
  const listed = spawnSync(process.execPath, [CLI, 'kms', 'credentials', 'list'], { env }).stdout.toString();
  expect(listed).toContain(accessKeyId);
  expect(listed).not.toContain(secretAccessKey);
  const client = new KMSClient({ endpoint: url, region, credentials: { accessKeyId, secretAccessKey } });
  const { KeyMetadata } = await client.send(new CreateKeyCommand({ Description: 'over http' }));
  const enc = await client.send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId!, Plaintext: new TextEncoder().encode('over the wire'), EncryptionContext: { a: 'b' } }));
  const dec = await client.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob!, EncryptionContext: { a: 'b' } }));
  expect(new TextDecoder().decode(dec.Plaintext)).toBe('over the wire');
  const wrong = new KMSClient({ endpoint: url, region, credentials: { accessKeyId, secretAccessKey: 'not-the-secret' }, maxAttempts: 1 });
  await expect(wrong.send(new CreateKeyCommand({}))).rejects.toMatchObject({ name: 'InvalidSignatureException' });
  client.destroy();
  wrong.destroy();
}, 60_000);

it('sealbox kms credentials deactivate | activate | delete: a running server refuses the key from its next request; the audit log has no secret', async () => {
  const created = spawnSync(process.execPath, [CLI, '--json', 'kms', 'credentials', 'create', '--description', 'leaked'], { env });
  const { accessKeyId, secretAccessKey, region } = JSON.parse(created.stdout.toString());
  const client = new KMSClient({ endpoint: url, region, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { env });
  await client.send(new CreateKeyCommand({}));

  const off = cli('kms', 'credentials', 'deactivate', accessKeyId);
  expect(off.stderr.toString()).toBe('');
  expect(off.stdout.toString()).toBe('access key deactivated\n');
  expect(off.status).toBe(0);
  await expect(client.send(new CreateKeyCommand({}))).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
  expect(cli('kms', 'credentials', 'list').stdout.toString()).toMatch(new RegExp(`^${accessKeyId}  Inactive  `, 'm'));

  const on = cli('--json', 'kms', 'credentials', 'activate', accessKeyId);
  expect(JSON.parse(on.stdout.toString())).toEqual({ accessKeyId, status: 'Active' });
  await client.send(new CreateKeyCommand({}));

  expect(cli('kms', 'credentials', 'delete', accessKeyId).status).toBe(0);
  await expect(client.send(new CreateKeyCommand({}))).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
  expect(cli('kms', 'credentials', 'list').stdout.toString()).not.toContain(accessKeyId);
  // An unknown key: NotFoundException (exit 3), the id not repeated back.
  const again = cli('kms', 'credentials', 'delete', accessKeyId);
  expect(again.stderr.toString()).toBe('sealbox: No such access key. (NotFoundException)\n');
  expect(again.status).toBe(3);

  const log = cli('audit', 'export').stdout.toString();
  expect(log).toContain('"operation":"UpdateAccessKey"');
  expect(log).toContain('"operation":"DeleteAccessKey"');
  expect(log).not.toContain(secretAccessKey);
  client.destroy();
}, 60_000);

const HAS_AWS_CLI = spawnSync('aws', ['--version'], { stdio: 'ignore' }).status === 0;

// docs/cli.md: eval "$(sealbox kms credentials create)", then the AWS CLI with --endpoint-url.
// The environment has no AWS region, profile or config of its own: the region must come from
// the lines sealbox prints (AWS CLI v1 reads only AWS_DEFAULT_REGION).
it.skipIf(!HAS_AWS_CLI)('eval "$(sealbox kms credentials create)" sets up the AWS CLI: export lines with AWS_REGION and AWS_DEFAULT_REGION', () => {
  const bare: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), 'sealbox-cli-aws-home-')), SEALBOX_HOME: home };
  const printed = spawnSync(process.execPath, [CLI, 'kms', 'credentials', 'create'], { env: bare }).stdout.toString();
  expect(printed).toMatch(/^export AWS_ACCESS_KEY_ID=\S+\nexport AWS_SECRET_ACCESS_KEY=\S+\nexport AWS_REGION=us-east-1\nexport AWS_DEFAULT_REGION=us-east-1\n$/);
  const script = `eval "$(${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} kms credentials create)" && aws kms create-key --endpoint-url ${url} --query KeyMetadata.KeyState --output text`;
  const r = spawnSync('sh', ['-c', script], { env: bare });
  expect(r.stderr.toString()).toBe('');
  expect(r.stdout.toString()).toBe('Enabled\n');
  expect(r.status).toBe(0);
}, 60_000);

it('sealbox kms policy: an identity policy given from the CLI limits that principal over HTTP, and is removed again', async () => {
  const principal = 'arn:aws:iam::111122223333:user/ci';
  const created = spawnSync(process.execPath, [CLI, '--json', 'kms', 'credentials', 'create', '--principal', principal], { env });
  const { accessKeyId, secretAccessKey, region } = JSON.parse(created.stdout.toString());
  const client = new KMSClient({ endpoint: url, region, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
  const { KeyMetadata } = await client.send(new CreateKeyCommand({}));
  const document = JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: KeyMetadata!.Arn }] });
  const put = spawnSync(process.execPath, [CLI, 'kms', 'policy', 'put', '--principal', principal, '--name', 'encrypt-one', '--file', '-'], { env, input: document });
  expect(put.stderr.toString()).toBe('');
  expect(put.status).toBe(0);
  expect(spawnSync(process.execPath, [CLI, 'kms', 'policy', 'list', '--principal', principal], { env }).stdout.toString()).toBe('encrypt-one\n');
  expect(JSON.parse(spawnSync(process.execPath, [CLI, 'kms', 'policy', 'get', '--principal', principal, '--name', 'encrypt-one'], { env }).stdout.toString())).toEqual(JSON.parse(document));
  await client.send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId!, Plaintext: new Uint8Array([1]) }));
  await expect(client.send(new CreateKeyCommand({}))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  const bad = spawnSync(process.execPath, [CLI, 'kms', 'policy', 'put', '--principal', principal, '--name', 'x', '--file', '-'], { env, input: '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}' });
  expect(bad.status).not.toBe(0);
  expect(bad.stderr.toString()).toContain('MalformedPolicyDocumentException');
  expect(spawnSync(process.execPath, [CLI, 'kms', 'policy', 'delete', '--principal', principal, '--name', 'encrypt-one'], { env }).status).toBe(0);
  await client.send(new CreateKeyCommand({}));
  client.destroy();
}, 60_000);

it('--key with the ARN of a multi-Region replica in another region of the local store: encrypt under the primary, decrypt with the replica', async () => {
  const kms = LocalKms.open({ dataDir: home, accountId: '111122223333' });
  let primary: string;
  let replica: string;
  try {
    const meta = (await kms.createKey({ MultiRegion: true })).KeyMetadata!;
    primary = meta.Arn!;
    replica = (await kms.replicateKey({ KeyId: meta.KeyId!, ReplicaRegion: 'eu-west-1' })).ReplicaKeyMetadata!.Arn!;
  } finally {
    kms.close();
  }
  const enc = spawnSync(process.execPath, [CLI, 'encrypt', '--key', primary], { env, input: 'across regions' });
  expect(enc.stderr.toString()).toBe('');
  expect(enc.status).toBe(0);
  const dec = spawnSync(process.execPath, [CLI, 'decrypt', '--key', replica], { env, input: enc.stdout });
  expect(dec.stderr.toString()).toBe('');
  expect(dec.stdout.toString()).toBe('across regions');
  const nowhere = spawnSync(process.execPath, [CLI, 'decrypt', '--key', replica.replace('eu-west-1', 'sa-east-1')], { env, input: enc.stdout });
  expect(nowhere.status).not.toBe(0);
}, 60_000);
