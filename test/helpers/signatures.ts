import { createMessageSigner, createMessageVerifier } from '../../src/crypto/signature.js';
import type { SignatureBackendName } from '../../src/crypto/signature.js';

/** Signs `chunks` (passed to `update` one by one) with a fresh key on `backend`. */
export async function signChunks(backend: SignatureBackendName, chunks: Uint8Array[]): Promise<{ publicKey: Uint8Array; signature: Uint8Array }> {
  const signer = await createMessageSigner(backend);
  for (const c of chunks) signer.update(c);
  return { publicKey: signer.publicKey, signature: await signer.sign() };
}

/** Whether `signature` verifies under `publicKey` over `chunks` (passed to `update` one by one) on `backend`. */
export async function verifyChunks(backend: SignatureBackendName, publicKey: Uint8Array, chunks: Uint8Array[], signature: Uint8Array): Promise<boolean> {
  const verifier = await createMessageVerifier(publicKey, backend);
  for (const c of chunks) verifier.update(c);
  return verifier.verify(signature);
}
