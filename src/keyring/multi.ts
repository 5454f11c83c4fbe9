import { SealboxError } from '../errors.js';
import type { EncryptedDataKey } from '../format/edk.js';
import type { Keyring, UnwrapRequest, WrapRequest, WrapResult } from './keyring.js';
import { checkedKeyring } from './keyring.js';

/** Options of {@link MultiKeyring}. */
export interface MultiKeyringOptions {
  /** Generates the data key on encrypt and wraps it first. Required to encrypt. */
  generator?: Keyring;
  /** Each wraps the same data key on encrypt; tried in order after the generator on decrypt. */
  children?: readonly Keyring[];
}

/**
 * Several keyrings as one: encrypt wraps the data key with the generator and every child (any
 * of them can then decrypt); decrypt tries the generator, then each child, in order, until one
 * unwraps.
 *
 * @example
 * ```ts
 * const keyring = new MultiKeyring({ generator: primary, children: [escrow] });
 * ```
 * @throws TypeError when given no keyring; on encrypt, SealboxError ERR_KEYRING (no generator,
 * or a child failed); on decrypt, ERR_NO_MATCHING_KEY with every keyring's failure in `errors`
 * when some failed and none succeeded.
 */
export class MultiKeyring implements Keyring {
  readonly #generator: Keyring | undefined;
  readonly #children: readonly Keyring[];

  constructor(options: MultiKeyringOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('MultiKeyring expected an options object');
    const children = options.children ?? [];
    if (!Array.isArray(children)) throw new TypeError('"children" expected an array of keyrings');
    if (!options.generator && children.length === 0) throw new TypeError('MultiKeyring needs a generator or at least one child');
    this.#generator = options.generator ? checkedKeyring(options.generator) : undefined;
    this.#children = children.map(checkedKeyring);
  }

  async wrapKey(request: WrapRequest): Promise<WrapResult> {
    let dataKey = request.dataKey;
    const edks: EncryptedDataKey[] = [];
    if (this.#generator) {
      const r = await this.#generator.wrapKey(request);
      dataKey = r.dataKey;
      edks.push(...r.encryptedDataKeys);
    } else if (!dataKey) {
      throw new SealboxError('ERR_KEYRING', 'MultiKeyring without a generator cannot create a data key');
    }
    for (const child of this.#children) {
      const r = await child.wrapKey({ ...request, dataKey });
      edks.push(...r.encryptedDataKeys);
    }
    return { dataKey, encryptedDataKeys: edks };
  }

  async unwrapKey(request: UnwrapRequest): Promise<Uint8Array | null> {
    const errors: unknown[] = [];
    const all = this.#generator ? [this.#generator, ...this.#children] : this.#children;
    for (const keyring of all) {
      try {
        const key = await keyring.unwrapKey(request);
        if (key) return key;
      } catch (err) {
        // A nested multi-keyring's failures are listed one by one, not as one more layer.
        if (err instanceof SealboxError && err.code === 'ERR_NO_MATCHING_KEY' && err.errors.length > 0) errors.push(...err.errors);
        else errors.push(err);
      }
    }
    if (errors.length === 0) return null;
    throw new SealboxError('ERR_NO_MATCHING_KEY', `No keyring could unwrap the data key (${errors.length} failed)`, { errors });
  }
}
