/**
 * Signing and verifying over a precomputed digest (Sign/Verify with `MessageType: DIGEST`).
 * node:crypto hashes the message itself for ECDSA and RSASSA-PSS, so the digest forms are built
 * here: ECDSA with `@noble/curves` (`prehash: false`), PSS as the EMSA-PSS encoding of RFC 8017
 * §9.1 around node:crypto's raw RSA operation, PKCS#1 v1.5 as a DigestInfo under node:crypto's
 * PKCS#1 type 1 padding. No library in the tree does EMSA-PSS over a given digest; the encoding
 * is 30 lines and is checked against Wycheproof and against node:crypto's own PSS verify.
 */
import { constants, createHash, privateEncrypt, publicDecrypt, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';

/** A hash the KMS signing algorithms use. */
export type SigningHash = 'sha256' | 'sha384' | 'sha512';
/** The three signature schemes of the KMS signing algorithms. */
export type SigningKind = 'pss' | 'pkcs1' | 'ecdsa';

/** Digest lengths in bytes. */
export const DIGEST_BYTES: Readonly<Record<SigningHash, number>> = { sha256: 32, sha384: 48, sha512: 64 };

/** DER DigestInfo prefixes (RFC 8017 §9.2 note 1), for PKCS#1 v1.5 over a precomputed digest. */
const DIGEST_INFO: Readonly<Record<SigningHash, string>> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

/** JWK curve names of node:crypto EC keys, to the noble curve that signs on them. */
type NobleNist = typeof import('@noble/curves/nist.js');
type NobleK1 = typeof import('@noble/curves/secp256k1.js');
type NobleCurve = NobleNist['p256' | 'p384' | 'p521'] | NobleK1['secp256k1'];
let nist: NobleNist | undefined;
let k1: NobleK1 | undefined;
/**
 * @noble/curves' NIST curves, loaded on first use (Node 20.19+ and 22.12+ load ES modules with
 * require()): their precomputation costs every `LocalKms.open` (every CLI command) tens of
 * milliseconds otherwise, for digest signing that most stores never do.
 */
function curves(): { 'P-256': NobleNist['p256']; 'P-384': NobleNist['p384']; 'P-521': NobleNist['p521'] } {
  nist ??= createRequire(import.meta.url)('@noble/curves/nist.js') as NobleNist;
  return { 'P-256': nist.p256, 'P-384': nist.p384, 'P-521': nist.p521 };
}

function curveOf(key: KeyObject): NobleCurve {
  const name = key.asymmetricKeyDetails?.namedCurve;
  if (name === 'secp256k1') {
    k1 ??= createRequire(import.meta.url)('@noble/curves/secp256k1.js') as NobleK1;
    return k1.secp256k1;
  }
  const jwkName = name === 'prime256v1' ? 'P-256' : name === 'secp384r1' ? 'P-384' : name === 'secp521r1' ? 'P-521' : undefined;
  if (!jwkName) throw new RangeError(`no digest signing for curve ${String(name)}`);
  return curves()[jwkName];
}

const b64u = (s: string | undefined): Uint8Array => new Uint8Array(Buffer.from(s ?? '', 'base64url'));

/** MGF1 (RFC 8017 B.2.1) with `hash`. */
function mgf1(hash: SigningHash, seed: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(length);
  const counter = Buffer.alloc(4);
  for (let done = 0, i = 0; done < length; i++) {
    counter.writeUInt32BE(i);
    const block = createHash(hash).update(seed).update(counter).digest();
    done += block.copy(out, done);
  }
  return out;
}

/** H = Hash(0x00 * 8 || mHash || salt), RFC 8017 §9.1.1 steps 5-6. */
function pssHash(hash: SigningHash, digest: Uint8Array, salt: Uint8Array): Buffer {
  return createHash(hash).update(Buffer.alloc(8)).update(digest).update(salt).digest();
}

/** RSA modulus length in bits and bytes. */
function modulus(key: KeyObject): { bits: number; bytes: number } {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (!bits) throw new RangeError('not an RSA key');
  return { bits, bytes: Math.ceil(bits / 8) };
}

/**
 * EMSA-PSS-ENCODE (RFC 8017 §9.1.1) of `digest` with salt length = digest length (as AWS KMS
 * does), left-padded to the modulus length for the raw RSA operation.
 */
function pssEncode(hash: SigningHash, digest: Uint8Array, modBits: number, k: number): Buffer {
  const hLen = DIGEST_BYTES[hash];
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  if (emLen < 2 * hLen + 2) throw new RangeError('RSA key too short for PSS with this hash');
  const salt = randomBytes(hLen);
  const h = pssHash(hash, digest, salt);
  const db = Buffer.alloc(emLen - hLen - 1);
  db[db.length - hLen - 1] = 0x01;
  salt.copy(db, db.length - hLen);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  return Buffer.concat([Buffer.alloc(k - emLen), db, h, Buffer.from([0xbc])]);
}

/** EMSA-PSS-VERIFY (RFC 8017 §9.1.2) with salt length = digest length. `em` is k bytes. */
function pssVerify(hash: SigningHash, digest: Uint8Array, em: Buffer, modBits: number): boolean {
  const hLen = DIGEST_BYTES[hash];
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  // When emLen < k the leading byte of the k-byte block must be zero.
  if (em.length - emLen > 0 && em.subarray(0, em.length - emLen).some((b) => b !== 0)) return false;
  const e = em.subarray(em.length - emLen);
  if (emLen < 2 * hLen + 2 || e[emLen - 1] !== 0xbc) return false;
  const masked = Buffer.from(e.subarray(0, emLen - hLen - 1));
  const h = e.subarray(emLen - hLen - 1, emLen - 1);
  const topBits = 8 * emLen - emBits;
  if ((masked[0]! & ~(0xff >> topBits) & 0xff) !== 0) return false;
  const mask = mgf1(hash, h, masked.length);
  for (let i = 0; i < masked.length; i++) masked[i]! ^= mask[i]!;
  masked[0]! &= 0xff >> topBits;
  const psLen = emLen - 2 * hLen - 2;
  if (masked.subarray(0, psLen).some((b) => b !== 0) || masked[psLen] !== 0x01) return false;
  const salt = masked.subarray(masked.length - hLen);
  return timingSafeEqual(pssHash(hash, digest, salt), h);
}

/**
 * Signs a precomputed `digest` (its length already checked against `hash`). ECDSA signatures
 * are DER and, as AWS KMS's, not normalized to low S; PSS uses salt length = digest length.
 *
 * @throws RangeError for a key the scheme cannot use (a programmer mistake).
 * @example
 * ```ts
 * const sig = signDigest('ecdsa', 'sha256', privateKey, createHash('sha256').update(msg).digest());
 * ```
 */
export function signDigest(kind: SigningKind, hash: SigningHash, privateKey: KeyObject, digest: Uint8Array): Uint8Array {
  if (kind === 'ecdsa') {
    const d = b64u(privateKey.export({ format: 'jwk' }).d);
    try {
      return curveOf(privateKey).sign(digest, d, { prehash: false, lowS: false, format: 'der', extraEntropy: true });
    } finally {
      d.fill(0);
    }
  }
  const { bits, bytes } = modulus(privateKey);
  const block = kind === 'pss' ? pssEncode(hash, digest, bits, bytes) : Buffer.concat([Buffer.from(DIGEST_INFO[hash], 'hex'), digest]);
  const padding = kind === 'pss' ? constants.RSA_NO_PADDING : constants.RSA_PKCS1_PADDING;
  return new Uint8Array(privateEncrypt({ key: privateKey, padding }, block));
}

/**
 * True when `signature` is valid over the precomputed `digest`. Malformed signatures (bad DER,
 * wrong length, out of range) are simply not valid; high-S ECDSA signatures are accepted, as
 * AWS KMS and OpenSSL accept them.
 *
 * @example
 * ```ts
 * verifyDigest('pss', 'sha256', publicKey, digest, signature); // boolean
 * ```
 */
export function verifyDigest(kind: SigningKind, hash: SigningHash, publicKey: KeyObject, digest: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (kind === 'ecdsa') {
      const jwk = publicKey.export({ format: 'jwk' });
      const point = new Uint8Array([0x04, ...b64u(jwk.x), ...b64u(jwk.y)]);
      return curveOf(publicKey).verify(signature, digest, point, { prehash: false, lowS: false, format: 'der' });
    }
    const { bits, bytes } = modulus(publicKey);
    if (signature.length !== bytes) return false;
    if (kind === 'pss') return pssVerify(hash, digest, publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signature), bits);
    const expected = Buffer.concat([Buffer.from(DIGEST_INFO[hash], 'hex'), digest]);
    const got = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
    return got.length === expected.length && timingSafeEqual(got, expected);
  } catch {
    return false;
  }
}
