import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, linkSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CLI, ensureBuilt } from './build.js';

beforeAll(() => ensureBuilt(), 120_000);

interface Run { code: number | null; stdout: Buffer; stderr: string }

/** Spawns the built CLI as a user would, with its own SEALBOX_HOME. */
function sealbox(home: string, args: string[], input?: Buffer | string, cwd?: string): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, SEALBOX_HOME: home };
  delete env.SEALBOX_ROOT_KEY;
  delete env.SEALBOX_PASSPHRASE;
  const r = spawnSync(process.execPath, [CLI, ...args], { input, cwd, env, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `sealbox-cli-${prefix}-`));
}

describe('the main job', () => {
  it('echo hello | sealbox encrypt | sealbox decrypt prints hello on an empty SEALBOX_HOME, announcing set-up once', () => {
    const home = join(tmp('main'), 'home');
    const enc = sealbox(home, ['encrypt'], 'hello\n');
    expect(enc.code).toBe(0);
    expect(enc.stderr).toMatch(/created the local key store .* alias\/sealbox-default/);
    const dec = sealbox(home, ['decrypt'], enc.stdout);
    expect(dec.code).toBe(0);
    expect(dec.stdout.toString()).toBe('hello\n');
    const again = sealbox(home, ['encrypt'], 'x');
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    // A store that exists but lacks the default key: only the key is new, and it says so.
    const other = join(tmp('main-existing'), 'home');
    expect(sealbox(other, ['keys', 'create', '--alias', 'alias/mine']).code).toBe(0);
    expect(sealbox(other, ['encrypt'], 'x').stderr).toMatch(/^sealbox: created the default key alias\/sealbox-default in the local key store at /);
  });
});

describe('files, keys and contexts', () => {
  it('encrypts and decrypts files with -o, and inspect shows the header without a key', () => {
    const home = tmp('files');
    const dir = tmp('files-data');
    const plain = join(dir, 'data.bin');
    const data = Buffer.alloc(300_000).map((_, i) => (i * 7) & 0xff);
    writeFileSync(plain, data);
    expect(sealbox(home, ['encrypt', plain, '-o', join(dir, 'data.sbx'), '--context', 'purpose=test', '--context', 'team=a']).code).toBe(0);
    const inspect = sealbox(home, ['--json', 'inspect', join(dir, 'data.sbx')]);
    expect(inspect.code).toBe(0);
    const info = JSON.parse(inspect.stdout.toString());
    expect(info).toMatchObject({ version: 1, frameLength: 65536, encryptionContext: { purpose: 'test', team: 'a' } });
    expect(info.encryptedDataKeys[0].provider).toBe('aws-kms');
    expect(info.encryptedDataKeys[0].key).toMatch(/^arn:aws:kms:us-east-1:111122223333:key\//);
    expect(sealbox(home, ['inspect', join(dir, 'data.sbx')]).stdout.toString()).toContain('purpose=test');
    expect(sealbox(home, ['decrypt', join(dir, 'data.sbx'), '-o', join(dir, 'out.bin'), '--require-context', 'purpose=test']).code).toBe(0);
    expect(readFileSync(join(dir, 'out.bin')).equals(data)).toBe(true);
  });

  it('several --key make a multi-keyring; each key alone decrypts', () => {
    const home = tmp('multi');
    const dir = tmp('multi-data');
    writeFileSync(join(dir, 'escrow.key'), Buffer.alloc(32, 5).toString('hex'));
    expect(sealbox(home, ['keys', 'create', '--alias', 'alias/app']).code).toBe(0);
    const enc = sealbox(home, ['encrypt', '--key', 'alias/app', '--key', `file:${join(dir, 'escrow.key')}`], 'multi');
    expect(enc.code).toBe(0);
    const header = JSON.parse(sealbox(home, ['--json', 'inspect'], enc.stdout).stdout.toString());
    expect(header.encryptedDataKeys.map((e: { provider: string }) => e.provider)).toEqual(['aws-kms', 'raw-key-file']);
    expect(sealbox(home, ['decrypt', '--key', `file:${join(dir, 'escrow.key')}`], enc.stdout).stdout.toString()).toBe('multi');
    expect(sealbox(home, ['decrypt', '--key', 'alias/app'], enc.stdout).stdout.toString()).toBe('multi');
    expect(sealbox(home, ['decrypt'], enc.stdout).stdout.toString()).toBe('multi');
    writeFileSync(join(dir, 'other.key'), Buffer.alloc(32, 6).toString('hex'));
    const wrong = sealbox(home, ['decrypt', '--key', `file:${join(dir, 'other.key')}`], enc.stdout);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('ERR_NO_MATCHING_KEY');
  });

  it('rsa: key files: encrypt to public keys (PEM SPKI, PKCS #1, DER), decrypt with either private key; no local KMS is created', () => {
    const home = tmp('rsa');
    const dir = tmp('rsa-data');
    const alice = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const bob = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const eve = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'alice.pub.pem'), alice.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'alice.pem'), alice.privateKey.export({ type: 'pkcs1', format: 'pem' }));
    writeFileSync(join(dir, 'bob.pub.der'), bob.publicKey.export({ type: 'pkcs1', format: 'der' }));
    writeFileSync(join(dir, 'bob.der'), bob.privateKey.export({ type: 'pkcs8', format: 'der' }));
    writeFileSync(join(dir, 'eve.pem'), eve.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(dir, 'locked.pem'), alice.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }));
    writeFileSync(join(dir, 'ec.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const enc = sealbox(home, ['encrypt', '--key', `rsa:${join(dir, 'alice.pub.pem')}`, '--key', `rsa:${join(dir, 'bob.pub.der')}`], 'for two');
    expect(enc.code).toBe(0);
    const header = JSON.parse(sealbox(home, ['--json', 'inspect'], enc.stdout).stdout.toString());
    expect(header.encryptedDataKeys.map((e: { provider: string; key: string }) => e.provider)).toEqual(['rsa-key-file', 'rsa-key-file']);
    expect(header.encryptedDataKeys[0].key).toMatch(/^[0-9a-f]{32}$/);
    for (const key of ['alice.pem', 'bob.der']) {
      const dec = sealbox(home, ['decrypt', '--key', `rsa:${join(dir, key)}`], enc.stdout);
      expect(dec.stderr).toBe('');
      expect(dec.stdout.toString()).toBe('for two');
    }
    const wrong = sealbox(home, ['decrypt', '--key', `rsa:${join(dir, 'eve.pem')}`], enc.stdout);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('ERR_NO_MATCHING_KEY');
    const publicOnly = sealbox(home, ['decrypt', '--key', `rsa:${join(dir, 'alice.pub.pem')}`], enc.stdout);
    expect(publicOnly.code).toBe(1);
    expect(publicOnly.stderr).toContain('decrypting needs the private key');
    expect(sealbox(home, ['encrypt', '--key', `rsa:${join(dir, 'locked.pem')}`], 'x').stderr).toContain('passphrase-protected');
    expect(sealbox(home, ['encrypt', '--key', `rsa:${join(dir, 'ec.pem')}`], 'x').stderr).toContain('must hold an RSA');
    expect(sealbox(home, ['encrypt', '--key', `rsa:${join(dir, 'missing.pem')}`], 'x').code).toBe(1);
    expect(readdirSync(home)).toEqual([]);
  });

  it('RSA keys of the local KMS: others encrypt with kms-rsa:<public key file> and no KMS; the owner decrypts with or without --key', () => {
    const owner = tmp('kms-rsa-owner');
    const sender = join(tmp('kms-rsa-sender'), 'home');
    const dir = tmp('kms-rsa-data');
    expect(sealbox(owner, ['keys', 'create', '--spec', 'RSA_3072', '--usage', 'ENCRYPT_DECRYPT', '--alias', 'alias/inbox']).code).toBe(0);
    const pub = join(dir, 'inbox.pub.pem');
    expect(sealbox(owner, ['keys', 'public-key', 'alias/inbox', '-o', pub]).code).toBe(0);
    const pem = readFileSync(pub, 'utf8');
    expect(pem).toMatch(/^KMS key: arn:aws:kms:us-east-1:111122223333:key\/[0-9a-f-]{36}\n-----BEGIN PUBLIC KEY-----\n/);
    // -o replaces the file as a whole (written beside it, then renamed): a file linked to the old
    // one keeps its bytes, and no temporary file is left.
    const linked = join(dir, 'linked.txt');
    writeFileSync(linked, 'another file');
    rmSync(pub);
    linkSync(linked, pub);
    expect(sealbox(owner, ['keys', 'public-key', 'alias/inbox', '-o', pub]).code).toBe(0);
    expect(readFileSync(linked, 'utf8')).toBe('another file');
    expect(readFileSync(pub, 'utf8')).toBe(pem);
    expect(readdirSync(dir).sort()).toEqual(['inbox.pub.pem', 'linked.txt']);
    // A public key is for sharing: mode 0644 less the umask, as a plain write made it.
    const umask = process.umask();
    expect(statSync(pub).mode & 0o777).toBe(0o644 & ~umask);
    const enc = sealbox(sender, ['encrypt', '--key', `kms-rsa:${pub}`], 'to the inbox');
    expect(enc.code).toBe(0);
    expect(existsSync(sender)).toBe(false); // the sender has no local KMS and needs none
    const header = JSON.parse(sealbox(owner, ['--json', 'inspect'], enc.stdout).stdout.toString());
    expect(header.encryptedDataKeys).toEqual([{ provider: 'aws-kms-rsa', key: pem.split('\n')[0]!.slice('KMS key: '.length) }]);
    for (const args of [['decrypt'], ['decrypt', '--key', 'alias/inbox'], ['decrypt', '--key', `kms-rsa:${pub}`]]) {
      const dec = sealbox(owner, args, enc.stdout);
      expect(dec.stderr).toBe('');
      expect(dec.stdout.toString()).toBe('to the inbox');
    }
    // The sender cannot decrypt what it encrypted: only the owner's KMS holds the private key.
    expect(sealbox(sender, ['decrypt', '--key', `kms-rsa:${pub}`], enc.stdout).code).toBe(3);
    // Encrypting with the local RSA key by alias works too; a signing key is a usage error.
    const local = sealbox(owner, ['encrypt', '--key', 'alias/inbox'], 'local');
    expect(sealbox(owner, ['decrypt'], local.stdout).stdout.toString()).toBe('local');
    expect(sealbox(owner, ['keys', 'create', '--spec', 'ECC_NIST_P256', '--usage', 'SIGN_VERIFY', '--alias', 'alias/sig']).code).toBe(0);
    const sig = sealbox(owner, ['encrypt', '--key', 'alias/sig'], 'x');
    expect(sig.code).toBe(1);
    expect(sig.stderr).toContain('has key spec ECC_NIST_P256 and usage SIGN_VERIFY');
    writeFileSync(join(dir, 'plain.pem'), pem.split('\n').slice(1).join('\n'));
    expect(sealbox(sender, ['encrypt', '--key', `kms-rsa:${join(dir, 'plain.pem')}`], 'x').stderr).toContain('does not name its KMS key');
  });

  it('--armor writes text that decrypt and inspect read from stdin or a file; damaged armor exits 2', () => {
    const home = tmp('armor');
    const dir = tmp('armor-data');
    const enc = sealbox(home, ['encrypt', '--armor'], 'armored secret');
    expect(enc.code).toBe(0);
    const armored = enc.stdout.toString();
    const lines = armored.trimEnd().split('\n');
    expect(lines[0]).toBe('-----BEGIN SEALBOX MESSAGE-----');
    expect(lines.at(-1)).toBe('-----END SEALBOX MESSAGE-----');
    expect(lines.every((l) => l.length <= 64 && /^[\x20-\x7e]*$/.test(l))).toBe(true);
    expect(sealbox(home, ['decrypt'], armored).stdout.toString()).toBe('armored secret');
    writeFileSync(join(dir, 'm.asc'), armored.replace(/\n/g, '\r\n'));
    const out = join(dir, 'm.txt');
    expect(sealbox(home, ['decrypt', join(dir, 'm.asc'), '-o', out]).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('armored secret');
    expect(JSON.parse(sealbox(home, ['--json', 'inspect', join(dir, 'm.asc')]).stdout.toString()).version).toBe(1);
    const damaged = sealbox(home, ['decrypt'], armored.replace(lines[1]!, `${lines[1]!.slice(0, 10)}*${lines[1]!.slice(11)}`));
    expect(damaged.code).toBe(2);
    expect(damaged.stderr).toContain('ERR_FORMAT_INVALID');
    const cut = sealbox(home, ['decrypt', '-o', join(dir, 'cut.txt')], lines.slice(0, -1).join('\n'));
    expect(cut.code).toBe(2);
    expect(cut.stderr).toContain('ERR_TRUNCATED');
    expect(existsSync(join(dir, 'cut.txt'))).toBe(false);
    // A named input that is a pipe (not a regular file) takes the stream path, binary or armored.
    writeFileSync(join(dir, 'm.sbx'), sealbox(home, ['encrypt'], 'through a pipe').stdout);
    for (const [input, expected] of [['m.sbx', 'through a pipe'], ['m.asc', 'armored secret']] as const) {
      const sh = spawnSync('sh', ['-c', `cat ${JSON.stringify(join(dir, input))} | ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} decrypt /dev/stdin -o ${JSON.stringify(join(dir, 'pipe.txt'))}`], {
        env: { ...process.env, SEALBOX_HOME: home },
      });
      expect(sh.stderr.toString()).toBe('');
      expect(readFileSync(join(dir, 'pipe.txt'), 'utf8')).toBe(expected);
    }
  });

  it('a missing or different required context fails with exit 2 and writes nothing', () => {
    const home = tmp('ctx');
    const dir = tmp('ctx-data');
    const enc = sealbox(home, ['encrypt', '--context', 'tenant=acme'], 'ctx');
    writeFileSync(join(dir, 'm.sbx'), enc.stdout);
    for (const req of ['tenant=other', 'region=eu']) {
      const r = sealbox(home, ['decrypt', join(dir, 'm.sbx'), '-o', join(dir, 'out'), '--require-context', req]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^sealbox: .*\(ERR_ENCRYPTION_CONTEXT_MISMATCH\)\n$/);
      expect(existsSync(join(dir, 'out'))).toBe(false);
    }
    expect(sealbox(home, ['encrypt', '--context', 'sealbox:x=1'], 'x').code).toBe(1);
    expect(sealbox(home, ['encrypt', '--context', 'novalue'], 'x').code).toBe(1);
  });

  it('a tampered file fails with exit 2 and leaves no output or temporary file', () => {
    const home = tmp('tamper');
    const dir = tmp('tamper-data');
    const enc = sealbox(home, ['encrypt'], Buffer.alloc(200_000, 1));
    for (const at of [enc.stdout.length - 3, enc.stdout.length - 70_000]) {
      const bad = Buffer.from(enc.stdout);
      bad[at]! ^= 0x10;
      writeFileSync(join(dir, 'bad.sbx'), bad);
      const r = sealbox(home, ['decrypt', join(dir, 'bad.sbx'), '-o', join(dir, 'plain.out')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('ERR_DECRYPTION_FAILED');
      const piped = sealbox(home, ['decrypt', '-o', join(dir, 'plain.out')], bad);
      expect(piped.code).toBe(2);
      expect(readdirSync(dir)).toEqual(['bad.sbx']);
    }
    const truncated = sealbox(home, ['decrypt'], enc.stdout.subarray(0, enc.stdout.length - 1));
    expect(truncated.code).toBe(2);
    expect(truncated.stderr).toContain('ERR_TRUNCATED');
  });
});

describe('key lifecycle and audit', () => {
  it('create, list, describe, disable, enable, rotate, rotation on/off, deletion, aliases, tags', () => {
    const home = tmp('keys');
    const created = JSON.parse(sealbox(home, ['--json', 'keys', 'create', '--description', 'life', '--alias', 'alias/life']).stdout.toString());
    const id: string = created.KeyId;
    expect(created.KeyState).toBe('Enabled');
    expect(sealbox(home, ['keys', 'list']).stdout.toString()).toMatch(new RegExp(`${id}.*alias/life`));
    expect(sealbox(home, ['keys', 'describe', 'alias/life']).stdout.toString()).toContain(id);
    expect(sealbox(home, ['keys', 'disable', id]).code).toBe(0);
    const refused = sealbox(home, ['encrypt', '--key', 'alias/life'], 'x');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('DisabledException');
    expect(sealbox(home, ['keys', 'enable', id]).code).toBe(0);
    const before = sealbox(home, ['encrypt', '--key', 'alias/life'], 'old');
    expect(sealbox(home, ['keys', 'rotate', 'alias/life']).code).toBe(0);
    expect(sealbox(home, ['decrypt'], before.stdout).stdout.toString()).toBe('old');
    expect(sealbox(home, ['keys', 'rotation', 'on', id, '--period', '90']).code).toBe(0);
    expect(sealbox(home, ['keys', 'rotation', 'status', id]).stdout.toString()).toMatch(/^rotation on/);
    const invalid = sealbox(home, ['keys', 'rotation', 'on', id, '--period', '10']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('ERR_USAGE');
    expect(sealbox(home, ['keys', 'rotation', 'off', id]).code).toBe(0);
    expect(sealbox(home, ['keys', 'tag', id, 'team=sec', 'env=dev']).code).toBe(0);
    expect(sealbox(home, ['keys', 'tag', 'alias/life', '--remove', 'env']).code).toBe(0);
    expect(JSON.parse(sealbox(home, ['--json', 'keys', 'tag', id]).stdout.toString())).toEqual([{ TagKey: 'team', TagValue: 'sec' }]);
    expect(sealbox(home, ['keys', 'alias', 'set', 'alias/other', id]).code).toBe(0);
    expect(sealbox(home, ['keys', 'alias', 'list']).stdout.toString()).toContain('alias/other');
    expect(sealbox(home, ['keys', 'alias', 'rm', 'alias/other']).code).toBe(0);
    expect(sealbox(home, ['keys', 'schedule-deletion', id, '--days', '6']).code).toBe(1);
    expect(sealbox(home, ['keys', 'schedule-deletion', id, '--days', '7']).stdout.toString()).toMatch(/deletion scheduled/);
    expect(sealbox(home, ['keys', 'cancel-deletion', id]).code).toBe(0);
    expect(JSON.parse(sealbox(home, ['--json', 'keys', 'describe', id]).stdout.toString()).KeyState).toBe('Disabled');
    expect(sealbox(home, ['keys', 'describe', 'alias/nope']).code).toBe(3);
  });

  it('audit verify passes, then fails with exit 2 naming the row after the store is tampered with', () => {
    const home = tmp('audit');
    sealbox(home, ['encrypt'], 'a');
    sealbox(home, ['random', '8']);
    const ok = sealbox(home, ['audit', 'verify']);
    expect(ok.code).toBe(0);
    expect(ok.stdout.toString()).toMatch(/audit log verified: \d+ rows/);
    expect(sealbox(home, ['audit', 'show']).stdout.toString()).toContain('GenerateRandom');
    const exported = sealbox(home, ['audit', 'export']).stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
    expect(exported.length).toBeGreaterThan(2);
    const db = new Database(join(home, 'kms.sqlite'));
    db.prepare("UPDATE audit SET caller = 'someone-else' WHERE seq = 2").run();
    db.close();
    const bad = sealbox(home, ['audit', 'verify']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('row 2');
  });
});

describe('other commands', () => {
  it('random, --help with examples everywhere, usage errors exit 1', () => {
    const home = tmp('misc');
    expect(sealbox(home, ['random', '16']).stdout.toString()).toMatch(/^[0-9a-f]{32}\n$/);
    expect(sealbox(home, ['random', '2000']).code).toBe(1);
    const commands = [
      '', 'encrypt', 'decrypt', 'inspect', 'random', 'keys', 'keys create', 'keys list', 'keys describe', 'keys enable',
      'keys disable', 'keys rotate', 'keys rotation', 'keys rotation on', 'keys rotation off', 'keys rotation status',
      'keys schedule-deletion', 'keys cancel-deletion', 'keys alias', 'keys alias set', 'keys alias rm', 'keys alias list',
      'keys tag', 'audit', 'audit show', 'audit verify', 'audit export', 'kms', 'kms serve', 'kms credentials',
      'kms credentials create', 'kms credentials list',
    ];
    for (const cmd of commands.map((c) => (c ? c.split(' ') : []))) {
      const help = sealbox(home, [...cmd, '--help']);
      expect(help.code, cmd.join(' ')).toBe(0);
      expect(help.stdout.toString(), cmd.join(' ')).toMatch(/Example/);
    }
    for (const args of [['encrypt', '--bogus'], ['frobnicate'], ['random'], ['random', '0'], ['keys', 'tag', 'k', 'novalue']]) {
      const r = sealbox(home, args);
      expect(r.code, args.join(' ')).toBe(1);
      // The first line names the problem and the code; at most a pointer to --help follows.
      expect(r.stderr.split('\n')[0], args.join(' ')).toMatch(/^sealbox: .*\(ERR_USAGE\)$/);
      expect(r.stderr.split('\n').filter(Boolean).length, args.join(' ')).toBeLessThanOrEqual(2);
    }
    const missing = sealbox(home, ['decrypt', '/nonexistent/file']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^sealbox: .*\(ENOENT\)\n$/);
    const missingToFile = sealbox(home, ['encrypt', '/nonexistent/file', '-o', join(tmp('misc-out'), 'x.sbx')]);
    expect(missingToFile.code).toBe(1);
    expect(missingToFile.stderr).toMatch(/^sealbox: .*\(ENOENT\)\n$/);
  });

  it('a usage error creates nothing: a bad --context, --frame-length or --limit leaves SEALBOX_HOME absent', () => {
    const home = join(tmp('usage'), 'home');
    for (const args of [
      ['encrypt', '--context', 'no-equals-sign'],
      ['encrypt', '--frame-length', 'abc'],
      ['encrypt', '--frame-length', '0'],
      // Above what decrypt accepts by default: the CLI must not write what it cannot read.
      ['encrypt', '--frame-length', String(4 * 1024 * 1024 + 1)],
      ['audit', 'show', '--limit', '-3'],
    ]) {
      const r = sealbox(home, args, 'x');
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(existsSync(home)).toBe(false);
    }
  });

  it('Ctrl-C while writing -o leaves neither the output nor its temporary file', async () => {
    const home = tmp('sigint');
    const dir = tmp('sigint-out');
    expect(sealbox(home, ['encrypt', '-o', join(dir, 'warm.sbx')], 'x').code).toBe(0);
    const child = spawn(process.execPath, [CLI, 'encrypt', '-o', join(dir, 'out.sbx')], { env: { ...process.env, SEALBOX_HOME: home }, stdio: ['pipe', 'ignore', 'ignore'] });
    // Stdin stays open, so the command is mid-write when the signal comes. The output's
    // temporary file exists before the first read, so the child may die with input unread:
    // the parent's write then fails with EPIPE, which is expected here.
    child.stdin.on('error', () => undefined);
    child.stdin.write(Buffer.alloc(256 * 1024, 1));
    const temporary = (): string[] => readdirSync(dir).filter((n) => n.endsWith('.sealbox-tmp'));
    for (let i = 0; i < 200 && temporary().length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(temporary()).toHaveLength(1);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(readdirSync(dir)).toEqual(['warm.sbx']);
  });

  it('decrypting under a disabled key exits 3 and names DisabledException and the code', () => {
    const home = tmp('disabled');
    const enc = sealbox(home, ['encrypt'], 'secret');
    expect(enc.code).toBe(0);
    expect(sealbox(home, ['keys', 'disable', 'alias/sealbox-default']).code).toBe(0);
    const dec = sealbox(home, ['decrypt'], enc.stdout);
    expect(dec.code).toBe(3);
    expect(dec.stdout.length).toBe(0);
    expect(dec.stderr).toMatch(/^sealbox: .*DisabledException.*\(ERR_KEYRING\)\n$/);
  });
});

describe('progress', () => {
  it('shows a progress bar on a terminal for large inputs, nothing when stderr is piped, and never writes ciphertext to a terminal', () => {
    const home = tmp('progress');
    const dir = tmp('progress-data');
    const big = join(dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(6 * 1024 * 1024, 3));
    const piped = sealbox(home, ['encrypt', big, '-o', join(dir, 'piped.sbx')]);
    expect(piped.code).toBe(0);
    expect(piped.stderr).not.toContain('%');
    // util-linux `script` runs the CLI on a pseudo-terminal, as a person at a terminal would.
    const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
    if (!hasScript) {
      console.log('script(1) is not available: the terminal case is skipped');
      return;
    }
    const env: NodeJS.ProcessEnv = { ...process.env, SEALBOX_HOME: home };
    const tty = spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} encrypt ${JSON.stringify(big)} -o ${JSON.stringify(join(dir, 'tty.sbx'))}`, '/dev/null'], { env });
    expect(tty.status).toBe(0);
    expect(tty.stdout.toString()).toMatch(/100% \| 6.0 MiB of 6.0 MiB \| [0-9.]+ [KMG]?i?B\/s \| 0s left/);
    expect(sealbox(home, ['decrypt', join(dir, 'tty.sbx'), '-o', join(dir, 'back.bin')]).code).toBe(0);
    // Ciphertext is never written to a terminal.
    const toTerminal = spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} encrypt ${JSON.stringify(join(dir, 'back.bin'))}`, '/dev/null'], { env });
    expect(toTerminal.status).toBe(1);
    expect(toTerminal.stdout.toString()).toContain('refusing to write binary ciphertext to a terminal');
    // Armored text is fine there.
    writeFileSync(join(dir, 'small.txt'), 'small');
    const armoredTty = spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} encrypt --armor ${JSON.stringify(join(dir, 'small.txt'))}`, '/dev/null'], { env });
    expect(armoredTty.status).toBe(0);
    expect(armoredTty.stdout.toString()).toContain('-----END SEALBOX MESSAGE-----');
    // Nor does decrypt sit waiting on a terminal for input.
    const noInput = spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} decrypt`, '/dev/null'], { env });
    expect(noInput.status).toBe(1);
    expect(noInput.stdout.toString()).toContain('no input');
    expect(readFileSync(join(dir, 'back.bin')).equals(readFileSync(big))).toBe(true);
    // stdin redirected from a file has a known size, so it gets a bar too; a pipe does not.
    const redirected = spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} encrypt -o ${JSON.stringify(join(dir, 'redir.sbx'))} < ${JSON.stringify(big)}`, '/dev/null'], { env });
    expect(redirected.status).toBe(0);
    expect(redirected.stdout.toString()).toMatch(/100% \| 6.0 MiB of 6.0 MiB \| [0-9.]+ [KMG]?i?B\/s \| 0s left/);
    const fromPipe = spawnSync('script', ['-qec', `cat ${JSON.stringify(big)} | ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} encrypt -o ${JSON.stringify(join(dir, 'pipe.sbx'))}`, '/dev/null'], { env });
    expect(fromPipe.status).toBe(0);
    expect(fromPipe.stdout.toString()).not.toContain('%');
    // Refused before the key store is touched: a fresh SEALBOX_HOME stays absent.
    const fresh = join(tmp('tty-home'), 'home');
    const freshTerminal = spawnSync('script', ['-qec', `echo hello | ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} encrypt`, '/dev/null'], { env: { ...env, SEALBOX_HOME: fresh } });
    expect(freshTerminal.status).toBe(1);
    expect(freshTerminal.stdout.toString()).toMatch(/^sealbox: .*\r?\n$/);
    expect(existsSync(fresh)).toBe(false);
  });
});
