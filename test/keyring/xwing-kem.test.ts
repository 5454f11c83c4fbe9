import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/crypto/bytes.js';
import { nobleX25519, nodeX25519, xwingKem } from '../../src/keyring/xwing-kem.js';
import type { X25519 } from '../../src/keyring/xwing-kem.js';
import { loadWycheproof } from '../helpers/wycheproof.js';

// Both X-Wing paths (node:crypto's X25519, and pure JS for browsers) against the draft's
// vectors, against @noble/post-quantum's ml_kem768_x25519 (X-Wing as noble ships it), and the
// parts the library relies on against Wycheproof.

interface XWingVector { seed: string; eseed: string; pk: string; sk: string; ct: string; ss: string }
const VECTOR_BYTES = readFileSync(new URL('../vectors/xwing/test-vectors.json', import.meta.url));
const VECTORS = JSON.parse(VECTOR_BYTES.toString('utf8')) as XWingVector[];

it('test/vectors/xwing/test-vectors.json is the unmodified upstream file (blob id in its README)', () => {
  const blob = createHash('sha1').update(`blob ${VECTOR_BYTES.length}\0`).update(VECTOR_BYTES).digest('hex');
  expect(blob).toBe('a179e093a854c224e06680e33230bf82c3cd30f5');
  expect(readFileSync(new URL('../vectors/xwing/README.md', import.meta.url), 'utf8')).toContain(blob);
});

const paths: [string, X25519][] = [['noble', nobleX25519]];
if (nodeX25519) paths.push(['node', nodeX25519]);

describe.each(paths)('X-Wing with %s X25519', (_name, x) => {
  const kem = xwingKem(x);

  it('matches draft-connolly-cfrg-xwing-kem test-vectors.json', () => {
    expect(VECTORS.length).toBe(3);
    for (const v of VECTORS) {
      const sk = kem.privateKey(fromHex(v.sk));
      expect(toHex(sk.publicKey.bytes)).toBe(v.pk);
      const { cipherText, sharedSecret } = kem.encapsulate(kem.publicKey(fromHex(v.pk)), fromHex(v.eseed));
      expect(toHex(cipherText)).toBe(v.ct);
      expect(toHex(sharedSecret)).toBe(v.ss);
      expect(toHex(kem.decapsulate(fromHex(v.ct), sk))).toBe(v.ss);
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
    expect(() => kem.encapsulate(kem.publicKey(pk))).toThrow();
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

describe('Wycheproof ML-KEM-768 (the @noble/post-quantum calls X-Wing makes)', () => {
  it('mlkem_768_test.json: keygen from seed and decapsulation; wrong sizes refused', () => {
    interface Test { tcId: number; seed: string; ek: string; c: string; K: string; result: string }
    const tests = loadWycheproof<{ tests: Test[] }>('mlkem_768_test.json').testGroups.flatMap((g) => g.tests);
    let valid = 0;
    for (const t of tests) {
      const run = () => {
        const { publicKey, secretKey } = ml_kem768.keygen(fromHex(t.seed));
        expect(toHex(publicKey)).toBe(t.ek);
        return toHex(ml_kem768.prepare(publicKey).decapsulate(fromHex(t.c), secretKey));
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
      const run = () => ml_kem768.prepare(fromHex(t.ek)).encapsulate(fromHex(t.m));
      if (t.result === 'valid') {
        const { cipherText, sharedSecret } = run();
        expect(toHex(cipherText), `tcId ${t.tcId}`).toBe(t.c);
        expect(toHex(sharedSecret), `tcId ${t.tcId}`).toBe(t.K);
        valid++;
      } else {
        expect(run, `tcId ${t.tcId}`).toThrow();
      }
    }
    expect(valid).toBe(133);
  });
});
