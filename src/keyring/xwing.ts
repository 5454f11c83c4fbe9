import { getAeadBackend } from '../crypto/backend.js';
import { SealboxError } from '../errors.js';
import { encodeContext } from '../format/context.js';
import type { Keyring, UnwrapRequest, WrapRequest, WrapResult } from './keyring.js';
import { acceptDataKey, unwrapFailed } from './keyring.js';
import type { XWingImpl, XWingLoaded } from './xwing-impl.js';

// The X-Wing keyring's public face. Everything heavy (ML-KEM-768, X25519, Bech32m, HKDF) is in
// xwing-impl.ts and loaded with import() on first use, so an application that never uses
// X-Wing downloads none of it: the browser core bundle carries only this file. The lazy code
// imports nothing from the core (that would split the core bundle into more chunks); the core
// functions it needs are handed to it here.

/** EDK provider id written by {@link XWingKeyring} (docs/SPEC.md §9; xwing-impl.ts writes it). */
export const XWING_PROVIDER_ID = 'sealbox-xwing';

let impl: Promise<XWingImpl> | undefined;
function load(): Promise<XWingImpl> {
  return (impl ??= import('./xwing-impl.js').then((m) => m.xwingImpl({ SealboxError, getAeadBackend, encodeContext, acceptDataKey, unwrapFailed })));
}

/** Options of {@link XWingKeyring}. Give a public key to encrypt, a private key to decrypt (and encrypt). */
export interface XWingKeyringOptions {
  /**
   * The recipient's public key: its text form (`sealbox-xwing1...`, a key file's contents also
   * do: `#` lines are ignored) or its 1,216 bytes.
   */
  publicKey?: string | Uint8Array;
  /**
   * The private key: its text form (`SEALBOX-XWING-SECRET-KEY-1...`, or a key file's contents)
   * or its 32-byte seed. Copied; the caller may wipe its own copy. Its public half encrypts too.
   */
  privateKey?: string | Uint8Array;
}

/**
 * A post-quantum hybrid keyring: wraps the data key to a recipient's X-Wing public key
 * (draft-connolly-cfrg-xwing-kem-10, HPKE KEM id 0x647a: ML-KEM-768 and X25519 under the X-Wing
 * combiner), so a wrapped key stays closed while either ML-KEM-768 or X25519 holds, including
 * against "harvest now, decrypt later". The wrapping key is HKDF-SHA-256 of the X-Wing shared
 * secret, bound to the recipient and the encapsulation; the data key is sealed with AES-256-GCM
 * and the message's canonical encryption context as AAD. EDK layout: docs/SPEC.md §9.
 *
 * Encrypting needs only the public key; decrypting needs the private key. An EDK for another
 * X-Wing key is "not mine" (decided from its key id, without a decapsulation). Runs in Node
 * (X25519 from node:crypto) and browsers (pure JS from `@noble/post-quantum` and
 * `@noble/curves`); the code is fetched on first use, not with the core bundle.
 *
 * @example
 * ```ts
 * const { publicKey, privateKey } = await generateXWingKeyPair();
 * const { ciphertext } = await encrypt(data, { keyring: new XWingKeyring({ publicKey }) });
 * const { plaintext } = await decrypt(ciphertext, { keyring: new XWingKeyring({ privateKey }) });
 * ```
 * @throws From {@link ready}, `wrapKey` and `unwrapKey` (every check runs in the lazily loaded
 * code, so that the core bundle stays small): TypeError / RangeError for options without a key
 * or a key of the wrong type, byte length or prefix,
 * e.g. a private key given as `publicKey`; SealboxError `ERR_KEYRING` (from {@link ready},
 * `wrapKey`, `unwrapKey`) for key text that fails its checksum (mistyped, truncated), a public
 * key FIPS 203 or X25519 refuses, a public key that is not the private key's, encrypting
 * without a public key; and on decrypt, when an EDK names this key but does not open (another
 * context, any altered byte). Without a private key, decrypt says "not mine".
 */
export class XWingKeyring implements Keyring {
  readonly #ring: Promise<XWingLoaded>;

  constructor(options: XWingKeyringOptions) {
    // Every check runs in the lazily loaded code (the core bundle stays small); only the copy
    // of a private key's bytes is made now, so that the caller may wipe its own at once.
    // new Uint8Array, not slice(): a Node Buffer's slice() is a view of the caller's bytes, which
    // the keyring wipes once it has expanded them.
    const seed = options?.privateKey instanceof Uint8Array ? new Uint8Array(options.privateKey) : undefined;
    this.#ring = load().then((m) => m.keyring(options, seed));
    this.#ring.catch(() => undefined); // reported on use, not as an unhandled rejection
  }

  /**
   * Loads the X-Wing code and checks and decodes the keys; resolves to the keyring. Optional:
   * the first `wrapKey` / `unwrapKey` does the same. Use it to refuse a mistyped key early.
   *
   * @example
   * ```ts
   * const keyring = await new XWingKeyring({ publicKey: text }).ready();
   * ```
   * @throws TypeError / RangeError (no key, or a key of the wrong type, length or prefix);
   * SealboxError ERR_KEYRING (bad checksum, a key FIPS 203 or X25519 refuses, a mismatched pair).
   */
  async ready(): Promise<this> {
    await this.#ring;
    return this;
  }

  async wrapKey(request: WrapRequest): Promise<WrapResult> {
    return (await this.#ring).wrapKey(request);
  }

  async unwrapKey(request: UnwrapRequest): Promise<Uint8Array | null> {
    return (await this.#ring).unwrapKey(request);
  }
}

/**
 * Generates an X-Wing key pair in text form: `publicKey` (`sealbox-xwing1...`, give it to
 * whoever encrypts to you) and `privateKey` (`SEALBOX-XWING-SECRET-KEY-1...`, keep it secret).
 * Both carry a Bech32m checksum; see docs/keyrings.md.
 *
 * @example
 * ```ts
 * const { publicKey, privateKey } = await generateXWingKeyPair();
 * ```
 * @throws Error only when the runtime has no secure random source.
 */
export async function generateXWingKeyPair(): Promise<{ publicKey: string; privateKey: string }> {
  return (await load()).generate();
}

/**
 * The public key text (`sealbox-xwing1...`) of a private key (its text, a key file's contents,
 * or its 32-byte seed), as `age-keygen -y` does.
 *
 * @example
 * ```ts
 * const publicKey = await xwingPublicKey(readFileSync('me.key', 'utf8'));
 * ```
 * @throws TypeError / RangeError (the promise rejects) for input of the wrong type, length or
 * prefix; SealboxError ERR_KEYRING for text that fails its checksum.
 */
export async function xwingPublicKey(privateKey: string | Uint8Array): Promise<string> {
  return (await load()).publicKeyOf(privateKey);
}
