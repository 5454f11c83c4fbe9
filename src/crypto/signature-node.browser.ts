import type { SignatureBackend } from './signature.js';

// The browser bundle's stand-in for signature-node.ts (scripts/browser-stubs.ts): a page has no
// node:crypto, so signature.ts loads the noble backend instead.

/** No node:crypto in a page. */
export function createNodeSignatureBackend(): SignatureBackend | undefined {
  return undefined;
}
