import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateGrantCommand, CreateKeyCommand, DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decrypt, encrypt } from '../../src/index.js';
import type { SealboxError } from '../../src/errors.js';
import { KmsKeyring } from '../../src/keyring/kms.js';
import { KmsRsaKeyring } from '../../src/keyring/kms-rsa.js';
import { LocalKms } from '../../src/local-kms/index.js';
import { startKmsServer } from '../../src/kms-server/index.js';
import type { RunningKmsServer } from '../../src/kms-server/index.js';
import type { SigV4Credential } from '../../src/kms-server/sigv4.js';
import { bytesEqual, pattern, thrown } from '../helpers/keys.js';
import type { KmsTarget } from './kms-suite.js';
import { kmsKeyringSuite } from './kms-suite.js';

// The local endpoint: LocalKms (key policies and grants are built in) behind startKmsServer, reached by
// a real @aws-sdk/client-kms KMSClient with an endpoint override and SigV4 credentials.
const regions = ['us-east-1', 'eu-west-1'] as const;
const account = '111122223333';
const dir = mkdtempSync(join(tmpdir(), 'sealbox-kms-server-keyring-'));
const root: SigV4Credential = { accessKeyId: 'AKIALOCALROOT0000001', secretAccessKey: 'root-secret-for-tests-only-0123456789abcd', principal: `arn:aws:iam::${account}:root`, accountId: account };
const alice: SigV4Credential = { accessKeyId: 'AKIALOCALALICE000001', secretAccessKey: 'alice-secret-for-tests-only-0123456789abc', principal: `arn:aws:iam::${account}:user/alice`, accountId: account };
const admin: SigV4Credential = { accessKeyId: 'AKIALOCALADMIN000001', secretAccessKey: 'admin-secret-for-tests-only-0123456789ab', principal: `arn:aws:iam::${account}:user/admin`, accountId: account };
const credentials = new Map([root, alice, admin].map((c) => [c.accessKeyId, c]));
const servers = new Map<string, { kms: LocalKms; server: RunningKmsServer }>();

beforeAll(async () => {
  for (const region of regions) {
    const kms = LocalKms.open({ dataDir: join(dir, region), rootKey: new Uint8Array(32).fill(6), region, accountId: account });
    const server = await startKmsServer({ kms, credentials: (id) => credentials.get(id), region, port: 0, host: '127.0.0.1' });
    servers.set(region, { kms, server });
  }
});
afterAll(async () => {
  for (const { kms, server } of servers.values()) {
    await server.close();
    kms.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

function client(region = 'us-east-1', who: SigV4Credential = root): KMSClient {
  return new KMSClient({
    region,
    endpoint: servers.get(region)!.server.url,
    credentials: { accessKeyId: who.accessKeyId, secretAccessKey: who.secretAccessKey },
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000 },
  });
}

const target: KmsTarget = {
  name: 'kms-server over HTTP (LocalKms)',
  regions,
  client: (region) => client(region),
  createKey: async (region) => (await client(region).send(new CreateKeyCommand({}))).KeyMetadata!.Arn!,
  disableKey: async (arn) => { await client(arn.split(':')[3]).send(new DisableKeyCommand({ KeyId: arn })); },
  enforcesKeyState: true,
  serverCount: (operation, arn) => {
    const id = arn.split('/')[1]!;
    return servers.get(arn.split(':')[3]!)!.kms.readAudit().filter((r) => r.operation === operation && r.error === null && r.keyId !== null && (r.keyId === id || r.keyId === arn)).length;
  },
  // Real grants: the access-control extension refuses tokens it did not issue.
  grantTokens: async (arns) => Promise.all(arns.map(async (KeyId) => (await client().send(new CreateGrantCommand({
    KeyId, GranteePrincipal: root.principal, Operations: ['GenerateDataKey', 'Encrypt', 'Decrypt'],
  }))).GrantToken!)),
  refusals: ['InvalidCiphertextException'],
};

describe('KMS keyring against the local endpoint (kms-server + LocalKms, SigV4)', () => {
  kmsKeyringSuite(() => target);

  it('grant tokens make a fresh grant usable: alice, denied by the key policy, encrypts and decrypts with them', async () => {
    const data = pattern(500, 8);
    // A key whose policy lets only user/admin in.
    const Policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'admin', Effect: 'Allow', Principal: { AWS: admin.principal }, Action: 'kms:*', Resource: '*' }],
    });
    const adminClient = client('us-east-1', admin);
    const arn = (await adminClient.send(new CreateKeyCommand({ Policy, BypassPolicyLockoutSafetyCheck: true }))).KeyMetadata!.Arn!;
    const aliceClient = client('us-east-1', alice);
    const denied = await thrown(() => encrypt(data, { keyring: new KmsKeyring({ generatorKeyId: arn, client: aliceClient }) }));
    expect((denied as SealboxError).code).toBe('ERR_KEYRING');
    expect(((denied as SealboxError).cause as Error).name).toBe('AccessDeniedException');

    const { GrantToken } = await adminClient.send(new CreateGrantCommand({
      KeyId: arn,
      GranteePrincipal: alice.principal,
      Operations: ['GenerateDataKey', 'Encrypt', 'Decrypt'],
    }));
    const keyring = new KmsKeyring({ generatorKeyId: arn, client: aliceClient, grantTokens: [GrantToken!] });
    const { ciphertext } = await encrypt(data, { keyring, encryptionContext: { a: 'b' } });
    expect(bytesEqual((await decrypt(ciphertext, { keyring })).plaintext, data)).toBe(true);
  });

  it('KmsRsaKeyring through the real SDK: GetPublicKey once, then Decrypt with RSAES_OAEP_SHA_256; no context is sent', async () => {
    const kmsClient = client();
    const arn = (await kmsClient.send(new CreateKeyCommand({ KeySpec: 'RSA_3072', KeyUsage: 'ENCRYPT_DECRYPT' }))).KeyMetadata!.Arn!;
    const keyring = new KmsRsaKeyring({ keyId: arn, client: kmsClient });
    const data = pattern(2000, 9);
    const { ciphertext, header } = await encrypt(data, { keyring, encryptionContext: { tenant: 'acme' } });
    expect(header.encryptedDataKeys[0]!.ciphertext.length).toBe(384);
    expect(bytesEqual((await decrypt(ciphertext, { keyring })).plaintext, data)).toBe(true);
    const id = arn.split('/')[1]!;
    const audit = servers.get('us-east-1')!.kms.database.prepare("SELECT operation, request FROM audit WHERE key_id = ? AND operation IN ('GetPublicKey', 'Decrypt') ORDER BY seq").all(id) as { operation: string; request: string }[];
    expect(audit.map((r) => r.operation)).toEqual(['GetPublicKey', 'Decrypt']);
    expect(audit[1]!.request).toContain('RSAES_OAEP_SHA_256');
    expect(audit[1]!.request).not.toContain('acme');
  });
});
