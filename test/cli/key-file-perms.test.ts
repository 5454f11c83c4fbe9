/**
 * Key files (`--key file:`, `rsa:`, `pq:`, `kms-rsa:`) that any user can change. Whoever can put
 * their own key there gets what is encrypted to it (and has their forged messages opened with
 * it): ssh refuses a private key file others can access and an ssh_config others can write; gpg
 * warns about a file or its directory writable by others; age checks nothing. Sealbox refuses a
 * key file writable by others, or in a directory others can write without the sticky bit.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from './build.js';
import { cliEnv, sealbox, tmp } from './run.js';

beforeAll(() => ensureBuilt(), 120_000);

describe.skipIf(process.platform === 'win32')('key files any user can change are refused', () => {
  const dir = tmp('key-perms');
  const home = join(tmp('key-perms-home'), 'home');
  const plain = join(dir, 'm.txt');
  writeFileSync(plain, 'the plaintext\n');

  const refused = (args: string[], path: string, why: RegExp): void => {
    const out = join(dir, `out-${Math.random().toString(16).slice(2)}`);
    const r = sealbox(home, [...args, '-o', out]);
    expect(r.stderr).toMatch(new RegExp(`^sealbox: cannot use key file ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: ${why.source}`));
    expect(r.stderr).toMatch(/ \(EPERM\)\n$/);
    expect(r.code).toBe(1);
    expect(existsSync(out)).toBe(false);
  };

  it('file: a raw key writable by others (0666, 0602) is refused for encrypt and decrypt; group write (0660) and 0644 are not', () => {
    const key = join(dir, 'team.key');
    writeFileSync(key, Buffer.alloc(32, 5), { mode: 0o600 });
    const message = join(dir, 'm.sbx');
    expect(sealbox(home, ['encrypt', plain, '-o', message, '--key', `file:${key}`]).code).toBe(0);
    for (const mode of [0o666, 0o602]) {
      chmodSync(key, mode);
      refused(['encrypt', plain, '--key', `file:${key}`], key, new RegExp(`any user can change it \\(mode 0${mode.toString(8)}\\)`));
      refused(['decrypt', message, '--key', `file:${key}`], key, /any user can change it/);
    }
    for (const mode of [0o660, 0o644]) {
      chmodSync(key, mode);
      expect(sealbox(home, ['decrypt', message, '--key', `file:${key}`]).stdout.toString()).toBe('the plaintext\n');
    }
  });

  it('a key file in a directory others can write without the sticky bit is refused (they can replace it); in a sticky one it is not', () => {
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const key = join(open, 'k.key');
    writeFileSync(key, Buffer.alloc(32, 6), { mode: 0o600 });
    refused(['encrypt', plain, '--key', `file:${key}`], key, new RegExp(`any user can replace it, in ${open} \\(mode 0777, not sticky\\)`));
    // Through a symbolic link from a private directory: the directory that holds the file counts.
    const link = join(dir, 'link.key');
    symlinkSync(key, link);
    refused(['encrypt', plain, '--key', `file:${link}`], link, /any user can replace it/);
    chmodSync(open, 0o1777);
    expect(sealbox(home, ['encrypt', plain, '-o', join(dir, 'sticky.sbx'), '--key', `file:${link}`]).code).toBe(0);
  });

  it('rsa: and pq: public keys writable by others are refused (encrypting to them sends to whoever wrote them)', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = join(dir, 'alice.pub.pem');
    writeFileSync(pem, publicKey.export({ type: 'spki', format: 'pem' }));
    chmodSync(pem, 0o666);
    refused(['encrypt', plain, '--key', `rsa:${pem}`], pem, /any user can change it/);
    const pq = join(dir, 'me.key');
    expect(sealbox(home, ['keygen', '--pq', '-o', pq]).code).toBe(0);
    chmodSync(pq, 0o606);
    refused(['encrypt', plain, '--key', `pq:${pq}`], pq, /any user can change it/);
  });

  it('a key read from a pipe (file:/dev/stdin from a shell pipe) is not checked', () => {
    // A pipe's mode bits say nothing about who wrote it. (spawnSync's stdin is a socket, which
    // /dev/stdin cannot open: a shell pipe instead.)
    const r = spawnSync('sh', ['-c', 'head -c 32 /dev/zero | "$0" "$1" encrypt "$2" -o "$3" --key file:/dev/stdin', process.execPath, CLI, plain, join(dir, 'piped.sbx')], { env: cliEnv(home) });
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
  });
});
