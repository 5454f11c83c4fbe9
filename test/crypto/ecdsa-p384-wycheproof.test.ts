import { describe, expect, it } from 'vitest';
import { createMessageVerifier, getSignatureBackend } from '../../src/crypto/signature.js';
import { isCanonicalSignature } from '../../src/crypto/signature-policy.js';
import type { SignatureBackendName } from '../../src/crypto/signature.js';
import { loadWycheproof } from '../helpers/wycheproof.js';

// Wycheproof ECDSA P-384 / SHA-384 on every verify backend, at the raw ECDSA level: Wycheproof
// counts a high-s signature as valid, and so does each backend's raw verifier. Sealbox's own
// policy (low-s only, r ‖ s only) is checked separately below on the same vectors.

interface EcdsaGroup {
  publicKey: { uncompressed: string };
  sha: string;
  tests: { tcId: number; comment: string; flags: string[]; msg: string; sig: string; result: 'valid' | 'invalid' }[];
}

const BACKENDS: SignatureBackendName[] = ['node', 'noble'];
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

/** The Wycheproof public key (04 ‖ x ‖ y) as the compressed point Sealbox carries. */
function compress(uncompressedHex: string): Uint8Array {
  const point = hex(uncompressedHex);
  expect(point.length).toBe(97);
  expect(point[0]).toBe(0x04);
  const out = new Uint8Array(49);
  out[0] = 0x02 | (point[96]! & 1);
  out.set(point.subarray(1, 49), 1);
  return out;
}

function cases(file: string): { key: Uint8Array; msg: Uint8Array; sig: Uint8Array; valid: boolean; id: string }[] {
  const data = loadWycheproof<EcdsaGroup>(file);
  return data.testGroups.flatMap((g) => {
    expect(g.sha).toBe('SHA-384');
    const key = compress(g.publicKey.uncompressed);
    return g.tests.map((t) => ({ key, msg: hex(t.msg), sig: hex(t.sig), valid: t.result === 'valid', id: `tc${t.tcId} ${t.comment}` }));
  });
}

const FILES = [
  ['ecdsa_secp384r1_sha384_p1363_test.json', 'p1363', 280],
  ['ecdsa_secp384r1_sha384_test.json', 'der', 504],
] as const;

describe.each(BACKENDS)('Wycheproof ECDSA P-384 / SHA-384, raw verify, %s backend', (name) => {
  it.each(FILES)('%s: every case gives its expected result', async (file, format, count) => {
    const backend = await getSignatureBackend(name);
    const all = cases(file);
    expect(all.length).toBe(count);
    const wrong: string[] = [];
    for (const c of all) {
      const verifier = await backend.createRawVerifier(c.key);
      expect(verifier, c.id).toBeDefined();
      // Split the message to exercise incremental hashing.
      const mid = c.msg.length >> 1;
      verifier!.update(c.msg.subarray(0, mid));
      verifier!.update(c.msg.subarray(mid));
      if ((await verifier!.verify(c.sig, format)) !== c.valid) wrong.push(c.id);
    }
    expect(wrong).toEqual([]);
  });
});

describe.each(BACKENDS)('Sealbox policy on the Wycheproof r ‖ s vectors, %s backend', (name) => {
  it('accepts exactly the valid low-s signatures and refuses the valid high-s ones', async () => {
    const all = cases('ecdsa_secp384r1_sha384_p1363_test.json');
    let lowS = 0;
    let highS = 0;
    for (const c of all) {
      const verifier = await createMessageVerifier(c.key, name);
      verifier.update(c.msg);
      const canonical = isCanonicalSignature(c.sig);
      if (c.valid && canonical) lowS++;
      if (c.valid && !canonical) highS++;
      expect(await verifier.verify(c.sig), c.id).toBe(c.valid && canonical);
    }
    // Both kinds occur among the valid vectors, so both branches were tested.
    expect(lowS).toBeGreaterThan(50);
    expect(highS).toBeGreaterThan(50);
  });
});
