/**
 * Generates the frozen message vectors in test/vectors/ (run: `npm run vectors`).
 *
 * Deterministic: data keys, IVs and message ids come from an HMAC-SHA-256 counter generator
 * seeded with a fixed string, so a rerun writes identical files. Once released, vector files
 * are frozen: a change in the format that alters them is a breaking change (SPEC §10).
 * Each negative vector names in `rule` the MUST-reject rule of docs/SPEC.md §8 whose code it
 * expects in `expect`: the only rule it breaks, or, for the vectors that break several on
 * purpose (their description says which), the one that comes first in the order of SPEC §8.1.
 * The README's table is rewritten from the vectors.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { encryptWithMessageId } from '../src/encrypt.js';
import { RawAesKeyring } from '../src/keyring/raw-aes.js';
import { MultiKeyring } from '../src/keyring/multi.js';
import { utf8, toHex, writeU32, concat } from '../src/crypto/bytes.js';
import { decodeHeader, readPreamble } from '../src/format/header.js';
import { headerEncoder } from '../test/helpers/cbor-encoder.js';
import { deriveMessageKeys } from '../src/crypto/derive.js';
import { getAeadBackend } from '../src/crypto/backend.js';
import { frameAad, frameNonce, headerNonce, REGULAR_FRAME_OVERHEAD } from '../src/format/frame.js';
import { TAG_BYTES } from '../src/limits.js';
import { canonicalMap, encodeContext } from '../src/format/context.js';
import type { Keyring } from '../src/keyring/keyring.js';
import { constants, createPublicKey, generateKeyPairSync, publicEncrypt } from 'node:crypto';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { xwingKem } from '../src/keyring/xwing-kem.js';
import { p384 } from '@noble/curves/nist.js';
import { sha384 } from '@noble/hashes/sha2.js';
import type { MessageSigner } from '../src/crypto/signature.js';
import { SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../src/crypto/suites.js';
import { SIGNING_KEY_CONTEXT_KEY } from '../src/format/signature.js';

const OUT = join(process.cwd(), 'test', 'vectors');

function drbg(seed: string): (n: number) => Uint8Array {
  let counter = 0;
  const key = sha256(utf8(seed));
  return (n) => {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 32) {
      const block = hmac(sha256, key, utf8(String(counter++)));
      out.set(block.subarray(0, Math.min(32, n - off)), off);
    }
    return out;
  };
}

const random = drbg('sealbox test vectors v1');
/** The raw AES keys every vector uses (also written to keys.json). */
const KEYS: Record<string, Uint8Array> = { alpha: random(32), beta: random(32), gamma: random(32) };
const keyringOf = (name: string): Keyring => new RawAesKeyring({ namespace: 'vectors', name, wrappingKey: KEYS[name]!, random });
const keyringFor = (names: string[]): Keyring =>
  names.length === 1 ? keyringOf(names[0]!) : new MultiKeyring({ generator: keyringOf(names[0]!), children: names.slice(1).map(keyringOf) });

interface Vector {
  description: string;
  rule: number | null;
  keyring: string[];
  decryptOptions?: Record<string, unknown>;
  expect: string;
  /** What decryptRange reports where it differs from `expect` (it refuses signed messages, SPEC §8.4). */
  rangeExpect?: string;
  ciphertext: Uint8Array;
  plaintext?: Uint8Array;
  encryptionContext?: Record<string, string>;
}

const vectors = new Map<string, Vector>();
const add = (name: string, v: Vector): void => void vectors.set(name, v);

interface Made { ciphertext: Uint8Array; dataKey: Uint8Array; headerEnd: number; frameLength: number; plaintext: Uint8Array }

/** Encrypts deterministically and remembers the data key so negative vectors can be re-tagged. */
async function make(plaintext: Uint8Array, names: string[], frameLength: number, encryptionContext: Record<string, string> = {}, signer?: MessageSigner): Promise<Made> {
  let dataKey = new Uint8Array(0);
  const inner = keyringFor(names);
  const spy: Keyring = {
    wrapKey: async (r) => {
      const res = await inner.wrapKey(r);
      dataKey = res.dataKey.slice();
      return res;
    },
    unwrapKey: (r) => inner.unwrapKey(r),
  };
  const suite = signer ? SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 : undefined;
  const { ciphertext } = await encryptWithMessageId(plaintext, { keyring: spy, frameLength, encryptionContext, ...(suite ? { suite } : {}) }, random(32), signer);
  return { ciphertext, dataKey, headerEnd: readPreamble(ciphertext)!, frameLength, plaintext };
}

/** Replaces the header (preamble + body) and recomputes a valid header tag with the real content key. */
async function withHeader(m: Made, body: Uint8Array, version = 1): Promise<Uint8Array> {
  const header = decodeHeader(m.ciphertext.subarray(0, m.headerEnd), { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 });
  const pre = new Uint8Array(8);
  pre.set([0x53, 0x42, 0x58, version]);
  writeU32(pre, 4, body.length);
  const headerBytes = concat(pre, body);
  const { contentKey } = await deriveMessageKeys(1, header.suite, m.dataKey, header.messageId);
  const key = await getAeadBackend('node').importKey(contentKey);
  const tag = await key.seal(headerNonce(), headerBytes, new Uint8Array(0));
  return concat(headerBytes, tag, m.ciphertext.subarray(m.headerEnd + TAG_BYTES));
}

/** The header as CBOR items, to edit and re-encode. */
function items(m: Made): unknown[] {
  return headerEncoder.decode(m.ciphertext.subarray(8, m.headerEnd)) as unknown[];
}

const flip = (bytes: Uint8Array, at: number): Uint8Array => {
  const out = bytes.slice();
  out[at]! ^= 0x01;
  return out;
};

const pt = (n: number): Uint8Array => random(n);


/** The header items edited by `edit`, re-encoded and re-tagged with the real content key. */
async function reheader(m: Made, edit: (it: unknown[]) => void, version = 1): Promise<Uint8Array> {
  const it = items(m);
  edit(it);
  return withHeader(m, headerEncoder.encode(it) as Uint8Array, version);
}

const PREAMBLE = (length: number): Uint8Array => {
  const pre = Uint8Array.of(0x53, 0x42, 0x58, 1, 0, 0, 0, 0);
  writeU32(pre, 4, length);
  return pre;
};

type EdkItem = [string, Uint8Array, Uint8Array];

/** A raw AES EDK for key `name` wrapping `dataKey` under `aad`, as RawAesKeyring lays it out (SPEC §9.1). */
async function aesEdk(name: string, dataKey: Uint8Array, aad: Uint8Array, ivLength = 12): Promise<EdkItem> {
  const iv = random(12);
  const key = await getAeadBackend('node').importKey(KEYS[name]!);
  const ciphertext = await key.seal(iv, aad, dataKey);
  return ['vectors', concat(utf8(name), iv.subarray(0, ivLength)), ciphertext];
}

/** SPEC §8.3: which EDK is tried with which key, and the code when none gives the message's key. */
async function addKeyVectors(m: Made): Promise<void> {
  const it0 = items(m);
  const context = Object.fromEntries((it0[2] as Map<string, string>).entries());
  const aad = encodeContext(context);
  const [alphaEdk, betaEdk] = it0[3] as EdkItem[];
  const wrongForAlpha = await aesEdk('alpha', random(32), aad);
  const tamperedBeta: EdkItem = [betaEdk![0], betaEdk![1], flip(betaEdk![2], 5)];
  const tamperedAlpha: EdkItem = [alphaEdk![0], alphaEdk![1], flip(alphaEdk![2], 3)];
  const withEdks = (edks: EdkItem[]): Promise<Uint8Array> => reheader(m, (it) => { it[3] = edks; });
  const ok = (name: string, description: string, ciphertext: Uint8Array, keyring: string[]): void =>
    add(name, { description, rule: 30, keyring, expect: 'success', ciphertext, plaintext: m.plaintext, encryptionContext: context });
  const neg = (name: string, rule: number, expect: string, description: string, ciphertext: Uint8Array, keyring: string[]): void =>
    add(name, { description, rule, keyring, expect, ciphertext });

  const mismatchFirst = await withEdks([wrongForAlpha, betaEdk!]);
  ok('keys-mismatch-then-good', 'EDK 1 (alpha) wraps a key that fails the commitment, EDK 2 (beta) the right one; keys alpha then beta: the mismatch moves on to EDK 2', mismatchFirst, ['alpha', 'beta']);
  ok('keys-mismatch-then-good-keys-swapped', 'The same message with the keys offered as beta then alpha: the same outcome whatever the order of the keys', mismatchFirst, ['beta', 'alpha']);
  ok('keys-same-key-mismatch-then-good', 'Two EDKs for alpha: the first wraps a key that fails the commitment, the second the right one; alpha alone decrypts', await withEdks([wrongForAlpha, alphaEdk!]), ['alpha']);
  ok('keys-failure-then-good', 'EDK 1 (alpha) tampered, EDK 2 (beta) good; keys alpha then beta: the failure moves on to EDK 2', await withEdks([tamperedAlpha, betaEdk!]), ['alpha', 'beta']);
  neg('keys-tampered-two-keys', 11, 'ERR_KEYRING', 'The EDK for alpha tampered, keys alpha and gamma offered: one EDK was for an offered key and did not open, so ERR_KEYRING with several keys too', await withEdks([tamperedAlpha, betaEdk!]), ['alpha', 'gamma']);
  const mixed = await withEdks([wrongForAlpha, tamperedBeta]);
  neg('keys-mismatch-and-failure', 12, 'ERR_COMMITMENT_MISMATCH', 'EDK 1 (alpha) unwraps to a key that fails the commitment, EDK 2 (beta) is tampered: a key was unwrapped, none matched, so rule 12 (before rule 11\'s ERR_KEYRING)', mixed, ['alpha', 'beta']);
  neg('keys-mismatch-and-failure-keys-swapped', 12, 'ERR_COMMITMENT_MISMATCH', 'The same message with the keys offered as beta then alpha: the same code', mixed, ['beta', 'alpha']);
}

/** SPEC §9.1 (raw AES EDKs) and §4 (reserved context keys on decrypt). */
async function addRawAesLayoutVectors(m: Made): Promise<void> {
  const it0 = items(m);
  const context = Object.fromEntries((it0[2] as Map<string, string>).entries());
  const aad = encodeContext(context);
  const betaEdk = (it0[3] as EdkItem[])[1]!;
  const withEdks = (edks: EdkItem[]): Promise<Uint8Array> => reheader(m, (it) => { it[3] = edks; });
  const neg = (name: string, rule: number, expect: string, description: string, ciphertext: Uint8Array): void =>
    add(name, { description, rule, keyring: ['alpha'], expect, ciphertext });

  const shortIv = await aesEdk('alpha', m.dataKey, aad, 11);
  neg('raw-aes-iv-11-bytes', 31, 'ERR_NO_MATCHING_KEY', 'The EDK for alpha with a provider info of "alpha" and 11 IV bytes (12 required): not alpha\'s EDK, so no offered key recognises any EDK', await withEdks([shortIv, betaEdk]));
  const good = await aesEdk('alpha', m.dataKey, aad);
  const otherName: EdkItem = ['vectors', concat(utf8('alphb'), good[1].subarray(5)), good[2]];
  neg('raw-aes-other-name', 31, 'ERR_NO_MATCHING_KEY', 'A raw AES EDK named "alphb" (same length as "alpha", else identical): not alpha\'s', await withEdks([otherName, betaEdk]));
  const otherNamespace: EdkItem = ['vectorz', good[1], good[2]];
  neg('raw-aes-other-namespace', 31, 'ERR_NO_MATCHING_KEY', 'The good EDK for alpha under provider id "vectorz": not the namespace "vectors", so not alpha\'s', await withEdks([otherNamespace, betaEdk]));
  neg('raw-aes-aad-empty-context', 32, 'ERR_KEYRING', 'The EDK for alpha wraps the right data key with AAD 0xa0 (the empty context) while the header has a context: it does not open', await withEdks([await aesEdk('alpha', m.dataKey, Uint8Array.of(0xa0)), betaEdk]));
  neg('raw-aes-key-16-bytes', 33, 'ERR_KEYRING', 'The EDK for alpha opens, but to a 16-byte key (32 required): a failure, not a key', await withEdks([await aesEdk('alpha', m.dataKey.subarray(0, 16), aad), betaEdk]));

  // A `sealbox:` context key: encoders refuse callers', decoders accept it (SPEC §4).
  const reserved = { ...context, 'sealbox:vectors': 'reserved keys are accepted on decrypt' };
  const reservedAad = encodeContext(reserved);
  // The EDKs are bound to the context, so they are made again under the new one.
  const [alphaR, betaR] = [await aesEdk('alpha', m.dataKey, reservedAad), await aesEdk('beta', m.dataKey, reservedAad)];
  const reservedMessage = await reheader(m, (it) => {
    it[2] = canonicalMap(reserved);
    it[3] = [alphaR, betaR];
  });
  add('context-reserved-key-accepted', { description: 'A context with the reserved key "sealbox:vectors" (EDKs wrapped under it): a decoder accepts it like any other key', rule: 35, keyring: ['alpha', 'beta'], expect: 'success', ciphertext: reservedMessage, plaintext: m.plaintext, encryptionContext: reserved });
}

/** The RSA key pair and X-Wing seed of the §9.2 and §9.5 vectors (asymmetric-keys.json). */
interface AsymmetricKeys { namespace: string; rsa: { name: string; hash: 'SHA-256'; privateKey: string }; xwing: { name: string; privateKey: string } }
const ASYMMETRIC_FILE = join(OUT, 'asymmetric-keys.json');

/**
 * The fixed RSA-2048 key (made once, then read back: RSA key generation cannot be seeded) and the
 * X-Wing seed (from its own seeded generator, so the AES vectors' randomness is untouched).
 */
function asymmetricKeys(): AsymmetricKeys {
  if (existsSync(ASYMMETRIC_FILE)) return JSON.parse(readFileSync(ASYMMETRIC_FILE, 'utf8')) as AsymmetricKeys;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const keys: AsymmetricKeys = { namespace: 'vectors', rsa: { name: 'rsa', hash: 'SHA-256', privateKey }, xwing: { name: 'xwing', privateKey: toHex(drbg('sealbox test vectors xwing key')(32)) } };
  writeFileSync(ASYMMETRIC_FILE, JSON.stringify(keys, null, 2) + '\n');
  return keys;
}

/** MGF1 with SHA-256 (RFC 8017 B.2.1). */
function mgf1(seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0, off = 0; off < length; i++, off += 32) {
    const c = new Uint8Array(4);
    writeU32(c, 0, i);
    out.set(sha256(concat(seed, c)).subarray(0, Math.min(32, length - off)), off);
  }
  return out;
}

/**
 * RSAES-OAEP-ENCRYPT with SHA-256 (RFC 8017 7.1.1) and a seed from `rng`: the padding is done
 * here and only the raw RSA operation by node:crypto, so a rerun writes the same bytes (WebCrypto
 * and node's OAEP draw their own seed).
 */
function oaepEncrypt(publicPem: string, message: Uint8Array, label: Uint8Array, rng: (n: number) => Uint8Array): Uint8Array {
  const key = createPublicKey(publicPem);
  const k = Math.ceil(key.asymmetricKeyDetails!.modulusLength! / 8);
  const db = concat(sha256(label), new Uint8Array(k - message.length - 66), Uint8Array.of(1), message);
  const seed = rng(32);
  const maskedDb = db.map((b, i) => b ^ mgf1(seed, k - 33)[i]!);
  const maskedSeed = seed.map((b, i) => b ^ mgf1(maskedDb, 32)[i]!);
  return new Uint8Array(publicEncrypt({ key, padding: constants.RSA_NO_PADDING }, concat(Uint8Array.of(0), maskedSeed, maskedDb)));
}

/** SPEC §9.2 (raw RSA, rule 34) and §9.5 (X-Wing, rule 36): the base message re-keyed to each key. */
async function addAsymmetricLayoutVectors(m: Made): Promise<void> {
  const keys = asymmetricKeys();
  const rng = drbg('sealbox test vectors asymmetric v1');
  const it0 = items(m);
  const context = Object.fromEntries((it0[2] as Map<string, string>).entries());
  const aad = encodeContext(context);
  const betaEdk = (it0[3] as EdkItem[])[1]!;
  const withEdks = (edks: EdkItem[]): Promise<Uint8Array> => reheader(m, (it) => { it[3] = edks; });

  // Raw RSA: provider id = namespace, provider info = UTF-8 name, ciphertext = OAEP (modulus length).
  const publicPem = createPublicKey(keys.rsa.privateKey).export({ type: 'spki', format: 'pem' }) as string;
  const rsaEdk: EdkItem = [keys.namespace, utf8(keys.rsa.name), oaepEncrypt(publicPem, m.dataKey, aad, rng)];
  add('raw-rsa-ok', { description: 'The base message with EDKs for the RSA-2048 key (OAEP SHA-256, the context as label) and beta; the RSA key alone decrypts', rule: 34, keyring: ['rsa'], expect: 'success', ciphertext: await withEdks([rsaEdk, betaEdk]), plaintext: m.plaintext, encryptionContext: context });
  add('raw-rsa-ciphertext-255-bytes', { description: 'The RSA EDK with its last ciphertext byte cut (255 bytes, the modulus is 256): a failed unwrap', rule: 34, keyring: ['rsa'], expect: 'ERR_KEYRING', ciphertext: await withEdks([[rsaEdk[0], rsaEdk[1], rsaEdk[2].subarray(0, 255)], betaEdk]) });
  add('raw-rsa-other-label', { description: 'The RSA EDK wraps the right data key with label 0xa0 (the empty context) while the header has a context: OAEP decryption fails', rule: 34, keyring: ['rsa'], expect: 'ERR_KEYRING', ciphertext: await withEdks([[rsaEdk[0], rsaEdk[1], oaepEncrypt(publicPem, m.dataKey, Uint8Array.of(0xa0), rng)], betaEdk]) });

  // X-Wing: provider id sealbox-xwing, provider info SHA-256(pk), ciphertext enc || GCM(K, 0^12, context, data key).
  const kem = xwingKem();
  const pk = kem.privateKey(Uint8Array.from(Buffer.from(keys.xwing.privateKey, 'hex'))).publicKey;
  const kid = sha256(pk.bytes);
  const { cipherText: enc, sharedSecret } = kem.encapsulate(pk, rng(64));
  const wrapKey = expand(sha256, extract(sha256, sharedSecret), concat(utf8('sealbox xwing v1 wrapping key\0'), kid, enc), 32);
  const sealed = await (await getAeadBackend('node').importKey(wrapKey)).seal(new Uint8Array(12), aad, m.dataKey);
  const xwingEdk: EdkItem = ['sealbox-xwing', kid, concat(enc, sealed)];
  add('xwing-ok', { description: 'The base message with EDKs for the X-Wing key and beta; the X-Wing key alone decrypts', rule: 36, keyring: ['xwing'], expect: 'success', ciphertext: await withEdks([xwingEdk, betaEdk]), plaintext: m.plaintext, encryptionContext: context });
  add('xwing-ciphertext-1167-bytes', { description: 'The X-Wing EDK with its last byte cut (1,167 bytes, 1,168 required): recognised by its kid, does not unwrap', rule: 36, keyring: ['xwing'], expect: 'ERR_KEYRING', ciphertext: await withEdks([['sealbox-xwing', kid, xwingEdk[2].subarray(0, 1167)], betaEdk]) });
  add('xwing-tag-changed', { description: 'The X-Wing EDK with one byte of its GCM tag changed: the tag fails, a failed unwrap', rule: 36, keyring: ['xwing'], expect: 'ERR_KEYRING', ciphertext: await withEdks([['sealbox-xwing', kid, flip(xwingEdk[2], 1167)], betaEdk]) });
}

/**
 * SPEC §3 and §6, suite 3 (rule 37): the base message with a suite 3 header, as rewrap writes it
 * (same EDKs, the 8-byte header salt last, the tag under nonce 0x000000 ‖ 0x03 ‖ salt), and the
 * ways a salted header can be wrong.
 */
async function addSuite3Vectors(m: Made): Promise<void> {
  const it0 = items(m);
  const context = Object.fromEntries((it0[2] as Map<string, string>).entries());
  const salt = random(8);
  const { contentKey } = await deriveMessageKeys(1, decodeHeader(m.ciphertext.subarray(0, m.headerEnd), { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 }).suite, m.dataKey, it0[1] as Uint8Array);
  const key = await getAeadBackend('node').importKey(contentKey);
  /** Header `it` encoded, tagged under `nonceSalt` (undefined: suite 1's nonce(0, 0)), then the base message's frames. */
  const tagged = async (it: unknown[], nonceSalt: Uint8Array | undefined): Promise<Uint8Array> => {
    const body = headerEncoder.encode(it) as Uint8Array;
    const headerBytes = concat(PREAMBLE(body.length), body);
    return concat(headerBytes, await key.seal(headerNonce(nonceSalt), headerBytes, new Uint8Array(0)), m.ciphertext.subarray(m.headerEnd + TAG_BYTES));
  };
  const suite3 = (extra: unknown[] = [salt]): unknown[] => [3, ...it0.slice(1), ...extra];
  const ok = await tagged(suite3(), salt);
  add('suite3-ok', { description: 'The base message in suite 3 (as rewrap writes it): its 6 header items, then an 8-byte header salt; the header tag under nonce 0x000000 03 ‖ salt; the frames unchanged', rule: 37, keyring: ['alpha', 'beta'], expect: 'success', ciphertext: ok, plaintext: m.plaintext, encryptionContext: context });
  add('suite3-second-edk', { description: 'The same suite 3 message decrypted with the second EDK only (beta)', rule: 37, keyring: ['beta'], expect: 'success', ciphertext: ok, plaintext: m.plaintext, encryptionContext: context });
  const neg = (name: string, rule: number, expect: string, description: string, ciphertext: Uint8Array): void =>
    add(name, { description, rule, keyring: ['alpha', 'beta'], expect, ciphertext });
  const other = salt.slice();
  other[7]! ^= 1;
  neg('suite3-salt-changed', 37, 'ERR_DECRYPTION_FAILED', 'The suite 3 message with the last byte of its header salt changed (the tag made for the original salt)', await tagged(suite3([other]), salt));
  neg('suite3-tag-under-suite1-nonce', 37, 'ERR_DECRYPTION_FAILED', 'A suite 3 header whose tag was made under suite 1\'s header nonce nonce(0, 0) instead of the salted nonce', await tagged(suite3(), undefined));
  neg('suite3-relabelled-suite1', 37, 'ERR_DECRYPTION_FAILED', 'The suite 3 message relabelled suite 1 (suite id 1, salt removed) keeping its tag: suite 1\'s nonce(0, 0) does not verify it', await tagged(it0, salt));
  neg('suite3-salt-7-bytes', 6, 'ERR_FORMAT_INVALID', 'A suite 3 header whose salt is 7 bytes (8 required); header tag valid over it', await tagged(suite3([salt.subarray(0, 7)]), salt));
  neg('suite3-without-salt', 6, 'ERR_FORMAT_INVALID', 'A suite 3 header of 6 items (no salt); header tag valid under nonce(0, 0)', await tagged(suite3([]), undefined));
  neg('suite1-with-salt', 6, 'ERR_FORMAT_INVALID', 'A suite 1 header of 7 items (a salt appended); header tag valid under nonce(0, 0)', await tagged([...it0, salt], undefined));
}

/** A P-384 signer over a seeded key; @noble/curves signs with RFC 6979 nonces, so reruns match. */
function seededSigner(secretKey: Uint8Array): MessageSigner {
  const hash = sha384.create();
  return {
    publicKey: p384.getPublicKey(secretKey, true),
    update: (chunk) => void hash.update(chunk),
    sign: async () => p384.sign(hash.digest(), secretKey, { prehash: false, lowS: true }),
  };
}

const encodeSigningKey = (key: Uint8Array): string => Buffer.from(key).toString('base64');

const P384_N = 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;

/** SPEC §11 (suite 2, signed messages): rules 38-44, and rule 17 after a signature. */
async function addSignedVectors(unsigned: Made): Promise<Made> {
  const keyRng = drbg('sealbox test vectors signed v1');
  const sk = keyRng(48);
  const ctx = { tenant: 'acme', purpose: 'vectors' };
  const plaintext = pt(150);
  const m = await make(plaintext, ['alpha', 'beta'], 64, ctx, seededSigner(sk));
  const c = m.ciphertext;
  const header = decodeHeader(c.subarray(0, m.headerEnd), { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 });
  const context = { ...header.encryptionContext };
  const sigAt = c.length - 96;
  const body0 = m.headerEnd + TAG_BYTES;
  const R = m.frameLength + REGULAR_FRAME_OVERHEAD;
  const ok = (name: string, description: string, ciphertext: Uint8Array, pt2: Uint8Array, ctx2: Record<string, string>): void =>
    add(name, { description, rule: null, keyring: ['alpha', 'beta'], expect: 'success', rangeExpect: 'ERR_SIGNATURE_POLICY', ciphertext, plaintext: pt2, encryptionContext: ctx2 });
  const neg = (name: string, rule: number, expect: string, description: string, ciphertext: Uint8Array, extra: Partial<Vector> = {}): void =>
    add(name, { description, rule, keyring: ['alpha', 'beta'], expect, ciphertext, ...extra });
  const late = { rangeExpect: 'ERR_SIGNATURE_POLICY' };

  ok('signed-ok', 'Suite 2: 150 bytes in 2 regular frames and a final frame of 22, a context, EDKs for alpha and beta, the P-384 public key in the context and a 96-byte signature after the final frame', c, plaintext, context);
  const empty = await make(new Uint8Array(0), ['alpha'], 64, {}, seededSigner(keyRng(48)));
  add('signed-ok-empty', { description: 'Suite 2, empty plaintext: a header, an empty final frame and the signature', rule: null, keyring: ['alpha'], expect: 'success', rangeExpect: 'ERR_SIGNATURE_POLICY', ciphertext: empty.ciphertext, plaintext: new Uint8Array(0), encryptionContext: { ...decodeHeader(empty.ciphertext.subarray(0, empty.headerEnd), { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 }).encryptionContext } });

  // The signing key pair in the context: present (rule 38, stage 5), canonical (39, stage 7), header tag recomputed.
  const withContext = (target: Made, edit: (ctx: Record<string, string>) => void): Promise<Uint8Array> =>
    reheader(target, (it) => {
      const next = Object.fromEntries((it[2] as Map<string, string>).entries());
      edit(next);
      it[2] = canonicalMap(next);
    });
  neg('signed-public-key-missing', 38, 'ERR_FORMAT_INVALID', `A suite 2 header without "${SIGNING_KEY_CONTEXT_KEY}" in its context; header tag valid`, await withContext(m, (x) => { delete x[SIGNING_KEY_CONTEXT_KEY]; }));
  neg('unsigned-public-key-present', 38, 'ERR_FORMAT_INVALID', `A suite 1 header whose context holds "${SIGNING_KEY_CONTEXT_KEY}" (a valid key); header tag valid`, await withContext(unsigned, (x) => { x[SIGNING_KEY_CONTEXT_KEY] = context[SIGNING_KEY_CONTEXT_KEY]!; }));
  neg('signed-public-key-uncompressed', 39, 'ERR_FORMAT_INVALID', 'The public key as an uncompressed point (0x04, 97 bytes, 132 characters of base64); header tag valid', await withContext(m, (x) => { x[SIGNING_KEY_CONTEXT_KEY] = encodeSigningKey(p384.getPublicKey(sk, false)); }), late);
  neg('signed-public-key-base64-unpadded', 39, 'ERR_FORMAT_INVALID', 'The public key\'s base64 without its "==" padding (66 characters); header tag valid', await withContext(m, (x) => { x[SIGNING_KEY_CONTEXT_KEY] = context[SIGNING_KEY_CONTEXT_KEY]!.slice(0, 66); }), late);
  {
    // The last character carries 2 bits of the key and 4 that must be zero.
    const text = context[SIGNING_KEY_CONTEXT_KEY]!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = alphabet[alphabet.indexOf(text[65]!) | 1]!;
    neg('signed-public-key-base64-stray-bits', 39, 'ERR_FORMAT_INVALID', 'The public key\'s base64 with a non-zero bit in the unused low bits of its last character (decodes to the same bytes, but is not their encoding); header tag valid', await withContext(m, (x) => { x[SIGNING_KEY_CONTEXT_KEY] = text.slice(0, 65) + last + '=='; }), late);
  }
  {
    // Stage 7: a compressed "point" whose x has no y on the curve (rule 40).
    let x = keyRng(48);
    for (;;) {
      try {
        p384.Point.fromBytes(concat(Uint8Array.of(2), x));
        x = keyRng(48);
      } catch {
        break;
      }
    }
    const offCurve = encodeSigningKey(concat(Uint8Array.of(2), x));
    neg('signed-public-key-not-on-curve', 40, 'ERR_FORMAT_INVALID', 'The public key is 0x02 and an x with no point on P-384 (canonical text otherwise); header tag valid', await withContext(m, (y) => { y[SIGNING_KEY_CONTEXT_KEY] = offCurve; }), late);
    neg('order-public-key-before-keys', 40, 'ERR_FORMAT_INVALID', 'A public key not on the curve, only gamma offered: breaks rules 40 and 11; the key is checked before any keyring is asked', await withContext(m, (y) => { y[SIGNING_KEY_CONTEXT_KEY] = offCurve; }), { keyring: ['gamma'], ...late });
  }

  // Stage 10: after the final frame.
  neg('signed-signature-missing', 41, 'ERR_TRUNCATED', 'The message ends after its final frame: no signature', c.subarray(0, sigAt), late);
  neg('signed-signature-short', 41, 'ERR_TRUNCATED', 'The last byte of the signature cut (95 of 96 bytes)', c.subarray(0, c.length - 1), late);
  {
    const s = BigInt('0x' + toHex(c.subarray(sigAt + 48)));
    const high = c.slice();
    high.set(fromHexPadded((P384_N - s).toString(16), 48), sigAt + 48);
    neg('signed-signature-high-s', 42, 'ERR_FORMAT_INVALID', 'The signature with s replaced by n - s: it verifies mathematically, but only the low-s form is its encoding', high, late);
    const zeroR = c.slice();
    zeroR.fill(0, sigAt, sigAt + 48);
    neg('signed-signature-r-zero', 42, 'ERR_FORMAT_INVALID', 'The signature with r = 0 (out of range)', zeroR, late);
  }
  neg('signed-signature-changed', 43, 'ERR_DECRYPTION_FAILED', 'One bit of the signature\'s r changed', flip(c, sigAt + 40), late);
  {
    // Another message (other plaintext) signed with the same key: a valid signature of it.
    const other = await make(pt(150), ['alpha', 'beta'], 64, ctx, seededSigner(sk));
    neg('signed-signature-other-message', 43, 'ERR_DECRYPTION_FAILED', 'The signature of another message signed with the same key (same context, other plaintext and message id)', concat(c.subarray(0, sigAt), other.ciphertext.subarray(other.ciphertext.length - 96)), late);
  }
  {
    // The insider: knows the data key, rewrites frame 1 and recomputes its tag; the header and
    // its tag are unchanged, the signature kept.
    const { contentKey } = await deriveMessageKeys(1, header.suite, m.dataKey, header.messageId);
    const key = await getAeadBackend('node').importKey(contentKey);
    const forged = await key.seal(frameNonce(1, false), frameAad(header.messageId, 1, false), pt(64));
    neg('signed-frame-forged-by-insider', 43, 'ERR_DECRYPTION_FAILED', 'Frame 1 replaced by another plaintext sealed with the real content key (what any recipient could do): every GCM tag verifies, the signature does not', concat(c.subarray(0, body0 + R + 1), forged, c.subarray(body0 + 2 * R)), late);
  }
  neg('signed-trailing-byte', 17, 'ERR_TRAILING_DATA', 'One zero byte after the signature', concat(c, new Uint8Array(1)), late);
  neg('signed-two-signatures', 17, 'ERR_TRAILING_DATA', 'The signature appears twice', concat(c, c.subarray(sigAt)), late);
  neg('order-final-frame-before-signature', 14, 'ERR_DECRYPTION_FAILED', 'A tag byte of the final frame changed and the signature missing: breaks rules 14 and 41; the final frame comes first', flip(c, sigAt - 1).subarray(0, sigAt), late);
  neg('order-signature-before-trailing', 43, 'ERR_DECRYPTION_FAILED', 'A signature that does not verify, then a byte after it: breaks rules 43 and 17; the signature comes first', concat(flip(c, sigAt + 40), new Uint8Array(1)), late);

  // Rule 44: the caller's signature policy.
  neg('policy-require-signed-unsigned', 44, 'ERR_SIGNATURE_POLICY', 'An unsigned (suite 1) message, decrypt with signaturePolicy require-signed', unsigned.ciphertext, { decryptOptions: { signaturePolicy: 'require-signed' } });
  neg('policy-refuse-signed-signed', 44, 'ERR_SIGNATURE_POLICY', 'A signed message, decrypt with signaturePolicy refuse-signed', c, { decryptOptions: { signaturePolicy: 'refuse-signed' } });
  neg('order-policy-before-keys', 44, 'ERR_SIGNATURE_POLICY', 'A signed message, signaturePolicy refuse-signed, only gamma offered: breaks rules 44 and 11; the policy comes first', c, { keyring: ['gamma'], decryptOptions: { signaturePolicy: 'refuse-signed' } });
  neg('order-context-before-policy', 10, 'ERR_ENCRYPTION_CONTEXT_MISMATCH', 'A signed message, expected tenant=other and signaturePolicy refuse-signed: breaks rules 10 and 44; the context comes first', c, { decryptOptions: { expectedEncryptionContext: { tenant: 'other' }, signaturePolicy: 'refuse-signed' } });
  return m;
}

const P384_P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn;

/**
 * Cases that rules 5, 6, 38, 39, 40 and 42 name in SPEC §8.2 but that no earlier vector showed,
 * found by a review that wrote a second decoder from the SPEC alone. `unsigned` is the base
 * message, `signed` the suite 2 one of {@link addSignedVectors}.
 */
async function addSpecReviewVectors(unsigned: Made, signed: Made): Promise<void> {
  const neg = (name: string, rule: number, expect: string, description: string, ciphertext: Uint8Array, extra: Partial<Vector> = {}): void =>
    add(name, { description, rule, keyring: ['alpha', 'beta'], expect, ciphertext, ...extra });
  const late = { rangeExpect: 'ERR_SIGNATURE_POLICY' };
  const m = unsigned;
  const enc = (item: unknown): Uint8Array => headerEncoder.encode(item) as Uint8Array;

  // Rule 5: the CBOR subset and its encoding, on the bytes, before any field's rule.
  {
    // The context value "acme" (4 bytes) replaced by "a" and the 3-byte encoding of the lone surrogate U+D800.
    const canonical = enc(items(m));
    const at = toHex(canonical).indexOf(toHex(enc('acme'))) / 2 + 1;
    const body = canonical.slice();
    body.set([0x61, 0xed, 0xa0, 0x80], at);
    neg('header-text-invalid-utf8', 5, 'ERR_FORMAT_INVALID', 'The context value "acme" replaced by "a" and the bytes ED A0 80 (a UTF-16 surrogate, which UTF-8 never encodes); header tag valid', await withHeader(m, body));
  }
  {
    const it = items(m);
    const edks = it[3] as unknown[];
    const body = concat(Uint8Array.of(0x86), ...it.slice(0, 3).map(enc), Uint8Array.of(0x9f), ...edks.map(enc), Uint8Array.of(0xff), ...it.slice(4).map(enc));
    neg('header-indefinite-length', 5, 'ERR_FORMAT_INVALID', 'The EDK list written as an indefinite-length array (0x9f ... 0xff) holding the same two EDKs; header tag valid', await withHeader(m, body));
    const negative = concat(Uint8Array.of(0x86), ...it.slice(0, 4).map(enc), Uint8Array.of(0x38, 0x3f), enc(it[5]));
    neg('header-negative-integer', 5, 'ERR_FORMAT_INVALID', 'The frame length written as the negative integer -64 (major type 1, never in a header): an encoding fault (rule 5), not a field of the wrong type (rule 6); header tag valid', await withHeader(m, negative));
  }

  // Rule 6: the shapes and types of the fields.
  neg('header-not-array', 6, 'ERR_FORMAT_INVALID', 'The six header items in a map keyed 0 to 5 instead of an array (deterministic CBOR, so rule 5 holds); header tag valid', await withHeader(m, enc(new Map(items(m).map((x, i) => [i, x])))));
  neg('suite-not-integer', 6, 'ERR_FORMAT_INVALID', 'The suite written as the text "1": not an unsigned integer, so rule 6 (not rule 7); header tag valid', await reheader(m, (it) => { it[0] = '1'; }));
  neg('context-value-not-text', 6, 'ERR_FORMAT_INVALID', 'The context value of "tenant" written as a byte string (the UTF-8 of "acme"); header tag valid', await reheader(m, (it) => {
    it[2] = new Map([...(it[2] as Map<string, unknown>).entries()].map(([k, v]) => [k, k === 'tenant' ? utf8(v as string) : v]));
  }));
  neg('edk-list-empty', 6, 'ERR_FORMAT_INVALID', 'An empty EDK list (at least one is required); header tag valid', await reheader(m, (it) => { it[3] = []; }));
  neg('frame-length-zero', 6, 'ERR_FORMAT_INVALID', 'Frame length 0 (1 to 16 MiB); header tag valid', await reheader(m, (it) => { it[4] = 0; }));
  neg('frame-length-above-16-mib', 6, 'ERR_FORMAT_INVALID', 'Frame length 16 MiB + 1: breaks rule 6 (the format\'s range) and rule 9 (the default decrypt bound, 4 MiB); the range comes first; header tag valid', await reheader(m, (it) => { it[4] = 16 * 1024 * 1024 + 1; }));

  // Rule 38 in suite 3, which does not sign: the signing key pair is refused as in suite 1.
  {
    const it = items(m);
    const keyText = (items(signed)[2] as Map<string, string>).get(SIGNING_KEY_CONTEXT_KEY)!;
    const salt = random(8);
    const context = Object.fromEntries((it[2] as Map<string, string>).entries());
    const body = enc([3, it[1], canonicalMap({ ...context, [SIGNING_KEY_CONTEXT_KEY]: keyText }), ...it.slice(3), salt]);
    const headerBytes = concat(PREAMBLE(body.length), body);
    const { contentKey } = await deriveMessageKeys(1, decodeHeader(m.ciphertext.subarray(0, m.headerEnd), { maxHeaderBytes: 1 << 20, maxEncryptedDataKeys: 255, maxFrameLength: 1 << 24 }).suite, m.dataKey, it[1] as Uint8Array);
    const tag = await (await getAeadBackend('node').importKey(contentKey)).seal(headerNonce(salt), headerBytes, new Uint8Array(0));
    neg('suite3-public-key-present', 38, 'ERR_FORMAT_INVALID', `A suite 3 header (unsigned) whose context holds "${SIGNING_KEY_CONTEXT_KEY}" (a valid key); header tag valid under its salted nonce`, concat(headerBytes, tag, m.ciphertext.subarray(m.headerEnd + TAG_BYTES)));
  }

  // Rules 39, 40, 42 on the signed message.
  const withKeyText = (text: string): Promise<Uint8Array> =>
    reheader(signed, (it) => {
      const next = Object.fromEntries((it[2] as Map<string, string>).entries());
      next[SIGNING_KEY_CONTEXT_KEY] = text;
      it[2] = canonicalMap(next);
    });
  const keyText = (items(signed)[2] as Map<string, string>).get(SIGNING_KEY_CONTEXT_KEY)!;
  neg('signed-public-key-base64url', 39, 'ERR_FORMAT_INVALID', 'The public key in the URL-safe base64 alphabet ("-" and "_" for "+" and "/"; same bytes, other text); header tag valid', await withKeyText(keyText.replace(/\+/g, '-').replace(/\//g, '_')), late);
  neg('signed-public-key-x-not-below-p', 40, 'ERR_FORMAT_INVALID', 'The public key 0x02 ‖ p (the field prime as x; canonical text otherwise): x >= p is no point of P-384; header tag valid', await withKeyText(encodeSigningKey(concat(Uint8Array.of(2), fromHexPadded(P384_P.toString(16), 48)))), late);
  const c = signed.ciphertext;
  const sigAt = c.length - 96;
  const rEqualsN = c.slice();
  rEqualsN.set(fromHexPadded(P384_N.toString(16), 48), sigAt);
  neg('signed-signature-r-equals-n', 42, 'ERR_FORMAT_INVALID', 'The signature with r = n, the group order (out of range: 1 <= r < n)', rEqualsN, late);
  const sZero = c.slice();
  sZero.fill(0, sigAt + 48);
  neg('signed-signature-s-zero', 42, 'ERR_FORMAT_INVALID', 'The signature with s = 0 (out of range)', sZero, late);
}

function fromHexPadded(hex: string, length: number): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.padStart(length * 2, '0'), 'hex'));
}

async function addOrderAndLimitVectors(m: Made): Promise<void> {
  const c = m.ciphertext;
  const body0 = m.headerEnd + TAG_BYTES;
  const R = m.frameLength + REGULAR_FRAME_OVERHEAD;
  const neg = (name: string, rule: number, expect: string, description: string, ciphertext: Uint8Array, extra: Partial<Vector> = {}): void =>
    add(name, { description, rule, keyring: ['alpha', 'beta'], expect, ciphertext, ...extra });

  // SPEC §8.1 stage P: inputs shorter than the preamble, checked byte by byte.
  neg('input-empty', 4, 'ERR_TRUNCATED', 'No bytes at all: the input ends before the magic', new Uint8Array(0));
  neg('input-magic-prefix', 4, 'ERR_TRUNCATED', 'Only "SB": a prefix of the magic, then the input ends', Uint8Array.of(0x53, 0x42));
  neg('input-short-bad-magic', 1, 'ERR_FORMAT_INVALID', 'Only "SX": breaks rules 1 and 4; the second byte is wrong before the input ends, so rule 1', Uint8Array.of(0x53, 0x58));
  neg('input-short-bad-version', 2, 'ERR_UNSUPPORTED_VERSION', '"SBX" and version 2, then the input ends: breaks rules 2 and 4, rule 2 comes first', Uint8Array.of(0x53, 0x42, 0x58, 2));
  neg('preamble-only-length-zero', 4, 'ERR_TRUNCATED', 'A complete preamble declaring a header body of 0 bytes, and nothing else: the header tag is missing', PREAMBLE(0));
  neg('header-body-empty', 5, 'ERR_FORMAT_INVALID', 'A preamble declaring 0 bytes and 16 bytes of header tag: an empty body is not a CBOR item', concat(PREAMBLE(0), new Uint8Array(16)));
  {
    const out = c.slice(); writeU32(out, 4, 2 * 1024 * 1024); out[3] = 2;
    neg('order-version-before-header-length', 2, 'ERR_UNSUPPORTED_VERSION', 'Version 2 and a 2 MiB header length: breaks rules 2, 3 and 4; the version byte comes first', out);
  }

  // Stage H: deterministic encoding first (rule 5), then the suite (7), then the fields in order.
  neg('header-trailing-byte-in-body', 5, 'ERR_FORMAT_INVALID', 'One zero byte after the header array inside the declared body; header tag valid', await withHeader(m, concat(headerEncoder.encode(items(m)) as Uint8Array, new Uint8Array(1))));
  {
    // A context key written twice (same value): the second copy is not strictly after the first.
    const canonical = headerEncoder.encode(items(m)) as Uint8Array;
    const map = headerEncoder.encode(items(m)[2]) as Uint8Array;
    const at = toHex(canonical).indexOf(toHex(map)) / 2;
    const first = headerEncoder.encode('tenant') as Uint8Array;
    const pair = concat(first, headerEncoder.encode('acme') as Uint8Array);
    const pairAt = toHex(map).indexOf(toHex(pair)) / 2;
    const dup = concat(Uint8Array.of(map[0]! + 1), map.subarray(1, pairAt + pair.length), pair, map.subarray(pairAt + pair.length));
    neg('header-duplicate-context-key', 5, 'ERR_FORMAT_INVALID', 'The context key "tenant" appears twice with the same value; header tag valid', await withHeader(m, concat(canonical.subarray(0, at), dup, canonical.subarray(at + map.length))));
  }
  {
    // Frame length as a tagged item: tag 0 (a date string would be) is no part of the header.
    const it = items(m);
    const canonical = headerEncoder.encode(it) as Uint8Array;
    const fl = headerEncoder.encode(it[4]) as Uint8Array;
    const at = toHex(canonical).lastIndexOf(toHex(fl) + '5820') / 2;
    neg('header-tagged-item', 5, 'ERR_FORMAT_INVALID', 'The frame length wrapped in CBOR tag 1 (no tags in a header); header tag valid', await withHeader(m, concat(canonical.subarray(0, at), Uint8Array.of(0xc1), canonical.subarray(at))));
  }
  neg('unknown-suite-2-pow-32', 7, 'ERR_UNSUPPORTED_VERSION', 'Suite 2^32 (an 8-byte unsigned integer): any unsigned integer is a suite id, and this one is unknown; header tag valid', await reheader(m, (it) => { it[0] = 2n ** 32n; }));
  neg('unknown-suite-2-pow-64-minus-1', 7, 'ERR_UNSUPPORTED_VERSION', 'Suite 2^64 - 1, the largest CBOR unsigned integer; header tag valid', await reheader(m, (it) => { it[0] = 2n ** 64n - 1n; }));
  neg('unknown-suite-short-header', 7, 'ERR_UNSUPPORTED_VERSION', 'Header [99, message id]: an unknown suite, whose other fields are not examined (rule 6 is not reached); header tag valid', await reheader(m, (it) => { it.splice(0, it.length, 99, it[1]); }));
  {
    const it = items(m);
    it[0] = 99;
    const canonical = headerEncoder.encode(it) as Uint8Array;
    const fl = headerEncoder.encode(it[4]) as Uint8Array;
    const at = toHex(canonical).lastIndexOf(toHex(fl) + '5820') / 2;
    const body = concat(canonical.subarray(0, at), Uint8Array.of(0x1a, 0, 0, 0, 64), canonical.subarray(at + fl.length));
    neg('order-encoding-before-suite', 5, 'ERR_FORMAT_INVALID', 'Suite 99 and a frame length in 5 bytes: breaks rules 5 and 7; the encoding is checked first', await withHeader(m, body));
  }
  neg('order-fields-in-array-order', 6, 'ERR_FORMAT_INVALID', 'A 31-byte message id and a frame length above the decrypt bound: breaks rules 6 and 9; the message id comes first in the array', await reheader(m, (it) => { it[1] = (it[1] as Uint8Array).subarray(0, 31); }), { decryptOptions: { maxFrameLength: 32 } });

  // Context rules (19-21).
  {
    const many = new Map<string, string>();
    const keys = Array.from({ length: 1025 }, (_, i) => `k${String(i).padStart(4, '0')}`);
    for (const k of keys) many.set(k, '');
    neg('context-too-many-pairs', 19, 'ERR_LIMIT_EXCEEDED', 'A context of 1025 pairs (limit 1024); header tag valid', await reheader(m, (it) => { it[2] = many; }));
    const withEmpty = new Map<string, string>([['', 'x'], ...[...many.entries()]]);
    neg('order-context-count-before-pairs', 19, 'ERR_LIMIT_EXCEEDED', 'A context of 1026 pairs, the first with an empty key: breaks rules 19 and 20; the count comes first', await reheader(m, (it) => { it[2] = withEmpty; }));
  }
  neg('context-empty-key', 20, 'ERR_FORMAT_INVALID', 'A context pair with the empty key; header tag valid', await reheader(m, (it) => { it[2] = new Map([['', 'x'], ...(it[2] as Map<string, string>)]); }));
  neg('context-too-many-bytes', 21, 'ERR_LIMIT_EXCEEDED', 'A context of one pair of 1 + 65 536 bytes (limit 65 536); header tag valid', await reheader(m, (it) => { it[2] = new Map([['k', 'v'.repeat(65536)]]); }));

  // EDK list and EDK fields (22-27).
  {
    const edks = (it: unknown[]): EdkItem[] => it[3] as EdkItem[];
    const filler = (n: number, first?: EdkItem): EdkItem[] => Array.from({ length: n }, (_, i): EdkItem => (i === 0 && first ? first : ['filler', Uint8Array.of(i & 0xff, i >> 8), Uint8Array.of(1)]));
    neg('edks-more-than-255', 22, 'ERR_LIMIT_EXCEEDED', '256 EDKs (the first two real, 254 fillers) with maxEncryptedDataKeys 255; header tag valid', await reheader(m, (it) => { it[3] = [...edks(it), ...filler(254)]; }), { decryptOptions: { maxEncryptedDataKeys: 255 } });
    neg('order-edk-count-before-edks', 22, 'ERR_LIMIT_EXCEEDED', '256 EDKs, the first with an empty provider id: breaks rules 22 and 23; the count comes first', await reheader(m, (it) => { it[3] = [...filler(254, ['', Uint8Array.of(0), Uint8Array.of(1)]), ...edks(it)]; }), { decryptOptions: { maxEncryptedDataKeys: 255 } });
    neg('edk-empty-provider-id', 23, 'ERR_FORMAT_INVALID', 'A third EDK with an empty provider id; header tag valid', await reheader(m, (it) => { edks(it).push(['', Uint8Array.of(1), Uint8Array.of(1)]); }));
    neg('edk-empty-ciphertext', 24, 'ERR_FORMAT_INVALID', 'A third EDK with an empty ciphertext; header tag valid', await reheader(m, (it) => { edks(it).push(['other', Uint8Array.of(1), new Uint8Array(0)]); }));
    neg('edk-provider-id-too-long', 25, 'ERR_LIMIT_EXCEEDED', 'A third EDK whose provider id is 1025 bytes (limit 1024); header tag valid', await reheader(m, (it) => { edks(it).push(['p'.repeat(1025), Uint8Array.of(1), Uint8Array.of(1)]); }));
    neg('edk-provider-info-too-long', 26, 'ERR_LIMIT_EXCEEDED', 'A third EDK whose provider info is 4097 bytes (limit 4096); header tag valid', await reheader(m, (it) => { edks(it).push(['other', new Uint8Array(4097), Uint8Array.of(1)]); }));
    neg('edk-ciphertext-too-long', 27, 'ERR_LIMIT_EXCEEDED', 'A third EDK whose ciphertext is 8193 bytes (limit 8192); header tag valid', await reheader(m, (it) => { edks(it).push(['other', Uint8Array.of(1), new Uint8Array(8193)]); }));
    neg('order-edk-fields-before-sizes', 23, 'ERR_FORMAT_INVALID', 'A third EDK with an empty provider id and a 8193-byte ciphertext: breaks rules 23 and 27; each EDK\'s shape comes before its sizes', await reheader(m, (it) => { edks(it).push(['', Uint8Array.of(1), new Uint8Array(8193)]); }));
  }
  neg('edk-empty-provider-info-accepted', 11, 'ERR_NO_MATCHING_KEY', 'A third EDK with an empty provider info (allowed), offered only gamma: the header is valid, no EDK is gamma\'s', await reheader(m, (it) => { (it[3] as EdkItem[]).push(['other', new Uint8Array(0), Uint8Array.of(1)]); }), { keyring: ['gamma'] });

  // Decrypt options out of range (rule 29): programmer errors, before any byte is read.
  neg('option-max-edks-above-255', 29, 'RangeError', 'A valid message, decrypt with maxEncryptedDataKeys 256 (at most 255)', c, { decryptOptions: { maxEncryptedDataKeys: 256 } });
  neg('option-max-frame-length-above-16-mib', 29, 'RangeError', 'A valid message, decrypt with maxFrameLength 16 MiB + 1', c, { decryptOptions: { maxFrameLength: 16 * 1024 * 1024 + 1 } });
  neg('option-max-header-bytes-above-1-mib', 29, 'RangeError', 'A valid message, decrypt with maxHeaderBytes 1 MiB + 1', c, { decryptOptions: { maxHeaderBytes: 1024 * 1024 + 1 } });

  // Stages K, T and F: keys before the header tag before the frames, frames front to back.
  neg('order-keys-before-frames', 11, 'ERR_NO_MATCHING_KEY', 'Only gamma offered and the final frame cut: breaks rules 11 and 16; keys come before frames', c.subarray(0, c.length - 5), { keyring: ['gamma'] });
  neg('order-keys-before-frame-layout', 11, 'ERR_NO_MATCHING_KEY', 'Only gamma offered and the message cut 85 bytes into frame 2 (no final frame can end there): breaks rules 11 and 16; keys come before frames', c.subarray(0, body0 + 2 * R + 85), { keyring: ['gamma'] });
  neg('order-context-before-keys', 10, 'ERR_ENCRYPTION_CONTEXT_MISMATCH', 'Expected tenant=other and only gamma offered: breaks rules 10 and 11; the context comes first', c, { keyring: ['gamma'], decryptOptions: { expectedEncryptionContext: { tenant: 'other' } } });
  neg('order-header-tag-before-frames', 13, 'ERR_DECRYPTION_FAILED', 'Header tag changed and an unknown type byte in frame 1: breaks rules 13 and 18; the header tag comes first', (() => { const out = flip(c, m.headerEnd + 5); out[body0 + R] = 0x02; return out; })());
  neg('order-frame-tag-before-later-frame', 14, 'ERR_DECRYPTION_FAILED', 'A tag byte of frame 0 changed and frame 1 has type byte 0x02: breaks rules 14 and 18; frame 0 comes first', (() => { const out = flip(c, body0 + R - 1); out[body0 + R] = 0x02; return out; })());
  neg('order-final-length-before-truncation', 18, 'ERR_FORMAT_INVALID', 'The final frame declares 200 bytes with frame length 64 and the message ends there: breaks rules 18 and 16; L < F is checked on the length bytes', (() => { const out = c.slice(); writeU32(out, body0 + 3 * R + 1, 200); return out; })());
}

/**
 * Frozen vectors whose description (frozen with them) does not say that they break more than
 * one rule: the README says it for them. Vectors added later say it in their description.
 */
const SEVERAL: Record<string, string> = {
  'header-length-over-limit': 'also rule 4 (2 MiB declared in a 577-byte input): the bound is checked first (SPEC §8.1 stage 1)',
  'final-length-not-below-frame-length': 'also rule 16 (64 + 16 bytes declared, 24 left): `L < F` is checked on the length bytes, before the body is awaited',
};

/** Rewrites the table of test/vectors/README.md between its markers, from the vectors. */
function writeReadmeTable(): void {
  const path = join(OUT, 'README.md');
  const readme = readFileSync(path, 'utf8');
  const begin = '<!-- vectors table: written by scripts/make-vectors.ts -->';
  const end = '<!-- end of vectors table -->';
  const rows = [...vectors.entries()].sort(([a, x], [b, y]) => (x.rule ?? 0) - (y.rule ?? 0) || (a < b ? -1 : 1));
  const cell = (text: string): string => text.replace(/\|/g, '\\|');
  const table = [
    '| vector | rule | expect | keys offered | what it is; where it breaks several rules, which one wins |',
    '|---|---|---|---|---|',
    ...rows.map(([name, v]) => `| \`${name}\` | ${v.rule ?? '—'} | \`${v.expect}\` | ${v.keyring.join(', ')} | ${cell(v.description)}${SEVERAL[name] ? ` (${cell(SEVERAL[name])})` : ''} |`),
  ].join('\n');
  const from = readme.indexOf(begin);
  const to = readme.indexOf(end);
  if (from < 0 || to < 0) throw new Error('README.md lacks the table markers');
  writeFileSync(path, readme.slice(0, from + begin.length) + '\n' + table + '\n' + readme.slice(to));
}

async function main(): Promise<void> {
  // Positive vectors.
  const empty = await make(new Uint8Array(0), ['alpha'], 64);
  add('ok-empty', { description: 'Empty plaintext: only a final frame with no bytes', rule: null, keyring: ['alpha'], expect: 'success', ciphertext: empty.ciphertext, plaintext: new Uint8Array(0), encryptionContext: {} });
  const onePt = pt(40);
  const one = await make(onePt, ['alpha'], 64);
  add('ok-one-frame', { description: '40 bytes in a single final frame (frame length 64)', rule: null, keyring: ['alpha'], expect: 'success', ciphertext: one.ciphertext, plaintext: onePt, encryptionContext: {} });
  const ctx = { tenant: 'acme', purpose: 'vectors', 'ключ': 'значение' };
  const multiPt = pt(200);
  const multi = await make(multiPt, ['alpha', 'beta'], 64, ctx);
  add('ok-frames-context-two-edks', { description: '200 bytes in 3 regular frames and a final frame of 8, a context, EDKs for alpha and beta', rule: null, keyring: ['alpha', 'beta'], expect: 'success', ciphertext: multi.ciphertext, plaintext: multiPt, encryptionContext: ctx });
  add('ok-second-edk', { description: 'The same message decrypted with the second EDK only (beta)', rule: null, keyring: ['beta'], expect: 'success', ciphertext: multi.ciphertext, plaintext: multiPt, encryptionContext: ctx });
  const exactPt = pt(128);
  const exact = await make(exactPt, ['alpha'], 64);
  add('ok-exact-multiple', { description: '128 bytes with frame length 64: two regular frames and an empty final frame', rule: null, keyring: ['alpha'], expect: 'success', ciphertext: exact.ciphertext, plaintext: exactPt, encryptionContext: {} });
  add('ok-expected-context', { description: 'Decrypt requiring a subset of the stored context', rule: null, keyring: ['alpha'], decryptOptions: { expectedEncryptionContext: { tenant: 'acme' } }, expect: 'success', ciphertext: multi.ciphertext, plaintext: multiPt, encryptionContext: ctx });

  const m = multi;
  const c = m.ciphertext;
  const body0 = m.headerEnd + TAG_BYTES; // first frame
  const R = m.frameLength + REGULAR_FRAME_OVERHEAD;
  const neg = (name: string, rule: number, expect: string, description: string, ciphertext: Uint8Array, extra: Partial<Vector> = {}): void =>
    add(name, { description, rule, keyring: ['alpha', 'beta'], expect, ciphertext, ...extra });

  neg('bad-magic', 1, 'ERR_FORMAT_INVALID', 'First byte changed: not a Sealbox message', flip(c, 0));
  const v2 = c.slice(); v2[3] = 2;
  neg('unknown-version', 2, 'ERR_UNSUPPORTED_VERSION', 'Version byte 2', v2);
  const big = c.slice(); writeU32(big, 4, 2 * 1024 * 1024);
  neg('header-length-over-limit', 3, 'ERR_LIMIT_EXCEEDED', 'Preamble declares a 2 MiB header (limit 1 MiB)', big);
  neg('truncated-in-header', 4, 'ERR_TRUNCATED', 'Message cut inside the header', c.subarray(0, m.headerEnd - 3));
  {
    // frame length written as a 4-byte integer instead of the shortest form, header tag valid
    const it = items(m);
    const canonical = headerEncoder.encode(it) as Uint8Array;
    const fl = headerEncoder.encode(it[4]) as Uint8Array; // 0x18 0x40
    const hex = toHex(canonical);
    const at = hex.lastIndexOf(toHex(fl) + '5820') / 2; // frame length followed by the 32-byte commitment
    const body = concat(canonical.subarray(0, at), Uint8Array.of(0x1a, 0, 0, 0, 64), canonical.subarray(at + fl.length));
    neg('noncanonical-integer', 5, 'ERR_FORMAT_INVALID', 'Frame length encoded in 5 bytes instead of 2 (not deterministic CBOR); header tag valid', await withHeader(m, body));
  }
  {
    const it = items(m);
    const ctxMap = it[2] as Map<string, string>;
    const reversed = new Map([...ctxMap.entries()].reverse());
    it[2] = reversed;
    neg('noncanonical-context-order', 5, 'ERR_FORMAT_INVALID', 'Context map keys not in RFC 8949 §4.2.1 order; header tag valid', await withHeader(m, headerEncoder.encode(it) as Uint8Array));
  }
  {
    const it = items(m);
    it[1] = (it[1] as Uint8Array).subarray(0, 31);
    neg('wrong-field-type', 6, 'ERR_FORMAT_INVALID', 'Message id of 31 bytes; header tag valid', await withHeader(m, headerEncoder.encode(it) as Uint8Array));
  }
  {
    const it = items(m);
    it[0] = 99;
    neg('unknown-suite', 7, 'ERR_UNSUPPORTED_VERSION', 'Algorithm suite 99; header tag valid', await withHeader(m, headerEncoder.encode(it) as Uint8Array));
  }
  neg('too-many-edks', 8, 'ERR_LIMIT_EXCEEDED', 'Two EDKs, decrypt allows one', c, { decryptOptions: { maxEncryptedDataKeys: 1 } });
  neg('frame-length-over-bound', 9, 'ERR_LIMIT_EXCEEDED', 'Frame length 64, decrypt allows 32', c, { decryptOptions: { maxFrameLength: 32 } });
  neg('context-mismatch', 10, 'ERR_ENCRYPTION_CONTEXT_MISMATCH', 'Decrypt expects tenant=other', c, { decryptOptions: { expectedEncryptionContext: { tenant: 'other' } } });
  neg('no-matching-key', 11, 'ERR_NO_MATCHING_KEY', 'Only gamma is offered; the EDKs are for alpha and beta', c, { keyring: ['gamma'] });
  {
    const it = items(m);
    const edks = it[3] as [string, Uint8Array, Uint8Array][];
    edks[0] = [edks[0]![0], edks[0]![1], flip(edks[0]![2], 3)];
    neg('edk-tampered', 11, 'ERR_KEYRING', 'The only EDK for alpha is modified; header tag valid', await withHeader(m, headerEncoder.encode(it) as Uint8Array), { keyring: ['alpha'] });
  }
  {
    const it = items(m);
    it[5] = flip(it[5] as Uint8Array, 0);
    neg('commitment-mismatch', 12, 'ERR_COMMITMENT_MISMATCH', 'Commitment changed; header tag recomputed so only the commitment is wrong', await withHeader(m, headerEncoder.encode(it) as Uint8Array));
  }
  neg('header-tag-invalid', 13, 'ERR_DECRYPTION_FAILED', 'Header tag changed', flip(c, m.headerEnd + 5));
  {
    // Only the header tag protects the order of EDKs: swap them without re-tagging.
    const it = items(m);
    (it[3] as unknown[]).reverse();
    const body = headerEncoder.encode(it) as Uint8Array;
    neg('header-edks-swapped', 13, 'ERR_DECRYPTION_FAILED', 'The two EDKs swapped in the header; header tag not recomputed', concat(c.subarray(0, 8), body, c.subarray(m.headerEnd)));
  }
  neg('frame-ciphertext-changed', 14, 'ERR_DECRYPTION_FAILED', 'One ciphertext byte of frame 1 changed', flip(c, body0 + R + 10));
  neg('frame-tag-changed', 14, 'ERR_DECRYPTION_FAILED', 'One tag byte of frame 0 changed', flip(c, body0 + R - 1));
  const frames = (order: number[]): Uint8Array => concat(c.subarray(0, body0), ...order.map((i) => c.subarray(body0 + i * R, body0 + (i + 1) * R)), c.subarray(body0 + 3 * R));
  neg('frames-reordered', 15, 'ERR_DECRYPTION_FAILED', 'Regular frames 0 and 1 swapped', frames([1, 0, 2]));
  neg('frame-duplicated', 15, 'ERR_DECRYPTION_FAILED', 'Frame 0 repeated in place of frame 1', frames([0, 0, 2]));
  neg('frame-dropped', 15, 'ERR_DECRYPTION_FAILED', 'Frame 1 removed', frames([0, 2]));
  neg('final-frame-missing', 16, 'ERR_TRUNCATED', 'The final frame removed', c.subarray(0, body0 + 3 * R));
  neg('truncated-in-frame', 16, 'ERR_TRUNCATED', 'Cut in the middle of the final frame', c.subarray(0, c.length - 5));
  neg('two-final-frames', 17, 'ERR_TRAILING_DATA', 'The final frame appears twice', concat(c, c.subarray(body0 + 3 * R)));
  neg('trailing-byte', 17, 'ERR_TRAILING_DATA', 'One zero byte after the final frame', concat(c, new Uint8Array(1)));
  {
    const out = c.slice(); writeU32(out, body0 + 3 * R + 1, 64);
    neg('final-length-not-below-frame-length', 18, 'ERR_FORMAT_INVALID', 'Final frame declares 64 bytes with frame length 64', out);
  }
  {
    const out = c.slice(); out[body0 + R] = 0x02;
    neg('unknown-frame-type', 18, 'ERR_FORMAT_INVALID', 'Frame 1 has type byte 0x02', out);
  }
  {
    // A regular frame relabelled final: type 0x01 and a length, keeping the body: the tag was made for a regular frame.
    const lastRegular = body0 + 2 * R;
    const relabelled = concat(c.subarray(0, lastRegular), Uint8Array.of(0x01, 0, 0, 0, 63), c.subarray(lastRegular + 1, lastRegular + 1 + 63 + 16));
    neg('regular-frame-marked-final', 14, 'ERR_DECRYPTION_FAILED', 'Frame 2 cut to 63 bytes and marked final: its tag does not verify as a final frame', relabelled);
  }

  // ---- Added after the first 34 (issue 18). Everything below draws its randomness after all of
  // the above, so the frozen files keep their bytes; a new vector is only ever appended here.
  await addOrderAndLimitVectors(m);
  await addKeyVectors(m);
  await addRawAesLayoutVectors(m);
  await addAsymmetricLayoutVectors(m);
  await addSuite3Vectors(m);
  // ---- Suite 2, signed messages (issue 20), after everything above.
  const signed = await addSignedVectors(m);
  // ---- Cases of rules 5, 6, 38-42 found by a clean-room review of the SPEC, after everything above.
  await addSpecReviewVectors(m, signed);

  mkdirSync(OUT, { recursive: true });
  for (const f of readdirSync(OUT)) if (f.endsWith('.json') && f !== 'asymmetric-keys.json') rmSync(join(OUT, f));
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
  writeFileSync(join(OUT, 'keys.json'), JSON.stringify({ namespace: 'vectors', keys: Object.fromEntries(Object.entries(KEYS).map(([k, v]) => [k, toHex(v)])) }, null, 2) + '\n');
  for (const [name, v] of vectors) {
    const json = {
      description: v.description,
      rule: v.rule,
      expect: v.expect,
      ...(v.rangeExpect ? { rangeExpect: v.rangeExpect } : {}),
      keyring: v.keyring,
      ...(v.decryptOptions ? { decryptOptions: v.decryptOptions } : {}),
      ciphertext: b64(v.ciphertext),
      ...(v.plaintext ? { plaintext: b64(v.plaintext), encryptionContext: v.encryptionContext } : {}),
    };
    writeFileSync(join(OUT, `${name}.json`), JSON.stringify(json, null, 2) + '\n');
  }
  writeReadmeTable();
  console.log(`wrote ${vectors.size} vectors to ${OUT}`);
}

await main();
