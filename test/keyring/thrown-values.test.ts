// What a keyring throws is its own business: whatever the value, encrypt and decrypt reject
// with ERR_KEYRING and the value as `cause`, and isSealboxError answers without throwing.
import { describe, expect, it } from 'vitest';
import { MultiKeyring, SealboxError, decrypt, encrypt, isSealboxError } from '../../src/index.js';
import type { Keyring } from '../../src/index.js';
import { testKeyring, thrown } from '../helpers/keys.js';

function hostileValues(): [string, unknown][] {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const nameThrows = new Error('inner');
  Object.defineProperty(nameThrows, 'name', {
    get() {
      throw new Error('name getter');
    },
  });
  return [
    ['a revoked Proxy', revoked.proxy],
    ['a Proxy whose getPrototypeOf trap throws', new Proxy({}, { getPrototypeOf() { throw new Error('trap'); } })],
    ['an Error whose name getter throws', nameThrows],
    ['an Error whose name is a Symbol', Object.assign(new Error('x'), { name: Symbol('n') })],
    ['undefined', undefined],
    ['a string', 'nope'],
  ];
}

const throwing = (value: unknown): Keyring => ({
  wrapKey: () => Promise.reject(value),
  unwrapKey: () => Promise.reject(value),
});

describe('a keyring throwing a hostile value', () => {
  for (const [what, value] of hostileValues()) {
    it(`${what}: encrypt and decrypt reject with ERR_KEYRING, the value as cause`, async () => {
      const err = await thrown(() => encrypt(new Uint8Array(1), { keyring: throwing(value) }));
      expect(err).toBeInstanceOf(SealboxError);
      expect((err as SealboxError).code).toBe('ERR_KEYRING');
      expect((err as SealboxError).cause).toBe(value);
      const keyring = testKeyring();
      const { ciphertext } = await encrypt(new Uint8Array(1), { keyring });
      const hostile = throwing(value);
      const unwrapOnly: Keyring = { wrapKey: (r) => keyring.wrapKey(r), unwrapKey: (r) => hostile.unwrapKey(r) };
      for (const k of [unwrapOnly, new MultiKeyring({ generator: unwrapOnly })]) {
        const derr = await thrown(() => decrypt(ciphertext, { keyring: k }));
        expect(derr).toBeInstanceOf(SealboxError);
        expect((derr as SealboxError).code).toBe('ERR_KEYRING');
      }
    });
  }

  it('isSealboxError never throws', () => {
    for (const [, value] of hostileValues()) expect(isSealboxError(value)).toBe(false);
  });
});

describe('the name of what a keyring threw, in the ERR_KEYRING message', () => {
  it('is one line of at most 100 characters: a name cannot write lines of its own into a log', async () => {
    const forged = Object.assign(new Error('x'), { name: 'Timeout\nsealbox: decrypt ok\u2028\u202e' + 'N'.repeat(500) });
    for (const run of [() => encrypt(new Uint8Array(1), { keyring: throwing(forged) }), async () => decrypt((await encrypt(new Uint8Array(1), { keyring: testKeyring() })).ciphertext, { keyring: new MultiKeyring({ children: [throwing(forged)] }) })]) {
      const err = (await thrown(run)) as SealboxError;
      expect(err.code).toBe('ERR_KEYRING');
      expect(err.message).not.toMatch(/[\n\u2028\u202e]/);
      expect(err.message).toContain('(Timeout sealbox: decrypt ok NNN');
      expect(err.message).not.toContain('N'.repeat(101));
      expect(err.cause).toBe(forged);
    }
  });
});
