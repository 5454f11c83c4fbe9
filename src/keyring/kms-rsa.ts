import { fromUtf8, utf8 } from '../crypto/bytes.js';
import { randomBytes } from '../crypto/random.js';
import { SealboxError } from '../errors.js';
import type { EncryptedDataKey } from '../format/edk.js';
import type { Keyring, UnwrapRequest, WrapRequest, WrapResult } from './keyring.js';
import { acceptDataKey, unwrapFailed } from './keyring.js';
import { parseKmsArn } from './kms-arn.js';
import { kmsDecrypt, kmsGetPublicKey } from './kms-call.js';
import type { KmsCaller } from './kms-call.js';
import type { KmsConnectionOptions } from './kms.js';
import { kmsCallerFrom } from './kms.js';
import type { RsaKeyInput, RsaOaepHash } from './raw-rsa.js';
import { importRsaOaepKey, rsaOaepEncrypt } from './raw-rsa.js';

/** EDK provider id of {@link KmsRsaKeyring} (the one AWS's other Encryption SDKs use). */
export const KMS_RSA_PROVIDER_ID = 'aws-kms-rsa';

/** KMS RSA encryption algorithms a {@link KmsRsaKeyring} accepts. */
export type KmsRsaAlgorithm = 'RSAES_OAEP_SHA_256' | 'RSAES_OAEP_SHA_1';

const HASH_OF: Record<KmsRsaAlgorithm, RsaOaepHash> = { RSAES_OAEP_SHA_256: 'SHA-256', RSAES_OAEP_SHA_1: 'SHA-1' };
const EMPTY_LABEL = new Uint8Array(0);

/**
 * A signed suite's promise (no reader can forge a message for another) rests on the keyring
 * binding the context, and so the message's public key, into its wrap; KMS binds no context to
 * an RSA key's, so this keyring takes no part in signed messages, on either side: an insider
 * with Decrypt on the RSA key could re-sign a message under a key pair of their own and the EDK
 * would still open (docs/security.md, "Insiders").
 */
function refuseSigned(signed: boolean, verb: 'wrap' | 'unwrap', keyId: string): void {
  if (!signed) return;
  throw new SealboxError(
    'ERR_KEYRING',
    `KMS RSA key ${keyId} cannot ${verb} the data key of a signed message (suite 2): KMS binds no encryption context to an RSA key, so the signature would not keep other readers from forging it; use an unsigned suite, or a symmetric KMS key`,
  );
}

/** Options of {@link KmsRsaKeyring}. */
export interface KmsRsaKeyringOptions extends KmsConnectionOptions {
  /** The RSA KMS key (key usage ENCRYPT_DECRYPT), as a key ARN: EDKs record it. */
  keyId: string;
  /**
   * Its public key (SPKI PEM or DER, or an RSA-OAEP CryptoKey). Given, encrypt makes no KMS
   * call at all and needs no AWS credentials; omitted, it is fetched once with GetPublicKey.
   */
  publicKey?: RsaKeyInput;
  /** Default `RSAES_OAEP_SHA_256`. */
  encryptionAlgorithm?: KmsRsaAlgorithm;
}

/**
 * Wraps data keys under an RSA key pair whose private key stays in KMS: encrypt is local
 * RSA-OAEP with the public key (no KMS call when it is given), decrypt is KMS `Decrypt` with
 * the key and algorithm. For senders that must not call KMS or hold AWS credentials, and
 * recipients whose permission to decrypt KMS governs (key policy, grants, audit).
 *
 * KMS takes no encryption context with asymmetric keys, so unlike the other keyrings the
 * wrapped data key is not bound to the context: the header tag (made with the data key)
 * still authenticates the context of every message, but a KMS key policy cannot condition on
 * it. For the same reason it refuses signed messages (suite 2) on both sides: the signature
 * could not protect a reader who opens one with this keyring from other holders of the data
 * key, who could swap in a signing key of their own and re-sign (docs/security.md, "Insiders").
 * EDK: provider id `aws-kms-rsa`, provider info = the key ARN, ciphertext = OAEP output.
 *
 * @example
 * ```ts
 * // A sender with only the public key:
 * const sender = new KmsRsaKeyring({ keyId: rsaKeyArn, publicKey: publicPem });
 * const { ciphertext } = await encrypt(data, { keyring: sender });
 * // A recipient allowed kms:Decrypt on the key:
 * const recipient = new KmsRsaKeyring({ keyId: rsaKeyArn, client: new KMSClient({}) });
 * const { plaintext } = await decrypt(ciphertext, { keyring: recipient });
 * ```
 * @throws TypeError / RangeError for bad options (a key id that is not a key ARN, an unknown
 * algorithm, a public key of the wrong kind). SealboxError ERR_KEYRING when GetPublicKey or
 * Decrypt fails (the KMS exception as `cause`), when KMS says the key is not an RSA
 * ENCRYPT_DECRYPT key with the algorithm, when an EDK naming the key does not open, or when
 * the message is signed (suite 2), before any KMS call;
 * ERR_COMMITMENT_MISMATCH when one opened to a key that is not the message's.
 */
export class KmsRsaKeyring implements Keyring {
  readonly keyId: string;
  readonly encryptionAlgorithm: KmsRsaAlgorithm;
  readonly #caller: KmsCaller;
  readonly #arnBytes: Uint8Array;
  #publicKey: Promise<CryptoKey> | undefined;

  constructor(options: KmsRsaKeyringOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('KmsRsaKeyring expected an options object');
    const { keyId } = options;
    const arn = typeof keyId === 'string' ? parseKmsArn(keyId) : undefined;
    if (arn?.resourceType !== 'key') throw new TypeError(`"keyId" expected a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), got ${String(keyId)}`);
    const algorithm = options.encryptionAlgorithm ?? 'RSAES_OAEP_SHA_256';
    if (!Object.hasOwn(HASH_OF, algorithm)) throw new RangeError(`"encryptionAlgorithm" expected RSAES_OAEP_SHA_256 or RSAES_OAEP_SHA_1, got ${String(algorithm)}`);
    this.keyId = keyId;
    this.encryptionAlgorithm = algorithm;
    this.#caller = kmsCallerFrom(options);
    this.#arnBytes = utf8(keyId);
    if (options.publicKey !== undefined) {
      const given = importRsaOaepKey(options.publicKey, 'public', HASH_OF[algorithm], `the public key of ${keyId}`);
      given.catch(() => undefined); // reported on use
      this.#publicKey = given;
    }
  }

  async wrapKey(request: WrapRequest): Promise<WrapResult> {
    refuseSigned(request.suite.signed, 'wrap', this.keyId);
    const key = await this.#encryptionKey();
    const dataKey = request.dataKey ?? randomBytes(request.suite.dataKeyLength);
    // KMS decrypts RSAES_OAEP with an empty label.
    const ciphertext = await rsaOaepEncrypt(key, dataKey, EMPTY_LABEL);
    return { dataKey, encryptedDataKeys: [{ providerId: KMS_RSA_PROVIDER_ID, providerInfo: utf8(this.keyId), ciphertext }] };
  }

  async unwrapKey(request: UnwrapRequest): Promise<Uint8Array | null> {
    const mine = request.encryptedDataKeys.filter((edk) => this.#isMine(edk));
    if (mine.length === 0) return null;
    refuseSigned(request.suite.signed, 'unwrap', this.keyId);
    const errors: unknown[] = [];
    let mismatched = false;
    for (const edk of mine) {
      let dataKey: Uint8Array;
      try {
        dataKey = await kmsDecrypt(this.#caller, this.keyId, edk.ciphertext, request.suite.dataKeyLength, { algorithm: this.encryptionAlgorithm });
      } catch (err) {
        errors.push(err);
        continue;
      }
      if (await acceptDataKey(request, dataKey)) return dataKey;
      mismatched = true;
    }
    if (mismatched) throw unwrapFailed(`KMS RSA key ${this.keyId}`, true, { errors });
    // One EDK (the usual case): its own ERR_KEYRING, naming the KMS exception, which is its cause.
    if (errors.length === 1) throw errors[0];
    throw new SealboxError('ERR_KEYRING', `KMS RSA key ${this.keyId} could not decrypt any of its ${errors.length} encrypted data keys`, { errors });
  }

  /** The public key: as given, or fetched once with GetPublicKey (a failed fetch is tried again next time). */
  #encryptionKey(): Promise<CryptoKey> {
    if (this.#publicKey) return this.#publicKey;
    const fetching = this.#fetchPublicKey();
    fetching.catch(() => {
      if (this.#publicKey === fetching) this.#publicKey = undefined;
    });
    return (this.#publicKey = fetching);
  }

  async #fetchPublicKey(): Promise<CryptoKey> {
    const { spki, keyUsage, encryptionAlgorithms } = await kmsGetPublicKey(this.#caller, this.keyId);
    if (keyUsage !== 'ENCRYPT_DECRYPT' || !encryptionAlgorithms.includes(this.encryptionAlgorithm)) {
      throw new SealboxError('ERR_KEYRING', `KMS key ${this.keyId} is not an RSA ENCRYPT_DECRYPT key for ${this.encryptionAlgorithm} (usage ${keyUsage ?? 'unknown'})`);
    }
    return importRsaOaepKey(spki, 'public', HASH_OF[this.encryptionAlgorithm], `the public key of ${this.keyId}`);
  }

  #isMine(edk: EncryptedDataKey): boolean {
    if (edk.providerId !== KMS_RSA_PROVIDER_ID || edk.providerInfo.length !== this.#arnBytes.length) return false;
    try {
      return fromUtf8(edk.providerInfo) === this.keyId;
    } catch {
      return false;
    }
  }
}
