import type { AeadBackend } from './aead.js';

// The browser bundle's stand-in for aead-node.ts (scripts/browser-stubs.ts): a page has no
// node:crypto, so every backend built on it is absent and the WebCrypto (or noble) one is used.
// test/crypto/browser-stubs.test.ts keeps the exports of the two files the same.

/** No node:crypto in a page. */
export function nodeCrypto(): undefined {
  return undefined;
}

/** Never called where nodeCrypto() is undefined. */
export function offHeapScratch(): ((bytes: Uint8Array) => Uint8Array) & { wipe(): void } {
  throw new Error('offHeapScratch needs node:crypto');
}

/** No node:crypto backend in a page. */
export function createNodeAeadBackend(): AeadBackend | undefined {
  return undefined;
}
