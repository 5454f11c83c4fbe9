// DecryptFramer.abort while work is under way (its class comment: "work under way (a keyring
// call, a frame being opened, a signature being verified) emits nothing when it ends", and
// plaintext opened meanwhile is zeroed). The session's openFrame and the verifier are held
// here until the abort has happened, so the timing is exact.
import { describe, expect, it } from 'vitest';
import { encrypt, SealboxError, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../../src/index.js';
import type { DecryptSession } from '../../src/message/decrypt-session.js';
import { acceptHeader, beginDecryption, planDecryption } from '../../src/message/prologue.js';
import { DecryptFramer } from '../../src/stream/decrypt-framer.js';
import { pattern, testKeyring } from '../helpers/keys.js';

const keyring = testKeyring('abort', 7);
const F = 64;

/** A framer whose frames open only when `release` is called, recording what they opened into. */
function heldFramer(options: { holdFrames?: boolean; holdVerify?: boolean }) {
  const plan = planDecryption({ keyring });
  const opened: Uint8Array[] = [];
  const waiting: (() => void)[] = [];
  const hold = <T>(value: () => T | Promise<T>): Promise<T> => new Promise<T>((resolve) => waiting.push(() => resolve(value())));
  const framer = new DecryptFramer({
    acceptHeader: (bytes) => acceptHeader(plan, bytes),
    begin: async (header, bytes, tag) => {
      const session = await beginDecryption(plan, header, bytes, tag);
      const verifier = session.verifier;
      const held: DecryptSession = {
        ...session,
        ...(verifier && options.holdVerify
          ? { verifier: { update: (b: Uint8Array) => verifier.update(b), verify: (s: Uint8Array) => hold(() => verifier.verify(s)) } }
          : {}),
        openFrame(index, final, sealed) {
          const open = (): Promise<Uint8Array> => Promise.resolve(session.openFrame(index, final, sealed)).then((p) => (opened.push(p), p));
          return options.holdFrames ? hold(open) : open();
        },
      };
      return held;
    },
  });
  /** Resolves once something is held. */
  const held = async (): Promise<void> => {
    while (waiting.length === 0) await new Promise((r) => setTimeout(r, 1));
  };
  const release = (): void => waiting.shift()!();
  return { framer, opened, held, release };
}

describe('DecryptFramer.abort with work under way', () => {
  it('a frame being opened: its plaintext is zeroed when it arrives, nothing is emitted, and later input is ERR_STATE', async () => {
    const message = (await encrypt(pattern(40, 1), { keyring, frameLength: F })).ciphertext;
    const { framer, opened, held, release } = heldFramer({ holdFrames: true });
    const emitted: Uint8Array[] = [];
    const pushed = framer.push(message, (b) => emitted.push(b));
    // The open was asked for and is held: abort now, then let it finish.
    await held();
    framer.abort();
    release();
    await pushed;
    expect(emitted).toEqual([]);
    expect(opened).toHaveLength(1);
    expect(opened[0]!.length).toBe(40);
    expect(opened[0]!.every((b) => b === 0)).toBe(true);
    expect(() => framer.push(new Uint8Array(1), () => undefined)).toThrow(expect.objectContaining({ code: 'ERR_STATE' }));
  });

  it('a signature being verified: nothing is emitted, the framer is not done, and later input is ERR_STATE', async () => {
    const message = (await encrypt(pattern(2 * F + 22, 2), { keyring, frameLength: F, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 })).ciphertext;
    const { framer, held, release } = heldFramer({ holdVerify: true });
    const emitted: Uint8Array[] = [];
    // One byte after the message: a framer that went on after the abort would reach it.
    const pushed = Promise.resolve(framer.push(Buffer.concat([message, Buffer.of(0)]), (b) => emitted.push(b))).then(() => 'OK', (e: unknown) => (e instanceof SealboxError ? e.code : String(e)));
    // The verification was asked for and is held: abort now, then let it finish.
    await held();
    framer.abort();
    release();
    expect(await pushed).toBe('OK');
    // The regular frames were released as the frames after them verified; the final frame
    // (22 bytes, withheld for the signature) never was.
    expect(emitted.map((b) => b.length)).toEqual([F, F]);
    expect(framer.done).toBe(false);
    expect(() => framer.push(new Uint8Array(1), () => undefined)).toThrow(expect.objectContaining({ code: 'ERR_STATE' }));
  });
});

// decryptFile's frame pool writes each slot's emitted views, then reuses the slot: a frame held
// back into the next slot's push would be written after its slot was refilled (seen: a signed
// 40 MiB decryptFile with concurrency 3 wrote wrong bytes once in three runs). So with
// outputDiscardedOnFailure a signed message's regular frames are emitted during the push that
// opened them, and only streams hold one back.
describe('DecryptFramer, signed message, outputDiscardedOnFailure', () => {
  it('emits every regular frame in the push that opened it; without the option the last one waits for the next push', async () => {
    const plaintext = pattern(4 * F, 3);
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: F, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 });
    const plan = planDecryption({ keyring });
    for (const discarded of [true, false]) {
      const framer = new DecryptFramer({
        acceptHeader: (bytes) => acceptHeader(plan, bytes),
        begin: (header, bytes, tag) => Promise.resolve(beginDecryption(plan, header, bytes, tag)),
        outputDiscardedOnFailure: discarded,
      });
      // The header and the first two regular frames (each F + 17 bytes) in one push.
      const headerEnd = ciphertext.length - 96 - (F + 17) * 4 - 21;
      const cut = headerEnd + 2 * (F + 17);
      let emitted = 0;
      const r = framer.push(ciphertext.subarray(0, cut), (b) => (emitted += b.length));
      if (r instanceof Promise) await r;
      expect(emitted, String(discarded)).toBe(discarded ? 2 * F : F);
    }
  });
});
