import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decrypt, decryptRange, decryptStream, encrypt, encryptStream, readHeader, MultiKeyring, RawAesKeyring, RawRsaKeyring, KmsKeyring, KmsRsaKeyring, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT } from '../src/index.js';
import { rewrap } from '../src/rewrap/index.js';
import type { Keyring } from '../src/index.js';
import { encodeHeader, readPreamble } from '../src/format/header.js';
import { suiteById } from '../src/crypto/suites.js';
import { rewrappedSuite } from '../src/message/rewrap-session.js';
import { headerEncoder } from './helpers/cbor-encoder.js';
import { concat, fromHex, toHex } from '../src/crypto/bytes.js';
import { LocalKms } from '../src/local-kms/index.js';
import { TAG_BYTES } from '../src/limits.js';
import { bytesEqual, pattern, testKeyring, thrown } from './helpers/keys.js';
import { loadVectorKeys, loadVectors } from './helpers/vectors.js';
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
    const r = await rewrap(ciphertext, { keyring: oldKey, to: newKey, expectedEncryptionContext: context });
    expect(bytesEqual(body(r.ciphertext), body(ciphertext))).toBe(true);
    // Same kind and name of key: the header grows only by suite 3's salt item (1 + 8 bytes).
    expect(r.ciphertext.length).toBe(ciphertext.length + 9);
    expect(bytesEqual(r.ciphertext, ciphertext)).toBe(false);
    // The header is written into the result's own array, which holds exactly the message.
    expect(r.ciphertext.byteOffset).toBe(0);
    expect(r.ciphertext.buffer.byteLength).toBe(r.ciphertext.length);
    expect(r.ciphertext.buffer).not.toBe(ciphertext.buffer);
    const after = r.header;
    expect(bytesEqual(after.messageId, before.messageId)).toBe(true);
    expect(bytesEqual(after.commitment, before.commitment)).toBe(true);
    expect(after.frameLength).toBe(4096);
    expect(before.suite.id).toBe(1);
    expect(after.suite.id).toBe(3);
    expect(after.encryptionContext).toEqual(context);
    expect(after.encryptedDataKeys.map((e) => e.providerId)).toEqual(['test']);
    expect(r.previousHeader.encryptedDataKeys.length).toBe(1);
    const opened = await decrypt(r.ciphertext, { keyring: newKey, expectedEncryptionContext: context });
    expect(bytesEqual(opened.plaintext, plaintext)).toBe(true);
    expect(code(await thrown(() => decrypt(r.ciphertext, { keyring: oldKey })))).toBe('ERR_NO_MATCHING_KEY');
  });

  it('add keeps the old EDKs and appends the new; remove drops the EDKs of the key being retired', async () => {
    const { ciphertext } = await encrypt(pattern(1000), { keyring: new MultiKeyring({ generator: oldKey, children: [otherKey] }) });
    const added = await rewrap(ciphertext, { keyring: oldKey, to: newKey, mode: 'add' });
    expect(added.header.encryptedDataKeys.length).toBe(3);
    for (const k of [oldKey, otherKey, newKey]) expect(bytesEqual((await decrypt(added.ciphertext, { keyring: k })).plaintext, pattern(1000))).toBe(true);
    const retired = await rewrap(added.ciphertext, { keyring: otherKey, to: newKey, mode: 'add', remove: oldKey });
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
      const err = await thrown(() => rewrap(bytes, { keyring: oldKey, to }));
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
      expect(code(await thrown(() => rewrap(bytes, { keyring: from, to }))), name).toBe(expected);
      expect(from.unwraps + to.wraps, name).toBe(0);
    }
  });

  it('frame tags are checked only with verifyFrames; without it a damaged frame stays damaged', async () => {
    const { ciphertext } = await encrypt(pattern(3000), { keyring: oldKey, frameLength: 1000 });
    const bad = Uint8Array.from(ciphertext, (b, i) => (i === ciphertext.length - 30 ? b ^ 1 : b));
    const r = await rewrap(bad, { keyring: oldKey, to: newKey });
    expect(code(await thrown(() => decrypt(r.ciphertext, { keyring: newKey })))).toBe('ERR_DECRYPTION_FAILED');
    expect(code(await thrown(() => rewrap(bad, { keyring: oldKey, to: newKey, verifyFrames: true })))).toBe('ERR_DECRYPTION_FAILED');
    const good = await rewrap(ciphertext, { keyring: oldKey, to: newKey, verifyFrames: true });
    expect(bytesEqual((await decrypt(good.ciphertext, { keyring: newKey })).plaintext, pattern(3000))).toBe(true);
  });

  it('checks the expected context before asking any keyring', async () => {
    const { ciphertext } = await encrypt(pattern(10), { keyring: oldKey, encryptionContext: context });
    const from = spy(oldKey);
    const err = await thrown(() => rewrap(ciphertext, { keyring: from, to: newKey, expectedEncryptionContext: { tenant: 'other' } }));
    expect(code(err)).toBe('ERR_ENCRYPTION_CONTEXT_MISMATCH');
    expect(from.unwraps).toBe(0);
  });

  it('zeroes the data key after success and after failure', async () => {
    const { ciphertext } = await encrypt(pattern(10), { keyring: oldKey });
    const from = spy(oldKey);
    await rewrap(ciphertext, { keyring: from, to: newKey });
    const failing: Keyring = { wrapKey: () => Promise.reject(new Error('no')), unwrapKey: () => Promise.resolve(null) };
    expect(code(await thrown(() => rewrap(ciphertext, { keyring: from, to: failing })))).toBe('ERR_KEYRING');
    expect(from.keys.length).toBe(2);
    for (const key of from.keys) expect(key.every((b) => b === 0)).toBe(true);
  });

  it('never writes more EDKs than decrypt with the same bound accepts (default 16, at most 255)', async () => {
    const sixteen = new MultiKeyring({ generator: oldKey, children: Array.from({ length: 15 }, (_, i) => testKeyring(`c${i}`, 10 + i)) });
    const { ciphertext } = await encrypt(pattern(10), { keyring: sixteen });
    expect(code(await thrown(() => rewrap(ciphertext, { keyring: oldKey, to: newKey, mode: 'add' })))).toBe('ERR_LIMIT_EXCEEDED');
    const r = await rewrap(ciphertext, { keyring: oldKey, to: newKey, mode: 'add', maxEncryptedDataKeys: 17 });
    expect(r.header.encryptedDataKeys.length).toBe(17);
    const full = new MultiKeyring({ generator: oldKey, children: Array.from({ length: 254 }, (_, i) => testKeyring(`c${i}`, 10)) });
    const big = (await encrypt(pattern(10), { keyring: full })).ciphertext;
    expect(code(await thrown(() => rewrap(big, { keyring: oldKey, to: newKey, mode: 'add', maxEncryptedDataKeys: 255 })))).toBe('ERR_LIMIT_EXCEEDED');
    expect((await rewrap(big, { keyring: oldKey, to: newKey, maxEncryptedDataKeys: 255 })).header.encryptedDataKeys.length).toBe(1);
  });

  it('never writes a header above the caller\'s maxHeaderBytes (decrypt with the same bound would refuse it)', async () => {
    const { ciphertext } = await encrypt(pattern(100), { keyring: oldKey });
    const body = readPreamble(ciphertext)! - 8;
    // Room for the header as it is (its rewrap into suite 3 adds the 9-byte salt item), not for a second EDK.
    const maxHeaderBytes = body + 9;
    await decrypt(ciphertext, { keyring: oldKey, maxHeaderBytes });
    const replaced = await rewrap(ciphertext, { keyring: oldKey, to: newKey, maxHeaderBytes });
    await decrypt(replaced.ciphertext, { keyring: newKey, maxHeaderBytes });
    // Before, this returned a message that decrypt (and rewrap) with the same option refused.
    expect(code(await thrown(() => rewrap(ciphertext, { keyring: oldKey, to: newKey, mode: 'add', maxHeaderBytes })))).toBe('ERR_LIMIT_EXCEEDED');
    expect((await rewrap(ciphertext, { keyring: oldKey, to: newKey, mode: 'add' })).header.encryptedDataKeys.length).toBe(2);
  });

  it('writes suite 3: a fresh header salt per header, so no header tag nonce repeats under the content key', async () => {
    const plaintext = pattern(5000, 4);
    const { ciphertext, header: v1 } = await encrypt(plaintext, { keyring: oldKey, frameLength: 1000 });
    expect(v1.suite.id).toBe(1);
    expect(v1.headerSalt).toBeUndefined();
    const first = await rewrap(ciphertext, { keyring: oldKey, to: newKey });
    expect(first.header.suite).toBe(SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT);
    expect(first.header.headerSalt!.length).toBe(8);
    // Suite 1 -> 3: one more header item (1 + 8 bytes), nothing else of the body changes.
    expect(first.ciphertext.length).toBe(ciphertext.length + 9);
    expect(bytesEqual(body(first.ciphertext), body(ciphertext))).toBe(true);
    // Suite 3 -> 3, back to the same key: same length, same EDK shapes, but a new salt and tag.
    const second = await rewrap(first.ciphertext, { keyring: newKey, to: oldKey });
    const third = await rewrap(second.ciphertext, { keyring: oldKey, to: newKey });
    expect(third.ciphertext.length).toBe(first.ciphertext.length);
    const salts = [first, second, third].map((r) => toHex(r.header.headerSalt!));
    expect(new Set(salts).size).toBe(3);
    const tag = (m: Uint8Array): string => toHex(m.subarray(readPreamble(m)!, readPreamble(m)! + TAG_BYTES));
    expect(new Set([ciphertext, first.ciphertext, second.ciphertext, third.ciphertext].map(tag)).size).toBe(4);
    for (const [r, key] of [[first, newKey], [second, oldKey], [third, newKey]] as const) {
      expect(bytesEqual((await decrypt(r.ciphertext, { keyring: key })).plaintext, plaintext)).toBe(true);
    }
    // Every reader knows suite 3: readHeader, range decrypt, streams (the vectors run them all).
    const read = await readHeader(third.ciphertext);
    expect([read.suite.id, toHex(read.headerSalt!)]).toEqual([3, salts[2]]);
    expect(bytesEqual((await decryptRange(third.ciphertext, { keyring: newKey, start: 1000, end: 3000 })).plaintext, plaintext.subarray(1000, 3000))).toBe(true);
  });

  it('encrypt can write suite 3 directly (one-shot and streams): every decoder reads it, and its first rewrap keeps the header length', async () => {
    const plaintext = pattern(3000, 6);
    const suite = SUITE_AES256_GCM_HKDF_SHA512_COMMIT_HEADER_SALT;
    const a = await encrypt(plaintext, { keyring: oldKey, frameLength: 500, suite });
    const b = await encrypt(plaintext, { keyring: oldKey, frameLength: 500, suite });
    expect([a.header.suite.id, a.header.headerSalt!.length]).toEqual([3, 8]);
    expect(toHex(a.header.headerSalt!)).not.toBe(toHex(b.header.headerSalt!));
    const streamed = await through(encryptStream({ keyring: oldKey, frameLength: 500, suite }), plaintext, 777);
    for (const m of [a.ciphertext, streamed]) {
      expect(bytesEqual((await decrypt(m, { keyring: oldKey })).plaintext, plaintext)).toBe(true);
      expect(bytesEqual(await through(decryptStream({ keyring: oldKey }), m, 333), plaintext)).toBe(true);
      expect(bytesEqual((await decryptRange(m, { keyring: oldKey, start: 499, end: 1501 })).plaintext, plaintext.subarray(499, 1501))).toBe(true);
      const r = await rewrap(m, { keyring: oldKey, to: newKey });
      expect(r.ciphertext.length).toBe(m.length);
      expect(bytesEqual(body(r.ciphertext), body(m))).toBe(true);
      expect(bytesEqual((await decrypt(r.ciphertext, { keyring: newKey })).plaintext, plaintext)).toBe(true);
    }
  });

  it('the salt is authenticated: a suite 3 header with its salt changed, or relabelled suite 1, fails the header tag', async () => {
    const { ciphertext } = await encrypt(pattern(300), { keyring: oldKey, frameLength: 100 });
    const r = (await rewrap(ciphertext, { keyring: oldKey, to: newKey })).ciphertext;
    const headerEnd = readPreamble(r)!;
    // The salt is the last 8 bytes of the header body.
    const salted = Uint8Array.from(r, (b, i) => (i === headerEnd - 1 ? b ^ 1 : b));
    expect(code(await thrown(() => decrypt(salted, { keyring: newKey })))).toBe('ERR_DECRYPTION_FAILED');
    expect(code(await thrown(() => rewrap(salted, { keyring: newKey, to: oldKey })))).toBe('ERR_DECRYPTION_FAILED');
    // Relabelled as suite 1 without its salt (a valid suite 1 layout): the tag was made with the salted nonce.
    const items = headerEncoder.decode(r.subarray(8, headerEnd)) as unknown[];
    items[0] = 1;
    items.pop();
    const bodyBytes = headerEncoder.encode(items) as Uint8Array;
    const pre = Uint8Array.of(0x53, 0x42, 0x58, 1, 0, 0, 0, 0);
    new DataView(pre.buffer).setUint32(4, bodyBytes.length);
    const downgraded = concat(pre, bodyBytes, r.subarray(headerEnd));
    expect(code(await thrown(() => decrypt(downgraded, { keyring: newKey })))).toBe('ERR_DECRYPTION_FAILED');
  });

  it('splices the new EDKs and salt into the old header bytes: the same bytes as encoding the new header', async () => {
    // Every valid vector (suite 1 and 3, contexts, RSA, X-Wing, reserved keys) and random messages.
    const { namespace, keys } = loadVectorKeys();
    const base = loadVectors().filter((v) => v.expect === 'success' && v.keyring.every((k) => keys[k]));
    expect(base.length).toBeGreaterThan(8);
    const targets: Keyring[] = [newKey, new MultiKeyring({ generator: newKey, children: [otherKey, testKeyring('n'.repeat(300), 6)] })];
    for (const v of base) {
      const message = new Uint8Array(Buffer.from(v.ciphertext, 'base64'));
      // Signed messages are not rewrapped (test/signed.test.ts); suites 1 and 3 are.
      if ((await readHeader(message)).suite.signed) continue;
      const raw = (name: string): Keyring => new RawAesKeyring({ namespace, name, wrappingKey: fromHex(keys[name]!) });
      const keyring = v.keyring.length === 1 ? raw(v.keyring[0]!) : new MultiKeyring({ generator: raw(v.keyring[0]!), children: v.keyring.slice(1).map(raw) });
      for (const to of targets) {
        for (const mode of ['replace', 'add'] as const) {
          const r = await rewrap(message, { keyring, to, mode, maxEncryptedDataKeys: 255, ...v.decryptOptions });
          const end = readPreamble(r.ciphertext)!;
          expect(toHex(r.ciphertext.subarray(0, end)), `${v.name} ${mode}`).toBe(toHex(encodeHeader(r.header)));
        }
      }
    }
  });

  it('finds the data key as decrypt does (SPEC §8.3): a bad EDK before a good one is passed over', async () => {
    // Two EDKs for the same key: the first wraps a key that fails the commitment, the second the
    // message's key; and a message whose first EDK (another key's) is tampered.
    const v = loadVectors().find((x) => x.name === 'keys-same-key-mismatch-then-good')!;
    const keys = loadVectorKeys();
    const alpha = new RawAesKeyring({ namespace: keys.namespace, name: 'alpha', wrappingKey: fromHex(keys.keys.alpha!) });
    const beta = new RawAesKeyring({ namespace: keys.namespace, name: 'beta', wrappingKey: fromHex(keys.keys.beta!) });
    const message = new Uint8Array(Buffer.from(v.ciphertext, 'base64'));
    const r = await rewrap(message, { keyring: alpha, to: newKey });
    expect(bytesEqual((await decrypt(r.ciphertext, { keyring: newKey })).plaintext, new Uint8Array(Buffer.from(v.plaintext!, 'base64')))).toBe(true);
    const f = loadVectors().find((x) => x.name === 'keys-failure-then-good')!;
    const failing = new Uint8Array(Buffer.from(f.ciphertext, 'base64'));
    const both = new MultiKeyring({ generator: alpha, children: [beta] });
    const r2 = await rewrap(failing, { keyring: both, to: newKey });
    expect(bytesEqual((await decrypt(r2.ciphertext, { keyring: newKey })).plaintext, new Uint8Array(Buffer.from(f.plaintext!, 'base64')))).toBe(true);
    // Only the bad EDK's key: the same code as decrypt.
    expect(code(await thrown(() => rewrap(failing, { keyring: alpha, to: newKey })))).toBe('ERR_KEYRING');
  });

  it('rewrites only suites 1 and 3 (into 3): every other known suite, a signed one included, is refused', () => {
    const known = [];
    for (let id = 0; id < 256; id++) {
      try {
        known.push(suiteById(id));
      } catch {
        // not a suite of this release
      }
    }
    expect(known.map((s) => s.id)).toEqual(expect.arrayContaining([1, 3]));
    for (const suite of known) expect(rewrappedSuite(suite)?.id, `suite ${suite.id}`).toBe(suite.id === 1 || suite.id === 3 ? 3 : undefined);
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
    expect(code(await thrown(() => rewrap('x' as never, { keyring: oldKey, to: newKey })))).toBe('TypeError');
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
          const r = await rewrap(ciphertext, { keyring: oldKey, to: newKey, mode, verifyFrames: true });
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
        const r = await rewrap(ciphertext, { keyring: kinds[from]!, to: kinds[to]!, expectedEncryptionContext: context });
        expect(bytesEqual((await decrypt(r.ciphertext, { keyring: kinds[to]!, expectedEncryptionContext: context })).plaintext, plaintext), `${from} -> ${to}`).toBe(true);
        expect(bytesEqual(body(r.ciphertext), body(ciphertext))).toBe(true);
        // Suite 1 -> 3 adds the 9-byte header salt item; then the same kind and key keeps the
        // header's length (the in-place fast path of rewrapFile).
        const again = await rewrap(r.ciphertext, { keyring: kinds[to]!, to: kinds[to]! });
        expect(again.ciphertext.length, `${from} -> ${to}`).toBe(r.ciphertext.length);
        if (from === to) expect(r.ciphertext.length, `${from} -> ${to}`).toBe(ciphertext.length + 9);
      }
    }, 60_000);
  }
});
