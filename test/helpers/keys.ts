import { RawAesKeyring } from '../../src/keyring/raw-aes.js';
import { pattern } from './pattern.js';

export { counterRandom, pattern } from './pattern.js';

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
