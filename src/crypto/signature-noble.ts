import { p384 } from '@noble/curves/nist.js';
import { sha384 } from '@noble/hashes/sha2.js';
import type { SignatureBackend } from './signature.js';
import { withPolicy } from './signature-policy.js';

// Loaded through import() only (signature.ts), so in the browser bundle this and
// signature-policy.ts are a lazy chunk that imports nothing from the core (types vanish).

/**
 * ECDSA P-384 / SHA-384 in pure JavaScript: `@noble/hashes` hashes incrementally (WebCrypto
 * cannot), `@noble/curves` signs and verifies the digest (`prehash: false`). Signing is
 * deterministic (RFC 6979) under a fresh random key per message.
 */
export function createNobleSignatureBackend(): SignatureBackend {
  return withPolicy(
    'noble',
    () => {
      const secretKey = p384.utils.randomSecretKey();
      const hash = sha384.create();
      return Promise.resolve({
        publicKey: p384.getPublicKey(secretKey, true),
        update: (chunk) => void hash.update(chunk),
        sign() {
          try {
            return Promise.resolve(p384.sign(hash.digest(), secretKey, { prehash: false, lowS: true, format: 'compact' }));
          } finally {
            secretKey.fill(0);
          }
        },
      });
    },
    (publicKey) => {
      try {
        // Decompresses and checks the point (x < p, on the curve).
        p384.Point.fromBytes(publicKey).assertValidity();
      } catch {
        return Promise.resolve(undefined);
      }
      const hash = sha384.create();
      return Promise.resolve({
        update: (chunk) => void hash.update(chunk),
        verify(signature, format = 'p1363') {
          try {
            return Promise.resolve(p384.verify(signature, hash.digest(), publicKey, { prehash: false, lowS: false, format: format === 'der' ? 'der' : 'compact' }));
          } catch {
            return Promise.resolve(false);
          }
        },
      });
    },
  );
}
