import type { ExternalHash, MessageSigner, MessageVerifier, SignatureBackend } from './signature.js';

// Sealbox's encoding rules for ECDSA P-384 signatures and public keys, shared by both backends.
// Not in signature.ts: in the browser bundle this rides in the lazy noble chunk, not the core.

/** Length of one scalar (r or s) and of a field element. */
const SCALAR_BYTES = 48;

/** n, the order of the P-384 base point (SEC 2 §2.2.1; SP 800-186 §3.2.1.4). */
const N = 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;
/** Largest low-s value: (n - 1) / 2 (n is odd). */
const HALF_N = N >> 1n;
/** p, the P-384 field prime: a canonical compressed point has x < p. */
const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn;

/** A backend's signer: raw ECDSA, r ‖ s with either s ({@link policySigner} makes it low-s). */
export interface RawSigner {
  readonly publicKey: Uint8Array;
  update(chunk: Uint8Array): void;
  sign(): Promise<Uint8Array>;
}

/**
 * A backend's verifier at the raw ECDSA level: high-s signatures count as valid (as Wycheproof
 * counts them); the low-s rule is {@link policyVerifier}'s. `format` 'der' takes a strict DER
 * signature instead of r ‖ s (for the Wycheproof DER vectors only; messages use r ‖ s).
 */
export interface RawVerifier {
  update(chunk: Uint8Array): void;
  verify(signature: Uint8Array, format?: 'p1363' | 'der'): Promise<boolean>;
}

/**
 * True when `publicKey` is 49 bytes, 0x02 or 0x03 then x < p: the form of a canonical
 * compressed point (whether x is on the curve is the backend's check).
 */
export function isCompressedPointEncoding(publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array)) throw new TypeError('"publicKey" expected Uint8Array');
  return publicKey.length === SCALAR_BYTES + 1 && (publicKey[0] === 0x02 || publicKey[0] === 0x03) && scalar(publicKey, 1) < P;
}

/**
 * True when `signature` is r ‖ s of the right length with 0 < r < n and 0 < s <= (n - 1) / 2:
 * the only encoding of a signature Sealbox accepts (each valid signature has exactly one).
 */
export function isCanonicalSignature(signature: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 2 * SCALAR_BYTES) return false;
  const r = scalar(signature, 0);
  const s = scalar(signature, SCALAR_BYTES);
  return r > 0n && r < N && s > 0n && s <= HALF_N;
}

/** `signature` (r ‖ s, 0 < s < n) with s replaced by n - s when s is high; a copy. */
export function toLowS(signature: Uint8Array): Uint8Array {
  if (signature.length !== 2 * SCALAR_BYTES) throw new Error('ECDSA backend returned a signature of the wrong length');
  const out = new Uint8Array(signature);
  const s = scalar(signature, SCALAR_BYTES);
  if (s > HALF_N) {
    const hex = (N - s).toString(16).padStart(SCALAR_BYTES * 2, '0');
    for (let i = 0; i < SCALAR_BYTES; i++) out[SCALAR_BYTES + i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** A {@link MessageSigner} over `raw`: low-s signatures, one `sign`, no `update` after it. */
export function policySigner(raw: RawSigner): MessageSigner {
  let done = false;
  return {
    publicKey: raw.publicKey,
    update(chunk) {
      if (done) throw new Error('MessageSigner: update after sign');
      raw.update(chunk);
    },
    async sign() {
      if (done) throw new Error('MessageSigner: sign called twice');
      done = true;
      return toLowS(await raw.sign());
    },
  };
}

/** A {@link MessageVerifier} over `raw`: only canonical (low-s) signatures, one `verify`. */
export function policyVerifier(raw: RawVerifier): MessageVerifier {
  let done = false;
  return {
    update(chunk) {
      if (done) throw new Error('MessageVerifier: update after verify');
      raw.update(chunk);
    },
    async verify(signature) {
      if (done) throw new Error('MessageVerifier: verify called twice');
      done = true;
      return isCanonicalSignature(signature) && raw.verify(signature);
    },
  };
}

/**
 * A {@link SignatureBackend} from a backend's raw ECDSA: the encoding rules are applied here,
 * once for both backends. `rawVerifier` is called only with a well-formed encoding, and answers
 * undefined when x is not on the curve.
 */
export function withPolicy(
  name: SignatureBackend['name'],
  rawSigner: (hash?: ExternalHash) => Promise<RawSigner>,
  rawVerifier: (publicKey: Uint8Array, hash?: ExternalHash) => Promise<RawVerifier | undefined>,
): SignatureBackend {
  const checked = (publicKey: Uint8Array, hash?: ExternalHash): Promise<RawVerifier | undefined> => (isCompressedPointEncoding(publicKey) ? rawVerifier(new Uint8Array(publicKey), hash) : Promise.resolve(undefined));
  return {
    name,
    createSigner: async (hash) => policySigner(await rawSigner(hash)),
    createVerifier: async (publicKey, hash) => {
      const raw = await checked(publicKey, hash);
      return raw && policyVerifier(raw);
    },
    createRawVerifier: (publicKey) => checked(publicKey),
  };
}

/** The big-endian 48-byte integer at `offset`. */
function scalar(bytes: Uint8Array, offset: number): bigint {
  let hex = '0x';
  for (let i = offset; i < offset + SCALAR_BYTES; i++) hex += bytes[i]!.toString(16).padStart(2, '0');
  return BigInt(hex);
}
