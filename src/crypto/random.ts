/** Cryptographically secure random bytes from the platform (globalThis.crypto, Node >= 19 and browsers). */
export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (!c || typeof c.getRandomValues !== 'function') throw new Error('No secure random source (globalThis.crypto.getRandomValues) in this runtime');
  // getRandomValues fills at most 65536 bytes per call.
  for (let off = 0; off < length; off += 65536) c.getRandomValues(out.subarray(off, Math.min(length, off + 65536)));
  return out;
}
