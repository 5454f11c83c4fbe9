import type { SignatureBackend, SignatureBackendName } from './signature.js';
import { createNodeSignatureBackend } from './signature-node.js';

// No import of the core here (errors, formats): src/message/signing.ts, a lazy chunk of the
// browser bundle, uses this module, and a lazy chunk may not share a module with the core.

const backends = new Map<SignatureBackendName | undefined, Promise<SignatureBackend>>();

/**
 * The ECDSA P-384 backend for this runtime: `node:crypto` on Node, `@noble/curves` elsewhere
 * (loaded on first use). Name one to force it (tests, benchmarks).
 *
 * @example
 * ```ts
 * (await getSignatureBackend()).name; // 'node' on Node
 * await getSignatureBackend('noble'); // the browser implementation, also on Node
 * ```
 * @throws Error (rejects) when a named backend is not available in this runtime.
 */
export function getSignatureBackend(name?: SignatureBackendName): Promise<SignatureBackend> {
  let backend = backends.get(name);
  if (!backend) {
    const node = name === 'noble' ? undefined : createNodeSignatureBackend();
    backend = node ? Promise.resolve(node) : name === 'node' ? Promise.reject(new Error('signature backend "node" is not available here')) : import('./signature-noble.js').then((m) => m.createNobleSignatureBackend());
    backends.set(name, backend);
  }
  return backend;
}

