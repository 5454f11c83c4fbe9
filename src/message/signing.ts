import type { MessageSigner, MessageVerifier } from '../crypto/signature.js';
import { getSignatureBackend } from '../crypto/signature-backend.js';

// The signed suite's key handling and encoding checks (SPEC §11), loaded with `import()` only
// when a message is signed, so that they and the ECDSA code stay out of the browser core bundle.
// Nothing from the core is imported: a lazy chunk may not share a module with the core
// (test/browser/size.test.ts), so failures are returned and the core throws its errors.

/** A fresh P-384 signer (SPEC §11.1) and the context text of its public key. */
export async function newSigner(fixed?: MessageSigner): Promise<{ signer: MessageSigner; keyText: string }> {
  const signer = fixed ?? (await (await getSignatureBackend()).createSigner());
  // Standard base64 with padding of the compressed point.
  return { signer, keyText: btoa(String.fromCharCode(...signer.publicKey)) };
}

/**
 * The verifier for the public key whose context text is `text`: undefined unless the text is
 * canonical (rule 39) and the key a point of P-384 (rule 40).
 */
export async function newVerifier(text: string): Promise<MessageVerifier | undefined> {
  const key = decodeSigningKey(text);
  return key && (await getSignatureBackend()).createVerifier(key);
}

/** The order n of P-384's base point (SEC 2 §2.5.1, FIPS 186-5). */
const P384_N = 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;

/**
 * Rule 39: the public key's bytes when `text` is the one canonical text of a compressed point
 * (exactly 68 characters of standard base64 that decode to 49 bytes starting 0x02 or 0x03 and
 * encode back to the same text: no other alphabet, no missing padding, no stray bits), else
 * undefined. Whether the point is on the curve is the verifier's check (rule 40).
 */
export function decodeSigningKey(text: string): Uint8Array | undefined {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
  return bytes.length === 49 && (bytes[0] === 2 || bytes[0] === 3) && btoa(String.fromCharCode(...bytes)) === text ? bytes : undefined;
}

const scalar = (bytes: Uint8Array): bigint => BigInt('0x0' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(''));

/**
 * Rule 42: true when `signature` is 96 bytes r ‖ s with 1 <= r < n and 1 <= s <= (n - 1) / 2.
 * A high s verifies too, but is a second encoding of the same signature.
 */
export function isCanonicalSignature(signature: Uint8Array): boolean {
  const r = scalar(signature.subarray(0, 48));
  const s = scalar(signature.subarray(48));
  return signature.length === 96 && r > 0n && r < P384_N && s > 0n && s <= P384_N >> 1n;
}
