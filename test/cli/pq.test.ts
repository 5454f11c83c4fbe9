import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XWingKeyring, decrypt, encrypt } from '../../src/index.js';
import { CLI, ensureBuilt } from './build.js';
import { cliEnv, sealbox, tmp } from './run.js';

beforeAll(() => ensureBuilt(), 120_000);

// sealbox keygen --pq / keygen -y, and --key pq:... mixed with other key kinds, on the built CLI.

describe('sealbox keygen --pq and --key pq:', () => {
  const dir = tmp('pq');
  const home = join(dir, 'home');
  const keyPath = join(dir, 'me.key');

  it('keygen --pq -o writes a 0600 private key file, prints the public key, never overwrites', () => {
    const r = sealbox(home, ['keygen', '--pq', '-o', keyPath]);
    expect(r.code).toBe(0);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const text = readFileSync(keyPath, 'utf8');
    expect(text).toMatch(/^# created: .*\n# public key: sealbox-xwing1[a-z0-9]+\nSEALBOX-XWING-SECRET-KEY-1[A-Z0-9]{58}\n$/);
    expect(r.stderr).toContain('Public key: sealbox-xwing1');
    const again = sealbox(home, ['keygen', '--pq', '-o', keyPath]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('ERR_USAGE');
    expect(readFileSync(keyPath, 'utf8')).toBe(text);
  });

  it('keygen --pq --json without -o prints {publicKey, privateKey} as one JSON line; the private key opens what the public key sealed', async () => {
    const r = sealbox(home, ['--json', 'keygen', '--pq']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.toString()) as { publicKey: string; privateKey: string };
    expect(Object.keys(out).sort()).toEqual(['privateKey', 'publicKey']);
    expect(out.publicKey).toMatch(/^sealbox-xwing1[a-z0-9]+$/);
    expect(out.privateKey).toMatch(/^SEALBOX-XWING-SECRET-KEY-1[A-Z0-9]{58}$/);
    const sealed = await encrypt(new TextEncoder().encode('pq json'), { keyring: new XWingKeyring({ publicKey: out.publicKey }) });
    const opened = await decrypt(sealed.ciphertext, { keyring: new XWingKeyring({ privateKey: out.privateKey }) });
    expect(new TextDecoder().decode(opened.plaintext)).toBe('pq json');
  });

  it('keygen --pq -o: 0600 under umask 000 too; a dangling symlink at the path is refused, not followed', () => {
    const open = join(dir, 'umask0.key');
    const r = spawnSync('/bin/sh', ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, CLI, 'keygen', '--pq', '-o', open], { env: cliEnv(home) });
    expect(r.status).toBe(0);
    expect(statSync(open).mode & 0o777).toBe(0o600);
    const target = join(dir, 'elsewhere.key');
    symlinkSync(target, join(dir, 'link.key'));
    const link = sealbox(home, ['keygen', '--pq', '-o', join(dir, 'link.key')]);
    expect(link.code).toBe(1);
    expect(link.stderr).toContain('exists');
    expect(existsSync(target)).toBe(false);
  });

  it('keygen -y prints the public key (file or stdin); keygen without --pq is a usage error', () => {
    const y = sealbox(home, ['keygen', '-y', keyPath]);
    expect(y.code).toBe(0);
    const pub = y.stdout.toString().trim();
    expect(readFileSync(keyPath, 'utf8')).toContain(`# public key: ${pub}\n`);
    expect(sealbox(home, ['keygen', '-y', '-'], readFileSync(keyPath)).stdout.toString().trim()).toBe(pub);
    writeFileSync(join(dir, 'me.pub'), pub + '\n');
    expect(sealbox(home, ['keygen', '-y', join(dir, 'me.pub')]).code).toBe(1);
    expect(sealbox(home, ['keygen']).code).toBe(1);
    const stdout = sealbox(home, ['keygen', '--pq']);
    expect(stdout.code).toBe(0);
    expect(stdout.stdout.toString()).toMatch(/\nSEALBOX-XWING-SECRET-KEY-1[A-Z0-9]{58}\n$/);
  });

  it('encrypts to pq:<public key text> and pq:<file> with other key kinds; each key decrypts; the library agrees', async () => {
    const pub = readFileSync(join(dir, 'me.pub'), 'utf8').trim();
    const aes = join(dir, 'aes.key');
    writeFileSync(aes, new Uint8Array(32).fill(9));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'rsa.pem'), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    sealbox(home, ['keygen', '--pq', '-o', join(dir, 'bob.key')]);
    const bobPub = sealbox(home, ['keygen', '-y', join(dir, 'bob.key')]).stdout.toString().trim();
    const msg = join(dir, 'm.sbx');
    const enc = sealbox(home, ['encrypt', '-o', msg, '--key', `file:${aes}`, '--key', `pq:${join(dir, 'me.pub')}`, '--key', `rsa:${join(dir, 'rsa.pem')}`, '--key', `pq:${bobPub}`], 'quantum-safe text');
    expect(enc.stderr).toBe('');
    expect(enc.code).toBe(0);
    for (const key of [`pq:${keyPath}`, `pq:${join(dir, 'bob.key')}`, `file:${aes}`, `rsa:${join(dir, 'rsa.pem')}`]) {
      const dec = sealbox(home, ['decrypt', msg, '--key', key]);
      expect(dec.code, key).toBe(0);
      expect(dec.stdout.toString()).toBe('quantum-safe text');
    }
    // The library opens what the CLI made, and the reverse.
    const privateKey = readFileSync(keyPath, 'utf8');
    expect(Buffer.from((await decrypt(readFileSync(msg), { keyring: new XWingKeyring({ privateKey }) })).plaintext).toString()).toBe('quantum-safe text');
    const { ciphertext } = await encrypt(Buffer.from('from the library'), { keyring: new XWingKeyring({ publicKey: pub }) });
    writeFileSync(join(dir, 'lib.sbx'), ciphertext);
    expect(sealbox(home, ['decrypt', join(dir, 'lib.sbx'), '--key', `pq:${keyPath}`]).stdout.toString()).toBe('from the library');
  });

  it('says which key a message needs, and refuses public keys, mistyped keys and non-keys for decrypt', () => {
    const msg = join(dir, 'only-me.sbx');
    expect(sealbox(home, ['encrypt', '-o', msg, '--key', `pq:${join(dir, 'me.pub')}`], 'x').code).toBe(0);
    const other = sealbox(home, ['decrypt', msg, '--key', `pq:${join(dir, 'bob.key')}`]);
    expect(other.code).toBe(3);
    expect(other.stderr).toContain('ERR_NO_MATCHING_KEY');
    expect(other.stderr).toContain('--key pq:FILE');
    const pub = sealbox(home, ['decrypt', msg, '--key', `pq:${join(dir, 'me.pub')}`]);
    expect(pub.code).toBe(1);
    expect(pub.stderr).toContain('ERR_USAGE');
    const text = readFileSync(keyPath, 'utf8');
    const line = text.split('\n')[2]!;
    const i = 40;
    const typo = line.slice(0, i) + (line[i] === 'Q' ? 'P' : 'Q') + line.slice(i + 1);
    writeFileSync(join(dir, 'typo.key'), typo + '\n');
    const bad = sealbox(home, ['decrypt', msg, '--key', `pq:${join(dir, 'typo.key')}`]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Bech32m.*ERR_USAGE/);
    const none = sealbox(home, ['encrypt', '--key', `pq:${join(dir, 'aes.key')}`], 'x');
    expect(none.code).toBe(1);
    const missing = sealbox(home, ['encrypt', '--key', `pq:${join(dir, 'nope.key')}`], 'x');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('ENOENT');
  });

  it('hostile private key files: a usage error (exit 1) naming the file, never the key; a BOM and CRLF are fine', () => {
    const msg = join(dir, 'only-me.sbx');
    const text = readFileSync(keyPath, 'utf8');
    const line = text.split('\n')[2]!;
    const pub = readFileSync(join(dir, 'me.pub'), 'utf8').trim();
    const data = line.slice('SEALBOX-XWING-SECRET-KEY-1'.length);
    // Accepted: what editors do to a text file.
    for (const [name, body] of [['bom.key', `\uFEFF${line}\r\n`], ['crlf.key', text.replace(/\n/g, '\r\n')], ['lower.key', line.toLowerCase()]] as const) {
      writeFileSync(join(dir, name), body);
      const r = sealbox(home, ['decrypt', msg, '--key', `pq:${join(dir, name)}`]);
      expect(r.code, name).toBe(0);
      expect(r.stdout.toString()).toBe('x');
    }
    const hostile: [string, string | Buffer, RegExp][] = [
      ['empty.key', '', /holds no X-Wing key/],
      ['trailing.key', `${line} trailing\n`, /must be 84 characters, got 93/],
      ['nul.key', `${line}\0\n`, /must be 84 characters, got 85/],
      ['not-utf8.key', Buffer.concat([Buffer.from(line), Buffer.from([0xff, 0x0a])]), /must be 84 characters, got 85/],
      ['two.key', `${line}\n${line}\n`, /exactly one key line \(found 2\)/],
      ['pub-and-priv.key', `${pub}\n${line}\n`, /exactly one key line \(found 2\)/],
      ['public.key', `${pub}\n`, /holds a public key: decrypting needs the private key file/],
      ['cut.key', line.slice(0, 60), /must be 84 characters, got 60/],
      ['mixed-case.key', line.slice(0, 40) + line.slice(40).toLowerCase(), /not valid Bech32m/],
      ['wrong-prefix.key', line.replace('SEALBOX-XWING-SECRET-KEY-1', 'SEALBOX-XWING-SECRET-KEY-2'), /holds no X-Wing key/],
    ];
    for (const [name, body, message] of hostile) {
      writeFileSync(join(dir, name), body);
      for (const args of [['decrypt', msg, '--key', `pq:${join(dir, name)}`], ['keygen', '-y', join(dir, name)]]) {
        const r = sealbox(home, args);
        expect(r.code, `${name} ${args[0]}`).toBe(1);
        expect(r.stderr, name).toContain('ERR_USAGE');
        if (args[0] === 'decrypt') expect(r.stderr, name).toMatch(message);
        expect(r.stderr, name).toContain(name);
        expect(r.stdout.length).toBe(0);
        for (let i = 0; i + 12 <= data.length; i += 6) expect(r.stderr.toUpperCase(), name).not.toContain(data.slice(i, i + 12));
      }
    }
  });

  it('refuses a private key given as text on the command line without repeating it', () => {
    const line = readFileSync(keyPath, 'utf8').split('\n')[2]!;
    const data = line.slice('SEALBOX-XWING-SECRET-KEY-1'.length);
    for (const [command, spec] of [['encrypt', line], ['decrypt', line], ['encrypt', ` ${line.toLowerCase()}`]] as const) {
      const r = sealbox(home, command === 'encrypt' ? ['encrypt', '--key', `pq:${spec}`] : ['decrypt', join(dir, 'only-me.sbx'), '--key', `pq:${spec}`], 'x');
      expect(r.code, command).toBe(1);
      expect(r.stderr).toContain('ERR_USAGE');
      expect(r.stderr).toContain('private key');
      expect(r.stdout.length).toBe(0);
      for (let i = 0; i + 12 <= data.length; i += 6) expect(r.stderr.toUpperCase()).not.toContain(data.slice(i, i + 12));
    }
  });

  it('refuses a private key as --key text without pq: (or after another prefix, or in a path) without repeating it', () => {
    const line = readFileSync(keyPath, 'utf8').split('\n')[2]!;
    const data = line.slice('SEALBOX-XWING-SECRET-KEY-1'.length);
    const specs = [line, line.toLowerCase(), `PQ:${line}`, `file:${line}`, `rsa:${line}`, `kms-rsa:${line}`, `kms:${line}`, `pq:./${line}`, `alias/${line}`];
    for (const spec of specs) {
      const runs = [
        sealbox(home, ['encrypt', '--key', spec], 'x'),
        sealbox(home, ['decrypt', join(dir, 'only-me.sbx'), '--key', spec]),
        sealbox(home, ['rewrap', join(dir, 'only-me.sbx'), '--key', `pq:${join(dir, 'me.pub')}`, '--unwrap-key', spec]),
      ];
      for (const r of runs) {
        expect(r.code, spec).toBe(1);
        expect(r.stderr, spec).toContain('ERR_USAGE');
        expect(r.stderr, spec).toContain('private key');
        expect(r.stdout.length).toBe(0);
        for (let i = 0; i + 12 <= data.length; i += 6) expect(r.stderr.toUpperCase(), spec).not.toContain(data.slice(i, i + 12));
      }
    }
  });
});
