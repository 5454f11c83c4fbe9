import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { decrypt, encrypt, encryptStream } from '../../src/index.js';
import { SealboxError } from '../../src/errors.js';
import { DEFAULT_SUITE, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../../src/crypto/suites.js';
import { getAeadBackend } from '../../src/crypto/backend.js';
import type { Keyring, UnwrapRequest, WrapRequest, WrapResult } from '../../src/keyring/keyring.js';
import { CachingMaterialsManager } from '../../src/materials/caching.js';
import type { CachingMaterialsManagerOptions } from '../../src/materials/caching.js';
import { startEncryption } from '../../src/message/encrypt-session.js';
import { bytesEqual, pattern, testKeyring, thrown } from '../helpers/keys.js';

/** A real raw AES keyring that counts calls and keeps every data key it handed out (to see zeroing). */
class CountingKeyring implements Keyring {
  wraps = 0;
  unwraps = 0;
  readonly issued: Uint8Array[] = [];
  delayMs = 0;
  fail = false;
  readonly #inner = testKeyring('counted', 3);

  async wrapKey(request: WrapRequest): Promise<WrapResult> {
    this.wraps++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.fail) throw new SealboxError('ERR_KEYRING', 'key service down');
    const result = await this.#inner.wrapKey(request);
    this.issued.push(result.dataKey);
    return result;
  }

  async unwrapKey(request: UnwrapRequest): Promise<Uint8Array | null> {
    this.unwraps++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const key = await this.#inner.unwrapKey(request);
    if (key) this.issued.push(key);
    return key;
  }
}

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

function setup(options: Partial<CachingMaterialsManagerOptions> = {}) {
  const keyring = new CountingKeyring();
  let now = 1_000_000;
  const cmm = new CachingMaterialsManager({ keyring, capacity: 10, maxAgeMs: 60_000, now: () => now, ...options });
  return { keyring, cmm, advance: (ms: number) => { now += ms; } };
}

/** `plaintextLength: null` means a stream of unknown length. */
const request = (context: Record<string, string> = { a: '1' }, plaintextLength: number | null = 10) =>
  ({ suite: DEFAULT_SUITE, encryptionContext: context, plaintextLength: plaintextLength ?? undefined });

describe('CachingMaterialsManager: encrypt', () => {
  it('signed suite: every message gets its own data key and signing key (bypass); decrypt caches and still verifies each signature', async () => {
    const { keyring, cmm } = setup();
    const data = pattern(100);
    const outs = [];
    for (let i = 0; i < 3; i++) outs.push(await encrypt(data, { materialsManager: cmm, encryptionContext: { a: '1' }, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 }));
    expect(keyring.wraps).toBe(3);
    expect(cmm.stats).toMatchObject({ hits: 0, misses: 0, bypassed: 3, size: 0 });
    expect(new Set(outs.map((o) => o.header.encryptionContext['sealbox:ecdsa-p384-public-key'])).size).toBe(3);
    // Decrypt: the second decrypt of a message is a hit, and a hit still checks the signature.
    for (const o of outs) expect(bytesEqual((await decrypt(o.ciphertext, { materialsManager: cmm })).plaintext, data)).toBe(true);
    await decrypt(outs[0]!.ciphertext, { materialsManager: cmm });
    expect(cmm.stats.hits).toBe(1);
    const forged = outs[0]!.ciphertext.slice();
    forged[forged.length - 1]! ^= 1;
    expect(((await thrown(() => decrypt(forged, { materialsManager: cmm }))) as SealboxError).code).toBe('ERR_DECRYPTION_FAILED');
    expect(cmm.stats.hits).toBe(2);
  });

  it('reuses one data key per context; another context gets another key', async () => {
    const { keyring, cmm } = setup();
    const data = pattern(100);
    const outs = [];
    for (let i = 0; i < 5; i++) outs.push(await encrypt(data, { materialsManager: cmm, encryptionContext: { a: '1' } }));
    await encrypt(data, { materialsManager: cmm, encryptionContext: { a: '2' } });
    expect(keyring.wraps).toBe(2);
    expect(cmm.stats).toMatchObject({ hits: 4, misses: 2 });
    // Same EDKs, different message ids; each decrypts with the plain keyring.
    expect(bytesEqual(outs[0]!.header.encryptedDataKeys[0]!.ciphertext, outs[4]!.header.encryptedDataKeys[0]!.ciphertext)).toBe(true);
    for (const o of outs) expect(bytesEqual((await decrypt(o.ciphertext, { keyring: testKeyring('counted', 3) })).plaintext, data)).toBe(true);
  });

  it('a message\'s header is its own: changing one header\'s EDK bytes leaves the cache and the next message intact', async () => {
    const { cmm } = setup();
    const first = await encrypt(pattern(50), { materialsManager: cmm, encryptionContext: { a: '1' } });
    first.header.encryptedDataKeys[0]!.ciphertext.fill(0);
    first.header.encryptedDataKeys[0]!.providerInfo.fill(0);
    const second = await encrypt(pattern(50), { materialsManager: cmm, encryptionContext: { a: '1' } });
    expect(cmm.stats).toMatchObject({ hits: 1, misses: 1 });
    expect(bytesEqual((await decrypt(second.ciphertext, { keyring: testKeyring('counted', 3) })).plaintext, pattern(50))).toBe(true);
    expect(bytesEqual((await decrypt(first.ciphertext, { keyring: testKeyring('counted', 3) })).plaintext, pattern(50))).toBe(true);
  });

  it('max messages: a key protects at most that many messages, then is zeroed and replaced', async () => {
    const { keyring, cmm } = setup({ maxMessagesEncrypted: 3 });
    for (let i = 0; i < 10; i++) await cmm.getEncryptionMaterials(request());
    expect(keyring.wraps).toBe(4);
    expect(keyring.issued.slice(0, 3).every(isZero)).toBe(true);
    expect(isZero(keyring.issued[3]!)).toBe(false);
  });

  it('max bytes with known lengths; a message longer than the limit bypasses the cache', async () => {
    const { keyring, cmm } = setup({ maxBytesEncrypted: 100 });
    await cmm.getEncryptionMaterials(request({ a: '1' }, 60));
    await cmm.getEncryptionMaterials(request({ a: '1' }, 40)); // exactly 100: still the same key
    expect(keyring.wraps).toBe(1);
    await cmm.getEncryptionMaterials(request({ a: '1' }, 1));
    expect(keyring.wraps).toBe(2);
    await cmm.getEncryptionMaterials(request({ a: '1' }, 101));
    await cmm.getEncryptionMaterials(request({ a: '1' }, 101));
    expect(keyring.wraps).toBe(4);
    expect(cmm.stats.bypassed).toBe(2);
  });

  it('max age: an expired key is not used again and is zeroed, even if never asked for again', async () => {
    const { keyring, cmm, advance } = setup({ maxAgeMs: 1_000 });
    const m1 = await cmm.getEncryptionMaterials(request({ a: '1' }));
    await cmm.getEncryptionMaterials(request({ b: '1' }));
    advance(999);
    await cmm.getEncryptionMaterials(request({ a: '1' }));
    expect(keyring.wraps).toBe(2);
    advance(1);
    const m2 = await cmm.getEncryptionMaterials(request({ a: '1' }));
    expect(keyring.wraps).toBe(3);
    expect(bytesEqual(m1.dataKey, m2.dataKey)).toBe(false);
    // {b} was swept on that call: its key is zeroed although nobody asked for it.
    expect(keyring.issued.slice(0, 2).every(isZero)).toBe(true);
    // The copy handed out earlier is untouched.
    expect(isZero(m1.dataKey)).toBe(false);
  });

  it('max age is measured on a monotonic clock: the system clock stepped back does not extend a key\'s life', async () => {
    // Real time runs on (performance.now, mocked so the test takes no hour); the wall clock
    // (Date.now) is stepped back one hour, as NTP or an administrator may do.
    let monotonic = 5_000;
    let wall = Date.UTC(2026, 0, 1);
    const mono = vi.spyOn(performance, 'now').mockImplementation(() => monotonic);
    const date = vi.spyOn(Date, 'now').mockImplementation(() => wall);
    try {
      const keyring = new CountingKeyring();
      const cmm = new CachingMaterialsManager({ keyring, capacity: 10, maxAgeMs: 60_000 });
      await cmm.getEncryptionMaterials(request());
      wall -= 3_600_000;
      for (let minute = 1; minute <= 60; minute++) {
        monotonic += 60_000;
        wall += 60_000;
        await cmm.getEncryptionMaterials(request());
      }
      expect(keyring.wraps).toBe(61);
      // And a wall clock stepped forward does not cut entries short.
      wall += 10 * 3_600_000;
      await cmm.getEncryptionMaterials(request());
      expect(keyring.wraps).toBe(61);
    } finally {
      mono.mockRestore();
      date.mockRestore();
    }
  });

  it('capacity: the least recently used entry is evicted and zeroed', async () => {
    const { keyring, cmm } = setup({ capacity: 2 });
    await cmm.getEncryptionMaterials(request({ k: 'A' }));
    await cmm.getEncryptionMaterials(request({ k: 'B' }));
    await cmm.getEncryptionMaterials(request({ k: 'A' })); // A is now most recent
    await cmm.getEncryptionMaterials(request({ k: 'C' })); // evicts B
    expect(keyring.wraps).toBe(3);
    expect(isZero(keyring.issued[1]!)).toBe(true);
    expect(isZero(keyring.issued[0]!)).toBe(false);
    await cmm.getEncryptionMaterials(request({ k: 'A' }));
    expect(keyring.wraps).toBe(3);
    await cmm.getEncryptionMaterials(request({ k: 'B' }));
    expect(keyring.wraps).toBe(4);
    expect(cmm.stats.size).toBe(2);
  });

  it('100 concurrent misses for one entry make one keyring call', async () => {
    const { keyring, cmm } = setup();
    keyring.delayMs = 20;
    const data = pattern(50);
    const results = await Promise.all(Array.from({ length: 100 }, () => encrypt(data, { materialsManager: cmm, encryptionContext: { a: '1' } })));
    expect(keyring.wraps).toBe(1);
    expect(new Set(results.map((r) => Buffer.from(r.header.messageId).toString('hex'))).size).toBe(100);
  });

  it('concurrent misses beyond max messages: one call per max-messages batch', async () => {
    const { keyring, cmm } = setup({ maxMessagesEncrypted: 10 });
    keyring.delayMs = 5;
    await Promise.all(Array.from({ length: 35 }, () => cmm.getEncryptionMaterials(request())));
    expect(keyring.wraps).toBe(4);
  });

  it('a failed miss reaches every waiter once and is not cached', async () => {
    const { keyring, cmm } = setup();
    keyring.delayMs = 10;
    keyring.fail = true;
    const settled = await Promise.allSettled(Array.from({ length: 20 }, () => cmm.getEncryptionMaterials(request())));
    expect(settled.every((s) => s.status === 'rejected' && (s.reason as SealboxError).code === 'ERR_KEYRING')).toBe(true);
    expect(keyring.wraps).toBe(1);
    keyring.fail = false;
    await cmm.getEncryptionMaterials(request());
    expect(keyring.wraps).toBe(2);
  });

  it('capacity 1 under concurrent misses for different contexts: every caller gets a live key', async () => {
    const { cmm } = setup({ capacity: 1 });
    const data = pattern(100, 4);
    const outs = await Promise.all(Array.from({ length: 30 }, (_, i) => encrypt(data, { materialsManager: cmm, encryptionContext: { n: String(i % 10) } })));
    for (const o of outs) expect(bytesEqual((await decrypt(o.ciphertext, { keyring: testKeyring('counted', 3) })).plaintext, data)).toBe(true);
    const decrypted = await Promise.all(outs.map((o) => decrypt(o.ciphertext, { materialsManager: cmm })));
    expect(decrypted.every((d) => bytesEqual(d.plaintext, data))).toBe(true);
  });

  it('clear() covers misses in flight: a key fetched before it is not cached, and requests after it make their own call', async () => {
    const { keyring, cmm } = setup();
    keyring.delayMs = 20;
    const before = cmm.getEncryptionMaterials(request());
    await new Promise((r) => setTimeout(r, 5));
    cmm.clear(); // "call clear() when credentials are revoked"
    // Asked after clear(): does not wait for (and share) the key fetched before it.
    const after = cmm.getEncryptionMaterials(request());
    const [m1, m2] = await Promise.all([before, after]);
    expect(keyring.wraps).toBe(2);
    expect(bytesEqual(m1.dataKey, m2.dataKey)).toBe(false);
    // The request in flight got its key; the cache's own copy of it is zeroed, not stored.
    expect(isZero(m1.dataKey)).toBe(false);
    expect(isZero(keyring.issued[0]!)).toBe(true);
    expect(cmm.stats.size).toBe(1);
    const m3 = await cmm.getEncryptionMaterials(request());
    expect(keyring.wraps).toBe(2);
    expect(bytesEqual(m3.dataKey, m2.dataKey)).toBe(true);
  });

  it('zeroing a cached key never corrupts a message in flight', async () => {
    const { cmm } = setup();
    const data = pattern(5000, 9);
    const materials = await cmm.getEncryptionMaterials(request({ a: '1' }, data.length));
    cmm.clear();
    const session = await startEncryption(materials, 1024, getAeadBackend());
    const parts: Uint8Array[] = [session.headerBytes];
    for (let i = 0; i < 5; i++) {
      const final = i === 4;
      const chunk = data.subarray(i * 1024, final ? data.length : (i + 1) * 1024);
      const sealed = await session.sealFrame(i, final, chunk);
      parts.push(final ? Uint8Array.of(1, 0, 0, (chunk.length >> 8) & 0xff, chunk.length & 0xff) : Uint8Array.of(0), sealed);
    }
    const bytes = Buffer.concat(parts);
    expect(bytesEqual((await decrypt(bytes, { keyring: testKeyring('counted', 3) })).plaintext, data)).toBe(true);
  });

  it('unknown length: bytes are counted frame by frame; a frame past the limit fails with ERR_LIMIT_EXCEEDED', async () => {
    const { keyring, cmm } = setup({ maxBytesEncrypted: 1000 });
    const a = await cmm.getEncryptionMaterials(request({ a: '1' }, null));
    const b = await cmm.getEncryptionMaterials(request({ a: '1' }, null));
    expect(keyring.wraps).toBe(1);
    a.onPlaintext!(600);
    b.onPlaintext!(400); // 1000: at the limit
    const err = await thrown(() => b.onPlaintext!(1));
    expect((err as SealboxError).code).toBe('ERR_LIMIT_EXCEEDED');
    // Through the engine: a stream's frames are refused once the key is used up.
    const session = await startEncryption(a, 100, getAeadBackend());
    const sealErr = await thrown(() => session.sealFrame(0, false, new Uint8Array(100)));
    expect((sealErr as SealboxError).code).toBe('ERR_LIMIT_EXCEEDED');
    // The used-up key is not handed out again.
    await cmm.getEncryptionMaterials(request({ a: '1' }, null));
    expect(keyring.wraps).toBe(2);
  });

  it('a message that turns out longer than its declared length is counted beyond it too', async () => {
    const { cmm } = setup({ maxBytesEncrypted: 1000 });
    const m = await cmm.getEncryptionMaterials(request({ a: '1' }, 100));
    m.onPlaintext!(60);
    m.onPlaintext!(40); // the declared 100
    m.onPlaintext!(900); // 1000 in all: at the limit
    const err = await thrown(() => m.onPlaintext!(1));
    expect((err as SealboxError).code).toBe('ERR_LIMIT_EXCEEDED');
  });

  it('Web Streams of unknown length share the cached key and fail once it would carry more than max bytes', async () => {
    const { keyring, cmm } = setup({ maxBytesEncrypted: 10_000 });
    const run = async (length: number): Promise<Uint8Array> => {
      const source = new Blob([pattern(length, length) as Uint8Array<ArrayBuffer>]).stream();
      return new Uint8Array(await new Response(source.pipeThrough(encryptStream({ materialsManager: cmm, frameLength: 1024 }))).arrayBuffer());
    };
    const first = await run(6_000);
    expect(bytesEqual((await decrypt(first, { keyring: testKeyring('counted', 3) })).plaintext, pattern(6_000, 6_000))).toBe(true);
    const err = await thrown(() => run(6_000)); // 12,000 bytes under one key: refused mid-stream
    expect((err as SealboxError).code).toBe('ERR_LIMIT_EXCEEDED');
    expect(keyring.wraps).toBe(1);
    // The used-up key is retired; the next stream gets a fresh one.
    await run(3_000);
    expect(keyring.wraps).toBe(2);
  });

  it('a key whose bytes are used up exactly is not handed to a stream of unknown length (it would fail at its first byte): the stream gets a fresh key', async () => {
    const { keyring, cmm } = setup({ maxBytesEncrypted: 10 });
    const run = async (length: number): Promise<Uint8Array> => {
      const source = new Blob([pattern(length, length) as Uint8Array<ArrayBuffer>]).stream();
      return new Uint8Array(await new Response(source.pipeThrough(encryptStream({ materialsManager: cmm, frameLength: 1024, encryptionContext: { a: '1' } }))).arrayBuffer());
    };
    await encrypt(pattern(10), { materialsManager: cmm, encryptionContext: { a: '1' } }); // all 10 bytes of the key
    expect(keyring.wraps).toBe(1);
    const out = await run(5);
    expect(bytesEqual((await decrypt(out, { keyring: testKeyring('counted', 3) })).plaintext, pattern(5, 5))).toBe(true);
    expect(keyring.wraps).toBe(2);
  });

  it('maxBytesEncrypted 0: a stream of unknown length bypasses the cache (a cached key may protect no byte), as a non-empty one-shot message does', async () => {
    const { keyring, cmm } = setup({ maxBytesEncrypted: 0 });
    const run = async (length: number): Promise<Uint8Array> => {
      const source = new Blob([pattern(length, length) as Uint8Array<ArrayBuffer>]).stream();
      return new Uint8Array(await new Response(source.pipeThrough(encryptStream({ materialsManager: cmm, frameLength: 1024 }))).arrayBuffer());
    };
    for (const length of [1, 5_000]) {
      const out = await run(length); // was ERR_LIMIT_EXCEEDED at the first byte, after a keyring call
      expect(bytesEqual((await decrypt(out, { keyring: testKeyring('counted', 3) })).plaintext, pattern(length, length))).toBe(true);
    }
    expect(keyring.wraps).toBe(2);
    expect(cmm.stats).toMatchObject({ hits: 0, misses: 0, bypassed: 2, size: 0 });
    // A bypassed request's materials carry no byte counter at all.
    expect((await cmm.getEncryptionMaterials(request({ a: '1' }, null))).onPlaintext).toBeUndefined();
    // An empty one-shot message protects no byte: it may still share a cached key.
    await encrypt(new Uint8Array(0), { materialsManager: cmm, encryptionContext: { a: '1' } });
    await encrypt(new Uint8Array(0), { materialsManager: cmm, encryptionContext: { a: '1' } });
    expect(cmm.stats).toMatchObject({ hits: 1, misses: 1, bypassed: 3, size: 1 });
  });

  it('property: no handed-out key exceeds max messages, max bytes or max age', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({
        ctx: fc.integer({ min: 0, max: 2 }),
        known: fc.boolean(),
        length: fc.integer({ min: 0, max: 600 }),
        advance: fc.constantFrom(0, 0, 0, 250, 500, 999, 1),
      }), { maxLength: 60 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 3 }),
      async (ops, maxMessages, capacity) => {
        const maxBytes = 1000;
        const maxAge = 1000;
        const keyring = new CountingKeyring();
        let now = 0;
        const cmm = new CachingMaterialsManager({ keyring, capacity, maxAgeMs: maxAge, maxMessagesEncrypted: maxMessages, maxBytesEncrypted: maxBytes, now: () => now });
        const use = new Map<string, { messages: number; bytes: number; first: number }>();
        for (const op of ops) {
          now += op.advance;
          const m = await cmm.getEncryptionMaterials(request({ c: String(op.ctx) }, op.known ? op.length : null));
          const id = Buffer.from(m.dataKey).toString('hex');
          const u = use.get(id) ?? { messages: 0, bytes: 0, first: now };
          u.messages++;
          if (op.known) u.bytes += op.length;
          else {
            try {
              m.onPlaintext?.(op.length);
              u.bytes += op.length;
            } catch (err) {
              expect((err as SealboxError).code).toBe('ERR_LIMIT_EXCEEDED');
            }
          }
          use.set(id, u);
          expect(u.messages).toBeLessThanOrEqual(maxMessages);
          expect(u.bytes).toBeLessThanOrEqual(maxBytes);
          expect(now - u.first).toBeLessThan(maxAge);
        }
      },
    ), { numRuns: 200 });
  });
});

describe('CachingMaterialsManager: decrypt', () => {
  it('caches unwrapped keys by EDKs and context; concurrent misses make one call', async () => {
    const { keyring, cmm } = setup();
    const data = pattern(300);
    const m1 = await encrypt(data, { keyring: testKeyring('counted', 3), encryptionContext: { a: '1' } });
    const m2 = await encrypt(data, { keyring: testKeyring('counted', 3), encryptionContext: { a: '1' } });
    keyring.delayMs = 10;
    const outs = await Promise.all(Array.from({ length: 50 }, () => decrypt(m1.ciphertext, { materialsManager: cmm })));
    expect(outs.every((o) => bytesEqual(o.plaintext, data))).toBe(true);
    expect(keyring.unwraps).toBe(1);
    await decrypt(m2.ciphertext, { materialsManager: cmm });
    expect(keyring.unwraps).toBe(2);
  });

  it('expires decrypt entries after max age and zeroes them', async () => {
    const { keyring, cmm, advance } = setup({ maxAgeMs: 500 });
    const m = await encrypt(pattern(10), { keyring: testKeyring('counted', 3) });
    await decrypt(m.ciphertext, { materialsManager: cmm });
    advance(500);
    await decrypt(m.ciphertext, { materialsManager: cmm });
    expect(keyring.unwraps).toBe(2);
    expect(isZero(keyring.issued[0]!)).toBe(true);
  });

  it('a forged copy (one commitment byte changed) that misses first fails alone: concurrent decrypts of the real message succeed on the same keyring call', async () => {
    const { keyring, cmm } = setup();
    const data = pattern(300);
    const real = await encrypt(data, { keyring: testKeyring('counted', 3), encryptionContext: { a: '1' } });
    // Same EDKs and context (same cache entry), another key commitment.
    const forged = real.ciphertext.slice();
    const at = Buffer.from(forged).indexOf(Buffer.from(real.header.commitment));
    expect(at).toBeGreaterThan(0);
    forged[at]! ^= 1;
    keyring.delayMs = 10;
    const settled = await Promise.allSettled([
      decrypt(forged, { materialsManager: cmm }),
      ...Array.from({ length: 5 }, () => decrypt(real.ciphertext, { materialsManager: cmm })),
      decrypt(forged, { materialsManager: cmm }),
    ]);
    expect(settled.map((s) => (s.status === 'fulfilled' ? 'ok' : (s.reason as SealboxError).code)))
      .toEqual(['ERR_COMMITMENT_MISMATCH', 'ok', 'ok', 'ok', 'ok', 'ok', 'ERR_COMMITMENT_MISMATCH']);
    for (const s of settled.slice(1, 6)) expect(bytesEqual((s as PromiseFulfilledResult<{ plaintext: Uint8Array }>).value.plaintext, data)).toBe(true);
    // One unwrap for all seven; the real message's key is cached from it.
    expect(keyring.unwraps).toBe(1);
    expect(bytesEqual((await decrypt(real.ciphertext, { materialsManager: cmm })).plaintext, data)).toBe(true);
    expect(keyring.unwraps).toBe(1);
    expect(cmm.stats.size).toBe(1);
  });

  it('a failed decrypt miss that unwrapped nothing reaches every waiter once and is not cached', async () => {
    const m = await encrypt(pattern(10), { keyring: testKeyring('counted', 3) });
    let unwraps = 0;
    const down: Keyring = {
      wrapKey: (r) => testKeyring('counted', 3).wrapKey(r),
      async unwrapKey() {
        unwraps++;
        await new Promise((r) => setTimeout(r, 10));
        throw new SealboxError('ERR_KEYRING', 'key service down');
      },
    };
    const cmm = new CachingMaterialsManager({ keyring: down, capacity: 10, maxAgeMs: 60_000 });
    const settled = await Promise.allSettled(Array.from({ length: 10 }, () => decrypt(m.ciphertext, { materialsManager: cmm })));
    expect(settled.every((s) => s.status === 'rejected' && (s.reason as SealboxError).code === 'ERR_KEYRING')).toBe(true);
    expect(unwraps).toBe(1);
    expect(cmm.stats.size).toBe(0);
  });

  it('clear() covers a decrypt miss in flight: its key is not cached', async () => {
    const { keyring, cmm } = setup();
    const m = await encrypt(pattern(10), { keyring: testKeyring('counted', 3) });
    keyring.delayMs = 20;
    const before = decrypt(m.ciphertext, { materialsManager: cmm });
    await new Promise((r) => setTimeout(r, 5));
    cmm.clear();
    expect(bytesEqual((await before).plaintext, pattern(10))).toBe(true);
    expect(cmm.stats.size).toBe(0);
    expect(isZero(keyring.issued[0]!)).toBe(true);
    await decrypt(m.ciphertext, { materialsManager: cmm });
    expect(keyring.unwraps).toBe(2);
    expect(cmm.stats.size).toBe(1);
  });

  it('a commitment check that throws gets a copy of the cached key that is zeroed, on a hit and as a waiter on a failed miss', async () => {
    const { keyring, cmm } = setup();
    const m = await encrypt(pattern(10), { keyring: testKeyring('counted', 3), encryptionContext: { a: '1' } });
    const { suite, encryptionContext, encryptedDataKeys } = m.header;
    const seen: Uint8Array[] = [];
    const throwing = async (dataKey: Uint8Array): Promise<boolean> => {
      seen.push(dataKey);
      throw new Error('check failed');
    };
    // A waiter on a miss whose own request's check refused every key: it checks the keys that
    // call unwrapped itself, and its check throws.
    keyring.delayMs = 10;
    const settled = await Promise.allSettled([
      cmm.getDecryptionMaterials({ suite, encryptionContext, encryptedDataKeys, isMessageKey: async () => false }),
      cmm.getDecryptionMaterials({ suite, encryptionContext, encryptedDataKeys, isMessageKey: throwing }),
    ]);
    expect(settled.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok'))).toEqual([expect.stringMatching(/commitment/), 'check failed']);
    expect(seen).toHaveLength(1);
    // A hit: the cached key's copy goes to the check, which throws.
    keyring.delayMs = 0;
    await decrypt(m.ciphertext, { materialsManager: cmm });
    expect(cmm.stats.size).toBe(1);
    await expect(cmm.getDecryptionMaterials({ suite, encryptionContext, encryptedDataKeys, isMessageKey: throwing })).rejects.toThrow('check failed');
    expect(seen).toHaveLength(2);
    for (const copy of seen) expect(isZero(copy)).toBe(true);
    // The cache's own key is intact: the message still decrypts from it.
    const unwraps = keyring.unwraps;
    expect(bytesEqual((await decrypt(m.ciphertext, { materialsManager: cmm })).plaintext, pattern(10))).toBe(true);
    expect(keyring.unwraps).toBe(unwraps);
  });

  it('a header with the cached message\'s suite, context and commitment but other EDKs misses: its keyring decides, not the cache', async () => {
    const { keyring, cmm } = setup();
    const data = pattern(50);
    const m = await encrypt(data, { keyring: testKeyring('counted', 3), encryptionContext: { a: '1' } });
    await decrypt(m.ciphertext, { materialsManager: cmm });
    expect(keyring.unwraps).toBe(1);
    const { suite, encryptionContext, encryptedDataKeys } = m.header;
    const edk = encryptedDataKeys[0]!;
    const variants = [
      [{ ...edk, ciphertext: edk.ciphertext.map((b, i) => (i === 0 ? b ^ 1 : b)) }], // damaged: the keyring cannot open it
      [{ ...edk, providerId: 'other' }], // another key's EDK: "not mine"
      [edk, edk], // the same EDK twice
    ];
    const outcomes: string[] = [];
    for (const edks of variants) {
      // The cached key would pass this check; the cache must not be asked for it.
      const request = { suite, encryptionContext, encryptedDataKeys: edks, isMessageKey: async () => true };
      outcomes.push(await cmm.getDecryptionMaterials(request).then((mat) => (mat.dataKey.fill(0), 'key'), (err: SealboxError) => err.code));
    }
    expect(outcomes).toEqual(['ERR_KEYRING', 'ERR_NO_MATCHING_KEY', 'key']);
    expect(keyring.unwraps).toBe(1 + variants.length);
    expect(cmm.stats.hits).toBe(0);
  });

  it('two managers over different keyrings never share a key, whatever the context', async () => {
    const a = new CachingMaterialsManager({ keyring: testKeyring('alice', 1), capacity: 4, maxAgeMs: 60_000 });
    const b = new CachingMaterialsManager({ keyring: testKeyring('bob', 2), capacity: 4, maxAgeMs: 60_000 });
    const data = pattern(20);
    const fromA = await encrypt(data, { materialsManager: a, encryptionContext: { tenant: 'acme' } });
    const fromB = await encrypt(data, { materialsManager: b, encryptionContext: { tenant: 'acme' } });
    expect(fromB.header.encryptedDataKeys.map((e) => new TextDecoder().decode(e.providerInfo.subarray(0, 3)))).toEqual(['bob']);
    // Decrypt through the other's (warm) cache: its keyring has no EDK, and the cache has no key for it.
    await decrypt(fromA.ciphertext, { materialsManager: a });
    const err = await thrown(() => decrypt(fromA.ciphertext, { materialsManager: b }));
    expect((err as SealboxError).code).toBe('ERR_NO_MATCHING_KEY');
    expect(bytesEqual((await decrypt(fromB.ciphertext, { materialsManager: b })).plaintext, data)).toBe(true);
  });

  it('a message with no matching key is not cached as a success', async () => {
    const { cmm } = setup();
    const m = await encrypt(pattern(10), { keyring: testKeyring('other', 99) });
    for (let i = 0; i < 2; i++) {
      const err = await thrown(() => decrypt(m.ciphertext, { materialsManager: cmm }));
      expect((err as SealboxError).code).toBe('ERR_NO_MATCHING_KEY');
    }
  });
});

describe('CachingMaterialsManager: options', () => {
  it('refuses bad limits', () => {
    const keyring = testKeyring();
    expect(() => new CachingMaterialsManager({ keyring, capacity: 0, maxAgeMs: 1 })).toThrow(RangeError);
    expect(() => new CachingMaterialsManager({ keyring, capacity: 1, maxAgeMs: 0 })).toThrow(RangeError);
    expect(() => new CachingMaterialsManager({ keyring, capacity: 1, maxAgeMs: 1, maxMessagesEncrypted: 2 ** 32 + 1 })).toThrow(RangeError);
    expect(() => new CachingMaterialsManager({ keyring, capacity: 1, maxAgeMs: 1, maxBytesEncrypted: -1 })).toThrow(RangeError);
    expect(() => new CachingMaterialsManager({ capacity: 1, maxAgeMs: 1 })).toThrow(TypeError);
  });
});
