import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { x25519 } from '@noble/curves/ed25519.js';
import { sha3_256, shake256 } from '@noble/hashes/sha3.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/crypto/bytes.js';
import { nobleMlKem768, nobleX25519, nodeMlKem768, nodeX25519, xwingKem } from '../../src/keyring/xwing-kem.js';
import type { MlKem768, X25519 } from '../../src/keyring/xwing-kem.js';
import { NODE_HAS_NATIVE_PQ, NODE_LACKS_NATIVE_PQ } from '../helpers/node-pq.js';
import { loadWycheproof } from '../helpers/wycheproof.js';

// Every X-Wing path (X25519 and ML-KEM-768 each from node:crypto where this Node has them, and
// pure JS as browsers run it) against the draft's vectors, against @noble/post-quantum's
// ml_kem768_x25519 (X-Wing as noble ships it), and the parts the library relies on against
// Wycheproof. Node 24 runs the native ML-KEM-768 and the fallback; Node 20 and 22 the fallback.

interface XWingVector { seed: string; eseed: string; pk: string; sk: string; ct: string; ss: string }
const VECTOR_BYTES = readFileSync(new URL('../vectors/xwing/test-vectors.json', import.meta.url));
const VECTORS = JSON.parse(VECTOR_BYTES.toString('utf8')) as XWingVector[];

it('test/vectors/xwing/test-vectors.json is the unmodified upstream file (blob id in its README)', () => {
  const blob = createHash('sha1').update(`blob ${VECTOR_BYTES.length}\0`).update(VECTOR_BYTES).digest('hex');
  expect(blob).toBe('a179e093a854c224e06680e33230bf82c3cd30f5');
  expect(readFileSync(new URL('../vectors/xwing/README.md', import.meta.url), 'utf8')).toContain(blob);
});

it('the docs name the draft version whose vectors these are', () => {
  const draft = 'draft-connolly-cfrg-xwing-kem-10';
  expect(readFileSync(new URL('../vectors/xwing/README.md', import.meta.url), 'utf8')).toContain(`\`${draft}\``);
  for (const doc of ['SPEC.md', 'keyrings.md']) expect(readFileSync(new URL(`../../docs/${doc}`, import.meta.url), 'utf8'), doc).toContain(draft);
  // The combiner as the draft writes it, label last (since -05).
  expect(readFileSync(new URL('../../docs/SPEC.md', import.meta.url), 'utf8')).toContain('SHA3-256(ss_M ‖ ss_X ‖ ct_X ‖ pk_X ‖');
});

const x25519Paths: [string, X25519][] = [['noble', nobleX25519]];
if (nodeX25519) x25519Paths.push(['node', nodeX25519]);
const mlkemPaths: [string, MlKem768][] = [['noble', nobleMlKem768]];
if (nodeMlKem768) mlkemPaths.push(['node', nodeMlKem768]);
const paths = x25519Paths.flatMap(([xName, x]) => mlkemPaths.map(([kName, k]) => [`${xName} X25519, ${kName} ML-KEM-768`, x, k] as const));
/** The reference for the native ML-KEM's encapsulations: all noble. */
const reference = xwingKem(nobleX25519, nobleMlKem768);

describe('the implementations chosen', () => {
  it('node:crypto ML-KEM-768 on Node >= 24.7, @noble/post-quantum on Node 20 and 22', () => {
    if (NODE_HAS_NATIVE_PQ) {
      expect(nodeMlKem768?.name).toBe('node');
      expect(xwingKem().mlkem.name).toBe('node');
    }
    if (NODE_LACKS_NATIVE_PQ) {
      expect(nodeMlKem768).toBeUndefined();
      expect(xwingKem().mlkem.name).toBe('noble');
    }
    expect(xwingKem().mlkem).toBe(nodeMlKem768 ?? nobleMlKem768);
    expect(xwingKem().x25519).toBe(nodeX25519 ?? nobleX25519);
  });
});

describe.each(paths)('X-Wing with %s', (_name, x, k) => {
  const kem = xwingKem(x, k);

  it('matches draft-connolly-cfrg-xwing-kem test-vectors.json', () => {
    expect(VECTORS.length).toBe(3);
    for (const v of VECTORS) {
      const sk = kem.privateKey(fromHex(v.sk));
      expect(toHex(sk.publicKey.bytes)).toBe(v.pk);
      expect(toHex(kem.decapsulate(fromHex(v.ct), sk))).toBe(v.ss);
      const pk = kem.publicKey(fromHex(v.pk));
      if (k.name === 'noble') {
        const { cipherText, sharedSecret } = kem.encapsulate(pk, fromHex(v.eseed));
        expect(toHex(cipherText)).toBe(v.ct);
        expect(toHex(sharedSecret)).toBe(v.ss);
      } else {
        // node:crypto's encapsulate() takes no caller randomness, so the vectors' fixed eseed
        // cannot be replayed; its encapsulations to the vectors' keys open with the reference.
        expect(() => kem.encapsulate(pk, fromHex(v.eseed))).toThrow(RangeError);
        const ours = kem.encapsulate(pk);
        expect(toHex(reference.decapsulate(ours.cipherText, reference.privateKey(fromHex(v.sk))))).toBe(toHex(ours.sharedSecret));
      }
    }
  });

  it('is the draft written out: SHAKE-256 key expansion (d ‖ z, sk_X) and the combiner SHA3-256(ss_M ‖ ss_X ‖ ct_X ‖ pk_X ‖ 5c2e2f2f5e5c)', () => {
    // Built from the primitives alone (draft §5.2 to §5.5), not from this module's helpers.
    for (const v of VECTORS) {
      const expanded = shake256(fromHex(v.seed), { dkLen: 96 });
      const mlkem = ml_kem768.keygen(expanded.subarray(0, 64));
      const pkX = x25519.getPublicKey(expanded.subarray(64, 96));
      expect(toHex(mlkem.publicKey) + toHex(pkX)).toBe(v.pk);
      const ct = fromHex(v.ct);
      const ssM = ml_kem768.decapsulate(ct.subarray(0, 1088), mlkem.secretKey);
      const ctX = ct.subarray(1088);
      const ssX = x25519.getSharedSecret(expanded.subarray(64, 96), ctX);
      const label = fromHex('5c2e2f2f5e5c');
      expect(new TextDecoder().decode(label)).toBe('\\.//^\\');
      const ss = sha3_256(new Uint8Array([...ssM, ...ssX, ...ctX, ...pkX, ...label]));
      expect(toHex(ss)).toBe(v.ss);
      // The path under test gives the same, and a combiner with the label first (drafts before
      // -05) or pk_X and ct_X swapped would not.
      expect(toHex(kem.decapsulate(ct, kem.privateKey(fromHex(v.seed))))).toBe(v.ss);
      expect(toHex(sha3_256(new Uint8Array([...label, ...ssM, ...ssX, ...ctX, ...pkX])))).not.toBe(v.ss);
      expect(toHex(sha3_256(new Uint8Array([...ssM, ...ssX, ...pkX, ...ctX, ...label])))).not.toBe(v.ss);
    }
  });

  it('ML-KEM implicit rejection: a changed ct_M decapsulates (no throw) to the reference\'s pseudo-random secret, not the real one', () => {
    const v = VECTORS[0]!;
    const sk = kem.privateKey(fromHex(v.seed));
    for (const i of [0, 541, 1087]) {
      const ct = fromHex(v.ct);
      ct[i]! ^= 0x01;
      const ss = toHex(kem.decapsulate(ct, sk));
      expect(ss).not.toBe(v.ss);
      // FIPS 203's K̄ = J(z ‖ c), combined as usual: the same as noble's X-Wing, on every run.
      expect(ss).toBe(toHex(ml_kem768_x25519.decapsulate(ct, fromHex(v.seed))));
      expect(toHex(kem.decapsulate(ct, sk))).toBe(ss);
    }
  });

  it("agrees with @noble/post-quantum's ml_kem768_x25519 on random keys, both ways", () => {
    for (let i = 0; i < 8; i++) {
      const seed = crypto.getRandomValues(new Uint8Array(32));
      const ref = ml_kem768_x25519.keygen(seed);
      const sk = kem.privateKey(seed);
      expect(toHex(sk.publicKey.bytes)).toBe(toHex(ref.publicKey));
      const ours = kem.encapsulate(sk.publicKey);
      expect(toHex(ml_kem768_x25519.decapsulate(ours.cipherText, seed))).toBe(toHex(ours.sharedSecret));
      const theirs = ml_kem768_x25519.encapsulate(ref.publicKey);
      expect(toHex(kem.decapsulate(theirs.cipherText, sk))).toBe(toHex(theirs.sharedSecret));
    }
  });

  it('refuses wrong lengths with RangeError, and a low-order X25519 ciphertext or key', () => {
    const sk = kem.privateKey(new Uint8Array(32).fill(7));
    expect(() => kem.privateKey(new Uint8Array(31))).toThrow(RangeError);
    expect(() => kem.publicKey(new Uint8Array(1215))).toThrow(RangeError);
    expect(() => kem.decapsulate(new Uint8Array(1121), sk)).toThrow(RangeError);
    const ct = kem.encapsulate(sk.publicKey).cipherText;
    ct.fill(0, 1088); // ct_X = 0: a point of order 1
    expect(() => kem.decapsulate(ct, sk)).toThrow();
    const pk = sk.publicKey.bytes.slice();
    pk.fill(0, 1184);
    pk[1184] = 1; // pk_X = 1: order 4
    expect(() => kem.publicKey(pk)).toThrow();
  });

  it('refuses a public key whose X25519 half is a low-order point when it is parsed (every Wycheproof one)', () => {
    interface Test { tcId: number; public: string; flags: string[] }
    const lowOrder = loadWycheproof<{ tests: Test[] }>('x25519_test.json')
      .testGroups.flatMap((g) => g.tests)
      .filter((t) => t.flags.includes('ZeroSharedSecret'));
    expect(lowOrder.length).toBe(31);
    const good = kem.privateKey(new Uint8Array(32).fill(3)).publicKey.bytes;
    expect(kem.publicKey(good).bytes).toEqual(good);
    for (const t of lowOrder) {
      const pk = good.slice();
      pk.set(fromHex(t.public), 1184);
      expect(() => kem.publicKey(pk), `tcId ${t.tcId}`).toThrow(/low-order/);
    }
  });
});

/** Every byte array in `arrays` is all zeros (and there is at least one). */
const allWiped = (arrays: Uint8Array[]) => arrays.length > 0 && arrays.every((a) => a.every((b) => b === 0));

describe.each(paths)('X-Wing with %s: secrets are zeroed on every path', (_name, x, k) => {
  /** `x` and `k`, recording the secrets they are given and return. */
  const recording = () => {
    const given: Uint8Array[] = [];
    const shared: Uint8Array[] = [];
    const rx: X25519 = { ...x, secret: (bytes) => (given.push(bytes), x.secret(bytes)) };
    const rk: MlKem768 = {
      ...k,
      encapsulate: (pk, m) => {
        const out = k.encapsulate(pk, m);
        shared.push(out.sharedSecret);
        return out;
      },
    };
    return { given, shared, rx, rk };
  };

  it('the X25519 secret expanded from the seed is not left in memory once it is a handle', () => {
    const { given, rx, rk } = recording();
    const kem = xwingKem(rx, rk);
    const sk = kem.privateKey(new Uint8Array(32).fill(9));
    // The bytes given to secret() (noble keeps its own copy; node:crypto a KeyObject) are wiped,
    // and the key still works.
    expect(allWiped(given)).toBe(true);
    const { cipherText, sharedSecret } = kem.encapsulate(sk.publicKey);
    expect(toHex(kem.decapsulate(cipherText, sk))).toBe(toHex(sharedSecret));
  });

  it('an X25519 failure in encapsulation leaves no ML-KEM shared secret behind', () => {
    const { shared, rx, rk } = recording();
    const good = xwingKem(x, k).privateKey(new Uint8Array(32).fill(4)).publicKey;
    const failing: X25519 = {
      ...rx,
      sharedSecret: () => {
        throw new Error('X25519 failed');
      },
    };
    expect(() => xwingKem(failing, rk).encapsulate(good)).toThrow('X25519 failed');
    expect(shared.every((a) => a.every((b) => b === 0))).toBe(true);
  });

  it('dispose() zeroes what a private key holds as bytes', () => {
    const kem = xwingKem(x, k);
    const sk = kem.privateKey(new Uint8Array(32).fill(5));
    const held = [sk.mlkemSecret, sk.x25519Secret].filter((h): h is Uint8Array => h instanceof Uint8Array);
    expect(held.length).toBe((k.name === 'noble' ? 1 : 0) + (x.name === 'noble' ? 1 : 0));
    kem.dispose(sk);
    expect(held.every((a) => a.every((b) => b === 0))).toBe(true);
  });
});

describe("Wycheproof x25519_test.json: both X25519 paths, Sealbox's policy", () => {
  // Policy: `valid` cases must give `shared`. Of the `acceptable` ones, those flagged
  // ZeroSharedSecret (low-order public keys) are refused by both paths; the others (twist
  // points, non-canonical u >= p, edge cases) are accepted and must give `shared`, as RFC 7748
  // §5 computes them. X-Wing binds pk_X and ct_X in its combiner, so accepting a non-canonical
  // encoding cannot make two ciphertexts give one key.
  interface Test { tcId: number; public: string; private: string; shared: string; result: string; flags: string[] }
  const file = loadWycheproof<{ tests: Test[] }>('x25519_test.json');
  const tests = file.testGroups.flatMap((g) => g.tests);

  it.each(paths)('%s', (_name, x) => {
    let refused = 0;
    for (const t of tests) {
      const run = () => toHex(x.sharedSecret(x.secret(fromHex(t.private)), x.peer(fromHex(t.public))));
      if (t.flags.includes('ZeroSharedSecret')) {
        expect(t.result, `tcId ${t.tcId}`).toBe('acceptable');
        expect(run, `tcId ${t.tcId}`).toThrow();
        refused++;
      } else {
        expect(['valid', 'acceptable']).toContain(t.result);
        expect(run(), `tcId ${t.tcId}`).toBe(t.shared);
      }
    }
    expect(refused).toBe(31);
    expect(tests.length).toBe(518);
  });
});

describe.each(mlkemPaths)('Wycheproof ML-KEM-768 (the calls X-Wing makes): %s', (_name, k) => {
  it('mlkem_768_test.json: keygen from seed and decapsulation; wrong sizes refused', () => {
    interface Test { tcId: number; seed: string; ek: string; c: string; K: string; result: string }
    const tests = loadWycheproof<{ tests: Test[] }>('mlkem_768_test.json').testGroups.flatMap((g) => g.tests);
    let valid = 0;
    for (const t of tests) {
      const run = () => {
        const { publicKey, secretKey } = k.keygen(fromHex(t.seed));
        expect(toHex(publicKey)).toBe(t.ek);
        return toHex(k.decapsulate(fromHex(t.c), secretKey, k.publicKey(publicKey)));
      };
      if (t.result === 'valid') {
        expect(run(), `tcId ${t.tcId}`).toBe(t.K);
        valid++;
      } else {
        expect(run, `tcId ${t.tcId}`).toThrow();
      }
    }
    expect(valid).toBe(153);
  });

  it('mlkem_768_encaps_test.json: encapsulation; unreduced and wrongly sized keys refused', () => {
    interface Test { tcId: number; m: string; ek: string; c: string; K: string; result: string }
    const tests = loadWycheproof<{ tests: Test[] }>('mlkem_768_encaps_test.json').testGroups.flatMap((g) => g.tests);
    let valid = 0;
    for (const t of tests) {
      const run = () => k.encapsulate(k.publicKey(fromHex(t.ek)), k.name === 'noble' ? fromHex(t.m) : undefined);
      if (t.result === 'valid') {
        const { cipherText, sharedSecret } = run();
        if (k.name === 'noble') {
          expect(toHex(cipherText), `tcId ${t.tcId}`).toBe(t.c);
          expect(toHex(sharedSecret), `tcId ${t.tcId}`).toBe(t.K);
        } else {
          // node:crypto draws m itself (no vector to replay): the key is accepted and encapsulates.
          expect(cipherText.length, `tcId ${t.tcId}`).toBe(1088);
          expect(sharedSecret.length, `tcId ${t.tcId}`).toBe(32);
        }
        valid++;
      } else {
        expect(run, `tcId ${t.tcId}`).toThrow();
      }
    }
    expect(valid).toBe(133);
  });
});
