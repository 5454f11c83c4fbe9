// Which Node versions have ML-KEM and ML-DSA in node:crypto (Node 24.7 and later, with OpenSSL
// 3.5), decided from the version number alone: the tests that check which implementation
// Sealbox chose must not ask the same feature detection they are checking.
const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];

/** True where node:crypto has ML-KEM-768 and ML-DSA: Sealbox must use them there. */
export const NODE_HAS_NATIVE_PQ = major > 24 || (major === 24 && minor >= 7);

/** Node 20 and 22 have neither: Sealbox must use @noble/post-quantum there. */
export const NODE_LACKS_NATIVE_PQ = major <= 22;
