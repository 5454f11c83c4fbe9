import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decrypt,
  decryptRange,
  decryptStream,
  encrypt,
  encryptStream,
  SealboxError,
  SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384,
} from '../../src/index.js';
import { createDecryptStream, createEncryptStream, decryptFile, encryptFile } from '../../src/node/index.js';
import { concat } from '../../src/crypto/bytes.js';
import { bytesEqual, pattern, testKeyring } from '../helpers/keys.js';
import { forgeFrame, parse } from '../helpers/forge.js';
import { readableOf, through } from '../helpers/web-streams.js';

// Suite 2 through every streaming path (SPEC §11.3, docs/streaming.md): frames are released as
// their tags verify, the final frame only after the signature has verified.
const SIGNED = SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384;
const keyring = testKeyring('s', 4);
const F = 64;
const dir = mkdtempSync(join(tmpdir(), 'sealbox-signed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const signed = async (plaintext: Uint8Array): Promise<Uint8Array> => (await encrypt(plaintext, { keyring, frameLength: F, suite: SIGNED })).ciphertext;

/** What a Web decrypt stream released before it ended, and how it ended. */
async function webRelease(message: Uint8Array, chunk: number): Promise<{ released: Uint8Array; code: string }> {
  const parts: Uint8Array[] = [];
  const reader = readableOf(message, chunk).pipeThrough(decryptStream({ keyring })).getReader();
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
    return { released: concat(...parts), code: 'OK' };
  } catch (err) {
    return { released: concat(...parts), code: err instanceof SealboxError ? err.code : String(err) };
  }
}

/** The same through the Node Transform. */
async function nodeRelease(message: Uint8Array, chunk: number): Promise<{ released: Uint8Array; code: string }> {
  const parts: Uint8Array[] = [];
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < message.length; i += chunk) pieces.push(message.slice(i, i + chunk));
  const decryptor = createDecryptStream({ keyring });
  decryptor.header.catch(() => undefined);
  const sink = new Writable({
    write(c: Uint8Array, _e, cb) {
      parts.push(new Uint8Array(c));
      cb();
    },
  });
  try {
    await pipeline(Readable.from(pieces), decryptor, sink);
    return { released: concat(...parts), code: 'OK' };
  } catch (err) {
    return { released: concat(...parts), code: err instanceof SealboxError ? err.code : String(err) };
  }
}

const paths = { 'web stream': webRelease, 'node stream': nodeRelease };

describe.each(Object.entries(paths))('suite 2, %s', (_name, release) => {
  it.each([1, 7, F - 1, F, F + 1, 1000])('decrypts a signed message written in chunks of %i', async (chunk) => {
    for (const n of [0, 1, F - 1, F, F + 1, 2 * F + 1]) {
      const plaintext = pattern(n, n + 1);
      const { released, code } = await release(await signed(plaintext), chunk);
      expect(code, `${n} bytes`).toBe('OK');
      expect(bytesEqual(released, plaintext), `${n} bytes`).toBe(true);
    }
  });

  it.each([1, 7, 96, 1000])('never releases the final frame of a forged message (chunks of %i)', async (chunk) => {
    const plaintext = pattern(150, 2);
    const message = await signed(plaintext);
    // An insider rewrites frame 0 (every tag valid): frames 0 and 1 go out as their tags verify
    // (frame 0 being the forger's), the final frame (bytes 128..150) never does.
    const forgedFrame = pattern(64, 99);
    const forged = await forgeFrame(message, keyring, 0, forgedFrame);
    const a = await release(forged, chunk);
    expect(a.code).toBe('ERR_DECRYPTION_FAILED');
    expect(a.released.length).toBe(128);
    expect(bytesEqual(a.released, concat(forgedFrame, plaintext.subarray(64, 128)))).toBe(true);
    // The final frame itself forged: nothing of it is released.
    const forgedFinal = await forgeFrame(message, keyring, 2, pattern(22, 98));
    const b = await release(forgedFinal, chunk);
    expect(b.code).toBe('ERR_DECRYPTION_FAILED');
    expect(bytesEqual(b.released, plaintext.subarray(0, 128))).toBe(true);
    // A message of one frame: nothing at all.
    const small = await forgeFrame(await signed(pattern(40, 3)), keyring, 0, pattern(40, 97));
    const c = await release(small, chunk);
    expect(c.code).toBe('ERR_DECRYPTION_FAILED');
    expect(c.released.length).toBe(0);
  });

  it.each([1, 7, 96, 1000])('a plaintext of whole frames (empty final frame): the last regular frame is withheld instead (chunks of %i)', async (chunk) => {
    // An insider picks the length: with an empty final frame, withholding only the final frame
    // released every byte of the forgery before its signature failed.
    const plaintext = pattern(128, 5);
    const message = await signed(plaintext);
    const forgedFrame = pattern(64, 96);
    const a = await release(await forgeFrame(message, keyring, 0, forgedFrame), chunk);
    expect(a.code).toBe('ERR_DECRYPTION_FAILED');
    expect(bytesEqual(a.released, forgedFrame)).toBe(true);
    const b = await release(await forgeFrame(message, keyring, 1, pattern(64, 95)), chunk);
    expect(b.code).toBe('ERR_DECRYPTION_FAILED');
    expect(bytesEqual(b.released, plaintext.subarray(0, 64))).toBe(true);
    // One regular frame and the empty final frame: nothing at all.
    const one = await release(await forgeFrame(await signed(pattern(64, 6)), keyring, 0, pattern(64, 94)), chunk);
    expect(one.code).toBe('ERR_DECRYPTION_FAILED');
    expect(one.released.length).toBe(0);
    // The signature cut: the same frame is withheld.
    const cut = await release(message.subarray(0, message.length - 10), chunk);
    expect(cut.code).toBe('ERR_TRUNCATED');
    expect(bytesEqual(cut.released, plaintext.subarray(0, 64))).toBe(true);
    // The genuine message: all of it, once the signature has verified.
    const ok = await release(message, chunk);
    expect(ok.code).toBe('OK');
    expect(bytesEqual(ok.released, plaintext)).toBe(true);
  });

  it('withholds the final frame when the signature is cut or missing (ERR_TRUNCATED), releases it before trailing bytes (ERR_TRAILING_DATA)', async () => {
    const plaintext = pattern(150, 4);
    const message = await signed(plaintext);
    for (const cut of [1, 50, 96]) {
      const r = await release(message.subarray(0, message.length - cut), 13);
      expect(r.code).toBe('ERR_TRUNCATED');
      expect(r.released.length).toBe(128);
    }
    const trailing = await release(concat(message, Uint8Array.of(0)), 13);
    expect(trailing.code).toBe('ERR_TRAILING_DATA');
    expect(bytesEqual(trailing.released, plaintext)).toBe(true);
  });
});

describe('suite 2, encrypt streams and files', () => {
  it.each([1, 7, F - 1, F, F + 1])('encryptStream and createEncryptStream sign (chunks of %i)', async (chunk) => {
    const plaintext = pattern(2 * F + 5, 6);
    const web = encryptStream({ keyring, frameLength: F, suite: SIGNED });
    const webBytes = await through(web, plaintext, chunk);
    expect((await web.header).suite.signed).toBe(true);
    expect(webBytes.length - parse(webBytes).end).toBe(96);
    expect(bytesEqual((await decrypt(webBytes, { keyring, signaturePolicy: 'require-signed' })).plaintext, plaintext)).toBe(true);

    const parts: Uint8Array[] = [];
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < plaintext.length; i += chunk) pieces.push(plaintext.slice(i, i + chunk));
    await pipeline(Readable.from(pieces), createEncryptStream({ keyring, frameLength: F, suite: SIGNED }), new Writable({ write: (c: Uint8Array, _e, cb) => (parts.push(new Uint8Array(c)), cb()) }));
    const nodeBytes = concat(...parts);
    expect(bytesEqual((await decrypt(nodeBytes, { keyring, signaturePolicy: 'require-signed' })).plaintext, plaintext)).toBe(true);
  });

  it('encryptFile signs; decryptFile writes the output only after the signature verifies', async () => {
    const plaintext = pattern(300_000, 8);
    const src = join(dir, 'in.bin');
    writeFileSync(src, plaintext);
    await encryptFile(src, join(dir, 'in.sbx'), { keyring, suite: SIGNED, frameLength: 4096 });
    const message = new Uint8Array(readFileSync(join(dir, 'in.sbx')));
    expect((await decrypt(message, { keyring, signaturePolicy: 'require-signed' })).header.suite.signed).toBe(true);
    await decryptFile(join(dir, 'in.sbx'), join(dir, 'out.bin'), { keyring, signaturePolicy: 'require-signed' });
    expect(bytesEqual(new Uint8Array(readFileSync(join(dir, 'out.bin'))), plaintext)).toBe(true);

    // Forged by an insider: every frame's tag verifies, the signature does not: no output file.
    writeFileSync(join(dir, 'forged.sbx'), await forgeFrame(message, keyring, 3, pattern(4096, 5)));
    const err = await decryptFile(join(dir, 'forged.sbx'), join(dir, 'forged.out'), { keyring }).then(() => undefined, (e: unknown) => e);
    expect((err as SealboxError).code).toBe('ERR_DECRYPTION_FAILED');
    expect(existsSync(join(dir, 'forged.out'))).toBe(false);
    // The signature cut: ERR_TRUNCATED, no output either.
    writeFileSync(join(dir, 'cut.sbx'), message.subarray(0, message.length - 10));
    const cut = await decryptFile(join(dir, 'cut.sbx'), join(dir, 'cut.out'), { keyring }).then(() => undefined, (e: unknown) => e);
    expect((cut as SealboxError).code).toBe('ERR_TRUNCATED');
    expect(existsSync(join(dir, 'cut.out'))).toBe(false);
  });

  it('decryptRange refuses a signed message (ERR_SIGNATURE_POLICY) unless skipSignatureVerification', async () => {
    const plaintext = pattern(1000, 9);
    const message = await signed(plaintext);
    const err = await decryptRange(message, { keyring, start: 100, end: 200 }).then(() => undefined, (e: unknown) => e);
    expect((err as SealboxError).code).toBe('ERR_SIGNATURE_POLICY');
    const { plaintext: part, plaintextLength } = await decryptRange(message, { keyring, start: 100, end: 200, skipSignatureVerification: true });
    expect(plaintextLength).toBe(1000);
    expect(bytesEqual(part, plaintext.subarray(100, 200))).toBe(true);
    // What the opt-out gives up: an insider's frame passes a range read, not a full decrypt.
    const forged = await forgeFrame(message, keyring, 1, pattern(64, 1));
    expect((await decryptRange(forged, { keyring, start: 64, end: 128, skipSignatureVerification: true })).plaintext.length).toBe(64);
  });

  it('decryptRange: skipSignatureVerification with signaturePolicy require-signed is a TypeError, before any key is asked', async () => {
    const message = await signed(pattern(1000, 9));
    let asked = 0;
    const counting = { wrapKey: keyring.wrapKey.bind(keyring), unwrapKey: (r: Parameters<typeof keyring.unwrapKey>[0]) => (asked++, keyring.unwrapKey(r)) };
    const err = await decryptRange(message, { keyring: counting, start: 0, end: 10, skipSignatureVerification: true, signaturePolicy: 'require-signed' }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(asked).toBe(0);
    // Either option alone is as before.
    expect((await decryptRange(message, { keyring: counting, start: 0, end: 10, skipSignatureVerification: true, signaturePolicy: 'accept-any' })).plaintext.length).toBe(10);
  });
});
