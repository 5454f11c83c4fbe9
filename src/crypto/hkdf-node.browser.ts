import type { HkdfSha512 } from './hkdf.js';

// The browser bundle's stand-in for hkdf-node.ts (scripts/browser-stubs.ts): there is no
// node:crypto in a page, so the HKDF on it is absent and derive.ts uses WebCrypto.

export const hkdfSha512Node: HkdfSha512 | undefined = undefined;
