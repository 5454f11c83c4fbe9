import { describe, expect, it } from 'vitest';
import { decrypt, encrypt, MultiKeyring, SealboxError } from '../../src/index.js';
import type { Keyring } from '../../src/index.js';
import { readPreamble } from '../../src/format/header.js';
import { acceptHeader, beginDecryption, beginEncryption, planDecryption, planEncryption } from '../../src/message/prologue.js';
import { planRewrap, rewrapHeader } from '../../src/message/rewrap-session.js';
import { TAG_BYTES } from '../../src/limits.js';
import { bytesEqual, pattern, testKeyring, thrown } from '../helpers/keys.js';

async function parts(message: Uint8Array) {
  const headerEnd = readPreamble(message)!;
  return { headerBytes: message.subarray(0, headerEnd), headerTag: message.subarray(headerEnd, headerEnd + TAG_BYTES) };
}

describe('raw keyrings on node:crypto: the message prologue answers at once', () => {
  const a = testKeyring('a', 1);
  const b = testKeyring('b', 2);

  it('encrypt, decrypt and rewrap start without a promise (no turn of the event loop per message)', async () => {
    for (const keyring of [a, new MultiKeyring({ generator: a, children: [b] })]) {
      const begun = beginEncryption(planEncryption({ keyring }), 5);
      expect(begun).not.toBeInstanceOf(Promise);
      const { ciphertext } = await encrypt(pattern(5), { keyring });
      const plan = planDecryption({ keyring });
      const { headerBytes, headerTag } = await parts(ciphertext);
      const header = acceptHeader(plan, headerBytes);
      const session = beginDecryption(plan, header, headerBytes, headerTag, true);
      expect(session).not.toBeInstanceOf(Promise);
      const rewrapped = rewrapHeader(planRewrap({ keyring, to: b }), headerBytes, headerTag);
      expect(rewrapped).not.toBeInstanceOf(Promise);
    }
  });

  it('a keyring that must wait (an async method) still gets a promise, and the same bytes out', async () => {
    const waits: Keyring = { wrapKey: (r) => a.wrapKey(r), unwrapKey: (r) => a.unwrapKey(r) };
    expect(beginEncryption(planEncryption({ keyring: waits }), 5)).toBeInstanceOf(Promise);
    const { ciphertext } = await encrypt(pattern(9), { keyring: waits });
    expect(bytesEqual((await decrypt(ciphertext, { keyring: a })).plaintext, pattern(9))).toBe(true);
    expect(bytesEqual((await decrypt(ciphertext, { keyring: waits })).plaintext, pattern(9))).toBe(true);
  });

  it('custom keyrings answering with thenables, plain values or synchronous throws work as with await', async () => {
    // Thenables that are not Promises (as some promise libraries make).
    const thenable = <T>(pending: Promise<T>) => ({ then: (ok: (v: T) => unknown, fail: (e: unknown) => unknown) => void pending.then(ok, fail) });
    const viaThenables: Keyring = {
      wrapKey: ((r: Parameters<Keyring['wrapKey']>[0]) => thenable(a.wrapKey(r))) as never,
      unwrapKey: ((r: Parameters<Keyring['unwrapKey']>[0]) => thenable(a.unwrapKey(r))) as never,
    };
    const { ciphertext } = await encrypt(pattern(11), { keyring: viaThenables });
    expect(bytesEqual((await decrypt(ciphertext, { keyring: viaThenables })).plaintext, pattern(11))).toBe(true);
    // Not async at all: plain values (a fixed data key, for the test's sake).
    const fixedKey = pattern(32, 5);
    const plain: Keyring = {
      wrapKey: (() => ({ dataKey: new Uint8Array(fixedKey), encryptedDataKeys: [{ providerId: 'plain', providerInfo: new Uint8Array(1), ciphertext: new Uint8Array(1) }] })) as never,
      unwrapKey: ((r: { encryptedDataKeys: readonly { providerId: string }[] }) => (r.encryptedDataKeys.some((e) => e.providerId === 'plain') ? new Uint8Array(fixedKey) : null)) as never,
    };
    const sealed = await encrypt(pattern(13), { keyring: plain });
    expect(bytesEqual((await decrypt(sealed.ciphertext, { keyring: plain })).plaintext, pattern(13))).toBe(true);
    const throwsAtOnce: Keyring = {
      wrapKey: () => {
        throw new Error('sync wrap');
      },
      unwrapKey: () => {
        throw new Error('sync unwrap');
      },
    };
    for (const run of [() => encrypt(pattern(3), { keyring: throwsAtOnce }), () => decrypt(ciphertext, { keyring: throwsAtOnce })]) {
      const err = (await thrown(run)) as SealboxError;
      expect(err).toBeInstanceOf(SealboxError);
      expect(err.code).toBe('ERR_KEYRING');
      expect(err.cause).toBeInstanceOf(Error);
    }
    // A multi-keyring passes over a child that throws at once and uses the next.
    const multi = new MultiKeyring({ children: [throwsAtOnce, a] });
    expect(bytesEqual((await decrypt(ciphertext, { keyring: multi })).plaintext, pattern(11))).toBe(true);
  });
});
