import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureBuilt, CLI } from './build.js';
import { cliEnv, tmp } from './run.js';
import { MAX_LOCAL_KMS_WAL_LEFT_BYTES } from '../../src/limits.js';

// CLI start-up (docs/performance.md): a command loads only the dependencies it uses. The CLI is
// one CommonJS file (dist/cli/main.cjs) whose optional parts require their packages when first
// used; a preload records every module file in require's cache when the process exits.

const dir = tmp('startup');
const home = join(dir, 'home');
const rawKey = join(dir, 'raw.key');
const loaded = join(dir, 'loaded.txt');
const preload = join(dir, 'record.cjs');

beforeAll(() => {
  ensureBuilt();
  writeFileSync(rawKey, randomBytes(32));
  writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(loaded)}, Object.keys(require.cache).join('\\n')));\n`);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The packages (node_modules/<name>) a command line loaded. */
function packagesLoaded(args: string[], input: Buffer | string = 'hi'): Set<string> {
  const r = spawnSync(process.execPath, ['-r', preload, CLI, ...args], { input, cwd: dir, env: cliEnv(home) });
  expect(r.status, r.stderr.toString()).toBe(0);
  const names = readFileSync(loaded, 'utf8').split('\n').map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p)?.[1]).filter((n): n is string => n !== undefined);
  return new Set(names);
}

const HEAVY = ['better-sqlite3', '@aws-sdk/client-kms', '@smithy/signature-v4', '@noble/post-quantum', '@noble/curves', '@noble/hashes', '@noble/ciphers', '@scure/base', 'cli-progress', 'cbor-extract'];
const only = (set: Set<string>, wanted: string[]): string[] => HEAVY.filter((p) => set.has(p) !== wanted.includes(p));

it('encrypt with a raw key file loads none of the optional dependencies', () => {
  expect(only(packagesLoaded(['encrypt', '--key', `file:${rawKey}`]), [])).toEqual([]);
});

it('encrypt and decrypt with the local KMS load SQLite, and neither the AWS SDK nor any @noble arithmetic', () => {
  const enc = spawnSync(process.execPath, [CLI, 'encrypt'], { input: 'hi', env: cliEnv(home) });
  expect(enc.status, enc.stderr.toString()).toBe(0);
  expect(only(packagesLoaded(['encrypt']), ['better-sqlite3'])).toEqual([]);
  expect(only(packagesLoaded(['decrypt'], enc.stdout), ['better-sqlite3'])).toEqual([]);
});

it('a pq: key loads the post-quantum code and not SQLite', () => {
  const r = spawnSync(process.execPath, [CLI, 'keygen', '--pq', '-o', join(dir, 'me.key')], { cwd: dir, env: cliEnv(home) });
  expect(r.status, r.stderr.toString()).toBe(0);
  const pq = packagesLoaded(['encrypt', '--key', `pq:${join(dir, 'me.key')}`]);
  expect(pq.has('@noble/post-quantum')).toBe(true);
  expect(pq.has('better-sqlite3')).toBe(false);
  expect(pq.has('@aws-sdk/client-kms')).toBe(false);
});

it('a command that wrote only audit rows leaves SQLite its write-ahead log (no checkpoint at exit); one that changed keys checkpoints and closes', () => {
  const kmsHome = join(dir, 'wal-home');
  const wal = join(kmsHome, 'kms.sqlite-wal');
  const run = (args: string[], input?: Buffer | string) => spawnSync(process.execPath, [CLI, ...args], { input, env: cliEnv(kmsHome) });
  // The first encrypt creates the store and its default key: closed, checkpointed, no log left.
  const first = run(['encrypt'], 'first');
  expect(first.status, first.stderr.toString()).toBe(0);
  expect(existsSync(wal)).toBe(false);
  // Then DescribeKey + GenerateDataKey only: the process ends without closing the database.
  const second = run(['encrypt'], 'second');
  expect(second.status, second.stderr.toString()).toBe(0);
  expect(existsSync(wal)).toBe(true);
  // The next process reads the log: everything committed is there, the audit chain verifies.
  const dec = run(['decrypt'], second.stdout);
  expect(dec.stdout.toString()).toBe('second');
  expect(run(['audit', 'verify']).status).toBe(0);
  const rows = run(['audit', 'show', '--limit', '100']).stdout.toString().trim().split('\n').map((l) => l.split('\t')[2]);
  expect(rows.filter((op) => op === 'GenerateDataKey')).toHaveLength(2);
  // A key created: checkpointed and closed as before (the log is folded in and removed).
  expect(run(['keys', 'create']).status).toBe(0);
  expect(existsSync(wal)).toBe(false);
});

it('encrypt from stdin to stdout, with a raw key file or the local KMS, loads none of node:child_process, node:worker_threads and node:fs/promises (the bundle loads them on first use)', () => {
  const list = join(dir, 'builtins.txt');
  const recorder = join(dir, 'record-builtins.cjs');
  writeFileSync(recorder, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`);
  for (const args of [['--key', `file:${rawKey}`], []]) {
    const r = spawnSync(process.execPath, ['-r', recorder, CLI, 'encrypt', ...args], { input: 'hi', cwd: dir, env: cliEnv(home) });
    expect(r.status, r.stderr.toString()).toBe(0);
    const loadedBuiltins = readFileSync(list, 'utf8').split('\n');
    expect(loadedBuiltins).not.toContain('NativeModule child_process');
    expect(loadedBuiltins).not.toContain('NativeModule worker_threads');
    expect(loadedBuiltins).not.toContain('NativeModule fs/promises');
  }
});

it('encrypt with the default key makes one KMS operation a message (GenerateDataKey by the alias, no DescribeKey first), the first one too once the key exists', () => {
  const kmsHome = join(dir, 'one-call-home');
  const run = (args: string[], input?: Buffer | string) => spawnSync(process.execPath, [CLI, ...args], { input, cwd: dir, env: cliEnv(kmsHome) });
  const operations = (): string[] => run(['audit', 'show', '--limit', '1000']).stdout.toString().trim().split('\n').map((l) => l.split('\t')[2]!);
  // First use: a new store has no key, so it is made first (no failed GenerateDataKey), then
  // the data key comes from it.
  const first = run(['encrypt'], 'first');
  expect(first.status, first.stderr.toString()).toBe(0);
  expect(first.stderr.toString()).toMatch(/created the local key store .* alias\/sealbox-default/);
  const made = operations();
  expect(made).toEqual(['DescribeKey', 'ListKeys', 'CreateKey', 'CreateAlias', 'GenerateDataKey']);
  // Then one row a message: for one message, and for each file of --output-dir.
  const second = run(['encrypt'], 'second');
  expect(second.status, second.stderr.toString()).toBe(0);
  expect(second.stderr.toString()).toBe('');
  expect(operations().slice(made.length)).toEqual(['GenerateDataKey']);
  writeFileSync(join(dir, 'a.txt'), 'a');
  writeFileSync(join(dir, 'b.txt'), 'b');
  const out = join(dir, 'one-call-out');
  mkdirSync(out);
  const many = run(['encrypt', 'a.txt', 'b.txt', '--output-dir', out]);
  expect(many.status, many.stderr.toString()).toBe(0);
  expect(operations().slice(made.length + 1)).toEqual(['GenerateDataKey', 'GenerateDataKey']);
  // The messages name the key's ARN (not the alias) and decrypt; the audit chain verifies.
  const dec = run(['decrypt'], second.stdout);
  expect(dec.stdout.toString()).toBe('second');
  expect(run(['decrypt', join(out, 'a.txt.sbx')]).stdout.toString()).toBe('a');
  expect(second.stdout.includes(Buffer.from(':key/'))).toBe(true);
  expect(second.stdout.includes(Buffer.from('alias/'))).toBe(false);
  expect(run(['audit', 'verify']).status).toBe(0);
});

it('a command that would leave a write-ahead log past 256 KiB closes the store instead (checkpoint), so that no later command reads a long log at start', () => {
  // Each process that opens the store alone reads the whole log; without the bound it grew by
  // every command (SQLite's own checkpoints cannot start it over across processes).
  const kmsHome = join(dir, 'wal-bound-home');
  const wal = join(kmsHome, 'kms.sqlite-wal');
  const size = (): number => (existsSync(wal) ? statSync(wal).size : 0);
  const run = (args: string[], input?: Buffer | string, cwd = dir) => spawnSync(process.execPath, [CLI, ...args], { input, cwd, env: cliEnv(kmsHome) });
  expect(run(['encrypt'], 'first').status).toBe(0);
  const inputs = join(dir, 'wal-bound-in');
  const out = join(dir, 'wal-bound-out');
  mkdirSync(inputs);
  mkdirSync(out);
  const names = Array.from({ length: 600 }, (_, i) => `f${i}`);
  for (const name of names) writeFileSync(join(inputs, name), name);
  // 600 GenerateDataKey rows in one command: more log than the bound.
  const many = run(['encrypt', ...names, '--output-dir', out], undefined, inputs);
  expect(many.status, many.stderr.toString()).toBe(0);
  expect(size()).toBeLessThanOrEqual(MAX_LOCAL_KMS_WAL_LEFT_BYTES);
  for (const text of ['a', 'b']) {
    const r = run(['encrypt'], text);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(size()).toBeGreaterThan(0);
    expect(size()).toBeLessThanOrEqual(MAX_LOCAL_KMS_WAL_LEFT_BYTES);
  }
  expect(run(['decrypt', join(out, 'f599.sbx')]).stdout.toString()).toBe('f599');
  expect(run(['audit', 'verify']).status).toBe(0);
});
