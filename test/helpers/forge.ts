import { concat } from '../../src/crypto/bytes.js';
import { getAeadBackend } from '../../src/crypto/backend.js';
import { deriveMessageKeys } from '../../src/crypto/derive.js';
import { FINAL_FRAME_PREFIX, frameAad, frameNonce, headerNonce } from '../../src/format/frame.js';
import type { MessageHeader } from '../../src/format/header.js';
import { decodeHeader, readPreamble } from '../../src/format/header.js';
import type { Keyring } from '../../src/keyring/keyring.js';
import type { AeadKey } from '../../src/crypto/aead.js';
import { TAG_BYTES } from '../../src/limits.js';

const LIMITS = { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 };

/** A message taken apart: header bytes, tag, and each frame's place (by its type bytes). */
export interface Parsed {
  readonly header: MessageHeader;
  readonly headerEnd: number;
  readonly bodyStart: number;
  /** Byte ranges of the frames, prefix included; the last is the final frame. */
  readonly frames: { start: number; end: number; final: boolean }[];
  /** Where the final frame ends (a signed message's signature starts here). */
  readonly end: number;
}

export function parse(message: Uint8Array): Parsed {
  const headerEnd = readPreamble(message)!;
  const header = decodeHeader(message.subarray(0, headerEnd), LIMITS);
  const bodyStart = headerEnd + TAG_BYTES;
  const F = header.frameLength;
  const frames: Parsed['frames'] = [];
  let pos = bodyStart;
  for (;;) {
    if (message[pos] === 0) {
      frames.push({ start: pos, end: pos + 1 + F + TAG_BYTES, final: false });
      pos += 1 + F + TAG_BYTES;
      continue;
    }
    const L = new DataView(message.buffer, message.byteOffset).getUint32(pos + 1);
    frames.push({ start: pos, end: pos + FINAL_FRAME_PREFIX + L + TAG_BYTES, final: true });
    return { header, headerEnd, bodyStart, frames, end: pos + FINAL_FRAME_PREFIX + L + TAG_BYTES };
  }
}

/** The content key of a message whose header is `header`, as a holder of `keyring` (an insider) derives it. */
async function insiderKey(header: MessageHeader, keyring: Keyring): Promise<AeadKey> {
  const dataKey = await keyring.unwrapKey({ suite: header.suite, encryptionContext: header.encryptionContext, encryptedDataKeys: header.encryptedDataKeys });
  if (!dataKey) throw new Error('the forger holds no key for this message');
  const keys = await deriveMessageKeys(header.version, header.suite, dataKey, header.messageId);
  return getAeadBackend('node').importKey(keys.contentKey);
}

/**
 * The insider of SPEC §11 (docs/security.md): someone who can unwrap a message's data key (any
 * recipient) rewrites frame `index` to carry `plaintext` (same length), recomputes that frame's
 * GCM tag and the header tag with the message's content key, and keeps every other byte,
 * including a signed message's signature. Suite 1 cannot tell; suite 2's signature can.
 */
export async function forgeFrame(message: Uint8Array, keyring: Keyring, index: number, plaintext: Uint8Array): Promise<Uint8Array> {
  const p = parse(message);
  const { header } = p;
  const key = await insiderKey(header, keyring);
  const frame = p.frames[index]!;
  const prefix = frame.final ? FINAL_FRAME_PREFIX : 1;
  if (frame.end - frame.start - prefix - TAG_BYTES !== plaintext.length) throw new Error('same length only');
  const sealed = await key.seal(frameNonce(index, frame.final), frameAad(header.messageId, index, frame.final), plaintext);
  const headerBytes = message.subarray(0, p.headerEnd);
  const headerTag = await key.seal(headerNonce(), headerBytes, new Uint8Array(0));
  return concat(headerBytes, headerTag, message.subarray(p.bodyStart, frame.start + prefix), sealed, message.subarray(frame.end));
}

/**
 * The insider of SPEC §11.1 against a keyring that does not bind the context: someone who can
 * unwrap a signed message's data key puts a P-384 key pair of their own in the context, re-encodes
 * the header, re-tags it with the content key, replaces the frames' plaintext by `rewrite` (same
 * lengths) and signs everything with their own key. Every EDK is kept as it was: those bound to
 * the context stop opening, the others still open.
 */
export async function resignWithOwnKey(message: Uint8Array, keyring: Keyring, rewrite: (index: number, plaintext: Uint8Array) => Uint8Array = (_, pt) => pt): Promise<Uint8Array> {
  const { ECDH, generateKeyPairSync, sign } = await import('node:crypto');
  const { headerEncoder } = await import('./cbor-encoder.js');
  const { canonicalMap } = await import('../../src/format/context.js');
  const { SIGNING_KEY_CONTEXT_KEY } = await import('../../src/format/signature.js');
  const p = parse(message);
  const { header } = p;
  const key = await insiderKey(header, keyring);
  const own = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const raw = own.publicKey.export({ format: 'der', type: 'spki' }).subarray(-97);
  const compressed = ECDH.convertKey(raw, 'secp384r1', undefined, undefined, 'compressed') as Buffer;
  const items = headerEncoder.decode(message.subarray(8, p.headerEnd)) as unknown[];
  items[2] = canonicalMap({ ...header.encryptionContext, [SIGNING_KEY_CONTEXT_KEY]: compressed.toString('base64') });
  const body = headerEncoder.encode(items) as Uint8Array;
  const preamble = Uint8Array.of(0x53, 0x42, 0x58, 1, 0, 0, 0, 0);
  new DataView(preamble.buffer).setUint32(4, body.length);
  const headerBytes = concat(preamble, body);
  const parts: Uint8Array[] = [headerBytes, await key.seal(headerNonce(), headerBytes, new Uint8Array(0))];
  for (const [index, frame] of p.frames.entries()) {
    const prefix = frame.final ? FINAL_FRAME_PREFIX : 1;
    const nonce = frameNonce(index, frame.final);
    const aad = frameAad(header.messageId, index, frame.final);
    const plaintext = await key.open(nonce, aad, message.slice(frame.start + prefix, frame.end));
    const forged = rewrite(index, plaintext);
    if (forged.length !== plaintext.length) throw new Error('same length only');
    parts.push(message.subarray(frame.start, frame.start + prefix), await key.seal(nonce, aad, forged));
  }
  const signed = concat(...parts);
  const signature = sign('sha384', signed, { key: own.privateKey, dsaEncoding: 'ieee-p1363' });
  const N = 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;
  const s = BigInt('0x' + signature.subarray(48).toString('hex'));
  if (s > N >> 1n) signature.set(Buffer.from((N - s).toString(16).padStart(96, '0'), 'hex'), 48);
  return concat(signed, signature);
}
