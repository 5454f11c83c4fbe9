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
 * @throws Error when a named backend is not available in this runtime.
 */
export function getAeadBackend(name?: AeadBackendName): AeadBackend {
  if (name === undefined) {
    chosen ??= createNodeAeadBackend() ?? createWebCryptoAeadBackend() ?? createNobleAeadBackend();
    return chosen;
  }
  const cached = named.get(name);
  if (cached) return cached;
  const backend = name === 'node' ? createNodeAeadBackend() : name === 'webcrypto' ? createWebCryptoAeadBackend() : createNobleAeadBackend();
  if (!backend) throw new Error(`AES-GCM backend "${name}" is not available in this runtime`);
  named.set(name, backend);
  return backend;
}
