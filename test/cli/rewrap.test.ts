import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decrypt, encrypt, MultiKeyring, RawAesKeyring } from '../../src/index.js';
import { rewrap } from '../../src/rewrap/index.js';
import { CLI, ensureBuilt } from './build.js';
import { CLI_COMMAND, HAS_SCRIPT, cliEnv, onTerminal, q } from './run.js';

beforeAll(() => ensureBuilt(), 120_000);

interface Run { code: number | null; stdout: string; stderr: string }

function sealbox(home: string, args: string[]): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, SEALBOX_HOME: home };
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A raw key file and the keyring the CLI makes of it (namespace raw-key-file, named by fingerprint). */
function keyFile(dir: string, name: string, seed: number): { path: string; keyring: RawAesKeyring } {
  const key = new Uint8Array(32).fill(seed);
  const path = join(dir, name);
  writeFileSync(path, key);
  return { path, keyring: new RawAesKeyring({ namespace: 'raw-key-file', name: createHash('sha256').update(key).digest('hex').slice(0, 32), wrappingKey: key }) };
}

const opens = async (bytes: Uint8Array, keyring: RawAesKeyring): Promise<string> => {
  try {
    return Buffer.from((await decrypt(bytes, { keyring })).plaintext).toString();
  } catch (err) {
    return (err as { code: string }).code;
  }
};

describe('sealbox rewrap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-cli-rewrap-'));
  const home = join(dir, 'home');
  const oldKey = keyFile(dir, 'old.key', 1);
  const newKey = keyFile(dir, 'new.key', 2);
  const escrow = keyFile(dir, 'escrow.key', 3);

  it('rewraps a directory of 2,000 small messages in place in one process, header only', async () => {
    const msgs = join(dir, 'many');
    spawnSync('mkdir', [msgs]);
    const files: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const file = join(msgs, `m${i}.sbx`);
      const v1 = (await encrypt(Buffer.from(`message ${i} `.repeat(80)), { keyring: oldKey.keyring, encryptionContext: { n: String(i) } })).ciphertext;
      // Suite 3 (rewrapped once already): their headers keep their length, so the CLI writes headers only.
      writeFileSync(file, (await rewrap(v1, { keyring: oldKey.keyring, to: oldKey.keyring })).ciphertext);
      files.push(file);
    }
    const started = Date.now();
    const r = sealbox(home, ['--json', 'rewrap', ...files, '--key', `file:${newKey.path}`, '--unwrap-key', `file:${oldKey.path}`]);
    const ms = Date.now() - started;
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; ok: boolean; method: string });
    expect(lines.length).toBe(2000);
    expect(lines.every((l) => l.ok && l.method === 'header')).toBe(true);
    expect(new Set(lines.map((l) => l.file)).size).toBe(2000);
    for (const i of [0, 1, 999, 1999]) {
      const bytes = readFileSync(files[i]!);
      expect(await opens(bytes, newKey.keyring)).toBe(`message ${i} `.repeat(80));
      expect(await opens(bytes, oldKey.keyring)).toBe('ERR_NO_MATCHING_KEY');
    }
    expect(readdirSync(msgs).filter((f) => f.startsWith('.'))).toEqual([]);
    process.stderr.write(`[rewrap CLI] 2,000 files in ${ms} ms\n`);
  }, 120_000);

  it('-o for one file, --add, --remove-key, usage errors', async () => {
    const src = join(dir, 'one.sbx');
    writeFileSync(src, (await encrypt(Buffer.from('one'), { keyring: new MultiKeyring({ generator: oldKey.keyring, children: [escrow.keyring] }) })).ciphertext);
    const before = readFileSync(src);
    const out = join(dir, 'one-out.sbx');
    const first = sealbox(home, ['--json', 'rewrap', src, '-o', out, '--key', `file:${newKey.path}`, '--unwrap-key', `file:${oldKey.path}`]);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ ok: true, method: 'copy', bytesWritten: readFileSync(out).length, encryptedDataKeys: 1 });
    expect(readFileSync(src).equals(before)).toBe(true);
    expect(await opens(readFileSync(out), newKey.keyring)).toBe('one');
    expect(await opens(readFileSync(out), escrow.keyring)).toBe('ERR_NO_MATCHING_KEY');
    // --remove-key: the escrow copy stays, the old key's goes, the new key's is added.
    expect(sealbox(home, ['rewrap', src, '--key', `file:${newKey.path}`, '--remove-key', `file:${oldKey.path}`]).code).toBe(0);
    expect(await opens(readFileSync(src), oldKey.keyring)).toBe('ERR_NO_MATCHING_KEY');
    expect(await opens(readFileSync(src), escrow.keyring)).toBe('one');
    expect(await opens(readFileSync(src), newKey.keyring)).toBe('one');
    // --add keeps all.
    expect(sealbox(home, ['rewrap', src, '--key', `file:${oldKey.path}`, '--unwrap-key', `file:${newKey.path}`, '--add']).code).toBe(0);
    for (const k of [oldKey, newKey, escrow]) expect(await opens(readFileSync(src), k.keyring)).toBe('one');
    const usage = [
      ['rewrap', src],
      ['rewrap', src, '--key', `file:${newKey.path}`, '--add', '--remove-key', `file:${oldKey.path}`],
      ['rewrap', src, out, '-o', join(dir, 'x'), '--key', `file:${newKey.path}`],
      ['rewrap', join(dir, 'missing.sbx'), '--key', `file:${newKey.path}`],
      ['rewrap', dir, '--key', `file:${newKey.path}`],
    ];
    const unchanged = readFileSync(src);
    for (const args of usage) {
      const r = sealbox(home, args);
      expect(readFileSync(src).equals(unchanged), args.join(' ')).toBe(true);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/^sealbox: .*\((ERR_USAGE|ENOENT|EISDIR)\)\n/);
    }
    expect(readdirSync(join(dir)).includes('home')).toBe(false);
  }, 60_000);

  it('each file once; inputs and -o through links; -o that is not a regular file is refused', async () => {
    const sub = join(dir, 'paths');
    mkdirSync(sub);
    const file = join(sub, 'f.sbx');
    writeFileSync(file, (await encrypt(Buffer.from('paths'), { keyring: oldKey.keyring })).ciphertext);
    linkSync(file, join(sub, 'hard.sbx'));
    symlinkSync('f.sbx', join(sub, 'soft.sbx'));
    const before = readFileSync(file);
    const keys = ['--key', `file:${newKey.path}`, '--unwrap-key', `file:${oldKey.path}`];
    // The same file named twice, by the same name, another spelling, a hard or a symbolic link:
    // two workers would race for it (and a second rewrap of it is not what was meant).
    for (const twice of [[file, file], [file, join(sub, '.', 'f.sbx')], [file, join(sub, 'hard.sbx')], [join(sub, 'soft.sbx'), file]]) {
      const r = sealbox(home, ['--json', 'rewrap', ...twice, ...keys]);
      expect([twice, r.code]).toEqual([twice, 1]);
      expect(r.stderr).toMatch(/are the same file: name each file once \(ERR_USAGE\)\n$/);
      expect(r.stdout).toBe('');
      expect(readFileSync(file).equals(before)).toBe(true);
    }
    // -o into a FIFO (or a device, or standard output): a file renamed over it would replace it.
    execFileSync('mkfifo', [join(sub, 'pipe')]);
    const fifo = sealbox(home, ['rewrap', file, '-o', join(sub, 'pipe'), ...keys]);
    expect(fifo.code).toBe(1);
    expect(fifo.stderr).toMatch(/-o .*pipe is not a regular file \(ERR_USAGE\)\n$/);
    expect(lstatSync(join(sub, 'pipe')).isFIFO()).toBe(true);
    // A FIFO as input is refused at once (not waited on for a writer).
    expect(sealbox(home, ['rewrap', join(sub, 'pipe'), ...keys]).stderr).toMatch(/not a regular file \(EISDIR\)/);
    // -o through a symbolic link writes the file it points to and keeps the link, as encrypt's -o.
    writeFileSync(join(sub, 'out.sbx'), 'old output');
    symlinkSync('out.sbx', join(sub, 'out-link.sbx'));
    const viaLink = sealbox(home, ['rewrap', file, '-o', join(sub, 'out-link.sbx'), ...keys]);
    expect(viaLink.code, viaLink.stderr).toBe(0);
    expect(lstatSync(join(sub, 'out-link.sbx')).isSymbolicLink()).toBe(true);
    expect(await opens(readFileSync(join(sub, 'out.sbx')), newKey.keyring)).toBe('paths');
    expect(readFileSync(file).equals(before)).toBe(true);
    // In place through a symbolic link: the file is rewrapped, the link kept.
    const inPlace = sealbox(home, ['rewrap', join(sub, 'soft.sbx'), ...keys]);
    expect(inPlace.code, inPlace.stderr).toBe(0);
    expect(lstatSync(join(sub, 'soft.sbx')).isSymbolicLink()).toBe(true);
    expect(await opens(readFileSync(file), newKey.keyring)).toBe('paths');
    expect(readdirSync(sub).filter((f) => f.startsWith('.'))).toEqual([]);
  }, 60_000);

  it('exit codes as for decrypt; the other files are still rewrapped; a bad file is left as it was', async () => {
    const good = join(dir, 'good.sbx');
    const bad = join(dir, 'bad.sbx');
    const other = join(dir, 'other.sbx');
    const enc = async (keyring: RawAesKeyring): Promise<Buffer> => Buffer.from((await encrypt(Buffer.from('x'), { keyring })).ciphertext);
    writeFileSync(good, await enc(oldKey.keyring));
    const tampered = await enc(oldKey.keyring);
    // A flipped header tag byte (a 1-byte message ends with the 16-byte tag and a 22-byte final frame).
    tampered[tampered.length - 30]! ^= 1;
    writeFileSync(bad, tampered);
    writeFileSync(other, await enc(escrow.keyring));
    const r = sealbox(home, ['--json', 'rewrap', bad, good, other, '--key', `file:${newKey.path}`, '--unwrap-key', `file:${oldKey.path}`]);
    expect(r.code).toBe(2);
    const results = Object.fromEntries(r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; ok: boolean; error?: string }).map((x) => [x.file, x]));
    expect(results[good]!.ok).toBe(true);
    expect(results[bad]!.error).toMatch(/ERR_DECRYPTION_FAILED/);
    expect(results[other]!.error).toMatch(/ERR_NO_MATCHING_KEY/);
    expect(readFileSync(bad).equals(tampered)).toBe(true);
    expect(await opens(readFileSync(good), newKey.keyring)).toBe('x');
    const alone = sealbox(home, ['rewrap', other, '--key', `file:${newKey.path}`, '--unwrap-key', `file:${oldKey.path}`]);
    expect(alone.code).toBe(3);
    expect(alone.stderr).toMatch(/^sealbox: .*other\.sbx: .*\(ERR_NO_MATCHING_KEY\)\n$/);
  }, 60_000);

  it('the exit code is the first failing file\'s in the order given, not the first to fail', async () => {
    // The first file fails late (its last frame is broken and --verify-frames reads all 32 MiB),
    // the second fails at once (no key for it): rewrap runs both at the same time, so the second
    // fails first. The exit code is still the first file's (2, integrity), as documented.
    const slow = join(dir, 'slow-bad.sbx');
    const fast = join(dir, 'fast-other.sbx');
    const big = Buffer.from((await encrypt(new Uint8Array(32 * 1024 * 1024), { keyring: oldKey.keyring })).ciphertext);
    big[big.length - 1]! ^= 1;
    writeFileSync(slow, big);
    writeFileSync(fast, (await encrypt(Buffer.from('y'), { keyring: escrow.keyring })).ciphertext);
    const r = sealbox(home, ['--json', 'rewrap', slow, fast, '--verify-frames', '--key', `file:${newKey.path}`, '--unwrap-key', `file:${oldKey.path}`]);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; exitCode: number });
    expect(lines.map((l) => l.file)).toEqual([fast, slow]);
    expect(lines.map((l) => l.exitCode)).toEqual([3, 2]);
    expect(r.code).toBe(2);
    expect(readFileSync(slow).equals(big)).toBe(true);
  }, 60_000);

  it('local KMS keys: from one alias to another, header only; without --unwrap-key any local key opens', () => {
    const h = join(dir, 'kms-home');
    expect(sealbox(h, ['keys', 'create', '--alias', 'alias/k1']).code).toBe(0);
    expect(sealbox(h, ['keys', 'create', '--alias', 'alias/k2']).code).toBe(0);
    const plain = join(dir, 'p.txt');
    writeFileSync(plain, 'kms');
    const file = join(dir, 'k.sbx');
    expect(sealbox(h, ['encrypt', plain, '-o', file, '--key', 'alias/k1']).code).toBe(0);
    // The first rewrap of a suite 1 file adds the header salt (a copy); from then on, header only.
    const first = sealbox(h, ['--json', 'rewrap', file, '--key', 'alias/k2']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).method).toBe('copy');
    const r = sealbox(h, ['--json', 'rewrap', file, '--key', 'alias/k2']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).method).toBe('header');
    expect(sealbox(h, ['keys', 'disable', 'alias/k1']).code).toBe(0);
    const dec = sealbox(h, ['decrypt', file, '--key', 'alias/k2']);
    expect(dec.stdout).toBe('kms');
  }, 60_000);

  it.skipIf(!HAS_SCRIPT)('on a terminal: a progress line over many files; Ctrl-C finishes the files in progress, exit 130, nothing half-done', async () => {
    const msgs = join(dir, 'tty');
    spawnSync('mkdir', [msgs]);
    const files: string[] = [];
    for (let i = 0; i < 600; i++) {
      const file = join(msgs, `t${i}.sbx`);
      writeFileSync(file, (await encrypt(Buffer.from(`tty ${i}`), { keyring: oldKey.keyring })).ciphertext);
      files.push(file);
    }
    const command = `${CLI_COMMAND} rewrap ${files.slice(0, 300).map(q).join(' ')} --key ${q(`file:${newKey.path}`)} --unwrap-key ${q(`file:${oldKey.path}`)}`;
    const done = await onTerminal(command, { env: cliEnv(home), timeoutMs: 90_000 });
    expect(done.code, done.screen).toBe(0);
    // The line is rewritten in place (\r ... ESC [K) and ends with a newline once all are done.
    expect(done.screen).toContain('sealbox rewrap: 300/300 files\u001b[K\r\n');
    // Ctrl-C once the line shows progress: the files in progress finish, no new one starts.
    const rest = `${CLI_COMMAND} rewrap ${files.slice(300).map(q).join(' ')} --key ${q(`file:${newKey.path}`)} --unwrap-key ${q(`file:${oldKey.path}`)}`;
    const stopped = await onTerminal(rest, { env: cliEnv(home), timeoutMs: 90_000, interruptWhen: /rewrap: [1-9]\d*\/300 files/ });
    expect(stopped.code, stopped.screen).toBe(130);
    let rewrapped = 0;
    for (const [i, file] of files.entries()) {
      const text = await opens(readFileSync(file), newKey.keyring);
      if (text === `tty ${i}`) rewrapped++;
      else expect(await opens(readFileSync(file), oldKey.keyring), file).toBe(`tty ${i}`);
    }
    expect(rewrapped).toBeGreaterThan(300);
    expect(rewrapped).toBeLessThan(600);
    expect(readdirSync(msgs).filter((f) => f.startsWith('.'))).toEqual([]);
  }, 180_000);
});
