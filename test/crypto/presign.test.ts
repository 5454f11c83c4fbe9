import { createECDH, createHash, createPublicKey, verify } from 'node:crypto';
import { availableParallelism } from 'node:os';
import * as nodeCrypto from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENTRY_BYTES, PresignPool, decodeEntry, makeEntries, signDigest } from '../../src/crypto/presign-node.js';
import { createMessageSigner } from '../../src/crypto/signature.js';
import { isCanonicalSignature } from '../../src/crypto/signature-policy.js';

// The node backend's signatures with both scalar multiplications made ahead
// (src/crypto/presign-node.ts): s = k⁻¹ (z + r·d) mod n on the caller's thread.

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const SPKI_PREFIX = '3046301006072a8648ce3d020106052b81040022033200';

/** Raw ECDSA P-384 / SHA-384 verification by OpenSSL (either s). */
function opensslVerifies(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(SPKI_PREFIX + hex(publicKey), 'hex'), format: 'der', type: 'spki' });
  return verify('sha384', message, { key, dsaEncoding: 'ieee-p1363' }, signature);
}

/** An entry from a known key d and nonce k, its points computed by OpenSSL. */
function entryOf(d: string, k: string): Uint8Array {
  const key = createECDH('secp384r1');
  key.setPrivateKey(Buffer.from(d, 'hex'));
  const nonce = createECDH('secp384r1');
  nonce.setPrivateKey(Buffer.from(k, 'hex'));
  const out = new Uint8Array(ENTRY_BYTES);
  out.set(bytes(d.padStart(96, '0')), 0);
  out.set(key.getPublicKey(null, 'compressed'), 48);
  out.set(bytes(k.padStart(96, '0')), 97);
  out.set(nonce.getPublicKey(null, 'uncompressed').subarray(1, 49), 145);
  return out;
}

describe('signDigest', () => {
  it('gives RFC 6979 §A.2.6\'s signature for its P-384 key, nonce and SHA-384 of "sample", whatever the blinding', () => {
    // RFC 6979 (https://www.rfc-editor.org/rfc/rfc6979#appendix-A.2.6), ECDSA P-384, SHA-384, message "sample".
    const d = '6b9d3dad2e1b8c1c05b19875b6659f4de23c3b667bf297ba9aa47740787137d896d5724e4c70a825f872c9ea60d2edf5';
    const k = '94ed910d1a099dad3254e9242ae85abde4ba15168eaf0ca87a555fd56d10fbca2907e3e83ba95368623b8c4686915cf9';
    const r = '94edbb92a5ecb8aad4736e56c691916b3f88140666ce9fa73d64c4ea95ad133c81a648152e44acf96e36dd1e80fabe46';
    const s = '99ef4aeb15f178cea1fe40db2603138f130e740a19624526203b6351d0a3a94fa329c145786e679e7b82c71a38628ac8';
    const digest = createHash('sha384').update('sample').digest();
    const entry = decodeEntry(entryOf(d, k));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 48, maxLength: 48 }), (blind) => {
        expect(hex(signDigest(digest, entry, blind))).toBe(r + s);
      }),
      { numRuns: 50 },
    );
  });

  it('signs what OpenSSL verifies, for keys and nonces of any size (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 48 }), fc.uint8Array({ minLength: 1, maxLength: 48 }), fc.uint8Array({ maxLength: 200 }), (d, k, message) => {
        fc.pre(d.some((b) => b !== 0) && k.some((b) => b !== 0) && d[0] !== 0xff && k[0] !== 0xff);
        const entry = decodeEntry(entryOf(hex(d), hex(k)));
        const signature = signDigest(createHash('sha384').update(message).digest(), entry, nodeCrypto.randomBytes(48));
        expect(opensslVerifies(entry.publicKey, message, signature)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});

describe('makeEntries', () => {
  it('right-aligns scalars that OpenSSL gives without their leading zero bytes', () => {
    // A stand-in for node:crypto whose keys have 47- and 46-byte scalars.
    const short = (scalar: string) => {
      const real = createECDH('secp384r1');
      real.setPrivateKey(Buffer.from(scalar, 'hex'));
      return {
        generateKeys: () => real.getPublicKey(),
        getPrivateKey: () => Buffer.from(scalar, 'hex'),
        getPublicKey: (_: null, form: 'compressed' | 'uncompressed') => real.getPublicKey(null, form),
      };
    };
    const d = '11'.repeat(47);
    const k = '22'.repeat(46);
    const made = [short(d), short(k)];
    const entries = makeEntries({ createECDH: () => made.shift() as never }, 1);
    expect(entries.length).toBe(ENTRY_BYTES);
    expect(hex(entries)).toBe(hex(entryOf(d, k)));
    const entry = decodeEntry(entries);
    expect(entry.d).toBe(BigInt('0x' + d));
    expect(entry.k).toBe(BigInt('0x' + k));
  });

  it('makes independent entries: no key and no nonce twice', () => {
    const entries = makeEntries(nodeCrypto, 50);
    const seen = new Set<string>();
    for (let at = 0; at < entries.length; at += ENTRY_BYTES) {
      seen.add(hex(entries.subarray(at, at + 48)));
      seen.add(hex(entries.subarray(at + 97, at + 145)));
    }
    expect(seen.size).toBe(100);
  });
});

describe('PresignPool', () => {
  it('hands out each entry once and wipes it, starting worker threads from the second', async () => {
    const pool = new PresignPool(nodeCrypto);
    const first = pool.take();
    expect(pool.spawned).toBe(0);
    const taken = [first];
    for (let i = 0; i < 40; i++) {
      taken.push(pool.take());
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(pool.spawned).toBe(Math.max(0, Math.min(3, availableParallelism() - 1)));
    if (pool.spawned > 0) {
      // The workers answer (their source is makeEntries' own, through toString).
      for (let i = 0; i < 200 && pool.readyCount === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(pool.readyCount).toBeGreaterThan(0);
      while (pool.readyCount > 0) taken.push(pool.take());
    }
    expect(new Set(taken.map((e) => e.d)).size).toBe(taken.length);
    expect(new Set(taken.map((e) => e.r)).size).toBe(taken.length);
    for (const entry of taken) {
      const message = new TextEncoder().encode(`message ${entry.r}`);
      expect(opensslVerifies(entry.publicKey, message, signDigest(createHash('sha384').update(message).digest(), entry, nodeCrypto.randomBytes(48)))).toBe(true);
    }
  });

  it.runIf(availableParallelism() > 1)('takes the workers\' entries from a caller that never yields to the event loop', () => {
    // A loop of `await encrypt(...)` whose work completes in microtasks never turns the event
    // loop, so a 'message' event from a worker is never delivered: the entries must be taken
    // off the worker's port synchronously. Nothing here awaits.
    const pool = new PresignPool(nodeCrypto);
    pool.take();
    pool.take();
    const block = new Int32Array(new SharedArrayBuffer(4));
    // Up to 15 s for the worker to start and answer (a loaded CI machine), 20 ms at a time.
    for (let i = 0; i < 750 && pool.readyCount === 0; i++) Atomics.wait(block, 0, 0, 20);
    expect(pool.readyCount).toBeGreaterThan(0);
    const before = pool.takenFromWorkers;
    const entry = pool.take();
    expect(pool.takenFromWorkers).toBe(before + 1);
    const message = new TextEncoder().encode('never yielded');
    expect(opensslVerifies(entry.publicKey, message, signDigest(createHash('sha384').update(message).digest(), entry, nodeCrypto.randomBytes(48)))).toBe(true);
  }, 30_000);

  it.runIf(availableParallelism() > 1)('signs on the calling thread when no worker thread can be started', () => {
    const threads = process.getBuiltinModule('node:worker_threads');
    let tried = 0;
    const failing = {
      ...threads,
      Worker: function Worker() {
        tried++;
        throw Object.assign(new Error('Cannot create a thread'), { code: 'ERR_WORKER_INIT_FAILED' });
      },
    } as unknown as typeof threads;
    const pool = new PresignPool(nodeCrypto, failing);
    for (let i = 0; i < 10; i++) {
      const entry = pool.take();
      const message = new TextEncoder().encode(`no thread ${i}`);
      expect(opensslVerifies(entry.publicKey, message, signDigest(createHash('sha384').update(message).digest(), entry, nodeCrypto.randomBytes(48)))).toBe(true);
    }
    expect(tried).toBe(1);
    expect(pool.spawned).toBe(0);
    expect(pool.takenFromWorkers).toBe(0);
  });

  it.runIf(availableParallelism() > 1)('goes on signing on the calling thread when its worker stops', async () => {
    const pool = new PresignPool(nodeCrypto);
    pool.take();
    pool.take();
    pool.injectWorkerExit();
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (let i = 0; i < 20; i++) {
      const entry = pool.take();
      const message = new TextEncoder().encode(`after ${i}`);
      expect(opensslVerifies(entry.publicKey, message, signDigest(createHash('sha384').update(message).digest(), entry, nodeCrypto.randomBytes(48)))).toBe(true);
    }
  });
});

it.runIf(availableParallelism() > 1)('two pools in one process (two copies of Sealbox), one of whose workers stops midway: no key and no nonce twice', async () => {
  // Each copy of the module has a pool and workers of its own; entries come from OpenSSL's
  // generator in whichever thread makes them, never from state a copy or a restart repeats.
  const pools = [new PresignPool(nodeCrypto), new PresignPool(nodeCrypto)];
  const taken: ReturnType<PresignPool['take']>[] = [];
  for (let i = 0; i < 60; i++) {
    for (const pool of pools) taken.push(pool.take());
    if (i === 20) pools[0]!.injectWorkerExit();
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  expect(pools[1]!.takenFromWorkers).toBeGreaterThan(0);
  const scalars = taken.flatMap((e) => [e.d, e.k]);
  expect(new Set(scalars).size).toBe(scalars.length);
  expect(new Set(taken.map((e) => e.r)).size).toBe(taken.length);
  expect(new Set(taken.map((e) => hex(e.publicKey))).size).toBe(taken.length);
}, 30_000);

it('a signed encrypt that fails after its key pair was made (the keyring refuses) never hands that key pair to a later message', async () => {
  const { encrypt } = await import('../../src/encrypt.js');
  const { SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384, SIGNING_KEY_CONTEXT_KEY } = await import('../../src/index.js');
  const { testKeyring } = await import('../helpers/keys.js');
  const inner = testKeyring('p', 3);
  const seen: string[] = [];
  let calls = 0;
  const keyring = {
    wrapKey: (request: Parameters<typeof inner.wrapKey>[0]) => {
      seen.push(request.encryptionContext[SIGNING_KEY_CONTEXT_KEY]!);
      if (++calls % 2 === 0) throw new Error('refused');
      return inner.wrapKey(request);
    },
    unwrapKey: (request: Parameters<typeof inner.unwrapKey>[0]) => inner.unwrapKey(request),
  };
  const written: string[] = [];
  for (let i = 0; i < 40; i++) {
    const result = await encrypt(new Uint8Array(10), { keyring, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 }).catch(() => undefined);
    if (result) written.push(result.header.encryptionContext[SIGNING_KEY_CONTEXT_KEY]!);
  }
  expect(seen.length).toBe(40);
  expect(written.length).toBe(20);
  expect(new Set(seen).size).toBe(40);
});

it('the node backend: 300 messages signed in a row, every signature canonical and valid, no key or r twice', async () => {
  const rs = new Set<string>();
  const keys = new Set<string>();
  for (let i = 0; i < 300; i++) {
    const message = new TextEncoder().encode(`message ${i}`);
    const signer = await createMessageSigner('node');
    signer.update(message);
    const signature = await signer.sign();
    expect(isCanonicalSignature(signature)).toBe(true);
    expect(opensslVerifies(signer.publicKey, message, signature)).toBe(true);
    rs.add(hex(signature.subarray(0, 48)));
    keys.add(hex(signer.publicKey));
  }
  expect(rs.size).toBe(300);
  expect(keys.size).toBe(300);
});
