import type { AeadKey } from '../crypto/aead.js';
import { getAeadBackend } from '../crypto/backend.js';
import { assertBytes, copyBytes } from '../crypto/bytes.js';
import { randomBytes } from '../crypto/random.js';
import { isSealboxError } from '../errors.js';
import { encodeContext } from '../format/context.js';
import type { EncryptedDataKey } from '../format/edk.js';
import type { MaybePromise } from '../crypto/aead.js';
import type { Steps } from '../crypto/maybe.js';
import { drive } from '../crypto/maybe.js';
import type { Keyring, KeyringNow, UnwrapRequest, WrapRequest, WrapResult } from './keyring.js';
import { acceptSteps, checkRawKeyName, unwrapFailed, unwrapKeyNow, wrapKeyNow } from './keyring.js';

const IV_BYTES = 12;

/** Options of {@link RawAesKeyring}. */
export interface RawAesKeyringOptions {
  /** Names the key's owner; stored as the EDK provider id. Not `aws-kms` nor `sealbox`-prefixed. */
  namespace: string;
  /** Names the key within the namespace; stored in the EDK provider info. */
  name: string;
  /** The 256-bit wrapping key. Copied; the caller may wipe its own copy. */
  wrappingKey: Uint8Array;
  /** Source of random bytes (data keys, IVs). Only for deterministic test vectors. */
  random?: (length: number) => Uint8Array;
}

/**
 * Wraps data keys with a caller-held AES-256 key: AES-256-GCM with a random 96-bit IV and the
 * message's canonical encryption context as AAD, so a wrapped key opens only under the same
 * context. EDK: provider id = namespace, provider info = UTF-8 name ‖ IV, ciphertext = wrapped key ‖ tag.
 *
 * @example
 * ```ts
 * const keyring = new RawAesKeyring({ namespace: 'acme', name: 'backup-2026', wrappingKey: key32 });
 * const { ciphertext } = await encrypt(data, { keyring });
 * ```
 * @throws TypeError / RangeError for bad options; on decrypt, SealboxError ERR_KEYRING when an
 * EDK names this key but does not open (wrong key bytes, other context, tampering).
 */
export class RawAesKeyring implements Keyring, KeyringNow {
  readonly namespace: string;
  readonly name: string;
  readonly #nameBytes: Uint8Array;
  readonly #key: Promise<AeadKey>;
  readonly #random: (length: number) => Uint8Array;

  constructor(options: RawAesKeyringOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('RawAesKeyring expected an options object');
    const { namespace, name, wrappingKey } = options;
    this.#nameBytes = checkRawKeyName(namespace, name, IV_BYTES);
    assertBytes('wrappingKey', wrappingKey, 32);
    this.namespace = namespace;
    this.name = name;
    this.#random = options.random ?? randomBytes;
    const key = getAeadBackend().importKey(copyBytes(wrappingKey));
    this.#key = Promise.resolve(key);
    // node:crypto imports at once: then wrapKey and unwrapKey need not wait a turn for it.
    if (!(key instanceof Promise)) this.#ready = key;
  }

  /** The wrapping key, once imported (at construction with node:crypto). */
  #ready: AeadKey | undefined;

  async wrapKey(request: WrapRequest): Promise<WrapResult> {
    return drive(this.#wrapSteps(request));
  }

  async unwrapKey(request: UnwrapRequest): Promise<Uint8Array | null> {
    return drive(this.#unwrapSteps(request));
  }

  /** Internal: {@link wrapKey}, synchronous on node:crypto. */
  [wrapKeyNow](request: WrapRequest): MaybePromise<WrapResult> {
    return drive(this.#wrapSteps(request));
  }

  /** Internal: {@link unwrapKey}, synchronous on node:crypto. */
  [unwrapKeyNow](request: UnwrapRequest): MaybePromise<Uint8Array | null> {
    return drive(this.#unwrapSteps(request));
  }

  *#wrapSteps(request: WrapRequest): Steps<WrapResult> {
    const dataKey = request.dataKey ?? this.#random(request.suite.dataKeyLength);
    const iv = this.#random(IV_BYTES);
    const key: AeadKey = this.#ready ?? (yield this.#key);
    const ciphertext: Uint8Array = yield key.seal(iv, encodeContext(request.encryptionContext), dataKey);
    const providerInfo = new Uint8Array(this.#nameBytes.length + IV_BYTES);
    providerInfo.set(this.#nameBytes, 0);
    providerInfo.set(iv, this.#nameBytes.length);
    return { dataKey, encryptedDataKeys: [{ providerId: this.namespace, providerInfo, ciphertext }] };
  }

  *#unwrapSteps(request: UnwrapRequest): Steps<Uint8Array | null> {
    const mine: EncryptedDataKey[] = [];
    for (const edk of request.encryptedDataKeys) if (this.#isMine(edk)) mine.push(edk);
    if (mine.length === 0) return null;
    const key: AeadKey = this.#ready ?? (yield this.#key);
    const aad = encodeContext(request.encryptionContext);
    let mismatched = false;
    for (const edk of mine) {
      let dataKey: Uint8Array;
      try {
        dataKey = yield key.open(edk.providerInfo.subarray(this.#nameBytes.length), aad, edk.ciphertext);
      } catch (err) {
        if (!isSealboxError(err, 'ERR_DECRYPTION_FAILED')) throw err;
        continue;
      }
      // SPEC §9.1: a key of another length is a failure; one failing the commitment, a mismatch.
      if (dataKey.length !== request.suite.dataKeyLength) {
        dataKey.fill(0);
        continue;
      }
      if (yield* acceptSteps(request, dataKey)) return dataKey;
      mismatched = true;
    }
    throw unwrapFailed(`Raw AES key "${this.namespace}/${this.name}"`, mismatched);
  }

  #isMine(edk: EncryptedDataKey): boolean {
    if (edk.providerId !== this.namespace) return false;
    const info = edk.providerInfo;
    if (info.length !== this.#nameBytes.length + IV_BYTES) return false;
    for (let i = 0; i < this.#nameBytes.length; i++) if (info[i] !== this.#nameBytes[i]) return false;
    return true;
  }
}
