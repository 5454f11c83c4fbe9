import { vi } from 'vitest';
import { getAeadBackend } from '../../src/index.js';
import type { AeadKey } from '../../src/crypto/aead.js';

/**
 * Every plaintext array the AEAD backend's keys opened, in order (the default backend, or the
 * one named): a spy on its `importKey` that wraps each key it makes. Tests check afterwards that
 * what was held back was zeroed. `vi.restoreAllMocks()` removes the spy.
 */
export function recordOpens(backend?: 'node' | 'webcrypto'): Uint8Array[] {
  const opened: Uint8Array[] = [];
  const aead = backend === undefined ? getAeadBackend() : getAeadBackend(backend);
  const importKey = aead.importKey.bind(aead);
  vi.spyOn(aead, 'importKey').mockImplementation((raw) => {
    const wrap = (key: AeadKey): AeadKey => ({
      ...key,
      seal: key.seal.bind(key),
      open: (nonce, aad, sealed) => {
        const r = key.open(nonce, aad, sealed);
        const keep = (p: Uint8Array): Uint8Array => (opened.push(p), p);
        return r instanceof Promise ? r.then(keep) : keep(r);
      },
    });
    const k = importKey(raw);
    return k instanceof Promise ? k.then(wrap) : wrap(k);
  });
  return opened;
}
