import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, existsSync, lstatSync, openSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI, ensureBuilt } from './build.js';
import { cliEnv, sealbox, tmp } from './run.js';

beforeAll(() => ensureBuilt(), 120_000);

/** Exactly one line on stderr, ending with the code in parentheses. */
function oneLine(stderr: string, code: string): void {
  expect(stderr).toMatch(new RegExp(`^sealbox: [^\\n]*\\(${code}\\)\\n$`));
}

/** The CLI with stdin opened on `file`, as `sealbox ARGS < file` runs it. */
function redirected(home: string, args: string[], file: string): { code: number | null; stderr: string } {
  const fd = openSync(file, 'r');
  try {
    const r = spawnSync(process.execPath, [CLI, ...args], { env: cliEnv(home), stdio: [fd, 'pipe', 'pipe'] });
    return { code: r.status, stderr: r.stderr.toString() };
  } finally {
    closeSync(fd);
  }
}

/** The key ARN of the first wrapped key, as inspect shows it. */
function firstKey(home: string, message: Buffer): string {
  return JSON.parse(sealbox(home, ['--json', 'inspect'], message).stdout.toString()).encryptedDataKeys[0].key;
}

describe('decrypt failures name the key and the reason', () => {
  it('a key pending deletion: KMSInvalidStateException with the key ARN (exit 3)', () => {
    const home = tmp('err-pending');
    const enc = sealbox(home, ['encrypt'], 'x');
    const arn = firstKey(home, enc.stdout);
    expect(sealbox(home, ['keys', 'schedule-deletion', 'alias/sealbox-default', '--days', '7']).code).toBe(0);
    const dec = sealbox(home, ['decrypt'], enc.stdout);
    expect(dec.code).toBe(3);
    // The EDK was the key store's, and KMS refused it: ERR_KEYRING (docs/SPEC.md §8.3).
    oneLine(dec.stderr, 'ERR_KEYRING');
    expect(dec.stderr).toContain('KMSInvalidStateException');
    expect(dec.stderr).toContain(arn);
  });

  it("a message from another machine's key store: NotFoundException with the key ARN (exit 3)", () => {
    const enc = sealbox(tmp('err-store-a'), ['encrypt'], 'x');
    const other = tmp('err-store-b');
    expect(sealbox(other, ['keys', 'create']).code).toBe(0);
    const dec = sealbox(other, ['decrypt'], enc.stdout);
    expect(dec.code).toBe(3);
    oneLine(dec.stderr, 'ERR_KEYRING');
    expect(dec.stderr).toContain('NotFoundException');
    expect(dec.stderr).toContain(firstKey(other, enc.stdout));
  });

  it('a raw-key or RSA message decrypted without the right --key says which key it needs', () => {
    const home = tmp('err-needs');
    const dir = tmp('err-needs-data');
    writeFileSync(join(dir, 'a.key'), Buffer.alloc(32, 1));
    writeFileSync(join(dir, 'b.key'), Buffer.alloc(32, 2));
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'alice.pub.pem'), pair.publicKey.export({ type: 'spki', format: 'pem' }));
    const raw = sealbox(home, ['encrypt', '--key', `file:${join(dir, 'a.key')}`], 'x');
    const rsa = sealbox(home, ['encrypt', '--key', `rsa:${join(dir, 'alice.pub.pem')}`], 'x');
    for (const [message, prefix, args] of [
      [raw.stdout, 'file:', []],
      [raw.stdout, 'file:', ['--key', `file:${join(dir, 'b.key')}`]],
      [rsa.stdout, 'rsa:', []],
    ] as const) {
      const dec = sealbox(home, ['decrypt', ...args], message);
      expect(dec.code).toBe(3);
      oneLine(dec.stderr, 'ERR_NO_MATCHING_KEY');
      expect(dec.stderr).toContain(firstKey(home, message)); // the fingerprint inspect shows
      expect(dec.stderr).toContain(`--key ${prefix}`);
    }
  });

  it('a key ARN altered in the header is an inauthentic message (exit 2), not a key problem', () => {
    const home = tmp('err-tamper-arn');
    expect(sealbox(home, ['keys', 'create', '--alias', 'alias/other']).code).toBe(0);
    const enc = sealbox(home, ['encrypt'], 'x');
    const arn = firstKey(home, enc.stdout);
    const otherArn = JSON.parse(sealbox(home, ['--json', 'keys', 'describe', 'alias/other']).stdout.toString()).Arn as string;
    const at = enc.stdout.indexOf(Buffer.from(arn));
    expect(at).toBeGreaterThan(0);
    const altered = (replacement: string): Buffer => {
      const bad = Buffer.from(enc.stdout);
      Buffer.from(replacement).copy(bad, at);
      return bad;
    };
    const lastHex = arn.at(-1) === '0' ? '1' : '0';
    for (const bad of [
      altered(`${arn.slice(0, -1)}${lastHex}`), // a key that does not exist
      altered(otherArn), // another key of the same store
      altered(arn.replace('111122223333', '111122223334')), // another account
    ]) {
      const dec = sealbox(home, ['decrypt'], bad);
      oneLine(dec.stderr, 'ERR_DECRYPTION_FAILED');
      expect(dec.code).toBe(2);
      expect(dec.stdout.length).toBe(0);
    }
  });
});

describe('common mistakes get a hint, before anything is created', () => {
  it('--key aes.key (a file without file:), --days 3, --period 10, --spec FOO, --usage FOO', () => {
    const home = join(tmp('err-hints'), 'home');
    const dir = tmp('err-hints-data');
    writeFileSync(join(dir, 'aes.key'), Buffer.alloc(32, 1));
    const keyFile = sealbox(home, ['encrypt', '--key', 'aes.key'], 'x', { cwd: dir });
    expect(keyFile.code).toBe(1);
    oneLine(keyFile.stderr, 'ERR_USAGE');
    expect(keyFile.stderr).toContain('file:aes.key');
    for (const [args, hint] of [
      [['keys', 'schedule-deletion', 'alias/x', '--days', '3'], '7 to 30'],
      [['keys', 'rotation', 'on', 'alias/x', '--period', '10'], '90 to 2560'],
      [['keys', 'create', '--spec', 'FOO'], 'RSA_2048'],
      [['keys', 'create', '--usage', 'FOO'], 'ENCRYPT_DECRYPT'],
    ] as const) {
      const r = sealbox(home, [...args]);
      expect(r.code, args.join(' ')).toBe(1);
      oneLine(r.stderr, 'ERR_USAGE');
      expect(r.stderr).toContain(hint);
    }
    expect(existsSync(home)).toBe(false);
  });

  it('an argument the local KMS refuses (a reserved alias or tag key, a policy that is not JSON) is exit 1, as ValidationException is', () => {
    const home = tmp('err-refused');
    const created = sealbox(home, ['--json', 'keys', 'create']);
    expect(created.code, created.stderr).toBe(0);
    const keyId = (JSON.parse(created.stdout.toString()) as { KeyId: string }).KeyId;
    for (const [args, input, code] of [
      [['keys', 'alias', 'set', 'alias/bad name', keyId], undefined, 'ValidationException'],
      [['keys', 'alias', 'set', 'alias/aws/mine', keyId], undefined, 'InvalidAliasNameException'],
      [['keys', 'tag', keyId, 'aws:team=x'], undefined, 'TagException'],
      [['kms', 'policy', 'put', '--principal', 'arn:aws:iam::111122223333:user/ci', '--name', 'p', '--file', '-'], 'not json', 'MalformedPolicyDocumentException'],
    ] as const) {
      const r = sealbox(home, [...args], input);
      expect(r.code, args.join(' ')).toBe(1);
      oneLine(r.stderr, code);
    }
    // What the key's state or existence decides stays a key service failure (exit 3).
    const missing = sealbox(home, ['keys', 'alias', 'set', 'alias/ok', '1234abcd-12ab-34cd-56ef-1234567890ab']);
    expect(missing.code).toBe(3);
    oneLine(missing.stderr, 'NotFoundException');
  });

  it('usage errors are one line with the code at the end, keeping the suggestion', () => {
    const home = join(tmp('err-usage'), 'home');
    for (const args of [['encrpt'], ['keys', 'lst'], ['encrypt', '--bogus'], ['random']]) {
      const r = sealbox(home, args);
      expect(r.code, args.join(' ')).toBe(1);
      oneLine(r.stderr, 'ERR_USAGE');
    }
    expect(sealbox(home, ['encrpt']).stderr).toContain('encrypt?');
  });

  it('bad output paths are refused before any work and before the key store exists, naming the path given', () => {
    const home = join(tmp('err-out'), 'home');
    const dir = tmp('err-out-data');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'in.txt'), 'x');
    const missingDir = join(dir, 'nonexistent', 'x.sbx');
    for (const args of [
      ['encrypt', join(dir, 'in.txt'), '-o', missingDir],
      ['encrypt', '-o', join(dir, 'sub')],
      ['encrypt', '--armor', '-o', join(dir, 'in.txt', 'x.sbx')],
      ['decrypt', '-o', missingDir],
      ['decrypt', '-o', join(dir, 'sub')],
      ['keys', 'public-key', 'alias/x', '-o', missingDir],
      ['audit', 'export', '-o', join(dir, 'sub')],
      ['keygen', '--pq', '-o', join(dir, 'sub')],
      ['keygen', '--pq', '-o', missingDir],
    ]) {
      const r = sealbox(home, args, 'plaintext');
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/^sealbox: cannot write [^\n]*\((ENOENT|EISDIR|ENOTDIR)\)\n$/);
      expect(r.stderr).toContain(args.at(-1));
      expect(r.stderr).not.toContain('sealbox-tmp');
    }
    expect(existsSync(home)).toBe(false);
    expect(readdirSync(join(dir, 'sub'))).toEqual([]);
  });

  it('-o naming the input itself (another spelling, a link, stdin redirected from it) is a usage error and the input stays', () => {
    const home = join(tmp('err-same'), 'home');
    const dir = tmp('err-same-data');
    const input = join(dir, 'notes.txt');
    writeFileSync(input, 'the only copy\n');
    symlinkSync(input, join(dir, 'link.txt'));
    const key = join(dir, 'k.key');
    writeFileSync(key, Buffer.alloc(32, 7));
    const sealed = join(dir, 'notes.sbx');
    expect(sealbox(home, ['encrypt', input, '-o', sealed, '--key', `file:${key}`]).code).toBe(0);
    const before = readFileSync(sealed);
    for (const [args, stdin] of [
      [['encrypt', input, '-o', input, '--key', `file:${key}`], undefined],
      [['encrypt', input, '-o', join(dir, '.', 'notes.txt'), '--key', `file:${key}`, '--armor'], undefined],
      [['encrypt', input, '-o', join(dir, 'link.txt'), '--key', `file:${key}`], undefined],
      [['encrypt', '-o', input, '--key', `file:${key}`], 'stdin'],
      [['decrypt', sealed, '-o', sealed, '--key', `file:${key}`], undefined],
    ] as const) {
      // `sealbox encrypt -o notes.txt < notes.txt`: stdin is the file itself.
      const r = stdin ? redirected(home, [...args], input) : sealbox(home, [...args]);
      expect(r.code, args.join(' ')).toBe(1);
      oneLine(r.stderr, 'ERR_USAGE');
      expect(r.stderr).toContain('is the input');
    }
    expect(readFileSync(input, 'utf8')).toBe('the only copy\n');
    expect(lstatSync(join(dir, 'link.txt')).isSymbolicLink()).toBe(true);
    expect(readFileSync(sealed)).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['k.key', 'link.txt', 'notes.sbx', 'notes.txt']);
    expect(existsSync(home)).toBe(false);
  });

  it('--key with nothing after its prefix (an unset variable: --key "file:$KEY") or empty says so, before the key store exists', () => {
    const dir = tmp('err-empty-key');
    const home = join(dir, 'home');
    const message = join(dir, 'x.sbx');
    writeFileSync(message, 'not read');
    for (const key of ['file:', 'raw:', 'rsa:', 'pq:', 'kms-rsa:', 'kms:', '']) {
      for (const args of [['encrypt', '--key', key], ['decrypt', '--key', key], ['rewrap', message, '--key', key]]) {
        const r = sealbox(home, args, 'x');
        expect(r.code, args.join(' ')).toBe(1);
        oneLine(r.stderr, 'ERR_USAGE');
        expect(r.stderr, args.join(' ')).toContain(`--key "${key}" names no key`);
      }
    }
    expect(existsSync(home)).toBe(false);
  });

  it('--key holding key material (a raw key in hex or base64, a PEM private key, X-Wing key text with a mistyped prefix) is refused without printing it, before the key store exists', () => {
    const dir = tmp('err-key-text');
    const home = join(dir, 'home');
    const message = join(dir, 'x.sbx');
    writeFileSync(message, 'not read');
    const hex = 'c0ffee'.repeat(10) + 'abcd';
    const b64 = Buffer.alloc(32, 7).toString('base64');
    const b64url = Buffer.alloc(32, 0xfb).toString('base64url'); // with - and _, the URL-safe letters
    expect(b64url).toMatch(/^(?=.*-)(?=.*_)[A-Za-z0-9_-]{43}$/);
    const pem = '-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-----END PRIVATE KEY-----';
    const xwing = `SEALBOX-XWING-SECRETXKEY-1${'q'.repeat(120)}`;
    // As long as real private key text (26-character prefix, 58-character Bech32 body: 84 in all),
    // the prefix mistyped: a hyphen dropped, the version wrong, lower case with a letter off.
    const body = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'.repeat(2).slice(0, 58).toUpperCase();
    const xwingReal = [`SEALBOX-XWING-SECRETKEY-1${body}`, `SEALBOX-XWING-SECRET-KEY-2${body}`, `sealbox-xwing-secret-kee-1${body.toLowerCase()}`];
    for (const secret of [hex, hex.toUpperCase(), b64, b64url, pem, xwing, ` ${hex}\n`, ...xwingReal]) {
      for (const key of [secret, `file:${secret}`, `rsa:${secret}`, `pq:${secret}`]) {
        for (const args of [['encrypt', '--key', key], ['decrypt', '--key', key], ['rewrap', message, '--key', key]]) {
          const r = sealbox(home, args, 'x');
          expect(r.code, args.join(' ')).toBe(1);
          oneLine(r.stderr, 'ERR_USAGE');
          expect(r.stderr, args.join(' ')).toContain('looks like key material');
          expect(r.stderr).not.toContain(secret.slice(8, 40));
        }
      }
    }
    expect(existsSync(home)).toBe(false);
    // A file of such a name is read as a key file, as before.
    const named = join(dir, hex);
    writeFileSync(named, Buffer.alloc(32, 1), { mode: 0o600 });
    expect(sealbox(home, ['encrypt', '--key', `file:${named}`], 'x').code).toBe(0);
    // Also when the name itself, given relative to the working directory, looks like a key.
    expect(sealbox(home, ['encrypt', '--key', `file:${hex}`], 'x', { cwd: dir }).code).toBe(0);
  });

  it('--key holding X-Wing private key text anywhere (any letter case, after any prefix, in a path) is refused as such, without printing it', () => {
    const dir = tmp('err-xwing-text');
    const home = join(dir, 'home');
    const body = 'Q'.repeat(29) + '7'.repeat(29);
    for (const secret of [`SEALBOX-XWING-SECRET-KEY-1${body}`, `sealbox-xwing-secret-key-1${body.toLowerCase()}`]) {
      for (const key of [`pq:${secret}`, `kms:${secret}`, `file:./keys/${secret}`, secret]) {
        const r = sealbox(home, ['encrypt', '--key', key], 'x');
        expect(r.code, key).toBe(1);
        oneLine(r.stderr, 'ERR_USAGE');
        expect(r.stderr, key).toContain('holds an X-Wing private key as text');
        expect(r.stderr).not.toContain(body.slice(20, 50));
        expect(r.stderr).not.toContain(body.toLowerCase().slice(20, 50));
      }
    }
    expect(existsSync(home)).toBe(false);
  });

  it('--endpoint-url with a local key or with no key is a usage error', () => {
    const home = join(tmp('err-endpoint'), 'home');
    for (const args of [['encrypt', '--endpoint-url', 'http://127.0.0.1:1'], ['decrypt', '--endpoint-url', 'http://127.0.0.1:1'], ['encrypt', '--key', 'alias/app', '--endpoint-url', 'http://127.0.0.1:1']]) {
      const r = sealbox(home, args, 'x');
      expect(r.code, args.join(' ')).toBe(1);
      oneLine(r.stderr, 'ERR_USAGE');
    }
    expect(existsSync(home)).toBe(false);
  });
});
