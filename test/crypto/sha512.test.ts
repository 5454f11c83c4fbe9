import { createHash } from 'node:crypto';
import { sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha512 } from '../../src/crypto/sha512.js';

describe('sha512', () => {
  it('is synchronous on Node and equals node:crypto and @noble/hashes on any input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (data) => {
        const digest = sha512(data);
        expect(digest).toBeInstanceOf(Uint8Array);
        const bytes = digest as Uint8Array;
        expect(Buffer.from(bytes).equals(createHash('sha512').update(data).digest())).toBe(true);
        expect(Buffer.from(bytes).equals(Buffer.from(nobleSha512(data)))).toBe(true);
      }),
    );
  });

  it('gives the FIPS 180-2 digest of "abc"', () => {
    const digest = sha512(new TextEncoder().encode('abc')) as Uint8Array;
    expect(Buffer.from(digest).toString('hex')).toBe(
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
  });
});
