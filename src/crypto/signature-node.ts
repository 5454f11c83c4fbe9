import { nodeCrypto } from './aead-node.js';
import type { SignatureBackend } from './signature.js';
import type { RawSigner, RawVerifier } from './signature-policy.js';
import { withPolicy } from './signature-policy.js';
import type { HashSession } from './signature-worker.js';
import { hashSession, prewarmHashThread } from './signature-worker.js';

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

/** A pre-generated key pair, its public key already compressed. */
interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: Uint8Array;
}

/** Key pairs kept ready: key generation (~1 ms) runs on libuv's thread pool, off the caller's path. */
const POOL_TARGET = 2;

/**
 * The compressed point of a P-384 public KeyObject, from its JWK export (x, and the parity of
 * y): 25-30 us against 130-150 us for an SPKI export of a fresh key, on the caller's thread.
 */
function compressedPoint(publicKey: KeyObject): Uint8Array {
  const { x, y } = publicKey.export({ format: 'jwk' });
  const xBytes = fromBase64Url(x);
  const yBytes = fromBase64Url(y);
  if (xBytes?.length !== 48 || yBytes?.length !== 48) throw new Error('unexpected P-384 public key encoding from node:crypto');
  const out = new Uint8Array(49);
  out[0] = 0x02 | (yBytes[47]! & 1);
  out.set(xBytes, 1);
  return out;
}

/** The bytes of base64url text (RFC 7515 §2), as JWK coordinates are written. */
function fromBase64Url(text: string | undefined): Uint8Array | undefined {
  if (text === undefined) return undefined;
  const { Buffer } = (globalThis as unknown as { process: { getBuiltinModule(id: 'node:buffer'): typeof import('node:buffer') } }).process.getBuiltinModule('node:buffer');
  return Buffer.from(text, 'base64url');
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

/** From this many bytes a message is likely large: a hash thread starts booting (tens of ms). */
const PREWARM_BYTES = 256 * 1024;
/** From this many bytes the hash moves to the worker thread (signature-worker.ts). */
const WORKER_BYTES = 1024 * 1024;
/**
 * A first chunk this large is a whole message handed over at once (one-shot encrypt and
 * decrypt): nothing runs beside its hash, so it is hashed here, uncopied.
 */
const WHOLE_MESSAGE_BYTES = 4 * 1024 * 1024;

type Hash = import('node:crypto').Sign | import('node:crypto').Verify;

/**
 * Where a message's bytes go. While the message is small: copies, hashed in one go on this
 * thread at the end (cheapest for a 1 KiB message). From {@link WORKER_BYTES}: a hash session
 * on a worker thread, so hashing overlaps the caller's sealing or opening of the next frames.
 * A whole message in one chunk: hashed here at once.
 */
function messageBytes(key: KeyObject, sign: boolean, start: () => Hash): {
  update(chunk: Uint8Array): void;
  finish<T>(here: (hash: Hash) => T, there: (session: HashSession) => Promise<T>): Promise<T>;
} {
  let chunks: Uint8Array[] = [];
  let bytes = 0;
  let session: HashSession | undefined;
  let inline: Hash | undefined;
  const flush = (to: { update(data: Uint8Array): unknown }): void => {
    for (const c of chunks) to.update(c);
    chunks = [];
  };
  return {
    update(chunk) {
      if (session) return session.update(chunk);
      if (inline) return void inline.update(chunk);
      if (chunk.length >= WHOLE_MESSAGE_BYTES) {
        inline = start();
        flush(inline);
        inline.update(chunk);
        return;
      }
      if (chunk.length === 0) return;
      // A copy: `slice` of a Node Buffer (what file and stream callers pass) would be a view.
      chunks.push(new Uint8Array(chunk));
      const before = bytes;
      bytes += chunk.length;
      if (before < PREWARM_BYTES && bytes >= PREWARM_BYTES) prewarmHashThread();
      if (bytes >= WORKER_BYTES) {
        session = hashSession(key, sign);
        flush(session);
      }
    },
    async finish(here, there) {
      if (session) return there(session);
      const hash = inline ?? start();
      flush(hash);
      return here(hash);
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
      const bytes = messageBytes(pair.privateKey, true, () => crypto.createSign('sha384'));
      return {
        publicKey: pair.publicKey,
        update: (chunk) => bytes.update(chunk),
        sign: () =>
          bytes.finish(
            (hash) => new Uint8Array((hash as import('node:crypto').Sign).sign({ key: pair.privateKey, dsaEncoding: 'ieee-p1363' })),
            (session) => session.finishSign(),
          ),
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
      const bytes = messageBytes(key, false, () => crypto.createVerify('sha384'));
      return Promise.resolve({
        update: (chunk) => bytes.update(chunk),
        verify: (signature, format = 'p1363') =>
          bytes.finish(
            (hash) => {
              try {
                return (hash as import('node:crypto').Verify).verify({ key, dsaEncoding: format === 'der' ? 'der' : 'ieee-p1363' }, signature);
              } catch {
                return false;
              }
            },
            (session) => session.finishVerify(signature, format === 'der'),
          ),
      });
    },
  );
}
