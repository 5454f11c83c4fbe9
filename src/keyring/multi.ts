import { SealboxError, isSealboxError } from '../errors.js';
import type { EncryptedDataKey } from '../format/edk.js';
import type { MaybePromise } from '../crypto/aead.js';
import type { Steps } from '../crypto/maybe.js';
import { drive } from '../crypto/maybe.js';
import type { Keyring, KeyringNow, UnwrapRequest, WrapRequest, WrapResult } from './keyring.js';
import { acceptSteps, checkedKeyring, unwrapKeyNow, unwrapNow, wrapKeyNow, wrapNow } from './keyring.js';

/** Options of {@link MultiKeyring}. */
export interface MultiKeyringOptions {
  /** Generates the data key on encrypt and wraps it first. Required to encrypt. */
  generator?: Keyring;
  /** Each wraps the same data key on encrypt; tried in order after the generator on decrypt. */
  children?: readonly Keyring[];
}

/**
 * SPEC §8.3: asks each keyring in order to unwrap (each tries its own EDKs in header order and,
 * given `request.isMessageKey`, moves on past a key that fails the commitment); returns the
 * first data key that is the message's. A keyring's failure moves on to the next keyring.
 * A keyring that throws ERR_NO_MATCHING_KEY said "not mine" with a reason; that error is
 * thrown when no keyring recognised anything. Nothing found: `null` when no keyring recognised
 * any EDK; else ERR_COMMITMENT_MISMATCH when
 * some key was unwrapped but none matched, ERR_KEYRING when none could be unwrapped, each with
 * every failure in `errors` (a single failure is thrown as it is, with its code and `cause`).
 *
 * Synchronous when every keyring asked answers at once (see `drive`).
 *
 * @throws SealboxError ERR_COMMITMENT_MISMATCH, ERR_KEYRING, ERR_NO_MATCHING_KEY
 */
export function unwrapInOrder(keyrings: readonly Keyring[], request: UnwrapRequest): MaybePromise<Uint8Array | null> {
  return drive(unwrapInOrderSteps(keyrings, request));
}

function* unwrapInOrderSteps(keyrings: readonly Keyring[], request: UnwrapRequest): Steps<Uint8Array | null> {
  const errors: unknown[] = [];
  const notMine: SealboxError[] = [];
  let recognised = false;
  let mismatched = false;
  for (const keyring of keyrings) {
    let key: Uint8Array | null;
    try {
      key = yield unwrapNow(keyring, request);
    } catch (err) {
      // "Not mine", with a reason (a KMS keyring given an alias says a key ARN is needed).
      if (isSealboxError(err, 'ERR_NO_MATCHING_KEY')) {
        notMine.push(err);
        continue;
      }
      recognised = true;
      if (isSealboxError(err, 'ERR_COMMITMENT_MISMATCH')) mismatched = true;
      // A nested multi-keyring's (or a KMS keyring's) failures are listed one by one.
      if (isSealboxError(err) && err.errors.length > 0) errors.push(...err.errors);
      else errors.push(err);
      continue;
    }
    if (key === null) continue;
    recognised = true;
    // A keyring that does not check the commitment itself (a custom one) is checked here.
    if (yield* acceptSteps(request, key)) return key;
    mismatched = true;
    errors.push(new SealboxError('ERR_COMMITMENT_MISMATCH', 'A keyring unwrapped a key that does not match the message\'s key commitment'));
  }
  if (!recognised) {
    if (notMine.length === 0) return null;
    if (notMine.length === 1) throw notMine[0];
    throw new SealboxError('ERR_NO_MATCHING_KEY', `No keyring holds a key for the message (${notMine.length} said why)`, { errors: notMine });
  }
  const code = mismatched ? 'ERR_COMMITMENT_MISMATCH' : 'ERR_KEYRING';
  // One failure (the usual case: one key, one EDK): that keyring's own error, with its cause
  // (and its own code: the CLI's keyring reports an altered header as ERR_DECRYPTION_FAILED).
  if (errors.length === 1 && (!mismatched || isSealboxError(errors[0], code))) throw errors[0];
  throw mismatched
    ? new SealboxError(code, `No data key matches the message's key commitment (${errors.length} tried)`, { errors })
    : new SealboxError(code, `No keyring could unwrap the data key (${errors.length} failed)`, { errors });
}

/**
 * Several keyrings as one: encrypt wraps the data key with the generator and every child (any
 * of them can then decrypt); decrypt asks the generator and then each child, in order, each
 * trying its own EDKs in header order, until one unwraps the message's key (SPEC §8.3).
 *
 * @example
 * ```ts
 * const keyring = new MultiKeyring({ generator: primary, children: [escrow] });
 * ```
 * @throws TypeError when given no keyring; on encrypt, SealboxError ERR_KEYRING (no generator,
 * or a child failed: then the data key the generator made is zeroed); on decrypt, ERR_KEYRING
 * with every failure in `errors` when some EDK was for one of its keyrings and none could be
 * unwrapped (`null`, "not mine", when none was).
 */
export class MultiKeyring implements Keyring, KeyringNow {
  readonly #generator: Keyring | undefined;
  readonly #children: readonly Keyring[];
  readonly #all: readonly Keyring[];

  constructor(options: MultiKeyringOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('MultiKeyring expected an options object');
    const children = options.children ?? [];
    if (!Array.isArray(children)) throw new TypeError('"children" expected an array of keyrings');
    if (!options.generator && children.length === 0) throw new TypeError('MultiKeyring needs a generator or at least one child');
    this.#generator = options.generator ? checkedKeyring(options.generator) : undefined;
    this.#children = children.map(checkedKeyring);
    this.#all = this.#generator ? [this.#generator, ...this.#children] : this.#children;
  }

  async wrapKey(request: WrapRequest): Promise<WrapResult> {
    return drive(this.#wrapSteps(request));
  }

  [wrapKeyNow](request: WrapRequest): MaybePromise<WrapResult> {
    return drive(this.#wrapSteps(request));
  }

  *#wrapSteps(request: WrapRequest): Steps<WrapResult> {
    let dataKey = request.dataKey;
    const edks: EncryptedDataKey[] = [];
    if (this.#generator) {
      const r: WrapResult = yield wrapNow(this.#generator, request);
      dataKey = r.dataKey;
      edks.push(...r.encryptedDataKeys);
    } else if (!dataKey) {
      throw new SealboxError('ERR_KEYRING', 'MultiKeyring without a generator cannot create a data key');
    }
    try {
      for (const child of this.#children) {
        const r: WrapResult = yield wrapNow(child, { ...request, dataKey });
        edks.push(...r.encryptedDataKeys);
      }
    } catch (err) {
      // The key the generator made goes to nobody now: zero it (as a KMS keyring zeroes the
      // key it generated when a later wrap fails). A key the request brought is its caller's.
      if (!request.dataKey) dataKey.fill(0);
      throw err;
    }
    return { dataKey, encryptedDataKeys: edks };
  }

  async unwrapKey(request: UnwrapRequest): Promise<Uint8Array | null> {
    return unwrapInOrder(this.#all, request);
  }

  [unwrapKeyNow](request: UnwrapRequest): MaybePromise<Uint8Array | null> {
    return unwrapInOrder(this.#all, request);
  }
}
