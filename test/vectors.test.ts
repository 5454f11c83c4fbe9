import { readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { decrypt, decryptRange, decryptStream, MultiKeyring, RawAesKeyring, RawRsaKeyring, SealboxError, XWingKeyring } from '../src/index.js';
import type { DecryptOptions, Keyring } from '../src/index.js';
import { createDecryptStream } from '../src/node/index.js';
import { concat, fromHex } from '../src/crypto/bytes.js';
import { loadVectorKeys, loadVectors } from './helpers/vectors.js';
import type { MessageVector } from './helpers/vectors.js';
import { bytesEqual } from './helpers/keys.js';
import { through } from './helpers/web-streams.js';

// Frozen vectors: messages written by a released version must decrypt forever, and every
// MUST-reject rule of docs/SPEC.md §8 has at least one vector naming the code it expects.
// Every vector goes through every decoder (one-shot, Web stream, Node stream, range over the
// whole plaintext): SPEC §8.1 fixes one code per input, so all four must agree.
const vectors = loadVectors();
const { namespace, keys, asymmetric } = loadVectorKeys();
// A vector names raw AES keys from keys.json, or the RSA / X-Wing key of asymmetric-keys.json.
const raw = (name: string): Keyring =>
  name === asymmetric.rsa.name
    ? new RawRsaKeyring({ namespace: asymmetric.namespace, name, hash: asymmetric.rsa.hash, privateKey: asymmetric.rsa.privateKey })
    : name === asymmetric.xwing.name
      ? new XWingKeyring({ privateKey: fromHex(asymmetric.xwing.privateKey) })
      : new RawAesKeyring({ namespace, name, wrappingKey: fromHex(keys[name]!) });
const keyringFor = (names: string[]): Keyring =>
  names.length === 1 ? raw(names[0]!) : new MultiKeyring({ generator: raw(names[0]!), children: names.slice(1).map(raw) });

interface Outcome {
  plaintext: Uint8Array;
  encryptionContext: Record<string, string>;
}

/** Rules a vector cannot show (see test/vectors/README.md): the frame count needs 2^32 frames. */
const NO_VECTOR = new Set([28]);
const HIGHEST_RULE = 44;

async function nodeStream(ciphertext: Uint8Array, options: DecryptOptions, chunk: number): Promise<Outcome> {
  const parts: Uint8Array[] = [];
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < ciphertext.length; i += chunk) pieces.push(ciphertext.slice(i, i + chunk));
  const decryptor = createDecryptStream(options);
  decryptor.header.catch(() => undefined); // the pipeline reports the same error
  const sink = new Writable({
    write(c: Uint8Array, _encoding, callback) {
      parts.push(new Uint8Array(c));
      callback();
    },
  });
  await pipeline(Readable.from(pieces), decryptor, sink);
  return { plaintext: concat(...parts), encryptionContext: (await decryptor.header).encryptionContext };
}

/** The decoders, each returning what it decrypted (or throwing). */
const decoders: Record<string, (ciphertext: Uint8Array, v: MessageVector) => Promise<Outcome>> = {
  'one-shot': (c, v) => decrypt(c, { keyring: keyringFor(v.keyring), ...v.decryptOptions }),
  'web stream, whole': async (c, v) => {
    const stream = decryptStream({ keyring: keyringFor(v.keyring), ...v.decryptOptions });
    const plaintext = await through(stream, c, Math.max(1, c.length));
    return { plaintext, encryptionContext: (await stream.header).encryptionContext };
  },
  'web stream, 7-byte chunks': async (c, v) => {
    const stream = decryptStream({ keyring: keyringFor(v.keyring), ...v.decryptOptions });
    const plaintext = await through(stream, c, 7);
    return { plaintext, encryptionContext: (await stream.header).encryptionContext };
  },
  'node stream, 13-byte chunks': (c, v) => nodeStream(c, { keyring: keyringFor(v.keyring), ...v.decryptOptions }, 13),
  'range, whole plaintext': (c, v) => decryptRange(c, { keyring: keyringFor(v.keyring), ...v.decryptOptions, start: 0 }),
};

describe('frozen message vectors', () => {
  it(`cover every MUST-reject rule 1-${HIGHEST_RULE} of SPEC §8 that a file can show`, () => {
    const rules = new Set(vectors.map((v) => v.rule).filter((r) => r !== null));
    for (let r = 1; r <= HIGHEST_RULE; r++) if (!NO_VECTOR.has(r)) expect(rules.has(r), `rule ${r}`).toBe(true);
    expect(vectors.filter((v) => v.expect === 'success').length).toBeGreaterThanOrEqual(5);
  });

  it('are each cited by docs/SPEC.md under the rule they name', () => {
    const spec = readFileSync(new URL('../docs/SPEC.md', import.meta.url), 'utf8');
    const lines = spec.split('\n');
    // A rule is a '- **Rule N.**' item, up to the next item, blank line or heading.
    const ruleLine = (rule: number): string => {
      const at = lines.findIndex((l) => l.startsWith(`- **Rule ${rule}.**`));
      if (at < 0) return '';
      const end = lines.findIndex((l, i) => i > at && (l === '' || l.startsWith('- ') || l.startsWith('#')));
      return lines.slice(at, end < 0 ? undefined : end).join(' ');
    };
    for (const v of vectors) if (v.rule !== null) expect(ruleLine(v.rule), `${v.name} under rule ${v.rule}`).toContain(`\`${v.name}.json\``);
  });

  const cases = vectors.flatMap((v) => Object.keys(decoders).map((d) => [v.name, d, v] as const));
  it.each(cases)('%s (%s)', async (_name, decoder, v) => {
    const ciphertext = new Uint8Array(Buffer.from(v.ciphertext, 'base64'));
    const run = async (): Promise<Outcome> => decoders[decoder]!(ciphertext, v);
    // decryptRange refuses signed messages (SPEC §8.4) once their header is accepted.
    const expected = decoder.startsWith('range') ? (v.rangeExpect ?? v.expect) : v.expect;
    if (expected === 'success') {
      const result = await run();
      expect(bytesEqual(result.plaintext, Buffer.from(v.plaintext!, 'base64'))).toBe(true);
      expect(result.encryptionContext).toEqual(v.encryptionContext);
      return;
    }
    const err = await run().then(() => undefined, (e: unknown) => e);
    if (expected === 'RangeError') {
      // A decrypt option out of its range: a programmer error, refused before any byte is read.
      expect(err).toBeInstanceOf(RangeError);
      return;
    }
    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe(expected);
  });

  // With the signature skipped on purpose, a range read of a signed message returns its frames.
  it.each(vectors.filter((v) => v.expect === 'success' && v.rangeExpect))('%s (range, skipSignatureVerification)', async (v) => {
    const ciphertext = new Uint8Array(Buffer.from(v.ciphertext, 'base64'));
    const result = await decryptRange(ciphertext, { keyring: keyringFor(v.keyring), ...v.decryptOptions, start: 0, skipSignatureVerification: true });
    expect(bytesEqual(result.plaintext, Buffer.from(v.plaintext!, 'base64'))).toBe(true);
  });
});
