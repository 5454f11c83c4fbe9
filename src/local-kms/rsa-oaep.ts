import { constants, createPrivateKey, privateDecrypt } from 'node:crypto';

/**
 * RSAES-OAEP decryption as RFC 8017 §7.1.2 defines it: a ciphertext that is not exactly k
 * bytes (the modulus length) is a decryption error. node:crypto (OpenSSL) left-pads a shorter
 * input instead, so a valid ciphertext whose first byte is 0 would also open with that byte
 * cut off. Returns `undefined` for every failure alike (Manger's attack).
 */
export function rsaOaepDecryptDer(pkcs8Der: Uint8Array, hash: 'sha1' | 'sha256', ciphertext: Uint8Array): Uint8Array | undefined {
  const key = createPrivateKey({ key: Buffer.from(pkcs8Der), format: 'der', type: 'pkcs8' });
  const k = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  if (k === 0 || ciphertext.length !== k) return undefined;
  try {
    return new Uint8Array(privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, ciphertext));
  } catch {
    return undefined;
  }
}
