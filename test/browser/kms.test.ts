import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startKmsServer } from '../../src/kms-server/server.js';
import type { RunningKmsServer } from '../../src/kms-server/server.js';
import type { SigV4Credential } from '../../src/kms-server/sigv4.js';
import { buildBrowserBundle, buildClientKms, buildPageScript } from './build.js';
import { launchChromium } from './chromium.js';
import type { TestServer } from './server.js';
import { serve } from './server.js';

// Issue 7: a KMS keyring round trip from a page against the local KMS HTTP endpoint (SigV4,
// CORS). The endpoint is the real kms-server; behind it a stand-in key service (AES-256-GCM
// under one test master key, bound to the encryption context) until the local KMS core is
// merged on this branch.

const REGION = 'us-east-1';
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/0b7c2f57-5e6d-4d0f-9c1e-7d4c1b3a2f10';
const CRED: SigV4Credential = {
  accessKeyId: 'AKIASEALBOXBROWSER01',
  secretAccessKey: 'browser-test-secret-0123456789abcdef',
  principal: 'arn:aws:iam::111122223333:user/page',
  accountId: '111122223333',
};

const master = randomBytes(32);
const contextAad = (ctx: unknown): Buffer =>
  Buffer.from(JSON.stringify(Object.entries((ctx ?? {}) as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
const kmsError = (name: string, message: string): Error => Object.assign(new Error(message), { name, $fault: 'client' });

/** GenerateDataKey and Decrypt, as AWS KMS shapes them. */
async function execute(operation: string, input: unknown): Promise<unknown> {
  const i = input as Record<string, unknown>;
  if (operation === 'GenerateDataKey') {
    if (i.KeyId !== KEY_ARN) throw kmsError('NotFoundException', 'Key not found');
    if (i.NumberOfBytes !== 32) throw kmsError('ValidationException', 'NumberOfBytes must be 32 here');
    const plaintext = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', master, iv);
    cipher.setAAD(contextAad(i.EncryptionContext));
    const blob = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return { KeyId: KEY_ARN, Plaintext: new Uint8Array(plaintext), CiphertextBlob: new Uint8Array(blob) };
  }
  if (operation === 'Decrypt') {
    const blob = Buffer.from(i.CiphertextBlob as Uint8Array);
    try {
      const decipher = createDecipheriv('aes-256-gcm', master, blob.subarray(0, 12));
      decipher.setAAD(contextAad(i.EncryptionContext));
      decipher.setAuthTag(blob.subarray(blob.length - 16));
      const plaintext = Buffer.concat([decipher.update(blob.subarray(12, blob.length - 16)), decipher.final()]);
      return { KeyId: KEY_ARN, Plaintext: new Uint8Array(plaintext), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    } catch {
      throw kmsError('InvalidCiphertextException', 'The ciphertext is invalid');
    }
  }
  throw kmsError('UnsupportedOperationException', operation);
}

let pages: TestServer;
let kms: RunningKmsServer;
let browser: Browser;
let page: Page;
const calls: string[] = [];

beforeAll(async () => {
  const [bundle, script, clientKms] = await Promise.all([buildBrowserBundle(), buildPageScript('test/browser/page/kms.ts'), buildClientKms()]);
  pages = await serve(
    new Map([
      ['/', { type: 'text/html', body: `<!doctype html><script type="importmap">${JSON.stringify({ imports: { '@aws-sdk/client-kms': '/client-kms.js' } })}</script><script type="module" src="/kms.js"></script>` }],
      ['/client-kms.js', { type: 'text/javascript', body: clientKms }],
      ...[...bundle.files].map(([path, body]) => [path, { type: 'text/javascript', body }] as const),
      ['/kms.js', { type: 'text/javascript', body: script }],
    ]),
  );
  kms = await startKmsServer({
    kms: {
      execute: (operation, input) => {
        calls.push(operation);
        return execute(operation, input);
      },
    },
    credentials: (id) => (id === CRED.accessKeyId ? CRED : undefined),
    region: REGION,
    cors: { origins: [pages.origin] },
  });
  browser = await launchChromium();
  const context = await browser.newContext();
  // Only the two local servers are reachable.
  await context.route((url) => url.origin !== pages.origin && url.origin !== kms.url, (route) => route.abort());
  page = await context.newPage();
  await page.goto(`${pages.origin}/`);
  await page.waitForFunction(() => 'sealboxKms' in globalThis);
});

afterAll(async () => {
  await browser?.close();
  await kms?.close();
  await pages?.close();
});

it('the bundle\'s KmsKeyring, in a page with an import map for @aws-sdk/client-kms, round-trips against the local KMS endpoint (SigV4, CORS)', async () => {
  expect(new URL(kms.url).origin).not.toBe(pages.origin); // a cross-origin call: CORS is exercised
  const result = await page.evaluate(
    (args) => (globalThis as unknown as { sealboxKms: (a: typeof args) => Promise<Record<string, string | boolean>> }).sealboxKms(args),
    { endpoint: kms.url, region: REGION, accessKeyId: CRED.accessKeyId, secretAccessKey: CRED.secretAccessKey, keyId: KEY_ARN },
  );
  expect(result).toMatchObject({ ok: true, provider: 'aws-kms', keyArn: KEY_ARN });
  // Failures keep their AWS exception as the cause.
  expect(result.foreignContext).toMatch(/^ERR_(KEYRING|NO_MATCHING_KEY):InvalidCiphertextException$/);
  expect(result.badCredentials).toBe('ERR_KEYRING:InvalidSignatureException');
  expect(calls).toEqual(['GenerateDataKey', 'Decrypt', 'Decrypt']);
});
