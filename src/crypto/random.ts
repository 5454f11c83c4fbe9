/**
 * Cryptographically secure random bytes from the platform's CSPRNG (globalThis.crypto: Node
 * >= 19, browsers, workers).
 *
 * Small requests are served from a 4 KiB pool refilled from the CSPRNG: each getRandomValues
 * call costs about 2 us in Node, and a message needs three small draws (data key, wrap IV,
 * message id). Bytes handed out are wiped from the pool, so no value is ever returned twice.
 */
const POOL_BYTES = 4096;
const SMALL = 256;
let pool = new Uint8Array(0);
let used = 0;

function fill(out: Uint8Array): void {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (!c || typeof c.getRandomValues !== 'function') throw new Error('No secure random source (globalThis.crypto.getRandomValues) in this runtime');
  // getRandomValues fills at most 65536 bytes per call.
  for (let off = 0; off < out.length; off += 65536) c.getRandomValues(out.subarray(off, Math.min(out.length, off + 65536)));
}

/** `length` fresh random bytes. */
export function randomBytes(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0) throw new RangeError('"length" expected a non-negative integer');
  if (length > SMALL) {
    const out = new Uint8Array(length);
    fill(out);
    return out;
  }
  if (used + length > pool.length) {
    pool = new Uint8Array(POOL_BYTES);
    fill(pool);
    used = 0;
  }
  const out = pool.slice(used, used + length);
  pool.fill(0, used, used + length);
  used += length;
  return out;
}
