/**
 * Every input member AWS KMS's model gives an operation is listed in the local operation's
 * shape (src/local-kms/*.ts): members a shape does not list are dropped unseen (validate.ts),
 * so a member left out is a request silently done without it (as Recipient and CreateKey's
 * CustomKeyStoreId once were). A member the local KMS cannot honour is listed and refused.
 * The model is the one @aws-sdk/client-kms carries: a newer SDK with new members fails here
 * until each is listed.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CROSS_ACCOUNT_OPERATIONS, policyOperations } from '../../src/local-kms/access.js';
import { grantOperations } from '../../src/local-kms/grants.js';
import { aliasOperations } from '../../src/local-kms/ops-aliases.js';
import { asymmetricOperations } from '../../src/local-kms/ops-asymmetric.js';
import { cryptoOperations } from '../../src/local-kms/ops-crypto.js';
import { importOperations } from '../../src/local-kms/ops-import.js';
import { keyOperations } from '../../src/local-kms/ops-keys.js';
import { lifecycleOperations } from '../../src/local-kms/ops-lifecycle.js';
import { multiRegionOperations } from '../../src/local-kms/ops-multi-region.js';

const sdk = dirname(createRequire(import.meta.url).resolve('@aws-sdk/client-kms/package.json'));
const model = readFileSync(join(sdk, 'dist-types', 'models', 'models_0.d.ts'), 'utf8');

const operations = [
  ...policyOperations,
  ...grantOperations,
  ...aliasOperations,
  ...asymmetricOperations,
  ...cryptoOperations,
  ...importOperations,
  ...keyOperations,
  ...lifecycleOperations,
  ...multiRegionOperations,
] as readonly { name: string; input: Readonly<Record<string, unknown>> }[];

/** The members of `<name>Request` in the SDK's model, or undefined when it has no such shape. */
function awsMembers(name: string): string[] | undefined {
  const shape = new RegExp(`export interface ${name}Request \\{([\\s\\S]*?)\\n\\}`).exec(model);
  return shape ? [...shape[1]!.matchAll(/^ {4}(\w+)\??:/gm)].map((m) => m[1]!) : undefined;
}

describe('no AWS KMS input member is silently dropped', () => {
  it('the model is readable (the check below would pass vacuously otherwise)', () => {
    expect(awsMembers('Encrypt')).toEqual(expect.arrayContaining(['KeyId', 'Plaintext', 'EncryptionContext', 'GrantTokens', 'EncryptionAlgorithm', 'DryRun']));
    expect(operations.length).toBeGreaterThan(40);
  });

  it.each(operations.map((op) => [op.name, op] as const))('%s lists every member of its AWS request', (name, op) => {
    const members = awsMembers(name);
    expect(members, `${name}Request in the SDK model`).toBeDefined();
    expect(members!.filter((m) => !(m in op.input))).toEqual([]);
  });
});

/** "Cross-account use: Yes|No|..." from the SDK's documentation of `<name>Command`. */
function crossAccount(name: string): string | undefined {
  const text = readFileSync(join(sdk, 'dist-types', 'commands', `${name}Command.d.ts`), 'utf8');
  return /Cross-account use<\/b>:\s*(\w+)/.exec(text)?.[1];
}

describe('operations that reach a key of another account are the ones AWS documents as "Cross-account use: Yes"', () => {
  it.each(operations.map((op) => [op.name] as const))('%s', (name) => {
    const documented = crossAccount(name);
    expect(documented, `${name}Command's documentation`).toBeDefined();
    expect(CROSS_ACCOUNT_OPERATIONS.has(name), `${name}: documented ${documented}`).toBe(documented === 'Yes');
  });
});
