import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KMSClient } from '@aws-sdk/client-kms';
import { KmsDiscoveryKeyring, KmsKeyring, KmsRsaKeyring } from '../../src/index.js';
import type { KmsClientLike } from '../../src/keyring/kms-client-supplier.js';
import type { Keyring } from '../../src/keyring/keyring.js';
import { SealboxError } from '../../src/errors.js';
import { DEFAULT_SUITE } from '../../src/crypto/suites.js';
import { thrown } from '../helpers/keys.js';

// A KMS endpoint on 127.0.0.1 that answers whatever a test scripts: what a hostile or confused
// endpoint (a broken proxy, a wrong endpoint URL) can send to a real KMSClient. The keyring's
// errors must stay one readable line, and must not quote key material from the answer.
const ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
let answer: { status: number; body: string } = { status: 500, body: '' };
let server: Server;
let client: KMSClient;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new KMSClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    credentials: { accessKeyId: 'AKIAHOSTILETEST00001', secretAccessKey: 'not-a-secret-for-tests-only-0123456789ab' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client.destroy();
  await new Promise((resolve) => server.close(resolve));
});

async function failureOf(p: () => Promise<unknown>): Promise<SealboxError> {
  const err = await thrown(p);
  expect(err).toBeInstanceOf(SealboxError);
  return err as SealboxError;
}

const generate = (): Promise<unknown> => new KmsKeyring({ generatorKeyId: ARN, client }).wrapKey({ suite: DEFAULT_SUITE, encryptionContext: {} });

describe('KMS keyring: the error of an answer a hostile endpoint wrote', () => {
  it('an exception name with line breaks, escapes and bidi overrides is one line in the message', async () => {
    // The SDK takes the exception's name from __type (cut at ":" and "#"), control characters and all.
    const forged = 'Denied\nINFO 2024-01-01 admin logged in\r\u001b[2K\u2028\u202eevil';
    answer = { status: 400, body: JSON.stringify({ __type: forged, message: 'because' }) };
    const err = await failureOf(generate);
    expect(err.code).toBe('ERR_KEYRING');
    expect((err.cause as Error).name).toBe(forged);
    expect(err.message).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
    expect(err.message).toContain('Denied INFO 2024-01-01 admin logged in');
    expect(err.message).toContain(': because');
  });

  it('a name of 100,000 characters is cut short', async () => {
    answer = { status: 400, body: JSON.stringify({ __type: 'X'.repeat(100_000), message: 'because' }) };
    const err = await failureOf(generate);
    expect((err.cause as Error).name).toHaveLength(100_000);
    expect(err.message.length).toBeLessThan(300 + ARN.length);
    expect(err.message).toContain('...');
  });

  it('line and paragraph separators in the reason become spaces too', async () => {
    answer = { status: 400, body: JSON.stringify({ __type: 'NotFoundException', message: 'no\u2028such\u2029key\u202e' }) };
    const err = await failureOf(generate);
    expect(err.message).toContain('(NotFoundException): no such key');
    expect(err.message).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
  });
});

describe('KMS keyring: an answer the SDK cannot read', () => {
  // A data key as base64 with the quotes lost: JSON.parse's SyntaxError (and the SDK's message)
  // quotes the text around the fault, which is the key.
  const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 1)).toString('base64');
  const unquoted = `{"KeyId":"${ARN}","Plaintext":${key},"CiphertextBlob":"AQID"}`;

  it('GenerateDataKey: ERR_KEYRING naming the status, with no part of the body in message or cause', async () => {
    answer = { status: 200, body: unquoted };
    const err = await failureOf(generate);
    expect(err.code).toBe('ERR_KEYRING');
    expect(err.message).toContain('GenerateDataKey');
    expect(err.message).toContain('(SyntaxError)');
    expect(err.message).toContain('HTTP 200');
    const cause = err.cause as Error & { $metadata?: { httpStatusCode?: number } };
    expect(cause.$metadata?.httpStatusCode).toBe(200);
    for (const text of [err.message, err.stack ?? '', cause.message, cause.stack ?? '', String(cause)]) {
      expect(text).not.toContain(key.slice(0, 6));
    }
  });

  it('Decrypt: the same', async () => {
    answer = { status: 200, body: unquoted };
    const edk = { providerId: 'aws-kms', providerInfo: new TextEncoder().encode(ARN), ciphertext: new Uint8Array([1, 2, 3]) };
    const keyring = new KmsKeyring({ keyIds: [ARN], client });
    const err = await failureOf(() => keyring.unwrapKey({ suite: DEFAULT_SUITE, encryptionContext: {}, encryptedDataKeys: [edk] }));
    expect(err.code).toBe('ERR_KEYRING');
    const inner = err.errors[0] as SealboxError;
    expect(inner.message).toContain('Decrypt');
    for (const text of [err.message, inner.message, (inner.cause as Error).message]) expect(text).not.toContain(key.slice(0, 6));
  });

  it('a KMS exception keeps its own message as cause', async () => {
    answer = { status: 400, body: JSON.stringify({ __type: 'DisabledException', message: `${ARN} is disabled.` }) };
    const err = await failureOf(generate);
    expect((err.cause as Error).name).toBe('DisabledException');
    expect(err.message).toContain(`(DisabledException): ${ARN} is disabled.`);
  });
});

describe('KMS keyring: a client that answers no object', () => {
  // A wrapper or stub of the application's may resolve with nothing: a typed error, not a
  // TypeError from reading a field of undefined.
  const edk = { providerId: 'aws-kms', providerInfo: new TextEncoder().encode(ARN), ciphertext: new Uint8Array([1, 2, 3]) };
  const request = { suite: DEFAULT_SUITE, encryptionContext: {}, encryptedDataKeys: [edk] };
  for (const value of [undefined, null, 'ok', 32]) {
    it(`answering ${String(value)}: ERR_KEYRING from every operation`, async () => {
      const viaSend: KmsClientLike = { send: async () => value };
      const viaExecute: KmsClientLike = { send: async () => ({}), execute: async () => value };
      for (const c of [viaSend, viaExecute]) {
        const onGenerate = await failureOf(() => new KmsKeyring({ generatorKeyId: ARN, client: c }).wrapKey({ suite: DEFAULT_SUITE, encryptionContext: {} }));
        expect(onGenerate.code).toBe('ERR_KEYRING');
        expect(onGenerate.message).toContain('KMS response rejected');
        const onEncrypt = await failureOf(() => new KmsKeyring({ keyIds: [ARN], client: c }).wrapKey({ suite: DEFAULT_SUITE, encryptionContext: {}, dataKey: new Uint8Array(32) }));
        expect(onEncrypt.code).toBe('ERR_KEYRING');
        for (const keyring of [new KmsKeyring({ keyIds: [ARN], client: c }), new KmsDiscoveryKeyring({ client: c })]) {
          const onDecrypt = await failureOf(() => keyring.unwrapKey(request));
          expect(onDecrypt.code).toBe('ERR_KEYRING');
          expect((onDecrypt.errors[0] as SealboxError).code).toBe('ERR_KEYRING');
        }
        const rsa = new KmsRsaKeyring({ keyId: ARN, client: c });
        const onPublicKey = await failureOf(() => rsa.wrapKey({ suite: DEFAULT_SUITE, encryptionContext: {} }));
        expect(onPublicKey.code).toBe('ERR_KEYRING');
        const rsaEdk = { ...edk, providerId: 'aws-kms-rsa' };
        const onRsaDecrypt = await failureOf(() => rsa.unwrapKey({ ...request, encryptedDataKeys: [rsaEdk] }));
        expect(onRsaDecrypt.code).toBe('ERR_KEYRING');
      }
    });
  }
});

describe('KMS keyrings: a Decrypt answer for the right key but another message', () => {
  // A confused endpoint hands back some other EDK's data key under the key asked for: the key
  // commitment catches it (ERR_COMMITMENT_MISMATCH, as the TSDoc and docs/kms-keyring.md say),
  // and the wrong key is zeroed.
  it('KmsKeyring, KmsDiscoveryKeyring and KmsRsaKeyring: ERR_COMMITMENT_MISMATCH, the key zeroed', async () => {
    const body = JSON.stringify({ KeyId: ARN, Plaintext: Buffer.alloc(32, 5).toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    answer = { status: 200, body };
    const edk = { providerId: 'aws-kms', providerInfo: new TextEncoder().encode(ARN), ciphertext: new Uint8Array([1, 2, 3]) };
    const keyrings: [Keyring, string][] = [
      [new KmsKeyring({ keyIds: [ARN], client }), 'aws-kms'],
      [new KmsDiscoveryKeyring({ client }), 'aws-kms'],
      [new KmsRsaKeyring({ keyId: ARN, client }), 'aws-kms-rsa'],
    ];
    for (const [keyring, providerId] of keyrings) {
      const seen: Uint8Array[] = [];
      const request = {
        suite: DEFAULT_SUITE,
        encryptionContext: {},
        encryptedDataKeys: [{ ...edk, providerId }],
        isMessageKey: async (dataKey: Uint8Array) => {
          seen.push(dataKey);
          return false;
        },
      };
      const err = await failureOf(() => keyring.unwrapKey(request));
      expect(err.code).toBe('ERR_COMMITMENT_MISMATCH');
      expect(seen).toHaveLength(1);
      expect(seen[0]!.every((b) => b === 0)).toBe(true);
    }
  });
});
