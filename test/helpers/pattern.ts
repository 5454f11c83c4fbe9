// Deterministic test bytes. No imports: the in-page suites bundle this too.

/** A deterministic byte pattern (xorshift; not random: tests must be reproducible). */
export function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A deterministic "random" source for keyrings: each call gets the next seeded pattern. */
export function counterRandom(): (n: number) => Uint8Array {
  let seed = 1;
  return (n) => pattern(n, seed++);
}
