import type { Suite } from './suites.js';
import type { MaybePromise } from './aead.js';
import type { HkdfSha512 } from './hkdf.js';
import { hkdfSha512Node } from './hkdf-node.js';
import { hkdfSha512WebCrypto } from './hkdf-webcrypto.js';
import { utf8, wipe } from './bytes.js';

/** The per-message keys derived from the data key (SPEC §5). */
export interface MessageKeys {
  /** AES-256-GCM key for the header tag and every frame. */
  readonly contentKey: Uint8Array;
  /** Stored in the header; proves which data key the message was made with. */
  readonly commitment: Uint8Array;
}

const labels = new Map<number, { content: Uint8Array; commit: Uint8Array }>();

function labelsFor(version: number, suite: Suite): { content: Uint8Array; commit: Uint8Array } {
  // The derivation id, not the suite id: suite 3 derives exactly as suite 1 (SPEC §5).
  const id = version * 0x10000 + suite.derivationId;
  let l = labels.get(id);
  if (!l) {
    l = {
      content: utf8(`sealbox v${version} suite ${suite.derivationId} content key`),
      commit: utf8(`sealbox v${version} suite ${suite.derivationId} key commitment`),
    };
    labels.set(id, l);
  }
  return l;
}

/**
 * content key = HKDF-SHA-512(ikm = data key, salt = message id, info = "sealbox v1 suite 1 content key", 32)
 * commitment  = HKDF-SHA-512(ikm = data key, salt = message id, info = "sealbox v1 suite 1 key commitment", 32)
 *
 * On the given synchronous HKDF implementation (one extract, two expands).
 */
export function deriveMessageKeysWith(hkdf: HkdfSha512, version: number, suite: Suite, dataKey: Uint8Array, messageId: Uint8Array): MessageKeys {
  const l = labelsFor(version, suite);
  const prk = hkdf.extract(dataKey, messageId);
  const keys = {
    contentKey: hkdf.expand(prk, l.content, suite.contentKeyLength),
    commitment: hkdf.expand(prk, l.commit, suite.commitmentLength),
  };
  prk.fill(0);
  return keys;
}

/**
 * The message keys (see {@link deriveMessageKeysWith}) on the fastest HKDF this runtime has:
 * node:crypto HMAC on Node (synchronous), WebCrypto HKDF in browsers and workers (about 3x
 * faster there than @noble/hashes), @noble/hashes elsewhere, loaded on first use. Same bytes
 * from every path.
 */
export function deriveMessageKeys(version: number, suite: Suite, dataKey: Uint8Array, messageId: Uint8Array): MaybePromise<MessageKeys> {
  if (hkdfSha512Node) return deriveMessageKeysWith(hkdfSha512Node, version, suite, dataKey, messageId);
  if (hkdfSha512WebCrypto) {
    const l = labelsFor(version, suite);
    return hkdfSha512WebCrypto(dataKey, messageId, [
      { info: l.content, length: suite.contentKeyLength },
      { info: l.commit, length: suite.commitmentLength },
    ]).then(([contentKey, commitment]) => ({ contentKey: contentKey!, commitment: commitment! }));
  }
  return import('./hkdf-noble.js').then((m) => deriveMessageKeysWith(m.hkdfSha512Noble, version, suite, dataKey, messageId));
}

/**
 * The message keys (see {@link deriveMessageKeys}), then `dataKey` zeroed, whether
 * derivation succeeded or not (`check` runs first, inside the same guard). Encrypt sessions
 * start here, so the data key a materials manager hands to one message lives no longer than it
 * must: a manager that reuses a key (the caching manager) hands out a copy per message and
 * keeps its own.
 */
export function deriveAndWipe(version: number, suite: Suite, dataKey: Uint8Array, messageId: Uint8Array, check?: () => void): MaybePromise<MessageKeys> {
  let pending: MaybePromise<MessageKeys>;
  try {
    check?.();
    pending = deriveMessageKeys(version, suite, dataKey, messageId);
  } catch (err) {
    wipe(dataKey);
    throw err;
  }
  if (pending instanceof Promise) return pending.finally(() => wipe(dataKey));
  wipe(dataKey);
  return pending;
}
