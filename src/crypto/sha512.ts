import type { MaybePromise } from './aead.js';
import { nodeCrypto } from './aead-node.js';
import { subtleCrypto, webCryptoView } from './aead-webcrypto.js';

/**
 * SHA-512 on the platform's own implementation: node:crypto on Node (synchronous), WebCrypto
 * in browsers and workers, @noble/hashes (loaded on first use) where neither exists. Keeping
 * @noble/hashes out of the eager import graph keeps it out of the browser core bundle.
 */
export function sha512(data: Uint8Array): MaybePromise<Uint8Array> {
  const node = nodeCrypto();
  if (node) return node.createHash('sha512').update(data).digest();
  const subtle = subtleCrypto();
  if (subtle) {
    return subtle.digest('SHA-512', webCryptoView(data)).then((digest) => new Uint8Array(digest));
  }
  return import('@noble/hashes/sha2.js').then((m) => m.sha512(data));
}
