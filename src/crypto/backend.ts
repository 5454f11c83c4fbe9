import type { AeadBackend } from './aead.js';
import { createNodeAeadBackend } from './aead-node.js';
import { createNobleAeadBackend } from './aead-noble.js';
import { createWebCryptoAeadBackend } from './aead-webcrypto.js';

/** Names accepted by {@link getAeadBackend}. */
export type AeadBackendName = AeadBackend['name'];

let chosen: AeadBackend | undefined;
/** Backends asked for by name, made once each (the node backend keeps scratch buffers). */
const named = new Map<AeadBackendName, AeadBackend>();

/**
 * The AES-GCM backend for this runtime: `node:crypto` on Node, WebCrypto in browsers and
 * workers, `@noble/ciphers` where neither exists. All produce identical bytes.
 *
 * @example
 * ```ts
 * getAeadBackend().name; // 'node' on Node
 * getAeadBackend('noble'); // force the portable fallback (tests, benchmarks)
 * ```
 * @throws TypeError for a name other than `'node'`, `'webcrypto'` and `'noble'`; Error when a
 * named backend is not available in this runtime.
 */
export function getAeadBackend(name?: AeadBackendName): AeadBackend {
  if (name === undefined) {
    chosen ??= createNodeAeadBackend() ?? createWebCryptoAeadBackend() ?? createNobleAeadBackend();
    return chosen;
  }
  const cached = named.get(name);
  if (cached) return cached;
  // Any other name was the portable fallback: a typo ('Node') made everything 10x slower, and
  // ignored `concurrency`, without a word.
  if (name !== 'node' && name !== 'webcrypto' && name !== 'noble') {
    throw new TypeError(`"backend" expected "node", "webcrypto" or "noble", got ${typeof name === 'string' ? JSON.stringify((name as string).slice(0, 40)) : typeof name}`);
  }
  const backend = name === 'node' ? createNodeAeadBackend() : name === 'webcrypto' ? createWebCryptoAeadBackend() : createNobleAeadBackend();
  if (!backend) throw new Error(`AES-GCM backend "${name}" is not available in this runtime`);
  named.set(name, backend);
  return backend;
}
