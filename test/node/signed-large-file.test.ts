import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { decrypt, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../../src/index.js';
import { createDecryptStream, createEncryptStream, decryptFile, encryptFile } from '../../src/node/index.js';
import { bytesEqual, pattern, testKeyring } from '../helpers/keys.js';

// Signed files over several reads, on the paths that reuse their read buffers (decryptFile's
// pump reads into two buffers in turn) and with the signature hashed on a worker thread (from
// 1 MiB): the verifier must copy what it is given, Node Buffers included. Found by the bench:
// a 3 MiB signed file failed decryptFile with ERR_DECRYPTION_FAILED.

const SIGNED = SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384;
const keyring = testKeyring('large', 5);
const dir = mkdtempSync(join(tmpdir(), 'sealbox-signed-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each([3 * 1024 * 1024 + 17, 9 * 1024 * 1024])('a signed file of %i bytes', (size) => {
  const plaintext = pattern(size, 9);
  const src = join(dir, `plain-${size}.bin`);
  writeFileSync(src, plaintext);

  it('encryptFile then decryptFile, Node streams and one-shot decrypt all verify it', async () => {
    const sealed = join(dir, `file-${size}.sbx`);
    await encryptFile(src, sealed, { keyring, suite: SIGNED });
    const out = join(dir, `file-${size}.out`);
    await decryptFile(sealed, out, { keyring, signaturePolicy: 'require-signed' });
    expect(bytesEqual(readFileSync(out), plaintext)).toBe(true);
    const viaStream = join(dir, `stream-${size}.out`);
    await pipeline(createReadStream(sealed), createDecryptStream({ keyring, signaturePolicy: 'require-signed' }), createWriteStream(viaStream));
    expect(bytesEqual(readFileSync(viaStream), plaintext)).toBe(true);
    expect(bytesEqual((await decrypt(readFileSync(sealed), { keyring })).plaintext, plaintext)).toBe(true);
  });

  it('a Node stream encrypt is verified by decryptFile', async () => {
    const sealed = join(dir, `stream-${size}.sbx`);
    await pipeline(createReadStream(src), createEncryptStream({ keyring, suite: SIGNED }), createWriteStream(sealed));
    const out = join(dir, `stream-file-${size}.out`);
    await decryptFile(sealed, out, { keyring, signaturePolicy: 'require-signed' });
    expect(bytesEqual(readFileSync(out), plaintext)).toBe(true);
  });
});
