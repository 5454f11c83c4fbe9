import { describe, expect, it } from 'vitest';
import { hkdf } from '../../src/crypto/hkdf.js';
import { hkdfSha512Node } from '../../src/crypto/hkdf-node.js';
import { hkdfSha512Noble } from '../../src/crypto/hkdf-noble.js';
import type { HkdfSha512 } from '../../src/crypto/hkdf.js';
import { fromHex, toHex } from '../../src/crypto/bytes.js';
import { isSealboxError } from '../../src/errors.js';
import { loadWycheproof } from '../helpers/wycheproof.js';

interface Test { tcId: number; ikm: string; salt: string; info: string; size: number; okm: string; result: 'valid' | 'invalid' }
const file = loadWycheproof<{ tests: Test[] }>('hkdf_sha512_test.json');
const cases = file.testGroups.flatMap((g) => g.tests);

const impls: [string, HkdfSha512][] = [['noble', hkdfSha512Noble]];
if (hkdfSha512Node) impls.push(['node', hkdfSha512Node]);

describe.each(impls)('Wycheproof HKDF-SHA-512 on %s', (_name, impl) => {
  it('has every case (80 valid, 3 invalid)', () => {
    expect(cases.length).toBe(file.numberOfTests);
    expect(cases.filter((t) => t.result === 'invalid').length).toBe(3);
  });
  it.each(cases.map((t) => [t.tcId, t] as const))('tcId %i', (_id, t) => {
    if (t.result === 'valid') {
      expect(toHex(hkdf(impl, fromHex(t.ikm), fromHex(t.salt), fromHex(t.info), t.size))).toBe(t.okm);
    } else {
      let error: unknown;
      try {
        hkdf(impl, fromHex(t.ikm), fromHex(t.salt), fromHex(t.info), t.size);
      } catch (err) {
        error = err;
      }
      expect(isSealboxError(error, 'ERR_LIMIT_EXCEEDED')).toBe(true);
    }
  });
});

it('runs on node:crypto in Node', () => {
  expect(hkdfSha512Node).toBeDefined();
});

describe('node HKDF: the one-shot-hash HMAC and the Hmac-object fallback agree with node:crypto', () => {
  it('salts and keys of every size around the 128-byte block, info around the 128-byte scratch', async () => {
    const { createHmac, hkdfSync } = await import('node:crypto');
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 200 }), (ikm, salt, info, length) => {
        const prk = hkdfSha512Node!.extract(ikm, salt);
        expect(Buffer.from(prk)).toEqual(createHmac('sha512', salt).update(ikm).digest());
        expect(Buffer.from(hkdfSha512Node!.expand(prk, info, length))).toEqual(Buffer.from(hkdfSync('sha512', ikm, salt, info, length)));
      }),
      { numRuns: 300 },
    );
  });
});
