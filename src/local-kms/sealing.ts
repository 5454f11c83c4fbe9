import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { LocalKmsError } from './errors.js';

const IV = 12;
const TAG = 16;

/**
 * Seals and opens secrets at rest under keys derived from the root key (HKDF-SHA-256 with a
 * purpose label): AES-256-GCM, random IV, caller-supplied AAD that binds each sealed value to
 * where it belongs (key id and version for key material).
 */
export class Sealer {
  readonly #key: Buffer;

  constructor(rootKey: Uint8Array, purpose: string) {
    this.#key = Buffer.from(hkdfSync('sha256', rootKey, new Uint8Array(0), `sealbox local-kms ${purpose}`, 32));
  }

  seal(plaintext: Uint8Array, aad: string): Uint8Array {
    const iv = randomBytes(IV);
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    return new Uint8Array(Buffer.concat([iv, ct, c.getAuthTag()]));
  }

  open(sealed: Uint8Array, aad: string): Uint8Array {
    if (sealed.length < IV + TAG) throw new LocalKmsError('KMSInternalException', 'Sealed value is damaged', 'server');
    const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length);
    const d = createDecipheriv('aes-256-gcm', this.#key, buf.subarray(0, IV));
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(buf.subarray(buf.length - TAG));
    const pt = d.update(buf.subarray(IV, buf.length - TAG));
    try {
      d.final();
    } catch {
      pt.fill(0);
      throw new LocalKmsError('KMSInternalException', 'Sealed value does not open under this root key', 'server');
    }
    return new Uint8Array(pt);
  }

  /** A check value that tells whether a root key is the one this directory was made with. */
  static checkValue(rootKey: Uint8Array): string {
    return createHmac('sha256', rootKey).update('sealbox local-kms root key check').digest('hex');
  }

  /** 32 bytes derived from the root key for another module (e.g. the access-key store). */
  static subkey(rootKey: Uint8Array, purpose: string): Uint8Array {
    return new Uint8Array(hkdfSync('sha256', rootKey, new Uint8Array(0), `sealbox local-kms ${purpose}`, 32));
  }
}
