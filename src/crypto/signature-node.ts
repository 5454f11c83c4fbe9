import { nodeCrypto } from './aead-node.js';
import type { SignatureBackend } from './signature.js';
import type { RawSigner, RawVerifier } from './signature-policy.js';
import { withPolicy } from './signature-policy.js';

// Node only: the browser bundle replaces this file with signature-node.browser.ts.

type NodeCrypto = typeof import('node:crypto');
type KeyObject = import('node:crypto').KeyObject;

/**
 * SubjectPublicKeyInfo DER up to the point, for a compressed P-384 point (RFC 5480):
 * SEQUENCE { SEQUENCE { id-ecPublicKey, secp384r1 }, BIT STRING (0 unused bits) 49 bytes }.
 * OpenSSL decompresses it and refuses x >= p and an x with no point on the curve.
 */
const SPKI_COMPRESSED_PREFIX = Uint8Array.from([
  0x30, 0x46, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x32, 0x00,
]);
/** Length of the uncompressed SPKI node:crypto exports: 23-byte prefix, 0x04, x, y. */
const SPKI_UNCOMPRESSED_BYTES = 120;

/** A pre-generated key pair, its public key already compressed. */
interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: Uint8Array;
}

/** Key pairs kept ready: key generation (~1 ms) runs on libuv's thread pool, off the caller's path. */
const POOL_TARGET = 2;

/** The compressed point of a P-384 public KeyObject. */
function compressedPoint(publicKey: KeyObject): Uint8Array {
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  if (spki.length !== SPKI_UNCOMPRESSED_BYTES || spki[23] !== 0x04) throw new Error('unexpected P-384 public key encoding from node:crypto');
  const out = new Uint8Array(49);
  out[0] = 0x02 | (spki[SPKI_UNCOMPRESSED_BYTES - 1]! & 1);
  out.set(spki.subarray(24, 72), 1);
  return out;
}

/** Holds key pairs generated in the background, refilling as they are taken. */
function keyPool(crypto: NodeCrypto): () => Promise<KeyPair> {
  const ready: KeyPair[] = [];
  const waiting: ((pair: KeyPair) => void)[] = [];
  const failed: ((err: unknown) => void)[] = [];
  let inFlight = 0;
  const generate = (): void => {
    inFlight++;
    crypto.generateKeyPair('ec', { namedCurve: 'secp384r1' }, (err, publicKey, privateKey) => {
      inFlight--;
      const take = waiting.shift();
      const reject = failed.shift();
      if (err) {
        if (reject) reject(err);
        return;
      }
      const pair = { privateKey, publicKey: compressedPoint(publicKey) };
      if (take) take(pair);
      else ready.push(pair);
    });
  };
  return () => {
    const pair = ready.shift();
    const result = pair
      ? Promise.resolve(pair)
      : new Promise<KeyPair>((resolve, reject) => {
          waiting.push(resolve);
          failed.push(reject);
          if (inFlight < waiting.length) generate();
        });
    while (ready.length + inFlight - waiting.length < POOL_TARGET) generate();
    return result;
  };
}

/**
 * Gathers a message's bytes for one node:crypto Sign or Verify object. Copies are kept until
 * sign/verify, so the caller may reuse its chunks.
 */
function collector(): { update(chunk: Uint8Array): void; drain(sink: { update(data: Uint8Array): unknown }): void } {
  let chunks: Uint8Array[] = [];
  return {
    update(chunk) {
      if (chunk.length > 0) chunks.push(chunk.slice());
    },
    drain(sink) {
      for (const c of chunks) sink.update(c);
      chunks = [];
    },
  };
}

/** ECDSA P-384 / SHA-384 on node:crypto (OpenSSL). Undefined outside Node. */
export function createNodeSignatureBackend(): SignatureBackend | undefined {
  const crypto = nodeCrypto();
  if (!crypto) return undefined;
  const takeKeyPair = keyPool(crypto);
  return withPolicy(
    'node',
    async (): Promise<RawSigner> => {
      const pair = await takeKeyPair();
      const bytes = collector();
      return {
        publicKey: pair.publicKey,
        update: (chunk) => bytes.update(chunk),
        sign() {
          const signer = crypto.createSign('sha384');
          bytes.drain(signer);
          return Promise.resolve(new Uint8Array(signer.sign({ key: pair.privateKey, dsaEncoding: 'ieee-p1363' })));
        },
      };
    },
    (publicKey): Promise<RawVerifier | undefined> => {
      const spki = new Uint8Array(SPKI_COMPRESSED_PREFIX.length + publicKey.length);
      spki.set(SPKI_COMPRESSED_PREFIX);
      spki.set(publicKey, SPKI_COMPRESSED_PREFIX.length);
      let key: KeyObject;
      try {
        key = crypto.createPublicKey({ key: spki as Buffer, format: 'der', type: 'spki' });
      } catch {
        return Promise.resolve(undefined);
      }
      const bytes = collector();
      return Promise.resolve({
        update: (chunk) => bytes.update(chunk),
        verify(signature, format = 'p1363') {
          const verifier = crypto.createVerify('sha384');
          bytes.drain(verifier);
          try {
            return Promise.resolve(verifier.verify({ key, dsaEncoding: format === 'der' ? 'der' : 'ieee-p1363' }, signature));
          } catch {
            return Promise.resolve(false);
          }
        },
      });
    },
  );
}
