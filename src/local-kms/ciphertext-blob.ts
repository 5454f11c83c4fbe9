import { LocalKmsError } from './errors.js';

/**
 * Ciphertext blobs of symmetric keys:
 *   0x01 ‖ key id (16 bytes, the UUID) ‖ u32be(key version) ‖ IV (12) ‖ ciphertext ‖ tag (16),
 * or 0x02 and the 16 bytes of a multi-Region key id (`mrk-` and 32 hex digits) instead. The
 * region is not in it: related multi-Region keys share key id and material, so a blob made in
 * one region decrypts with the related key of any other, as in AWS.
 * Only what is needed to find the key version is in clear; everything is authenticated
 * (AES-256-GCM, AAD = label ‖ key id ‖ version ‖ canonical encryption context).
 */
export interface BlobParts {
  readonly keyId: string;
  readonly version: number;
  readonly iv: Uint8Array;
  readonly sealed: Uint8Array;
}

const FORMAT = 0x01;
const FORMAT_MULTI_REGION = 0x02;
const HEAD = 1 + 16 + 4;
const IV = 12;
const TAG = 16;

export function uuidToBytes(keyId: string): Uint8Array {
  return new Uint8Array(Buffer.from(keyId.replace(/-/g, ''), 'hex'));
}

function bytesToUuid(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function encodeBlob(keyId: string, version: number, iv: Uint8Array, sealed: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEAD + IV + sealed.length);
  const multiRegion = keyId.startsWith('mrk-');
  out[0] = multiRegion ? FORMAT_MULTI_REGION : FORMAT;
  out.set(multiRegion ? Buffer.from(keyId.slice(4), 'hex') : uuidToBytes(keyId), 1);
  new DataView(out.buffer).setUint32(17, version);
  out.set(iv, HEAD);
  out.set(sealed, HEAD + IV);
  return out;
}

/** @throws InvalidCiphertextException when the blob cannot be one of ours. */
export function decodeBlob(blob: Uint8Array): BlobParts {
  if (blob.length < HEAD + IV + TAG || (blob[0] !== FORMAT && blob[0] !== FORMAT_MULTI_REGION)) throw new LocalKmsError('InvalidCiphertextException', 'The ciphertext is not valid');
  const view = new DataView(blob.buffer, blob.byteOffset, blob.length);
  const id = blob.subarray(1, 17);
  return {
    keyId: blob[0] === FORMAT ? bytesToUuid(id) : `mrk-${Buffer.from(id).toString('hex')}`,
    version: view.getUint32(17),
    iv: blob.subarray(HEAD, HEAD + IV),
    sealed: blob.subarray(HEAD + IV),
  };
}

/** The AAD binding a blob to its key, version and exact encryption context. */
export function blobAad(keyId: string, version: number, context: Readonly<Record<string, string>> | undefined): Uint8Array {
  const pairs = Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new Uint8Array(Buffer.from(JSON.stringify(['sealbox local-kms ciphertext v1', keyId, version, pairs]), 'utf8'));
}
