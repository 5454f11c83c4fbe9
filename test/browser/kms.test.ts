import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { decrypt, KmsKeyring, KmsRsaKeyring } from '../../src/index.js';
import { startKmsServer } from '../../src/kms-server/server.js';
import type { RunningKmsServer } from '../../src/kms-server/server.js';
import type { SigV4Credential } from '../../src/kms-server/sigv4.js';
import { LocalKms } from '../../src/local-kms/index.js';
import { buildBrowserBundle, buildClientKms, buildPageScript } from './build.js';
import { BROWSER_SKIP, launchChromium } from './chromium.js';
import type { TestServer } from './server.js';
import { serve } from './server.js';
import { fromBase64, pattern } from './shared.js';

// Issue 7: a KMS keyring round trip from a page against the local KMS over HTTP: the real
// local KMS (SQLite in a temporary directory) behind the kms-server endpoint (SigV4, CORS),
// called cross-origin by the bundle's KmsKeyring through @aws-sdk/client-kms.

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const CRED: SigV4Credential = {
  accessKeyId: 'AKIASEALBOXBROWSER01',
  secretAccessKey: 'browser-test-secret-0123456789abcdef',
  principal: `arn:aws:iam::${ACCOUNT}:root`,
  accountId: ACCOUNT,
};

const dataDir = mkdtempSync(join(tmpdir(), 'sealbox-browser-kms-'));
let localKms: LocalKms;
let keyArn: string;
let rsaKeyArn: string;
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
  localKms = LocalKms.open({ dataDir, rootKey: new Uint8Array(32).fill(7), region: REGION, accountId: ACCOUNT });
  keyArn = ((await localKms.createKey({ Description: 'browser test' })) as { KeyMetadata: { Arn: string } }).KeyMetadata.Arn;
  rsaKeyArn = ((await localKms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })) as { KeyMetadata: { Arn: string } }).KeyMetadata.Arn;
  kms = await startKmsServer({
    kms: {
      execute: (operation, input, caller) => {
        calls.push(operation);
        return localKms.execute(operation, input, caller);
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
  localKms?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

it.skipIf(BROWSER_SKIP)('the bundle\'s KmsKeyring and KmsRsaKeyring, in a page with an import map for @aws-sdk/client-kms, round-trips against the local KMS endpoint (SigV4, CORS)', async () => {
  expect(new URL(kms.url).origin).not.toBe(pages.origin); // a cross-origin call: CORS is exercised
  const result = await page.evaluate(
    (args) => (globalThis as unknown as { sealboxKms: (a: typeof args) => Promise<Record<string, string | boolean>> }).sealboxKms(args),
    { endpoint: kms.url, region: REGION, accessKeyId: CRED.accessKeyId, secretAccessKey: CRED.secretAccessKey, keyId: keyArn, rsaKeyId: rsaKeyArn },
  );
  expect(result).toMatchObject({ ok: true, provider: 'aws-kms', keyArn });
  // Failures keep their AWS exception as the cause.
  expect(result.foreignContext).toMatch(/^ERR_(KEYRING|NO_MATCHING_KEY):InvalidCiphertextException$/);
  expect(result.badCredentials).toBe('ERR_KEYRING:InvalidSignatureException');
  expect(calls).toEqual(['GenerateDataKey', 'Decrypt', 'Decrypt', 'GetPublicKey', 'Decrypt']);
  // KmsRsaKeyring in the page: its message also decrypts in Node.
  expect(result.rsaOk).toBe(true);
  const rsaInNode = await decrypt(fromBase64(result.rsaCiphertext as string), { keyring: new KmsRsaKeyring({ keyId: rsaKeyArn, client: localKms }) });
  expect(Buffer.from(rsaInNode.plaintext).equals(Buffer.from(pattern(5000, 4)))).toBe(true);
  // The page's message decrypts in Node with a KMS keyring on the same local KMS, in process.
  const inNode = await decrypt(fromBase64(result.ciphertext as string), { keyring: new KmsKeyring({ generatorKeyId: keyArn, client: localKms }), expectedEncryptionContext: { tenant: 'acme' } });
  expect(Buffer.from(inNode.plaintext).equals(Buffer.from(pattern(100_000, 3)))).toBe(true);
});
