// The in-page test suites, run by test/browser/chromium.test.ts in headless Chromium. The
// public API comes from the minified bundle (test/browser/build.ts rewrites the import); the
// only internal used is encryptWithMessageId, to fix the message id for byte comparisons.
import * as api from '../../../src/index.js';
import type { AeadBackendName } from '../../../src/index.js';
import { encryptWithMessageId } from '../../../src/encrypt.js';
import { CROSS, crossKeyring, equalBytes, fixedMessage, fromBase64, outcome, pattern, sizeGrid, sortedJson, tamperSummary, toBase64, vectorOutcomes } from '../shared.js';
import type { VectorFile } from '../shared.js';

const keyring = new api.RawAesKeyring({ namespace: 'page', name: 'k', wrappingKey: pattern(32, 7) });

const suites = {
  info() {
    return {
      backend: api.getAeadBackend().name,
      subtle: typeof globalThis.crypto?.subtle !== 'undefined',
      secureContext: globalThis.isSecureContext,
      hasBuffer: 'Buffer' in globalThis,
      hasProcess: 'process' in globalThis,
    };
  },

  /** Round trips over the size grid, a few MiB, offset views, and every in-page backend pair. */
  async roundTrips(): Promise<{ checked: number; failures: string[] }> {
    const failures: string[] = [];
    let checked = 0;
    const check = async (label: string, plaintext: Uint8Array, frameLength: number | undefined, enc?: AeadBackendName, dec?: AeadBackendName): Promise<void> => {
      checked++;
      try {
        const { ciphertext, header } = await api.encrypt(plaintext, { keyring, ...(frameLength ? { frameLength } : {}), ...(enc ? { backend: enc } : {}) });
        if (frameLength && header.frameLength !== frameLength) failures.push(`${label}: frame length ${header.frameLength}`);
        const result = await api.decrypt(ciphertext, { keyring, ...(dec ? { backend: dec } : {}) });
        if (!equalBytes(result.plaintext, plaintext)) failures.push(`${label}: plaintext differs`);
      } catch (err) {
        failures.push(`${label}: ${(err as Error).name} ${(err as { code?: string }).code ?? ''}`);
      }
    };
    for (const { frameLength, size } of sizeGrid()) await check(`F=${frameLength} n=${size}`, pattern(size, size + 3), frameLength);
    await check('3 MiB + 123, default frames', pattern(3 * 1024 * 1024 + 123), undefined);
    // Views with a non-zero offset, in and out.
    const backing = pattern(5000);
    await check('subarray input', backing.subarray(77, 4077), 512);
    const { ciphertext } = await api.encrypt(backing, { keyring, frameLength: 512 });
    const shifted = new Uint8Array(ciphertext.length + 13);
    shifted.set(ciphertext, 13);
    checked++;
    if (!equalBytes((await api.decrypt(shifted.subarray(13), { keyring })).plaintext, backing)) failures.push('subarray ciphertext');
    for (const enc of ['webcrypto', 'noble'] as const) {
      for (const dec of ['webcrypto', 'noble'] as const) await check(`${enc} -> ${dec}`, pattern(3000), 1000, enc, dec);
    }
    return { checked, failures };
  },

  /** The three samples of test/tamper.test.ts: every bit flip, every truncation, an appended byte. */
  async tamper() {
    const multi = new api.MultiKeyring({ generator: keyring, children: [new api.RawAesKeyring({ namespace: 'page', name: 'b', wrappingKey: pattern(32, 2) })] });
    const samples = [
      (await api.encrypt(new Uint8Array(0), { keyring: multi, frameLength: 64 })).ciphertext,
      (await api.encrypt(pattern(40), { keyring: multi, frameLength: 64 })).ciphertext,
      (await api.encrypt(pattern(150), { keyring: multi, frameLength: 64, encryptionContext: { tenant: 'acme', purpose: 'test' } })).ciphertext,
    ];
    const out = [];
    for (const s of samples) out.push(await tamperSummary(api, multi, s));
    return out;
  },

  vectors(vectors: VectorFile[], keys: { namespace: string; keys: Record<string, string> }) {
    return vectorOutcomes(api, vectors, keys);
  },

  /** The fixed message with a named backend (or the page's default). */
  fixedMessage(backend: AeadBackendName | null) {
    return fixedMessage(encryptWithMessageId, api.RawAesKeyring, backend ?? undefined);
  },

  /** Cross-runtime: encrypt the agreed plaintext here for Node to decrypt. */
  async crossEncrypt(): Promise<string> {
    const { ciphertext } = await api.encrypt(pattern(CROSS.size, 5), { keyring: crossKeyring(api), frameLength: CROSS.frameLength, encryptionContext: CROSS.encryptionContext });
    return toBase64(ciphertext);
  },

  /** Cross-runtime: decrypt a message Node made; true when it gives the agreed plaintext and context. */
  async crossDecrypt(b64: string): Promise<string> {
    const result = await outcome(api, () => api.decrypt(fromBase64(b64), { keyring: crossKeyring(api), expectedEncryptionContext: CROSS.encryptionContext }));
    const expected = `plaintext:${toBase64(pattern(CROSS.size, 5))}:${sortedJson(CROSS.encryptionContext)}`;
    return result === expected ? 'match' : result.slice(0, 80);
  },
};

(globalThis as unknown as { sealboxSuites: typeof suites }).sealboxSuites = suites;
export type Suites = typeof suites;
