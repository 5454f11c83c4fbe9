import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import type { KEMPrepared } from '@noble/post-quantum/ml-kem.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { sha3_256, shake256 } from '@noble/hashes/sha3.js';
import { clean as wipe, concatBytes as concat, randomBytes } from '@noble/hashes/utils.js';

// X-Wing (draft-connolly-cfrg-xwing-kem-10, the construction of -05 to -10; HPKE KEM id 0x647a): ML-KEM-768 and X25519 under the
// X-Wing combiner. This module is only ever loaded through import() (see xwing.ts), and imports
// nothing from the core: a shared module would split the browser core bundle into more chunks
// (about 1.1 KiB gzipped more, measured). The core's functions it needs are passed in.
//
// Why not @noble/post-quantum's `ml_kem768_x25519` as is (it is X-Wing, and the tests use it as
// the reference): this composition (1) takes X25519 from node:crypto (OpenSSL) where it exists,
// about ten times faster than pure JS, and ML-KEM-768 from node:crypto where it exists (Node
// >= 24.7, OpenSSL 3.5), about fifteen times faster; (2) keeps noble's ML-KEM public key
// prepared (its matrix expanded once per recipient, not once per message); (3) applies one
// policy for all-zero X25519 results on both X25519 paths (below). The lattice and curve
// arithmetic are noble's or OpenSSL's; only the draft's byte layout and combiner are written here.

/** X-Wing sizes in bytes (draft §5). */
export const XWING_SEED_BYTES = 32;
export const XWING_PUBLIC_KEY_BYTES = 1216;
export const XWING_CIPHERTEXT_BYTES = 1120;
export const XWING_SHARED_SECRET_BYTES = 32;
/** Encapsulation randomness: 32 bytes for ML-KEM's m, 32 for the X25519 ephemeral secret. */
export const XWING_ESEED_BYTES = 64;

const MLKEM_PK = 1184;
const MLKEM_CT = 1088;
/** The X-Wing combiner's label, `\.//^\` (draft §5.3). */
const XWING_LABEL = new Uint8Array([0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c]);

/**
 * An X25519 implementation. Policy (both implementations): a result of all zeros, which comes
 * only from a low-order peer point (Wycheproof's `ZeroSharedSecret` cases), is refused by
 * throwing. An honest X-Wing key pair or encapsulation never produces one, so refusing costs no
 * interoperability; accepting would make the X25519 half contribute a constant. Non-canonical
 * and twist points are accepted as RFC 7748 §5 says (the top bit masked, u reduced mod p).
 */
export interface X25519 {
  readonly name: 'node' | 'noble';
  /**
   * A handle for a 32-byte secret (node:crypto parses it once into a KeyObject; noble keeps a
   * copy). Never `bytes` itself: the caller wipes its bytes once it has the handle.
   */
  secret(bytes: Uint8Array): unknown;
  publicKey(secret: unknown): Uint8Array;
  /** A handle for a peer's 32-byte public key. */
  peer(publicKey: Uint8Array): unknown;
  sharedSecret(secret: unknown, peer: unknown): Uint8Array;
  /** A fresh random key pair (the encapsulation's ephemeral key). */
  ephemeral(): { secret: unknown; publicKey: Uint8Array };
}

export const nobleX25519: X25519 = {
  name: 'noble',
  // A copy (new Uint8Array, not slice(): a Node Buffer's slice() is a view of the caller's bytes).
  secret: (bytes) => new Uint8Array(bytes),
  publicKey: (secret) => x25519.getPublicKey(secret as Uint8Array),
  peer: (publicKey) => publicKey,
  // noble refuses low-order points before the ladder (throws), which covers every all-zero result.
  sharedSecret: (secret, peer) => nonZero(x25519.getSharedSecret(secret as Uint8Array, peer as Uint8Array)),
  ephemeral: () => {
    const secret = randomBytes(32);
    return { secret, publicKey: x25519.getPublicKey(secret) };
  },
};

// RFC 8410 DER prefix of an X25519 private key (PKCS #8).
const PKCS8_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);

function makeNodeX25519(): X25519 | undefined {
  // As crypto/aead-node.ts reaches node:crypto (not imported here: see above).
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const crypto = proc?.getBuiltinModule?.('node:crypto') as typeof import('node:crypto') | undefined;
  if (!crypto || typeof crypto.diffieHellman !== 'function') return undefined;
  type KeyObject = import('node:crypto').KeyObject;
  const b64url = (bytes: Uint8Array) => (globalThis as unknown as { Buffer: typeof import('node:buffer').Buffer }).Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url');
  const fromB64url = (text: string) => new Uint8Array((globalThis as unknown as { Buffer: typeof import('node:buffer').Buffer }).Buffer.from(text, 'base64url'));
  // Measured here: OpenSSL's DER decoder makes a KeyObject in ~2 ms under load against ~0.2 ms
  // for generateKeyPairSync and ~0.1 ms for a JWK public key, so the per-message ephemeral key
  // is generated, peers come in as JWK, and DER parsing is left to static secrets (once per keyring).
  const x: X25519 = {
    name: 'node',
    secret: (bytes) => {
      const der = concat(PKCS8_PREFIX, bytes);
      try {
        return crypto.createPrivateKey({ key: der as Buffer, format: 'der', type: 'pkcs8' });
      } finally {
        der.fill(0);
      }
    },
    publicKey: (secret) => fromB64url(crypto.createPublicKey(secret as KeyObject).export({ format: 'jwk' }).x!),
    peer: (publicKey) => crypto.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(publicKey) }, format: 'jwk' }),
    // OpenSSL refuses an all-zero result (throws), which is every low-order point.
    sharedSecret: (secret, peer) => nonZero(new Uint8Array(crypto.diffieHellman({ privateKey: secret as KeyObject, publicKey: peer as KeyObject }))),
    ephemeral: () => {
      const { privateKey, publicKey } = crypto.generateKeyPairSync('x25519');
      return { secret: privateKey, publicKey: fromB64url(publicKey.export({ format: 'jwk' }).x!) };
    },
  };
  try {
    // Present and working (some runtimes expose node:crypto without X25519).
    const e = x.ephemeral();
    x.sharedSecret(x.secret(new Uint8Array(32).fill(1)), x.peer(e.publicKey));
    return x;
  } catch {
    return undefined;
  }
}

/** node:crypto's X25519 on Node, else undefined. */
export const nodeX25519: X25519 | undefined = makeNodeX25519();

/**
 * An ML-KEM-768 implementation (FIPS 203). Handles are the implementation's own (noble's
 * prepared key and secret-key bytes, or node:crypto KeyObjects).
 */
export interface MlKem768 {
  readonly name: 'node' | 'noble';
  /** A handle for a 1,184-byte encapsulation key; throws when FIPS 203 §7.2's modulus check fails. */
  publicKey(bytes: Uint8Array): unknown;
  /** The key pair of a 64-byte seed d ‖ z (FIPS 203 ML-KEM.KeyGen_internal). */
  keygen(seed: Uint8Array): { publicKey: Uint8Array; secretKey: unknown };
  /**
   * `m`: the 32 bytes of encapsulation randomness, for the draft's vectors only. node:crypto
   * draws its own and has no way to take them, so its implementation throws RangeError.
   */
  encapsulate(publicKey: unknown, m?: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array };
  /** Never fails on a well-sized ciphertext (implicit rejection). */
  decapsulate(cipherText: Uint8Array, secretKey: unknown, publicKey: unknown): Uint8Array;
}

export const nobleMlKem768: MlKem768 = {
  name: 'noble',
  // prepare() runs FIPS 203 §7.2's modulus check on the encapsulation key and throws on failure.
  publicKey: (bytes) => ml_kem768.prepare(bytes),
  keygen: (seed) => ml_kem768.keygen(seed),
  encapsulate: (pk, m) => (pk as KEMPrepared).encapsulate(m),
  decapsulate: (ct, sk, pk) => (pk as KEMPrepared).decapsulate(ct, sk as Uint8Array),
};

// PKCS #8 prefix of an ML-KEM-768 private key in its seed-only form (draft-ietf-lamps-kyber-
// certificates, the form OpenSSL 3.5 reads: OneAsymmetricKey { 0, id-alg-ml-kem-768 (2.16.840.1.101.3.4.4.2),
// [0] IMPLICIT OCTET STRING (64) d ‖ z }).
const MLKEM768_PKCS8_SEED_PREFIX = new Uint8Array([
  0x30, 0x54, 0x02, 0x01, 0x00, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x04, 0x02, 0x04, 0x42, 0x80, 0x40,
]);

/** What node:crypto adds on Node >= 24.7 (the @types/node this project builds with is Node 20's). */
interface NodeKem {
  encapsulate(key: unknown): { sharedKey: Uint8Array; ciphertext: Uint8Array };
  decapsulate(key: unknown, ciphertext: Uint8Array): Uint8Array;
}

function makeNodeMlKem768(): MlKem768 | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const crypto = proc?.getBuiltinModule?.('node:crypto') as (typeof import('node:crypto') & Partial<NodeKem>) | undefined;
  if (!crypto || typeof crypto.encapsulate !== 'function' || typeof crypto.decapsulate !== 'function') return undefined;
  const kem = crypto as typeof import('node:crypto') & NodeKem;
  type KeyObject = import('node:crypto').KeyObject;
  const B = (globalThis as unknown as { Buffer: typeof import('node:buffer').Buffer }).Buffer;
  const bytes = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.length);
  const m: MlKem768 = {
    name: 'node',
    // Node's JWK "AKP" form takes the raw key without DER parsing. OpenSSL runs
    // FIPS 203 §7.2's modulus check on import and throws on failure, as noble's prepare() does.
    publicKey: (pk) => kem.createPublicKey({ key: { kty: 'AKP', alg: 'ML-KEM-768', pub: B.from(pk.buffer, pk.byteOffset, pk.length).toString('base64url') }, format: 'jwk' } as never),
    keygen: (seed) => {
      if (seed.length !== 64) throw new RangeError('ML-KEM-768 seed expected 64 bytes');
      // OpenSSL expands d ‖ z itself (FIPS 203 Algorithm 16), the same key pair noble derives.
      const der = concat(MLKEM768_PKCS8_SEED_PREFIX, seed);
      try {
        const secretKey = kem.createPrivateKey({ key: der as Buffer, format: 'der', type: 'pkcs8' });
        const pub = (kem.createPublicKey(secretKey).export({ format: 'jwk' }) as { pub?: string }).pub!;
        return { publicKey: new Uint8Array(B.from(pub, 'base64url')), secretKey };
      } finally {
        der.fill(0);
      }
    },
    encapsulate: (pk, random) => {
      if (random !== undefined) throw new RangeError("node:crypto's ML-KEM-768 draws its own encapsulation randomness");
      const { sharedKey, ciphertext } = kem.encapsulate(pk as KeyObject);
      return { cipherText: bytes(ciphertext), sharedSecret: bytes(sharedKey) };
    },
    decapsulate: (ct, sk) => bytes(kem.decapsulate(sk as KeyObject, ct)),
  };
  try {
    // Present and working (Node 24.0 to 24.6 have encapsulate() but no ML-KEM).
    const { publicKey, secretKey } = m.keygen(new Uint8Array(64).fill(1));
    const { cipherText, sharedSecret } = m.encapsulate(m.publicKey(publicKey));
    if (!equalBytes(m.decapsulate(cipherText, secretKey, undefined), sharedSecret)) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

/** node:crypto's ML-KEM-768 where this Node has it (24.7 and later), else undefined. */
export const nodeMlKem768: MlKem768 | undefined = makeNodeMlKem768();

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function nonZero(shared: Uint8Array): Uint8Array {
  let acc = 0;
  for (const b of shared) acc |= b;
  if (acc === 0) throw new Error('X25519 gave an all-zero shared secret (low-order point)');
  return shared;
}

/** A recipient's public key, parsed once: reused for every message sent to it. */
export interface XWingPublicKey {
  readonly bytes: Uint8Array;
  /** The ML-KEM implementation's handle. */
  readonly mlkem: unknown;
  readonly x25519: unknown;
  readonly x25519Bytes: Uint8Array;
}

/** A decapsulation key: the 32-byte seed expanded once (draft §5.2). */
export interface XWingPrivateKey {
  readonly publicKey: XWingPublicKey;
  /** The ML-KEM implementation's handle. */
  readonly mlkemSecret: unknown;
  /** The X25519 secret as the implementation's handle. */
  readonly x25519Secret: unknown;
}

/** The X-Wing KEM over one X25519 and one ML-KEM-768 implementation. */
export interface XWingKem {
  readonly x25519: X25519;
  readonly mlkem: MlKem768;
  /**
   * Parses a 1216-byte public key; throws when its ML-KEM half fails FIPS 203's modulus check or
   * its X25519 half is a low-order point (the X25519 policy).
   */
  publicKey(bytes: Uint8Array): XWingPublicKey;
  /** Expands a 32-byte seed (the X-Wing decapsulation key). */
  privateKey(seed: Uint8Array): XWingPrivateKey;
  /** `eseed`: 64 bytes of randomness; only the draft's vectors pass it (noble's ML-KEM only). */
  encapsulate(pk: XWingPublicKey, eseed?: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array };
  decapsulate(ct: Uint8Array, sk: XWingPrivateKey): Uint8Array;
  /** Zeroes what a private key holds as bytes (noble's handles; node:crypto's KeyObjects cannot be); it is unusable after. */
  dispose(sk: XWingPrivateKey): void;
}

function combine(ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): Uint8Array {
  // draft §5.3: SHA3-256(ss_M ‖ ss_X ‖ ct_X ‖ pk_X ‖ XWingLabel)
  const input = concat(ssM, ssX, ctX, pkX, XWING_LABEL);
  try {
    return sha3_256(input);
  } finally {
    wipe(input);
    wipe(ssM);
    wipe(ssX);
  }
}

function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) throw new RangeError(`${what} expected ${length} bytes`);
}

/** X-Wing on the given implementations (node:crypto's by default where present, else noble's). */
export function xwingKem(x: X25519 = nodeX25519 ?? nobleX25519, k: MlKem768 = nodeMlKem768 ?? nobleMlKem768): XWingKem {
  // A public scalar (nothing secret rides on it), made on first use: node:crypto's DER import costs ~2 ms.
  let probe: unknown;
  /** `own`: the public half of our own key (never low-order), else a key from outside, checked. */
  const parsePublicKey = (given: Uint8Array, own: boolean): XWingPublicKey => {
    checkLength(given, XWING_PUBLIC_KEY_BYTES, 'X-Wing public key');
    // Our copy, made with new Uint8Array and not slice(): a Node Buffer's slice() is a view of
    // bytes the caller may reuse, and pk_X goes into every encapsulation's combiner.
    const bytes = new Uint8Array(given);
    const x25519Bytes = bytes.subarray(MLKEM_PK);
    const peer = x.peer(x25519Bytes);
    if (!own) {
      // The X25519 policy (see X25519) at parse time: a low-order pk_X gives every clamped scalar
      // an all-zero result, so one multiplication by a fixed scalar finds it (and throws).
      try {
        wipe(x.sharedSecret((probe ??= x.secret(new Uint8Array(32).fill(0x5a))), peer));
      } catch (err) {
        throw new Error('X-Wing public key: its X25519 half is a low-order point', { cause: err });
      }
    }
    // Both implementations run FIPS 203 §7.2's modulus check on the encapsulation key and throw on failure.
    return { bytes, mlkem: k.publicKey(bytes.subarray(0, MLKEM_PK)), x25519: peer, x25519Bytes };
  };
  return {
    x25519: x,
    mlkem: k,
    publicKey: (bytes) => parsePublicKey(bytes, false),
    privateKey(seed) {
      checkLength(seed, XWING_SEED_BYTES, 'X-Wing seed');
      // draft §5.2: expanded = SHAKE256(sk, 96): ML-KEM-768 seed d ‖ z (64), X25519 secret (32).
      const expanded = shake256(seed, { dkLen: 96 });
      try {
        const mlkem = k.keygen(expanded.subarray(0, 64));
        // The handle is the implementation's own (a copy or a KeyObject): these bytes are wiped below.
        const x25519Secret = x.secret(expanded.subarray(64, 96));
        const pk = parsePublicKey(concat(mlkem.publicKey, x.publicKey(x25519Secret)), true);
        return { publicKey: pk, mlkemSecret: mlkem.secretKey, x25519Secret };
      } finally {
        wipe(expanded);
      }
    },
    encapsulate(pk, eseed) {
      if (eseed !== undefined) checkLength(eseed, XWING_ESEED_BYTES, 'X-Wing eseed');
      // draft §5.4: eseed = m (ML-KEM, 32) ‖ ek_X (32). Without eseed (every real message) the
      // same values come from the CSPRNG: m from noble's (or OpenSSL's, inside node:crypto's
      // encapsulate), ek_X from the X25519 implementation.
      const m = eseed ? new Uint8Array(eseed.subarray(0, 32)) : k.name === 'noble' ? randomBytes(32) : undefined;
      const eph = eseed ? undefined : x.ephemeral();
      const ek = eph ? eph.secret : x.secret(eseed!.subarray(32, 64));
      const ctX = eph ? eph.publicKey : x.publicKey(ek);
      let ssX: Uint8Array | undefined;
      try {
        // X25519 first: it may throw (low-order pk_X), and then no ML-KEM secret is left to wipe.
        ssX = x.sharedSecret(ek, pk.x25519);
        const { cipherText: ctM, sharedSecret: ssM } = k.encapsulate(pk.mlkem, m);
        return { cipherText: concat(ctM, ctX), sharedSecret: combine(ssM, ssX, ctX, pk.x25519Bytes) };
      } finally {
        // combine() wiped ssX on success; this is for an ML-KEM failure.
        if (ssX) wipe(ssX);
        if (m) wipe(m);
        if (ek instanceof Uint8Array) wipe(ek);
      }
    },
    decapsulate(ct, sk) {
      checkLength(ct, XWING_CIPHERTEXT_BYTES, 'X-Wing ciphertext');
      const ctX = ct.subarray(MLKEM_CT);
      // X25519 first: it may throw (low-order ct_X), and then no ML-KEM secret is left to wipe.
      const ssX = x.sharedSecret(sk.x25519Secret, x.peer(ctX));
      let ssM: Uint8Array;
      try {
        // ML-KEM decapsulation never fails on a well-sized ciphertext (implicit rejection).
        ssM = k.decapsulate(ct.subarray(0, MLKEM_CT), sk.mlkemSecret, sk.publicKey.mlkem);
      } catch (err) {
        wipe(ssX);
        throw err;
      }
      return combine(ssM, ssX, ctX, sk.publicKey.x25519Bytes);
    },
    dispose(sk) {
      if (sk.mlkemSecret instanceof Uint8Array) wipe(sk.mlkemSecret);
      if (sk.x25519Secret instanceof Uint8Array) wipe(sk.x25519Secret);
    },
  };
}
