import { expect, it } from 'vitest';
import { offHeapScratch } from '../../src/crypto/aead-node.js';
import { bytesEqual, pattern } from '../helpers/keys.js';

it('offHeapScratch: small inputs come back as an equal view of one reused off-heap Buffer, larger ones as themselves; wipe() clears it', () => {
  const scratch = offHeapScratch();
  const a = scratch(pattern(32, 1));
  expect(bytesEqual(a, pattern(32, 1))).toBe(true);
  expect(a.length).toBe(32);
  const b = scratch(pattern(12, 2));
  // The same memory is reused: the first view now shows the second input's bytes.
  expect(b.buffer).toBe(a.buffer);
  expect(bytesEqual(a.subarray(0, 12), pattern(12, 2))).toBe(true);
  const max = scratch(pattern(64, 3));
  expect(bytesEqual(max, pattern(64, 3))).toBe(true);
  scratch.wipe();
  expect(max.every((x) => x === 0)).toBe(true);
  const large = pattern(65, 4);
  expect(scratch(large)).toBe(large);
  expect(scratch(new Uint8Array(0)).length).toBe(0);
});
