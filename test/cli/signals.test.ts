import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, ftruncateSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from './build.js';
import { cliEnv, sealbox, tmp } from './run.js';

// SIGTERM, SIGHUP or a second Ctrl-C while `--output-dir` or `rewrap` writes files: the
// temporary files of the run are removed (for decrypt they hold unverified plaintext) and the
// exit status is 128 + the signal (docs/cli.md). -o FILE: test/cli/progress.test.ts.

const dir = tmp('signals');
const home = join(dir, 'home');
const K = `file:${join(dir, 'k.key')}`;
const K2 = `file:${join(dir, 'k2.key')}`;
/** A sparse file: long to encrypt, no disk space to read. */
function sparse(path: string, bytes: number): string {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, bytes);
  closeSync(fd);
  return path;
}
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** A real message of 300 MiB (its frames take disk space; decrypt and rewrap take a fraction of a second). */
let message: string;

beforeAll(() => {
  ensureBuilt();
  writeFileSync(join(dir, 'k.key'), randomBytes(32));
  writeFileSync(join(dir, 'k2.key'), randomBytes(32));
  message = join(dir, 'm.sbx');
  const r = sealbox(home, ['encrypt', sparse(join(dir, 'm.bin'), 300 * MiB), '-o', message, '--key', K]);
  expect(r.code, r.stderr).toBe(0);
  rmSync(join(dir, 'm.bin'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const temporaryFiles = (d: string): string[] => readdirSync(d).filter((f) => f.endsWith('.sealbox-tmp'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the CLI and, the moment a temporary file appears in `watch`, stops it (SIGSTOP), queues
 * `signal` and lets it go on (SIGCONT): the signal arrives while that file is being written
 * however fast the machine. `then`: more to do (a second Ctrl-C) once stderr matches `when`.
 */
async function signalWhileWriting(args: string[], watch: string, signal: NodeJS.Signals, then?: { when: RegExp; signal: NodeJS.Signals }): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(home), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let exited = false;
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, sig) => ((exited = true), resolve({ code, signal: sig }))));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  while (!exited && temporaryFiles(watch).length === 0) await sleep(2);
  expect(exited, `the command ended before a temporary file appeared: ${stderr}`).toBe(false);
  child.kill('SIGSTOP');
  child.kill(signal);
  child.kill('SIGCONT');
  if (then) {
    while (!exited && !then.when.test(stderr)) await sleep(5);
    expect(temporaryFiles(watch).length, 'the first Ctrl-C lets the files in progress finish').toBeGreaterThan(0);
    child.kill(then.signal);
  }
  const { code, signal: sig } = await closed;
  return { code, signal: sig, stderr };
}

describe.skipIf(process.platform === 'win32')('signals while many files are written', () => {
  it('encrypt --output-dir: SIGTERM removes the temporary files in progress, exit 143', async () => {
    const inputs = join(dir, 'in-term');
    const out = join(dir, 'out-term');
    mkdirSync(inputs);
    mkdirSync(out);
    const files = [1, 2, 3].map((i) => sparse(join(inputs, `f${i}`), 2 * GiB));
    const r = await signalWhileWriting(['encrypt', ...files, '-d', out, '--key', K], out, 'SIGTERM');
    expect(r, r.stderr).toMatchObject({ code: 143, signal: null });
    expect(readdirSync(out)).toEqual([]);
  }, 60_000);

  it('encrypt --output-dir: the first Ctrl-C lets files finish; a second one removes their temporary files, exit 130', async () => {
    const inputs = join(dir, 'in-int');
    const out = join(dir, 'out-int');
    mkdirSync(inputs);
    mkdirSync(out);
    const files = [1, 2].map((i) => sparse(join(inputs, `f${i}`), 4 * GiB));
    const r = await signalWhileWriting(['encrypt', ...files, '-d', out, '--key', K], out, 'SIGINT', { when: /interrupted; finishing the files in progress/, signal: 'SIGINT' });
    expect(r, r.stderr).toMatchObject({ code: 130, signal: null });
    expect(readdirSync(out)).toEqual([]);
  }, 60_000);

  it('decrypt --output-dir: SIGHUP leaves no partial plaintext, exit 129', async () => {
    const out = join(dir, 'out-hup');
    mkdirSync(out);
    const r = await signalWhileWriting(['decrypt', message, '-d', out, '--key', K], out, 'SIGHUP');
    expect(r, r.stderr).toMatchObject({ code: 129, signal: null });
    expect(readdirSync(out)).toEqual([]);
  }, 60_000);

  it('rewrap (a new file renamed over the old): SIGTERM removes its temporary file and leaves the message as it was, exit 143', async () => {
    const rw = join(dir, 'rw');
    mkdirSync(rw);
    const file = join(rw, 'm.sbx');
    copyFileSync(message, file);
    const before = statSync(file);
    // Suite 1 to suite 3 adds the header salt: a new file, not a header rewritten in place.
    const r = await signalWhileWriting(['rewrap', file, '--key', K2, '--unwrap-key', K], rw, 'SIGTERM');
    expect(r, r.stderr).toMatchObject({ code: 143, signal: null });
    expect(readdirSync(rw)).toEqual(['m.sbx']);
    expect(statSync(file).ino).toBe(before.ino);
    expect(sealbox(home, ['inspect', file]).stdout.toString()).toMatch(/raw-key-file/);
    expect(sealbox(home, ['decrypt', file, '--key', K2]).code).toBe(3);
  }, 60_000);
});
