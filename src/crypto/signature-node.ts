import { nodeCrypto } from './aead-node.js';
import type { ExternalHash, SignatureBackend } from './signature.js';
import type { RawSigner, RawVerifier } from './signature-policy.js';
import { withPolicy } from './signature-policy.js';
import { PresignPool, signDigest } from './presign-node.js';

// Node only: the browser bundle replaces this file with signature-node.browser.ts.

type NodeCrypto = typeof import('node:crypto');
type KeyObject = import('node:crypto').KeyObject;

/**
 * SubjectPublicKeyInfo DER up to the point, for a compressed P-384 point (RFC 5480):
 * SEQUENCE { SEQUENCE { id-ecPublicKey, secp384r1 }, BIT STRING (0 unused bits) 49 bytes }.
 * OpenSSL decompresses it and refuses x >= p and an x with no point on the curve.
 */
const SPKI_COMPRESSED_PREFIX = Uint8Array.from([
  0x30, 0x46, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x32, 0x00,
]);

/**
 * The compressed point of a P-384 public KeyObject, from its JWK export (x, and the parity of
 * y): 25-30 us against 130-150 us for an SPKI export of a fresh key, on the caller's thread.
 */
function compressedPoint(publicKey: KeyObject): Uint8Array {
  const { x, y } = publicKey.export({ format: 'jwk' });
  const xBytes = fromBase64Url(x);
  const yBytes = fromBase64Url(y);
  if (xBytes?.length !== 48 || yBytes?.length !== 48) throw new Error('unexpected P-384 public key encoding from node:crypto');
  const out = new Uint8Array(49);
  out[0] = 0x02 | (yBytes[47]! & 1);
  out.set(xBytes, 1);
  return out;
}

/** The bytes of base64url text (RFC 7515 §2), as JWK coordinates are written. */
function fromBase64Url(text: string | undefined): Uint8Array | undefined {
  if (text === undefined) return undefined;
  const { Buffer } = (globalThis as unknown as { process: { getBuiltinModule(id: 'node:buffer'): typeof import('node:buffer') } }).process.getBuiltinModule('node:buffer');
  return Buffer.from(text, 'base64url');
}

/** A fresh key pair from OpenSSL on libuv's thread pool, its public key compressed. */
function generateKeyPair(crypto: NodeCrypto): Promise<{ privateKey: KeyObject; publicKey: Uint8Array }> {
  return new Promise((resolve, reject) => {
    crypto.generateKeyPair('ec', { namedCurve: 'secp384r1' }, (err, publicKey, privateKey) => {
      if (err) reject(err);
      else {
        try {
          resolve({ privateKey, publicKey: compressedPoint(publicKey) });
        } catch (e) {
          reject(e);
        }
      }
    });
  });
}

/** ECDSA P-384 / SHA-384 on node:crypto (OpenSSL). Undefined outside Node. */
export function createNodeSignatureBackend(): SignatureBackend | undefined {
  const crypto = nodeCrypto();
  if (!crypto) return undefined;
  const pool = new PresignPool(crypto);
  return withPolicy(
    'node',
    async (external?: ExternalHash): Promise<RawSigner> => {
      if (external) {
        // Hashed elsewhere (a file's hash thread, src/node/hash-thread.ts), signed there too
        // by OpenSSL: one key generation a file.
        const pair = await generateKeyPair(crypto);
        return { publicKey: pair.publicKey, update: (chunk) => external.update(chunk), sign: () => external.sign(pair.privateKey) };
      }
      // Both scalar multiplications were made ahead (presign-node.ts); the signed bytes are
      // hashed on this thread as they arrive: nothing is copied or kept.
      const entry = pool.take();
      const hash = crypto.createHash('sha384');
      return {
        publicKey: entry.publicKey,
        update: (chunk) => void hash.update(chunk),
        sign: async () => signDigest(hash.digest(), entry, crypto.randomBytes(48)),
      };
    },
    (publicKey, external?: ExternalHash): Promise<RawVerifier | undefined> => {
      const spki = new Uint8Array(SPKI_COMPRESSED_PREFIX.length + publicKey.length);
      spki.set(SPKI_COMPRESSED_PREFIX);
      spki.set(publicKey, SPKI_COMPRESSED_PREFIX.length);
      let key: KeyObject;
      try {
        key = crypto.createPublicKey({ key: spki as Buffer, format: 'der', type: 'spki' });
      } catch {
        return Promise.resolve(undefined);
      }
      if (external) {
        return Promise.resolve({
          update: (chunk) => external.update(chunk),
          verify: (signature, format = 'p1363') => external.verify(key, signature, format === 'der'),
        });
      }
      const hash = crypto.createVerify('sha384');
      return Promise.resolve({
        update: (chunk) => void hash.update(chunk),
        verify: async (signature, format = 'p1363') => {
          try {
            return hash.verify({ key, dsaEncoding: format === 'der' ? 'der' : 'ieee-p1363' }, signature);
          } catch {
            return false;
          }
        },
      });
    },
  );
}
