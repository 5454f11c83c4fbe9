import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBytes } from '../src/crypto/bytes.js';
import { getAeadBackend } from '../src/crypto/backend.js';
import type { AeadBackendName } from '../src/crypto/backend.js';
import { decrypt } from '../src/decrypt.js';
import { encrypt } from '../src/encrypt.js';
import { KmsKeyring } from '../src/keyring/kms.js';
import type { KmsClientLike } from '../src/keyring/kms-client-supplier.js';
import { RawAesKeyring } from '../src/keyring/raw-aes.js';
import { LocalKms } from '../src/local-kms/index.js';
import { CachingMaterialsManager } from '../src/materials/caching.js';
import { bytesEqual, pattern } from './helpers/keys.js';

// Node Buffers are Uint8Arrays whose `slice()` does not copy, and small ones sit in a shared
// pool slab. Nothing Sealbox copies or wipes may alias a caller's Buffer, or the copy's
// wipe destroys the original (or the reverse).

/** `bytes` as a Buffer inside Node's shared pool (not at offset 0 of its own memory). */
function pooled(bytes: Uint8Array): Buffer {
  const b = Buffer.from(bytes);
  expect(b.byteOffset > 0 || b.buffer.byteLength > b.length).toBe(true);
  return b;
}

describe('copyBytes', () => {
  it('copies a Buffer into memory of its own: wiping either leaves the other', () => {
    const original = pooled(pattern(32, 1));
    const copy = copyBytes(original);
    expect(Buffer.isBuffer(copy)).toBe(false);
    copy.fill(0);
    expect(bytesEqual(original, pattern(32, 1))).toBe(true);
    const again = copyBytes(original);
    original.fill(0);
    expect(bytesEqual(again, pattern(32, 1))).toBe(true);
  });
});

describe.each(['node', 'webcrypto', 'noble'] as AeadBackendName[])('the %s backend imports a Buffer key', (name) => {
  it('keeps its own copy and leaves the caller\'s Buffer alone; wiping that Buffer after changes nothing', async () => {
    const backend = getAeadBackend(name);
    const reference = await getAeadBackend('noble').importKey(pattern(32, 2));
    const keyBytes = pooled(pattern(32, 2));
    const key = await backend.importKey(keyBytes);
    expect(bytesEqual(keyBytes, pattern(32, 2))).toBe(true);
    keyBytes.fill(0);
    const nonce = pattern(12, 3);
    const aad = pattern(45, 4);
    const plaintext = pattern(100, 5);
    const sealed = await key.seal(nonce, aad, plaintext);
    expect(bytesEqual(sealed, await reference.seal(nonce, aad, plaintext))).toBe(true);
    expect(bytesEqual(await key.open(nonce, aad, sealed), plaintext)).toBe(true);
  });
});

describe('Buffers through the public API', () => {
  it('a RawAesKeyring keeps working after the caller wipes the Buffer it was given', async () => {
    const wrappingKey = pooled(pattern(32, 6));
    const keyring = new RawAesKeyring({ namespace: 'app', name: 'k', wrappingKey });
    wrappingKey.fill(0);
    const { ciphertext } = await encrypt(pattern(500, 7), { keyring });
    const fresh = new RawAesKeyring({ namespace: 'app', name: 'k', wrappingKey: pattern(32, 6) });
    expect(bytesEqual((await decrypt(ciphertext, { keyring: fresh })).plaintext, pattern(500, 7))).toBe(true);
  });

  it('the header decrypt returns does not alias a Buffer message: changing the message after leaves it', async () => {
    const keyring = new RawAesKeyring({ namespace: 'app', name: 'k', wrappingKey: pattern(32, 6) });
    const { ciphertext, header: written } = await encrypt(pattern(10, 8), { keyring });
    const message = pooled(ciphertext);
    const { header } = await decrypt(message, { keyring });
    message.fill(0xee);
    expect(bytesEqual(header.messageId, written.messageId)).toBe(true);
    expect(bytesEqual(header.commitment, written.commitment)).toBe(true);
    expect(bytesEqual(header.encryptedDataKeys[0]!.ciphertext, written.encryptedDataKeys[0]!.ciphertext)).toBe(true);
  });
});

describe('a KMS client that answers with pooled Buffers', () => {
  let dir: string;
  let kms: LocalKms;
  let keyId: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealbox-buffers-'));
    kms = LocalKms.open({ dataDir: dir, rootKey: new Uint8Array(32).fill(4) });
    keyId = (await kms.createKey({})).KeyMetadata!.Arn!;
  });
  afterAll(() => {
    kms.close();
    rmSync(dir, { recursive: true, force: true });
  });
  /** LocalKms, but every byte field of every answer is a Buffer from Node's pool. */
  const bufferClient = (): KmsClientLike => ({
    async send(command: object) {
      const out = (await kms.send(command as Parameters<LocalKms['send']>[0])) as Record<string, unknown>;
      for (const [k, v] of Object.entries(out)) if (v instanceof Uint8Array) out[k] = pooled(v);
      return out;
    },
  });

  it('the keyring keeps the data key it was given (its own copy), so a plain client decrypts the message', async () => {
    const data = pattern(2000, 9);
    const { ciphertext } = await encrypt(data, { keyring: new KmsKeyring({ generatorKeyId: keyId, client: bufferClient() }) });
    const plain = new KmsKeyring({ generatorKeyId: keyId, client: kms });
    expect(bytesEqual((await decrypt(ciphertext, { keyring: plain })).plaintext, data)).toBe(true);
    const viaBuffers = new KmsKeyring({ generatorKeyId: keyId, client: bufferClient() });
    expect(bytesEqual((await decrypt(ciphertext, { keyring: viaBuffers })).plaintext, data)).toBe(true);
  });

  it('the caching manager hands out copies that survive the cached entry, with Buffer data keys', async () => {
    const cmm = new CachingMaterialsManager({ keyring: new KmsKeyring({ generatorKeyId: keyId, client: bufferClient() }), maxAgeMs: 60_000, capacity: 4 });
    const plain = new KmsKeyring({ generatorKeyId: keyId, client: kms });
    for (let i = 0; i < 3; i++) {
      const data = pattern(300, 10 + i);
      const { ciphertext } = await encrypt(data, { materialsManager: cmm });
      expect(bytesEqual((await decrypt(ciphertext, { keyring: plain })).plaintext, data)).toBe(true);
      expect(bytesEqual((await decrypt(ciphertext, { materialsManager: cmm })).plaintext, data)).toBe(true);
    }
  });
});
