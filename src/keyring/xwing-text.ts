import { bech32m } from '@scure/base';
import { XWING_PUBLIC_KEY_BYTES, XWING_SEED_BYTES } from './xwing-kem.js';

// The text forms of X-Wing keys (docs/keyrings.md): Bech32m (BIP 350), whose 6-character
// checksum catches mistyped, dropped and swapped characters, with a prefix that says what the
// key is. Like age's keys, with the BIP 173 90-character limit lifted (a public key is 1,216
// bytes). Loaded lazily with the rest of the X-Wing code.

/** Key text that cannot be read; the keyring reports it as SealboxError ERR_KEYRING. */
export class XWingKeyTextError extends Error {
  override name = 'XWingKeyTextError';
}

/** Bech32m prefix of public keys: `sealbox-xwing1...` (lower case). */
export const XWING_PUBLIC_PREFIX = 'sealbox-xwing';
/** Bech32m prefix of private keys, written in upper case: `SEALBOX-XWING-SECRET-KEY-1...`. */
export const XWING_SECRET_PREFIX = 'sealbox-xwing-secret-key-';

/** A public key's text form. */
export function encodeXWingPublicKey(publicKey: Uint8Array): string {
  return bech32m.encode(XWING_PUBLIC_PREFIX, bech32m.toWords(publicKey), false);
}

/** A private key's (32-byte seed's) text form, upper case so it stands out as secret. */
export function encodeXWingPrivateKey(seed: Uint8Array): string {
  return bech32m.encode(XWING_SECRET_PREFIX, bech32m.toWords(seed), false).toUpperCase();
}

/**
 * The one key in `text`: the key alone, or a key file's contents (blank lines and lines
 * starting with `#` are ignored).
 */
function keyLine(text: string, what: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length !== 1) throw new XWingKeyTextError(`X-Wing ${what} text must hold exactly one key line (found ${lines.length})`);
  return lines[0]!;
}

/** Which kind of X-Wing key text this is, from its prefix alone (no checksum check). */
export function xwingKeyKind(text: string): 'public' | 'private' | undefined {
  const lower = text.trim().toLowerCase();
  if (lower.includes(`${XWING_SECRET_PREFIX}1`)) return 'private';
  if (lower.includes(`${XWING_PUBLIC_PREFIX}1`)) return 'public';
  return undefined;
}

/** Characters of a key's text: prefix, `1`, the bytes in 5-bit groups, the 6-character checksum. */
function textLength(prefix: string, bytes: number): number {
  return prefix.length + 1 + Math.ceil((bytes * 8) / 5) + 6;
}

function decode(text: string, prefix: string, length: number, what: string): Uint8Array {
  const line = keyLine(text, what);
  const start = `${prefix === XWING_SECRET_PREFIX ? prefix.toUpperCase() : prefix}1`;
  if (!line.toLowerCase().startsWith(`${prefix}1`)) throw new XWingKeyTextError(`X-Wing ${what} text must start with "${start}"`);
  // A key has one length: anything else is refused before the decoder allocates for it.
  const chars = textLength(prefix, length);
  if (line.length !== chars) throw new XWingKeyTextError(`X-Wing ${what} text must be ${chars} characters, got ${line.length}`);
  let decoded: { prefix: string; words: number[] };
  try {
    // Bech32m: all upper or all lower case; a mixed-case string is refused as mistyped.
    decoded = bech32m.decode(line as `${string}1${string}`, false);
  } catch {
    // Not the library's error as the cause: its message quotes the whole text ("Invalid checksum
    // in SEALBOX-XWING-SECRET-KEY-1..."), and a mistyped private key is still a private key.
    throw new XWingKeyTextError(`X-Wing ${what} text is not valid Bech32m: mistyped or truncated (the checksum does not match)`);
  }
  if (decoded.prefix !== prefix) throw new XWingKeyTextError(`X-Wing ${what} text must start with "${start}"`);
  let bytes: Uint8Array;
  try {
    bytes = bech32m.fromWords(decoded.words);
  } catch {
    throw new XWingKeyTextError(`X-Wing ${what} text has invalid padding`);
  }
  if (bytes.length !== length) {
    bytes.fill(0);
    throw new XWingKeyTextError(`X-Wing ${what} must be ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

/** The 1,216 bytes of a public key's text form. @throws XWingKeyTextError */
export function decodeXWingPublicKey(text: string): Uint8Array {
  return decode(text, XWING_PUBLIC_PREFIX, XWING_PUBLIC_KEY_BYTES, 'public key');
}

/** The 32-byte seed of a private key's text form. @throws XWingKeyTextError */
export function decodeXWingPrivateKey(text: string): Uint8Array {
  return decode(text, XWING_SECRET_PREFIX, XWING_SEED_BYTES, 'private key');
}
