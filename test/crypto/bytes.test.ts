import { describe, expect, it } from 'vitest';
import { constantTimeEqual } from '../../src/crypto/bytes.js';
import { pattern } from '../helpers/keys.js';

// constantTimeEqual compares key commitments (SPEC §8.3): any difference, in any bit of any
// byte, or in length, is inequality.
describe('constantTimeEqual', () => {
  it('is true for equal bytes and false for a change of any single bit', () => {
    const a = pattern(32, 1);
    expect(constantTimeEqual(a, new Uint8Array(a))).toBe(true);
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
    for (let bit = 0; bit < a.length * 8; bit++) {
      const b = new Uint8Array(a);
      b[bit >> 3]! ^= 1 << (bit & 7);
      expect(constantTimeEqual(a, b), `bit ${bit}`).toBe(false);
      expect(constantTimeEqual(b, a), `bit ${bit}`).toBe(false);
    }
  });

  it('is false for different lengths, even when one is a prefix of the other', () => {
    const a = pattern(32, 2);
    expect(constantTimeEqual(a.subarray(0, 31), a)).toBe(false);
    expect(constantTimeEqual(a, a.subarray(0, 31))).toBe(false);
    expect(constantTimeEqual(new Uint8Array(0), a)).toBe(false);
    expect(constantTimeEqual(new Uint8Array(32), new Uint8Array(33))).toBe(false);
  });
});
