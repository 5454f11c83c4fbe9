import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { clean as wipe, concatBytes as concat, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import type { AeadBackend, AeadKey, TransientAeadKey } from '../crypto/aead.js';
import type { SealboxError } from '../errors.js';
import type { EncryptedDataKey } from '../format/edk.js';
import type { EncryptionContext, UnwrapRequest, WrapRequest, WrapResult } from './keyring.js';
import { XWING_CIPHERTEXT_BYTES, XWING_PUBLIC_KEY_BYTES, XWING_SEED_BYTES, xwingKem } from './xwing-kem.js';
import type { XWingKem, XWingPrivateKey, XWingPublicKey } from './xwing-kem.js';
import { XWingKeyTextError, decodeXWingPrivateKey, decodeXWingPublicKey, encodeXWingPrivateKey, encodeXWingPublicKey } from './xwing-text.js';

// The X-Wing keyring's work (docs/SPEC.md §9), loaded through import() by xwing.ts. It imports
// nothing from the core at run time (see xwing-kem.ts); xwing.ts passes the core functions in.

/** The core functions the X-Wing code uses, passed in by xwing.ts. */
export interface XWingCore {
  readonly SealboxError: typeof SealboxError;
  readonly getAeadBackend: () => AeadBackend;
  readonly encodeContext: (context: EncryptionContext) => Uint8Array;
  /** {@link import('./keyring.js').acceptDataKey}: is an unwrapped key the message's (SPEC §8.3)? */
  readonly acceptDataKey: (request: UnwrapRequest, dataKey: Uint8Array) => Promise<boolean>;
  /** {@link import('./keyring.js').unwrapFailed}. */
  readonly unwrapFailed: (what: string, mismatched: boolean) => SealboxError;
}

/** The EDK provider id (xwing.ts exports the same as XWING_PROVIDER_ID; a test keeps them equal). */
export const PROVIDER_ID = 'sealbox-xwing';

/** Constant-time equality of two byte arrays of one length (key ids, public keys). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** A keyring's keys, decoded and expanded once. */
export interface XWingKeys {
  readonly publicKey: XWingPublicKey;
  readonly keyId: Uint8Array;
  readonly privateKey: XWingPrivateKey | undefined;
}

/** Provider info: SHA-256 of the recipient's 1,216-byte public key. */
const KEY_ID_BYTES = 32;
const TAG_BYTES = 16;
/** HKDF info label; the key id and the encapsulation follow it (HPKE-like KEM context). */
const WRAP_LABEL = utf8ToBytes('sealbox xwing v1 wrapping key\0');
/** Each wrapping key seals exactly one data key, so a fixed nonce never repeats under a key. */
const ZERO_NONCE = new Uint8Array(12);

function wrappingKey(sharedSecret: Uint8Array, keyId: Uint8Array, encapsulation: Uint8Array): Uint8Array {
  // HKDF-SHA-256 (RFC 5869), empty salt: the key is bound to the recipient (its key id) and to
  // the whole encapsulation, as HPKE binds its KEM context.
  const prk = extract(sha256, sharedSecret);
  const info = concat(WRAP_LABEL, keyId, encapsulation);
  try {
    return expand(sha256, prk, info, 32);
  } finally {
    wipe(prk, sharedSecret);
  }
}

/**
 * Runs `use` with the one-use AEAD key `key` (wiped here), disposed of once `use` is done: a
 * transient key where the backend has one (its bytes wiped by dispose(); noble's importKey
 * gives such a key too), else a KeyObject / CryptoKey, which holds its own copy.
 */
async function withWrappingKey<T>(backend: AeadBackend, key: Uint8Array, use: (aead: AeadKey) => T | Promise<T>): Promise<T> {
  let aead: AeadKey;
  try {
    aead = backend.importTransientKey ? backend.importTransientKey(key) : await backend.importKey(key);
  } finally {
    wipe(key);
  }
  try {
    return await use(aead);
  } finally {
    (aead as Partial<TransientAeadKey>).dispose?.();
  }
}

/** Programmer errors: TypeError / RangeError for a key of the wrong type, byte length or prefix. */
function checkKeyInput(value: unknown, option: string, bytes: number, prefix: string): asserts value is string | Uint8Array | undefined {
  if (value === undefined) return;
  if (value instanceof Uint8Array) {
    if (value.length !== bytes) throw new RangeError(`"${option}" expected Uint8Array of length ${bytes}, got length=${value.length}`);
    return;
  }
  if (typeof value !== 'string') throw new TypeError(`"${option}" expected key text or a Uint8Array`);
  const lower = value.toLowerCase();
  if (option === 'publicKey' && lower.includes('sealbox-xwing-secret-key-1')) {
    throw new TypeError('"publicKey" was given a private key (SEALBOX-XWING-SECRET-KEY-1...): pass it as "privateKey"');
  }
  if (!lower.includes(prefix)) throw new TypeError(`"${option}" expected X-Wing key text starting "${option === 'publicKey' ? prefix : prefix.toUpperCase()}"`);
}

/** The X-Wing keyring's operations over the core's functions (`kem`: the tests pass their own). */
export function xwingImpl(core: XWingCore, kem: XWingKem = xwingKem()) {
  const providerId = PROVIDER_ID;
  const keyringError = (message: string, cause?: unknown): SealboxError => new core.SealboxError('ERR_KEYRING', message, { cause });
  const keyError = (err: unknown, what: string): SealboxError => {
    if (err instanceof XWingKeyTextError) return keyringError(err.message, err);
    return keyringError(`X-Wing ${what} cannot be used (${err instanceof Error ? err.name : 'Error'})`, err);
  };

  /** Decodes text or bytes; when both keys are given, the public one must be the private key's. */
  const loadKeys = (publicKey: unknown, privateKey: unknown): XWingKeys => {
    try {
      checkKeyInput(publicKey, 'publicKey', XWING_PUBLIC_KEY_BYTES, 'sealbox-xwing1');
      checkKeyInput(privateKey, 'privateKey', XWING_SEED_BYTES, 'sealbox-xwing-secret-key-1');
    } catch (err) {
      // Seed bytes are the caller's copy (xwing.ts makes it): wiped on refusal as on success.
      if (privateKey instanceof Uint8Array) wipe(privateKey);
      throw err;
    }
    let sk: XWingPrivateKey | undefined;
    if (privateKey !== undefined) {
      let seed: Uint8Array | undefined;
      try {
        // Bytes are the caller's copy (xwing.ts makes it), wiped here once expanded.
        seed = typeof privateKey === 'string' ? decodeXWingPrivateKey(privateKey) : privateKey;
        sk = kem.privateKey(seed);
      } catch (err) {
        throw keyError(err, 'private key');
      } finally {
        if (seed) wipe(seed);
      }
    }
    let pk = sk?.publicKey;
    if (publicKey !== undefined) {
      try {
        const bytes = typeof publicKey === 'string' ? decodeXWingPublicKey(publicKey) : publicKey;
        if (pk && !sameBytes(bytes, pk.bytes)) throw new XWingKeyTextError('X-Wing "publicKey" is not the public half of "privateKey"');
        // A public key whose ML-KEM half fails FIPS 203's modulus check, or whose X25519 half is low-order, throws.
        pk ??= kem.publicKey(bytes);
      } catch (err) {
        if (sk) kem.dispose(sk);
        throw keyError(err, 'public key');
      }
    }
    return { publicKey: pk!, keyId: sha256(pk!.bytes), privateKey: sk };
  };

  const isMine = (keys: XWingKeys, edk: EncryptedDataKey): boolean =>
    edk.providerId === providerId && edk.providerInfo.length === KEY_ID_BYTES && sameBytes(edk.providerInfo, keys.keyId);

  const api = {
    loadKeys,

    /** The keyring's keys checked and decoded, with its two operations bound to them. */
    keyring(options: unknown, seedCopy: Uint8Array | undefined): XWingLoaded {
      if (typeof options !== 'object' || options === null) throw new TypeError('XWingKeyring expected an options object');
      const { publicKey, privateKey } = options as { publicKey?: unknown; privateKey?: unknown };
      if (publicKey === undefined && privateKey === undefined) throw new TypeError('XWingKeyring expected "publicKey", "privateKey" or both');
      const keys = loadKeys(publicKey, seedCopy ?? privateKey);
      return { wrapKey: (request) => api.wrap(keys, request), unwrapKey: (request) => api.unwrap(keys, request) };
    },

    /** Encapsulates to the recipient and seals the data key under the message's context. */
    async wrap(keys: XWingKeys, request: WrapRequest): Promise<WrapResult> {
      const dataKey = request.dataKey ?? randomBytes(request.suite.dataKeyLength);
      let encapsulated: { cipherText: Uint8Array; sharedSecret: Uint8Array };
      try {
        encapsulated = kem.encapsulate(keys.publicKey);
      } catch (err) {
        throw keyError(err, 'public key');
      }
      const key = wrappingKey(encapsulated.sharedSecret, keys.keyId, encapsulated.cipherText);
      const sealed = await withWrappingKey(core.getAeadBackend(), key, (aead) => aead.seal(ZERO_NONCE, core.encodeContext(request.encryptionContext), dataKey));
      const edk: EncryptedDataKey = { providerId: providerId, providerInfo: keys.keyId.slice(), ciphertext: concat(encapsulated.cipherText, sealed) };
      return { dataKey, encryptedDataKeys: [edk] };
    },

    /** `null` when no EDK names the key (decided without a decapsulation); ERR_KEYRING when one does and none opens. */
    async unwrap(keys: XWingKeys, request: UnwrapRequest): Promise<Uint8Array | null> {
      const sk = keys.privateKey;
      const mine = request.encryptedDataKeys.filter((edk) => isMine(keys, edk));
      if (!sk || mine.length === 0) return null;
      const expected = XWING_CIPHERTEXT_BYTES + request.suite.dataKeyLength + TAG_BYTES;
      const aad = core.encodeContext(request.encryptionContext);
      let mismatched = false;
      for (const edk of mine) {
        // A ciphertext of another length was not made by this keyring for this suite.
        if (edk.ciphertext.length !== expected) continue;
        const encapsulation = edk.ciphertext.subarray(0, XWING_CIPHERTEXT_BYTES);
        let shared: Uint8Array;
        try {
          shared = kem.decapsulate(encapsulation, sk);
        } catch {
          continue; // a low-order X25519 ciphertext: not a real encapsulation
        }
        const key = wrappingKey(shared, keys.keyId, encapsulation);
        let dataKey: Uint8Array;
        try {
          dataKey = await withWrappingKey(core.getAeadBackend(), key, (aead) => aead.open(ZERO_NONCE, aad, edk.ciphertext.subarray(XWING_CIPHERTEXT_BYTES)));
        } catch (err) {
          if (!(err instanceof core.SealboxError && err.code === 'ERR_DECRYPTION_FAILED')) throw err;
          continue;
        }
        // SPEC §8.3: a key that is not the message's moves on to the next EDK.
        if (await core.acceptDataKey(request, dataKey)) return dataKey;
        mismatched = true;
      }
      throw core.unwrapFailed('X-Wing key', mismatched);
    },

    /** A fresh key pair in text form. */
    generate(): { publicKey: string; privateKey: string } {
      const seed = randomBytes(XWING_SEED_BYTES);
      try {
        const sk = kem.privateKey(seed);
        kem.dispose(sk); // only its public half is wanted
        return { publicKey: encodeXWingPublicKey(sk.publicKey.bytes), privateKey: encodeXWingPrivateKey(seed) };
      } finally {
        wipe(seed);
      }
    },

    /** The public key text of a private key (text, or a 32-byte seed: copied, never wiped). */
    publicKeyOf: (privateKey: unknown): string => {
      // A copy (new Uint8Array, not slice(): a Node Buffer's slice() is a view), wiped by loadKeys.
      const keys = loadKeys(undefined, privateKey instanceof Uint8Array ? new Uint8Array(privateKey) : privateKey);
      kem.dispose(keys.privateKey!);
      return encodeXWingPublicKey(keys.publicKey.bytes);
    },
  };
  return api;
}

/** A keyring's operations once its keys are loaded. */
export interface XWingLoaded {
  wrapKey(request: WrapRequest): Promise<WrapResult>;
  unwrapKey(request: UnwrapRequest): Promise<Uint8Array | null>;
}

/** What xwing.ts uses. */
export type XWingImpl = ReturnType<typeof xwingImpl>;
