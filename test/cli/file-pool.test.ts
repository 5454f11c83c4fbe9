import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from './build.js';
import { cliEnv, tmp } from './run.js';

beforeAll(() => ensureBuilt(), 120_000);

// The frame workers (src/node/frame-pool.ts) from the built package: dist/node/index.js (ESM)
// and the CLI's single CommonJS file. The worker code is a string run with `eval`, so no
// worker file has to be found next to either; these tests fail if the workers cannot start.

const dir = tmp('file-pool');
const plaintext = randomBytes(9 * 1024 * 1024 + 5);
writeFileSync(join(dir, 'big.bin'), plaintext);

describe('frame workers in the built package', () => {
  it('dist/node: encryptFile / decryptFile with concurrency 2 equal concurrency 1', () => {
    const script = `
      import { encryptFile, decryptFile } from ${JSON.stringify(join(process.cwd(), 'dist/node/index.js'))};
      import { RawAesKeyring } from ${JSON.stringify(join(process.cwd(), 'dist/index.js'))};
      const keyring = new RawAesKeyring({ namespace: 'n', name: 'k', wrappingKey: new Uint8Array(32).fill(3) });
      const d = ${JSON.stringify(dir)};
      await encryptFile(d + '/big.bin', d + '/pool.sbx', { keyring, concurrency: 2 });
      await decryptFile(d + '/pool.sbx', d + '/pool.out', { keyring, concurrency: 2 });
      await decryptFile(d + '/pool.sbx', d + '/one.out', { keyring, concurrency: 1 });
    `;
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: 'pipe' });
    expect(readFileSync(join(dir, 'pool.out')).equals(plaintext)).toBe(true);
    expect(readFileSync(join(dir, 'one.out')).equals(plaintext)).toBe(true);
  });

  it('the CLI (dist/cli/main.cjs) seals and opens a 9 MiB file on worker threads with --threads 2, on none by default', () => {
    // A count of the frame workers the CLI starts, and many idle cores as far as it can tell.
    const preload = join(dir, 'preload.cjs');
    writeFileSync(preload, `
      const os = require('node:os');
      os.availableParallelism = () => 16;
      os.loadavg = () => [0, 0, 0];
      const wt = require('node:worker_threads');
      const Real = wt.Worker;
      let frames = 0;
      wt.Worker = class extends Real { constructor(src, opts) { if (String(src).includes('aes-256-gcm')) frames++; super(src, opts); } };
      process.on('exit', () => process.stderr.write('frame workers: ' + frames + '\\n'));
    `);
    const key = join(dir, 'raw.key');
    writeFileSync(key, randomBytes(32));
    const spawnCli = (args: string[]) => spawnSync(process.execPath, ['--require', preload, CLI, ...args, '--key', `file:${key}`], { env: cliEnv(join(dir, 'home')) });
    const run = (args: string[]): string => {
      const r = spawnCli(args);
      expect(r.status, r.stderr.toString()).toBe(0);
      return r.stderr.toString();
    };
    expect(run(['encrypt', join(dir, 'big.bin'), '-o', join(dir, 'cli.sbx'), '--threads', '2'])).toMatch(/frame workers: 1/);
    expect(run(['decrypt', join(dir, 'cli.sbx'), '-o', join(dir, 'cli.out'), '--threads', '2'])).toMatch(/frame workers: 1/);
    expect(readFileSync(join(dir, 'cli.out')).equals(plaintext)).toBe(true);
    expect(run(['encrypt', join(dir, 'big.bin'), '-o', join(dir, 'cli1.sbx')])).toMatch(/frame workers: 0/);
    expect(run(['decrypt', join(dir, 'cli1.sbx'), '-o', join(dir, 'cli1.out')])).toMatch(/frame workers: 0/);
    expect(readFileSync(join(dir, 'cli1.out')).equals(plaintext)).toBe(true);
    for (const bad of ['0', '65', '1.5', 'two']) {
      const r = spawnCli(['encrypt', join(dir, 'big.bin'), '-o', join(dir, 'bad.sbx'), '--threads', bad]);
      expect(r.status, bad).toBe(1);
      expect(r.stderr.toString(), bad).toMatch(/--threads.*\(ERR_USAGE\)/);
      expect(existsSync(join(dir, 'bad.sbx')), bad).toBe(false);
    }
  });
});

describe.skipIf(process.platform === 'win32')('Ctrl-C while frame workers are busy (--threads 2)', () => {
  /** A sparse file: long to encrypt, no disk space to read. */
  const sparse = (path: string, bytes: number): string => {
    const fd = openSync(path, 'w');
    ftruncateSync(fd, bytes);
    closeSync(fd);
    return path;
  };

  it('encrypt and decrypt -o FILE: exit 130, neither the output nor its temporary file left', async () => {
    const key = join(dir, 'int.key');
    writeFileSync(key, randomBytes(32));
    const env = cliEnv(join(dir, 'home-int'));
    const message = join(dir, 'int-message.sbx');
    const made = spawnSync(process.execPath, [CLI, 'encrypt', sparse(join(dir, 'int-300m'), 300 * 1024 * 1024), '-o', message, '--key', `file:${key}`], { env });
    expect(made.status, made.stderr.toString()).toBe(0);
    for (const args of [
      ['encrypt', sparse(join(dir, 'int-2g'), 2 * 1024 * 1024 * 1024)],
      ['decrypt', message],
    ]) {
      const out = join(dir, `int-out-${args[0]}`);
      mkdirSync(out);
      const child = spawn(process.execPath, [CLI, ...args, '-o', join(out, 'result'), '--threads', '2', '--key', `file:${key}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
      let exited = false;
      void closed.then(() => (exited = true));
      // The moment the temporary output appears the command is stopped, sent SIGINT, and let go
      // on: the signal arrives while the workers are sealing or opening frames.
      while (!exited && !readdirSync(out).some((f) => f.endsWith('.sealbox-tmp'))) await new Promise((r) => setTimeout(r, 2));
      expect(exited, `${args[0]} ended before its temporary file appeared: ${stderr}`).toBe(false);
      child.kill('SIGSTOP');
      child.kill('SIGINT');
      child.kill('SIGCONT');
      expect(await closed, `${args[0]}: ${stderr}`).toEqual({ code: 130, signal: null });
      expect(readdirSync(out), args[0]).toEqual([]);
    }
    // The 300 MiB message takes disk space.
    for (const name of ['int-message.sbx', 'int-300m', 'int-2g']) rmSync(join(dir, name), { force: true });
  }, 90_000);
});
