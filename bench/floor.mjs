// The node:crypto floor of one 1 KiB message in Sealbox's format (bench/worker.mjs: encrypt and
// decrypt; bench/rewrap-worker.mjs: rewrap against encrypt): the node:crypto calls the format
// needs per message and nothing else. No encoding, no allocation of the message, no keyring
// logic: what any implementation of the format on node:crypto pays at least. Each call is made
// the cheapest way Sealbox knows, so that Sealbox never does a step for less than its floor:
// random bytes from a pool refilled 4 KiB at a time; the content key handed to node:crypto as
// bytes (no KeyObject; Sealbox's one-shot calls do the same). (HMAC as two one-shot
// crypto.hash calls instead of an Hmac object measured the same, within 2%.)
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, randomFillSync } from 'node:crypto';

const EMPTY = Buffer.alloc(0);

/** AES-256-GCM: seal (returns [ciphertext, tag]) or, given a tag, open (returns the plaintext). */
export function gcm(key, nonce, aad, data, tag) {
  const c = tag ? createDecipheriv('aes-256-gcm', key, nonce) : createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  if (tag) c.setAuthTag(tag);
  const out = data.length > 0 ? c.update(data) : EMPTY;
  c.final();
  return tag ? out : [out, c.getAuthTag()];
}

/** HMAC-SHA-512 (an Hmac object per call, as src/crypto/hkdf-node.ts). */
export function hmac(key, data) {
  return createHmac('sha512', key).update(data).digest();
}

let pool = Buffer.alloc(0);
let used = 0;
/** `n` random bytes from a pool (as src/crypto/random.ts). */
export function random(n) {
  if (used + n > pool.length) {
    pool = randomFillSync(Buffer.alloc(4096));
    used = 0;
  }
  used += n;
  return pool.subarray(used - n, used);
}

const wrappingA = createSecretKey(randomBytes(32));
const wrappingB = createSecretKey(randomBytes(32));
const context = randomBytes(40);
const header = randomBytes(160);
const frameAad = randomBytes(45);
const labels = [Buffer.from('sealbox v1 suite 1 content key\x01'), Buffer.from('sealbox v1 suite 1 key commitment\x01')];

/** HKDF-SHA-512: extract, then the content key and the commitment (one expand each). */
export function derive(dataKey, messageId) {
  const prk = hmac(messageId, dataKey);
  const contentKey = hmac(prk, labels[0]).subarray(0, 32);
  hmac(prk, labels[1]);
  return contentKey;
}

/** Encrypt: draw a data key and message id, wrap, derive, header tag, frame. */
export function encryptOnce(pt) {
  const dataKey = random(32);
  const messageId = random(32);
  gcm(wrappingA, random(12), context, dataKey);
  const key = derive(dataKey, messageId);
  gcm(key, random(12), header, EMPTY);
  return gcm(key, random(12), frameAad, pt);
}

/** What {@link decryptOnce} and {@link rewrapOnce} take: one sealed message's parts. */
export function sealed(pt) {
  const dataKey = Buffer.from(random(32));
  const messageId = Buffer.from(random(32));
  const iv = Buffer.from(random(12));
  const [edk, edkTag] = gcm(wrappingA, iv, context, dataKey);
  const key = derive(dataKey, messageId);
  const [, headerTag] = gcm(key, iv, header, EMPTY);
  const [frame, frameTag] = gcm(key, iv, frameAad, pt);
  return { messageId, iv, edk, edkTag, headerTag, frame, frameTag };
}

/** Decrypt: unwrap, derive, check the header tag, open the frame. */
export function decryptOnce(m) {
  const key = derive(gcm(wrappingA, m.iv, context, m.edk, m.edkTag), m.messageId);
  gcm(key, m.iv, header, EMPTY, m.headerTag);
  return gcm(key, m.iv, frameAad, m.frame, m.frameTag);
}

/** Rewrap: unwrap, derive, check the old header tag, wrap for the new key, the new header tag. */
export function rewrapOnce(m) {
  const dataKey = gcm(wrappingA, m.iv, context, m.edk, m.edkTag);
  const key = derive(dataKey, m.messageId);
  gcm(key, m.iv, header, EMPTY, m.headerTag);
  gcm(wrappingB, random(12), context, dataKey);
  return gcm(key, random(12), header, EMPTY)[1];
}
