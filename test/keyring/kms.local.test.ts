import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateGrantCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KmsKeyring } from '../../src/keyring/kms.js';
import { LocalKms } from '../../src/local-kms/index.js';
import type { KmsTarget } from './kms-suite.js';
import { kmsKeyringSuite } from './kms-suite.js';

// The in-process local KMS: `LocalKms.send` takes the same @aws-sdk/client-kms Command objects
// a KMSClient does. One instance (own data directory) per region.
const regions = ['us-east-1', 'eu-west-1'] as const;
const dir = mkdtempSync(join(tmpdir(), 'sealbox-kms-keyring-'));
const kms = new Map<string, LocalKms>();

beforeAll(() => {
  for (const region of regions) kms.set(region, LocalKms.open({ dataDir: join(dir, region), rootKey: new Uint8Array(32).fill(5), region }));
});
afterAll(() => {
  for (const k of kms.values()) k.close();
  rmSync(dir, { recursive: true, force: true });
});

const of = (region = 'us-east-1'): LocalKms => kms.get(region)!;
const target: KmsTarget = {
  name: 'LocalKms (in-process send)',
  regions,
  client: (region) => of(region),
  createKey: async (region) => (await of(region).createKey({})).KeyMetadata!.Arn!,
  disableKey: async (arn) => { await of(arn.split(':')[3]).disableKey({ KeyId: arn }); },
  enforcesKeyState: true,
  serverCount: (operation, arn) => {
    const id = arn.split('/')[1]!;
    return of(arn.split(':')[3]).readAudit().filter((r) => r.operation === operation && r.error === null && r.keyId !== null && (r.keyId === id || r.keyId === arn)).length;
  },
  // Real grants: the local KMS refuses tokens it did not issue.
  grantTokens: async (arns) => Promise.all(arns.map(async (KeyId) => (await of(KeyId.split(':')[3]).send<{ GrantToken: string }>(new CreateGrantCommand({
    KeyId, GranteePrincipal: 'arn:aws:iam::111122223333:root', Operations: ['GenerateDataKey', 'Encrypt', 'Decrypt'],
  }))).GrantToken)),
  refusals: ['InvalidCiphertextException'],
};

describe('KMS keyring against the in-process LocalKms', () => {
  kmsKeyringSuite(() => target);
});

describe('KmsKeyring allowedKeyArns option', () => {
  const a = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const b = 'arn:aws:kms:us-east-1:111122223333:key/0f1e2d3c-12ab-34cd-56ef-1234567890ab';

  it('takes a non-empty list of key ARNs that includes every key ARN configured', () => {
    expect(new KmsKeyring({ generatorKeyId: 'alias/app', allowedKeyArns: [a], client: of() }).allowedKeyArns).toEqual([a]);
    expect(new KmsKeyring({ generatorKeyId: a, keyIds: ['alias/x'], allowedKeyArns: [a, b], client: of() }).allowedKeyArns).toEqual([a, b]);
    for (const bad of [[], ['alias/app'], ['arn:aws:kms:us-east-1:111122223333:alias/app'], ['1234abcd-12ab-34cd-56ef-1234567890ab'], 'x', [7]]) {
      expect(() => new KmsKeyring({ generatorKeyId: 'alias/app', allowedKeyArns: bad as string[], client: of() })).toThrow(TypeError);
    }
    expect(() => new KmsKeyring({ generatorKeyId: a, allowedKeyArns: [b], client: of() })).toThrow(TypeError);
    expect(() => new KmsKeyring({ generatorKeyId: 'alias/app', keyIds: [b], allowedKeyArns: [a], client: of() })).toThrow(TypeError);
  });
});
