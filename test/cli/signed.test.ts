import { beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readHeader } from '../../src/index.js';
import { ensureBuilt } from './build.js';
import { sealbox, tmp } from './run.js';

beforeAll(() => ensureBuilt(), 120_000);

// sealbox encrypt --sign, decrypt --require-signed and inspect on the built CLI (issue 20).
describe('signed messages in the CLI', () => {
  const dir = tmp('signed');
  const home = join(dir, 'home');
  const key = join(dir, 'team.key');
  writeFileSync(key, randomBytes(32));
  const plaintext = randomBytes(200_000);
  writeFileSync(join(dir, 'in.bin'), plaintext);

  it('encrypt --sign writes suite 2; decrypt -o and stdout verify it; inspect shows it', async () => {
    for (const args of [['-o', join(dir, 'in.sbx')], []]) {
      const enc = sealbox(home, ['encrypt', join(dir, 'in.bin'), '--sign', '--key', `file:${key}`, ...args]);
      expect(enc.code).toBe(0);
      const message = args.length ? readFileSync(join(dir, 'in.sbx')) : enc.stdout;
      expect((await readHeader(new Uint8Array(message))).suite.signed).toBe(true);
    }
    const dec = sealbox(home, ['decrypt', join(dir, 'in.sbx'), '--require-signed', '--key', `file:${key}`, '-o', join(dir, 'out.bin')]);
    expect(dec.code).toBe(0);
    expect(readFileSync(join(dir, 'out.bin')).equals(plaintext)).toBe(true);
    const piped = sealbox(home, ['decrypt', '--key', `file:${key}`], readFileSync(join(dir, 'in.sbx')));
    expect(piped.code).toBe(0);
    expect(piped.stdout.equals(plaintext)).toBe(true);
    const info = JSON.parse(sealbox(home, ['--json', 'inspect', join(dir, 'in.sbx')]).stdout.toString());
    expect(info.signed).toBe(true);
    expect(info.suite).toBe('AES256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384');
    expect(sealbox(home, ['inspect', join(dir, 'in.sbx')]).stdout.toString()).toMatch(/^signed: +yes/m);
  });

  it('a signature that does not verify: exit 2, no output file, and the last frame never reaches stdout', () => {
    const message = readFileSync(join(dir, 'in.sbx'));
    message[message.length - 1]! ^= 1;
    writeFileSync(join(dir, 'bad.sbx'), message);
    const dec = sealbox(home, ['decrypt', join(dir, 'bad.sbx'), '--key', `file:${key}`, '-o', join(dir, 'bad.out')]);
    expect(dec.code).toBe(2);
    expect(dec.stderr).toContain('ERR_DECRYPTION_FAILED');
    expect(existsSync(join(dir, 'bad.out'))).toBe(false);
    const piped = sealbox(home, ['decrypt', '--key', `file:${key}`], message);
    expect(piped.code).toBe(2);
    // 200 000 bytes in frames of 65 536: three regular frames are released, the final one is not.
    expect(piped.stdout.length).toBe(3 * 65536);
  });

  it('decrypt --require-signed refuses an unsigned message (exit 2); without it, it decrypts', () => {
    const enc = sealbox(home, ['encrypt', join(dir, 'in.bin'), '--key', `file:${key}`, '-o', join(dir, 'plain.sbx')]);
    expect(enc.code).toBe(0);
    const refused = sealbox(home, ['decrypt', join(dir, 'plain.sbx'), '--require-signed', '--key', `file:${key}`, '-o', join(dir, 'plain.out')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('ERR_SIGNATURE_POLICY');
    expect(existsSync(join(dir, 'plain.out'))).toBe(false);
    expect(sealbox(home, ['decrypt', join(dir, 'plain.sbx'), '--key', `file:${key}`, '-o', join(dir, 'plain.out')]).code).toBe(0);
    expect(sealbox(home, ['inspect', join(dir, 'plain.sbx')]).stdout.toString()).toMatch(/^signed: +no$/m);
  });
});
