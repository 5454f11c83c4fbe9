import { describe, expect, it } from 'vitest';
import { decrypt, decryptStream, encrypt, encryptStream } from '../../src/index.js';
import { concat } from '../../src/crypto/bytes.js';
import { bytesEqual, pattern, testKeyring } from '../helpers/keys.js';

// A chunk that is a Uint8Array only by its prototype (a Proxy of one), or a subclass whose
// `byteLength` getter throws or lies: the streams' queuing strategy used to ask it for its size,
// so a throw or NaN errored only the writable side and a reader waited for ever. Now the Proxy
// errors both sides with a TypeError and the subclass is taken for the bytes it views
// (docs/security.md, "Input that changes while Sealbox reads it").
const keyring = testKeyring();

class Liar extends Uint8Array {
  override get byteLength(): number {
    return Number.NaN;
  }
}
class Thrower extends Uint8Array {
  override get byteLength(): number {
    throw new Error('no');
  }
}

/** Pipes one chunk through `ts` and reads it out: the bytes, or the error's name, or 'hangs'. */
async function outcome(ts: TransformStream<Uint8Array, Uint8Array>, chunk: Uint8Array): Promise<Uint8Array | string> {
  const reader = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(chunk);
      c.close();
    },
  })
    .pipeThrough(ts)
    .getReader();
  const read = (async (): Promise<Uint8Array | string> => {
    const parts: Uint8Array[] = [];
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
      return concat(...parts);
    } catch (err) {
      return (err as Error).name;
    }
  })();
  return Promise.race([read, new Promise<string>((resolve) => setTimeout(() => resolve('hangs'), 1000))]);
}

describe('Web streams: chunks that only look like Uint8Arrays', async () => {
  const plaintext = pattern(3000, 4);
  const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: 1024 });

  it('a Proxy of a Uint8Array errors the stream (both sides) with a TypeError', async () => {
    expect(await outcome(decryptStream({ keyring }), new Proxy(ciphertext, {}))).toBe('TypeError');
    expect(await outcome(encryptStream({ keyring }), new Proxy(plaintext, {}))).toBe('TypeError');
  });

  it.each([
    ['NaN', Liar],
    ['a throwing getter', Thrower],
  ])('a subclass whose byteLength is %s is taken for the bytes it views', async (_name, Kind) => {
    const opened = await outcome(decryptStream({ keyring }), new Kind(ciphertext));
    expect(opened instanceof Uint8Array && bytesEqual(opened, plaintext)).toBe(true);
    const sealed = await outcome(encryptStream({ keyring }), new Kind(plaintext));
    expect(sealed).toBeInstanceOf(Uint8Array);
    expect(bytesEqual((await decrypt(sealed as Uint8Array, { keyring })).plaintext, plaintext)).toBe(true);
  });
});
