import { RawAesKeyring } from '../../src/keyring/raw-aes.js';

/** A deterministic byte pattern (not random: tests must be reproducible). */
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

/** A raw AES keyring over a fixed test key. */
export function testKeyring(name = 'key-1', seed = 7): RawAesKeyring {
  return new RawAesKeyring({ namespace: 'test', name, wrappingKey: pattern(32, seed) });
}

/** Runs `fn` and returns what it threw (fails the test when it did not throw). */
export async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

/** Fast byte equality (vitest's deep equality walks large arrays element by element). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
