import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decrypt, encrypt, MultiKeyring, RawRsaKeyring, KmsKeyring, KmsRsaKeyring } from '../src/index.js';
import { rewrap, rewrapStream } from '../src/rewrap/index.js';
import type { Keyring } from '../src/index.js';
import { readPreamble } from '../src/format/header.js';
import { LocalKms } from '../src/local-kms/index.js';
import { TAG_BYTES } from '../src/limits.js';
import { bytesEqual, pattern, testKeyring, thrown } from './helpers/keys.js';
import { loadVectors } from './helpers/vectors.js';
import { through } from './helpers/web-streams.js';

const oldKey = testKeyring('old', 1);
const newKey = testKeyring('new', 2);
const otherKey = testKeyring('other', 3);
const context = { tenant: 'acme', purpose: 'rewrap' };

/** Bytes after the header tag: the frames. */
function body(message: Uint8Array): Uint8Array {
  return message.subarray(readPreamble(message)! + TAG_BYTES);
}

/** A keyring that counts calls and hands out the data key arrays it returned, to check wiping. */
function spy(inner: Keyring): Keyring & { wraps: number; unwraps: number; keys: Uint8Array[] } {
  const s = {
    wraps: 0,
    unwraps: 0,
    keys: [] as Uint8Array[],
    async wrapKey(req: Parameters<Keyring['wrapKey']>[0]) {
      s.wraps++;
      return inner.wrapKey(req);
    },
    async unwrapKey(req: Parameters<Keyring['unwrapKey']>[0]) {
      s.unwraps++;
      const key = await inner.unwrapKey(req);
      if (key) s.keys.push(key);
      return key;
    },
  };
  return s;
}

const code = (err: unknown): string => (err as { code?: string; name: string }).code ?? (err as Error).name;

describe('rewrap', () => {
  it('replace: the new key decrypts the same plaintext, the old key no longer can, the body is unchanged', async () => {
    const plaintext = pattern(200_000, 5);
    const { ciphertext, header: before } = await encrypt(plaintext, { keyring: oldKey, encryptionContext: context, frameLength: 4096 });
    const r = await rewrap(ciphertext, { unsafeReuseHeaderNonce: true, keyring: oldKey, to: newKey, expectedEncryptionContext: context });
    expect(bytesEqual(body(r.ciphertext), body(ciphertext))).toBe(true);
    // Same kind and name of key: the header keeps its length.
    expect(r.ciphertext.length).toBe(ciphertext.length);
    expect(bytesEqual(r.ciphertext, ciphertext)).toBe(false);
    const after = r.header;
    expect(bytesEqual(after.messageId, before.messageId)).toBe(true);
    expect(bytesEqual(after.commitment, before.commitment)).toBe(true);
    expect(after.frameLength).toBe(4096);
    expect(after.suite).toBe(before.suite);
    expect(after.encryptionContext).toEqual(context);
    expect(after.encryptedDataKeys.map((e) => e.providerId)).toEqual(['test']);
    expect(r.previousHeader.encryptedDataKeys.length).toBe(1);
    const opened = await decrypt(r.ciphertext, { keyring: newKey, expectedEncryptionContext: context });
    expect(bytesEqual(opened.plaintext, plaintext)).toBe(true);
    expect(code(await thrown(() => decrypt(r.ciphertext, { keyring: oldKey })))).toBe('ERR_NO_MATCHING_KEY');
  });

  it('add keeps the old EDKs and appends the new; remove drops the EDKs of the key being retired', async () => {
    const { ciphertext } = await encrypt(pattern(1000), { keyring: new MultiKeyring({ generator: oldKey, children: [otherKey] }) });
    const added = await rewrap(ciphertext, { unsafeReuseHeaderNonce: true, keyring: oldKey, to: newKey, mode: 'add' });
    expect(added.header.encryptedDataKeys.length).toBe(3);
    for (const k of [oldKey, otherKey, newKey]) expect(bytesEqual((await decrypt(added.ciphertext, { keyring: k })).plaintext, pattern(1000))).toBe(true);
    const retired = await rewrap(added.ciphertext, { unsafeReuseHeaderNonce: true, keyring: otherKey, to: newKey, mode: 'add', remove: oldKey });
    expect(retired.header.encryptedDataKeys.length).toBe(3);
    expect(code(await thrown(() => decrypt(retired.ciphertext, { keyring: oldKey })))).toBe('ERR_NO_MATCHING_KEY');
    for (const k of [otherKey, newKey]) expect(bytesEqual((await decrypt(retired.ciphertext, { keyring: k })).plaintext, pattern(1000))).toBe(true);
    expect(bytesEqual(body(retired.ciphertext), body(ciphertext))).toBe(true);
  });

  it('authenticates the old header before wrapping anything: tampered headers are refused with their codes', async () => {
    const { ciphertext } = await encrypt(pattern(3000), { keyring: oldKey, encryptionContext: context, frameLength: 1000 });
    const headerEnd = readPreamble(ciphertext)!;
    const flip = (at: number): Uint8Array => Uint8Array.from(ciphertext, (b, i) => (i === at ? b ^ 1 : b));
    const edkAt = ciphertext.length - body(ciphertext).length - TAG_BYTES - 32 - 4 - 10;
    const cases: [string, Uint8Array, string][] = [
      ['header tag', flip(headerEnd + 3), 'ERR_DECRYPTION_FAILED'],
      ['commitment', flip(headerEnd - 1), 'ERR_COMMITMENT_MISMATCH'],
      ['EDK ciphertext', flip(edkAt), 'ERR_KEYRING'],
      ['message id', flip(14), 'ERR_COMMITMENT_MISMATCH'],
      ['magic', flip(0), 'ERR_FORMAT_INVALID'],
      ['cut in header', ciphertext.subarray(0, headerEnd + 5), 'ERR_TRUNCATED'],
    ];
    for (const [name, bytes, expected] of cases) {
      const to = spy(newKey);
      const err = await thrown(() => rewrap(bytes, { unsafeReuseHeaderNonce: true, keyring: oldKey, to }));
      expect(code(err), name).toBe(expected);
      expect(to.wraps, name).toBe(0);
    }
  });

  it('walks the frame structure before any keyring is asked', async () => {
    const { ciphertext } = await encrypt(pattern(3000), { keyring: oldKey, frameLength: 1000 });
    const cases: [string, Uint8Array, string][] = [
      ['truncated', ciphertext.subarray(0, ciphertext.length - 1), 'ERR_TRUNCATED'],
      ['no final frame', ciphertext.subarray(0, ciphertext.length - 21), 'ERR_TRUNCATED'],
      ['trailing byte', Buffer.concat([ciphertext, Buffer.of(0)]), 'ERR_TRAILING_DATA'],
      ['frame type', Uint8Array.from(ciphertext, (b, i) => (i === ciphertext.length - body(ciphertext).length ? 7 : b)), 'ERR_FORMAT_INVALID'],
    ];
    for (const [name, bytes, expected] of cases) {
      const from = spy(oldKey);
      const to = spy(newKey);
      expect(code(await thrown(() => rewrap(bytes, { unsafeReuseHeaderNonce: true, keyring: from, to }))), name).toBe(expected);
      expect(from.unwraps + to.wraps, name).toBe(0);
    }
  });

  it('frame tags are checked only with verifyFrames; without it a damaged frame stays damaged', async () => {
    const { ciphertext } = await encrypt(pattern(3000), { keyring: oldKey, frameLength: 1000 });
    const bad = Uint8Array.from(ciphertext, (b, i) => (i === ciphertext.length - 30 ? b ^ 1 : b));
    const r = await rewrap(bad, { unsafeReuseHeaderNonce: true, keyring: oldKey, to: newKey });
    expect(code(await thrown(() => decrypt(r.ciphertext, { keyring: newKey })))).toBe('ERR_DECRYPTION_FAILED');
    expect(code(await thrown(() => rewrap(bad, { unsafeReuseHeaderNonce: true, keyring: oldKey, to: newKey, verifyFrames: true })))).toBe('ERR_DECRYPTION_FAILED');
    const good = await rewrap(ciphertext, { unsafeReuseHeaderNonce: true, keyring: oldKey, to: newKey, verifyFrames: true });
    expect(bytesEqual((await decrypt(good.ciphertext, { keyring: newKey })).plaintext, pattern(3000))).toBe(true);
  });

  it('checks the expected context before asking any keyring', async () => {
    const { ciphertext } = await encrypt(pattern(10), { keyring: oldKey, encryptionContext: context });
    const from = spy(oldKey);
    const err = await thrown(() => rewrap(ciphertext, { unsafeReuseHeaderNonce: true, keyring: from, to: newKey, expectedEncryptionContext: { tenant: 'other' } }));
    expect(code(err)).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
    expect(from.unwraps).toBe(0);
  });

  it('zeroes the data key after success and after failure', async () => {
    const { ciphertext } = await encrypt(pattern(10), { keyring: oldKey });
    const from = spy(oldKey);
    await rewrap(ciphertext, { unsafeReuseHeaderNonce: true, keyring: from, to: newKey });
    const failing: Keyring = { wrapKey: () => Promise.reject(new Error('no')), unwrapKey: () => Promise.resolve(null) };
    expect(code(await thrown(() => rewrap(ciphertext, { unsafeReuseHeaderNonce: true, keyring: from, to: failing })))).toBe('ERR_KEYRING');
    expect(from.keys.length).toBe(2);
    for (const key of from.keys) expect(key.every((b) => b === 0)).toBe(true);
  });

  it('never writes more EDKs than decrypt with the same bound accepts (default 16, at most 255)', async () => {
    const sixteen = new MultiKeyring({ generator: oldKey, children: Array.from({ length: 15 }, (_, i) => testKeyring(`c${i}`, 10 + i)) });
    const { ciphertext } = await encrypt(pattern(10), { keyring: sixteen });
    expect(code(await thrown(() => rewrap(ciphertext, { unsafeReuseHeaderNonce: true, keyring: oldKey, to: newKey, mode: 'add' })))).toBe('ERR_LIMIT_EXCEEDED');
    const r = await rewrap(ciphertext, { unsafeReuseHeaderNonce: true, keyring: oldKey, to: newKey, mode: 'add', maxEncryptedDataKeys: 17 });
    expect(r.header.encryptedDataKeys.length).toBe(17);
    const full = new MultiKeyring({ generator: oldKey, children: Array.from({ length: 254 }, (_, i) => testKeyring(`c${i}`, 10)) });
    const big = (await encrypt(pattern(10), { keyring: full })).ciphertext;
    expect(code(await thrown(() => rewrap(big, { unsafeReuseHeaderNonce: true, keyring: oldKey, to: newKey, mode: 'add', maxEncryptedDataKeys: 255 })))).toBe('ERR_LIMIT_EXCEEDED');
    expect((await rewrap(big, { unsafeReuseHeaderNonce: true, keyring: oldKey, to: newKey, maxEncryptedDataKeys: 255 })).header.encryptedDataKeys.length).toBe(1);
  });

  it('refuses suite 1 messages unless the header nonce reuse is accepted, before asking any keyring', async () => {
    const { ciphertext } = await encrypt(pattern(100), { keyring: oldKey });
    for (const flag of [undefined, false]) {
      const from = spy(oldKey);
      const to = spy(newKey);
      const options = { keyring: from, to, ...(flag === undefined ? {} : { unsafeReuseHeaderNonce: flag }) };
      expect(code(await thrown(() => rewrap(ciphertext, options)))).toBe('ERR_UNSUPPORTED_VERSION');
      const stream = rewrapStream(options);
      expect(code(await thrown(() => through(stream, ciphertext, 64)))).toBe('ERR_UNSUPPORTED_VERSION');
      expect(from.unwraps + to.wraps).toBe(0);
    }
    expect(code(await thrown(() => rewrap(ciphertext, { keyring: oldKey, to: newKey, unsafeReuseHeaderNonce: 'yes' as never })))).toBe('TypeError');
  });

  it('refuses unknown suites and versions with ERR_UNSUPPORTED_VERSION', async () => {
    for (const name of ['unknown-suite', 'unknown-version']) {
      const v = loadVectors().find((x) => x.name === name)!;
      expect(code(await thrown(() => rewrap(new Uint8Array(Buffer.from(v.ciphertext, 'base64')), { keyring: oldKey, to: newKey })))).toBe('ERR_UNSUPPORTED_VERSION');
    }
  });

  it('programmer mistakes are TypeErrors', async () => {
    const { ciphertext } = await encrypt(pattern(10), { keyring: oldKey });
    const bad = [
      {},
      { keyring: oldKey },
      { keyring: oldKey, to: 'key' },
      { keyring: oldKey, to: newKey, mode: 'swap' },
      { keyring: oldKey, to: newKey, remove: oldKey },
      { keyring: oldKey, to: newKey, verifyFrames: 'yes' },
    ];
    for (const options of bad) expect(code(await thrown(() => rewrap(ciphertext, options as never)))).toBe('TypeError');
    expect(code(await thrown(() => rewrap('x' as never, { unsafeReuseHeaderNonce: true, keyring: oldKey, to: newKey })))).toBe('TypeError');
  });

  it('rewrap then decrypt round-trips for any size, frame length and context', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: 1, max: 1200 }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }).filter((k) => !k.startsWith('sealbox:') && k.isWellFormed()), fc.string({ maxLength: 6 }).filter((v) => v.isWellFormed()), { maxKeys: 3 }),
        fc.constantFrom<'replace' | 'add'>('replace', 'add'),
        async (plaintext, frameLength, encryptionContext, mode) => {
          const { ciphertext } = await encrypt(plaintext, { keyring: oldKey, frameLength, encryptionContext });
          const r = await rewrap(ciphertext, { unsafeReuseHeaderNonce: true, keyring: oldKey, to: newKey, mode, verifyFrames: true });
          expect(bytesEqual(body(r.ciphertext), body(ciphertext))).toBe(true);
          const out = await decrypt(r.ciphertext, { keyring: newKey, expectedEncryptionContext: encryptionContext });
          expect(bytesEqual(out.plaintext, plaintext)).toBe(true);
          expect(await decrypt(r.ciphertext, { keyring: oldKey }).then(() => 'ok', code)).toBe(mode === 'add' ? 'ok' : 'ERR_NO_MATCHING_KEY');
        },
      ),
      { numRuns: 120 },
    );
  });
});

describe('rewrap across keyring kinds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-rewrap-kms-'));
  let kms: LocalKms;
  const kinds: Record<string, Keyring> = {};
  beforeAll(async () => {
    kms = LocalKms.open({ dataDir: dir, rootKey: new Uint8Array(32).fill(9) });
    const symmetric = (await kms.createKey({})).KeyMetadata!.Arn!;
    const rsaKms = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!.Arn!;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    kinds['raw AES'] = testKeyring('aes', 4);
    kinds['raw RSA'] = new RawRsaKeyring({ namespace: 'acme', name: 'rsa', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, publicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string });
    kinds['KMS (local)'] = new KmsKeyring({ generatorKeyId: symmetric, client: kms });
    kinds['KMS RSA (local)'] = new KmsRsaKeyring({ keyId: rsaKms, client: kms });
    kinds.multi = new MultiKeyring({ generator: testKeyring('m1', 5), children: [kinds['KMS (local)']!] });
  }, 60_000);
  afterAll(() => {
    kms.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const names = ['raw AES', 'raw RSA', 'KMS (local)', 'KMS RSA (local)', 'multi'];
  for (const from of names) {
    it(`from ${from} to each kind`, async () => {
      const plaintext = pattern(70_000, 3);
      const { ciphertext } = await encrypt(plaintext, { keyring: kinds[from]!, encryptionContext: context });
      for (const to of names) {
        const r = await rewrap(ciphertext, { unsafeReuseHeaderNonce: true, keyring: kinds[from]!, to: kinds[to]!, expectedEncryptionContext: context });
        expect(bytesEqual((await decrypt(r.ciphertext, { keyring: kinds[to]!, expectedEncryptionContext: context })).plaintext, plaintext), `${from} -> ${to}`).toBe(true);
        expect(bytesEqual(body(r.ciphertext), body(ciphertext))).toBe(true);
        // Same kind and key: same header length (the in-place fast path of rewrapFile).
        if (from === to) expect(r.ciphertext.length, `${from} -> ${to}`).toBe(ciphertext.length);
      }
    }, 60_000);
  }
});
