import { subtleCrypto, webCryptoView } from '../crypto/aead-webcrypto.js';
import { copyBytes } from '../crypto/bytes.js';
import { randomBytes } from '../crypto/random.js';
import { SealboxError } from '../errors.js';
import { encodeContext } from '../format/context.js';
import type { EncryptedDataKey } from '../format/edk.js';
import type { Keyring, UnwrapRequest, WrapRequest, WrapResult } from './keyring.js';
import { acceptDataKey, checkRawKeyName, unwrapFailed } from './keyring.js';

/**
 * OAEP hashes a {@link RawRsaKeyring} accepts (the MGF1 hash is the same). `SHA-1` only for
 * peers and keys that know nothing else: collisions do not weaken OAEP, but prefer SHA-256.
 */
export type RsaOaepHash = 'SHA-256' | 'SHA-384' | 'SHA-512' | 'SHA-1';

/** Smallest RSA modulus accepted, in bits (NIST SP 800-131A: 2048 and up). */
export const MIN_RSA_MODULUS_BITS = 2048;
/** Largest RSA modulus accepted, in bits. */
export const MAX_RSA_MODULUS_BITS = 16384;

/**
 * A WebCrypto `CryptoKey`, named by the members every runtime's `CryptoKey` has, so that the
 * published types need neither the DOM lib nor `@types/node` (whose `CryptoKey` is not a
 * global). Only a real `CryptoKey` is accepted at run time.
 */
export interface CryptoKeyLike {
  readonly type: string;
  readonly extractable: boolean;
  readonly algorithm: object;
  readonly usages: readonly string[];
}

/**
 * A key for {@link RawRsaKeyring}: PEM text (`-----BEGIN PUBLIC KEY-----` SPKI for the public
 * key, `-----BEGIN PRIVATE KEY-----` PKCS #8 for the private key), the same structures as DER
 * bytes, or a WebCrypto `CryptoKey` made for RSA-OAEP with the keyring's hash.
 */
export type RsaKeyInput = string | Uint8Array | CryptoKeyLike;

/** Options of {@link RawRsaKeyring}. Give a public key to encrypt, a private key to decrypt, or both. */
export interface RawRsaKeyringOptions {
  /** Names the key's owner; stored as the EDK provider id. Not `aws-kms` nor `sealbox`-prefixed. */
  namespace: string;
  /** Names the key within the namespace; stored as the EDK provider info. */
  name: string;
  /** Wraps data keys (encrypt). SPKI PEM or DER, or a CryptoKey with the `encrypt` usage. */
  publicKey?: RsaKeyInput;
  /** Unwraps data keys (decrypt). PKCS #8 PEM or DER, or a CryptoKey with the `decrypt` usage. */
  privateKey?: RsaKeyInput;
  /** OAEP (and MGF1) hash; default `SHA-256` (`SHA-1` only for interoperability). */
  hash?: RsaOaepHash;
}

const HASHES: readonly string[] = ['SHA-256', 'SHA-384', 'SHA-512', 'SHA-1'];

/** DER bytes of a PEM block with the given label; TypeError (with a way out) for any other text. */
function pemToDer(text: string, label: 'PUBLIC KEY' | 'PRIVATE KEY', option: string): Uint8Array {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s]*)-----END \1-----/.exec(text);
  if (!m) throw new TypeError(`"${option}" expected a PEM block (-----BEGIN ${label}-----), DER bytes or a CryptoKey`);
  const found = m[1]!;
  if (found !== label) {
    const hint =
      found === 'RSA PUBLIC KEY'
        ? ' (PKCS #1): convert it with `openssl rsa -RSAPublicKey_in -in key.pem -pubout`'
        : found === 'RSA PRIVATE KEY'
          ? ' (PKCS #1): convert it with `openssl pkey -in key.pem -out key.p8.pem`'
          : found === 'ENCRYPTED PRIVATE KEY'
            ? ' (passphrase-protected): decrypt it first, e.g. `openssl pkey -in key.pem -out plain.pem`'
            : '';
    throw new TypeError(`"${option}" expected a "${label}" PEM block, got "${found}"${hint}`);
  }
  let binary: string;
  try {
    binary = atob(m[2]!.replace(/\s+/g, ''));
  } catch {
    throw new TypeError(`"${option}" PEM block is not valid base64`);
  }
  const der = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) der[i] = binary.charCodeAt(i);
  return der;
}

function isCryptoKey(value: unknown): value is CryptoKey {
  const C = (globalThis as { CryptoKey?: abstract new () => CryptoKey }).CryptoKey;
  return C !== undefined && value instanceof C;
}

/** Checks an RSA-OAEP CryptoKey against the keyring's hash, use and size limits. */
function checkCryptoKey(key: CryptoKey, type: 'public' | 'private', usage: KeyUsage, hash: RsaOaepHash, option: string): CryptoKey {
  const algorithm = key.algorithm as RsaHashedKeyAlgorithm;
  if (key.type !== type || algorithm.name !== 'RSA-OAEP') throw new TypeError(`"${option}" expected an RSA-OAEP ${type} CryptoKey`);
  if (algorithm.hash?.name !== hash) throw new TypeError(`"${option}" was made for ${algorithm.hash?.name}, but the keyring's hash is ${hash}`);
  if (!key.usages.includes(usage)) throw new TypeError(`"${option}" lacks the "${usage}" usage`);
  const bits = algorithm.modulusLength;
  if (bits < MIN_RSA_MODULUS_BITS || bits > MAX_RSA_MODULUS_BITS) {
    throw new RangeError(`"${option}" has a ${bits}-bit modulus; RSA keys of ${MIN_RSA_MODULUS_BITS} to ${MAX_RSA_MODULUS_BITS} bits are accepted`);
  }
  return key;
}

/**
 * Imports an RSA-OAEP key (internal: the raw and KMS RSA keyrings use it; exported for tests).
 *
 * @throws TypeError / RangeError for inputs of the wrong kind, and for a CryptoKey of the
 * wrong algorithm, hash, use or size. For PEM and DER the promise rejects with ERR_KEYRING:
 * WebCrypto refuses the DER, or the imported key fails those same checks.
 */
export function importRsaOaepKey(input: RsaKeyInput, type: 'public' | 'private', hash: RsaOaepHash, describe = `RSA ${type} key`): Promise<CryptoKey> {
  const subtle = subtleCrypto();
  if (!subtle) throw new TypeError('RawRsaKeyring needs WebCrypto (crypto.subtle), which this runtime lacks');
  const option = `${type}Key`;
  const usage: KeyUsage = type === 'public' ? 'encrypt' : 'decrypt';
  if (isCryptoKey(input)) return Promise.resolve(checkCryptoKey(input, type, usage, hash, option));
  let der: Uint8Array;
  if (typeof input === 'string') der = pemToDer(input, type === 'public' ? 'PUBLIC KEY' : 'PRIVATE KEY', option);
  else if (input instanceof Uint8Array) der = copyBytes(input);
  else throw new TypeError(`"${option}" expected PEM text, DER bytes or a CryptoKey`);
  const format = type === 'public' ? 'spki' : 'pkcs8';
  return subtle.importKey(format, der as Uint8Array<ArrayBuffer>, { name: 'RSA-OAEP', hash }, false, [usage]).then(
    (key) => {
      der.fill(0);
      try {
        return checkCryptoKey(key, type, usage, hash, option);
      } catch (err) {
        throw new SealboxError('ERR_KEYRING', `${describe} cannot be used: ${(err as Error).message}`, { cause: err });
      }
    },
    (err: unknown) => {
      der.fill(0);
      throw new SealboxError('ERR_KEYRING', `${describe} could not be imported (${format.toUpperCase()} DER of an RSA key expected)`, { cause: err });
    },
  );
}

/** RSA-OAEP encryption with `label` (internal: both RSA keyrings use it; exported for tests). */
export async function rsaOaepEncrypt(key: CryptoKey, plaintext: Uint8Array, label: Uint8Array): Promise<Uint8Array> {
  const subtle = subtleCrypto() as SubtleCrypto;
  // Our own copy of the data key, wiped after.
  const input = copyBytes(plaintext);
  try {
    return new Uint8Array(await subtle.encrypt({ name: 'RSA-OAEP', label: webCryptoView(label) }, key, input));
  } finally {
    input.fill(0);
  }
}

/**
 * RSA-OAEP decryption with `label` (internal; exported for tests): the plaintext, or
 * `undefined` for any failure, all alike, so that no caller can tell a bad padding from a bad
 * length (Manger's attack).
 */
export async function rsaOaepDecrypt(key: CryptoKey, ciphertext: Uint8Array, label: Uint8Array): Promise<Uint8Array | undefined> {
  const subtle = subtleCrypto() as SubtleCrypto;
  // RFC 8017 §7.1.2 step 1: a ciphertext of any length but the modulus's is a decryption error.
  // WebCrypto in Node (OpenSSL) would left-pad a shorter one, so a ciphertext whose first byte
  // is 0 also opened with that byte cut off.
  if (ciphertext.length !== Math.ceil((key.algorithm as RsaHashedKeyAlgorithm).modulusLength / 8)) return undefined;
  try {
    return new Uint8Array(await subtle.decrypt({ name: 'RSA-OAEP', label: webCryptoView(label) }, key, webCryptoView(ciphertext)));
  } catch {
    return undefined;
  }
}

/**
 * Wraps data keys with an RSA key pair: RSA-OAEP (SHA-256 by default, MGF1 with the same hash)
 * with the message's canonical encryption context as the OAEP label, so a wrapped key opens
 * only under the same context. EDK: provider id = namespace, provider info = UTF-8 name,
 * ciphertext = the OAEP output (modulus size). Anyone with the public key can encrypt to the
 * holder of the private key, e.g. several recipients through a {@link MultiKeyring}.
 *
 * Runs on WebCrypto, in Node (>= 20) and browsers alike. Keys of 2048 to 16384 bits.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { decrypt, encrypt, RawRsaKeyring } from 'sealbox';
 * const recipient = new RawRsaKeyring({ namespace: 'acme', name: 'ops-2026', publicKey: readFileSync('ops.pub.pem', 'utf8') });
 * const { ciphertext } = await encrypt(data, { keyring: recipient });
 * // on the recipient's side
 * const mine = new RawRsaKeyring({ namespace: 'acme', name: 'ops-2026', privateKey: readFileSync('ops.pem', 'utf8') });
 * const { plaintext } = await decrypt(ciphertext, { keyring: mine });
 * ```
 * @throws TypeError / RangeError for bad options (a PEM block of the wrong kind, a CryptoKey
 * for another algorithm, hash or use, a modulus outside 2048-16384 bits). Encrypt without a
 * public key, or a key WebCrypto refuses: SealboxError ERR_KEYRING. Decrypt: ERR_KEYRING when
 * an EDK names this key but does not open (another key pair under the same name, another
 * context, tampering); without a private key the keyring says "not mine".
 */
export class RawRsaKeyring implements Keyring {
  readonly namespace: string;
  readonly name: string;
  readonly hash: RsaOaepHash;
  readonly #nameBytes: Uint8Array;
  readonly #publicKey: Promise<CryptoKey> | undefined;
  readonly #privateKey: Promise<CryptoKey> | undefined;

  constructor(options: RawRsaKeyringOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('RawRsaKeyring expected an options object');
    const { namespace, name, publicKey, privateKey } = options;
    const nameBytes = checkRawKeyName(namespace, name);
    const hash = options.hash ?? 'SHA-256';
    if (!HASHES.includes(hash)) throw new RangeError(`"hash" expected one of ${HASHES.join(', ')}, got ${String(hash)}`);
    if (publicKey === undefined && privateKey === undefined) throw new TypeError('RawRsaKeyring expected "publicKey", "privateKey" or both');
    if (!subtleCrypto()) throw new TypeError('RawRsaKeyring needs WebCrypto (crypto.subtle), which this runtime lacks');
    this.namespace = namespace;
    this.name = name;
    this.hash = hash;
    this.#nameBytes = nameBytes;
    const load = (input: RsaKeyInput, type: 'public' | 'private'): Promise<CryptoKey> => {
      const pending = importRsaOaepKey(input, type, hash, `RSA ${type} key "${namespace}/${name}"`);
      pending.catch(() => undefined); // reported on use, not as an unhandled rejection
      return pending;
    };
    this.#publicKey = publicKey === undefined ? undefined : load(publicKey, 'public');
    this.#privateKey = privateKey === undefined ? undefined : load(privateKey, 'private');
  }

  async wrapKey(request: WrapRequest): Promise<WrapResult> {
    if (!this.#publicKey) throw new SealboxError('ERR_KEYRING', `RSA key "${this.namespace}/${this.name}" has no public key: it can only decrypt`);
    const key = await this.#publicKey;
    const dataKey = request.dataKey ?? randomBytes(request.suite.dataKeyLength);
    const ciphertext = await rsaOaepEncrypt(key, dataKey, encodeContext(request.encryptionContext));
    return { dataKey, encryptedDataKeys: [{ providerId: this.namespace, providerInfo: copyBytes(this.#nameBytes), ciphertext }] };
  }

  async unwrapKey(request: UnwrapRequest): Promise<Uint8Array | null> {
    if (!this.#privateKey) return null;
    const mine = request.encryptedDataKeys.filter((edk) => this.#isMine(edk));
    if (mine.length === 0) return null;
    const key = await this.#privateKey;
    const modulusBytes = Math.ceil((key.algorithm as RsaHashedKeyAlgorithm).modulusLength / 8);
    const label = encodeContext(request.encryptionContext);
    let mismatched = false;
    for (const edk of mine) {
      // A ciphertext of another length was not made with this key; it is not even tried.
      if (edk.ciphertext.length !== modulusBytes) continue;
      // Every failure looks the same (no padding oracle); the next EDK is tried.
      const dataKey = await rsaOaepDecrypt(key, edk.ciphertext, label);
      if (dataKey?.length === request.suite.dataKeyLength) {
        if (await acceptDataKey(request, dataKey)) return dataKey;
        mismatched = true;
        continue;
      }
      dataKey?.fill(0);
    }
    throw unwrapFailed(`RSA key "${this.namespace}/${this.name}"`, mismatched);
  }

  #isMine(edk: EncryptedDataKey): boolean {
    if (edk.providerId !== this.namespace) return false;
    const info = edk.providerInfo;
    if (info.length !== this.#nameBytes.length) return false;
    for (let i = 0; i < info.length; i++) if (info[i] !== this.#nameBytes[i]) return false;
    return true;
  }
}
