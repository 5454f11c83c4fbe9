import { beforeAll, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ensureBuilt } from './build.js';
import { cliEnv, tmp } from './run.js';
import * as kmsCommands from '../../src/cli/kms.js';

beforeAll(() => ensureBuilt(), 120_000);

// A port that is not plainly a number 0-65535 is refused before anything listens or the key store
// is created: "0x1f" is not port 31, nor "" port 0 (a random one), nor "1e3" port 1000.
it('kms serve --port takes a whole number 0-65535 and nothing else (exit 1, nothing created)', () => {
  const home = join(tmp('serve-port'), 'home');
  for (const port of ['0x1f', '', '1e3', ' 80', '65536', '-1']) {
    // A command that wrongly starts serving is stopped by the timeout (status null).
    const r = spawnSync(process.execPath, [CLI, 'kms', 'serve', `--port=${port}`], { env: cliEnv(home), timeout: 5_000 });
    expect(r.stderr.toString(), JSON.stringify(port)).toBe(`sealbox: --port expects a whole number from 0 to 65535, got "${port}" (ERR_USAGE)\n`);
    expect(r.status).toBe(1);
    expect(r.stdout.toString()).toBe('');
  }
  expect(existsSync(home)).toBe(false);
}, 60_000);

// A signal as soon as the URL is printed (a script that starts the server, uses it and stops
// it) finds the handlers in place: a clean stop, exit 0, the write-ahead log checkpointed away.
it('kms serve stopped by SIGINT, SIGTERM or SIGHUP the moment it prints its URL: exit 0, database closed', async () => {
  const home = join(tmp('serve-signal'), 'home');
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGINT', 'SIGINT', 'SIGTERM'] as const) {
    const child = spawn(process.execPath, [CLI, 'kms', 'serve'], { env: cliEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, sig) => resolve([code, sig])));
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => {
        child.kill(signal);
        resolve();
      });
      child.once('exit', (code) => reject(new Error(`kms serve exited with ${code}: ${stderr}`)));
    });
    expect(await exited, signal).toEqual([0, null]);
    expect(existsSync(join(home, 'kms.sqlite-wal')), signal).toBe(false);
  }
}, 60_000);

// Off loopback, the endpoint (no TLS) sends data keys and plaintext over the network in clear:
// `serve` warns. Tests never listen off loopback, so the decision is tested on addresses, and
// the command on 127.0.0.1, where it must not warn.
it('kms serve warns when it listens where other machines reach it, and only then', async () => {
  const { isLoopbackAddress } = kmsCommands as { isLoopbackAddress?: (address: string) => boolean };
  expect(typeof isLoopbackAddress).toBe('function');
  for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress!(address), address).toBe(true);
  for (const address of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', '::ffff:192.168.1.10', 'fe80::1', '128.0.0.1', '1127.0.0.1']) expect(isLoopbackAddress!(address), address).toBe(false);

  const child = spawn(process.execPath, [CLI, 'kms', 'serve'], { env: cliEnv(join(tmp('serve-loopback'), 'home')), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`kms serve exited with ${code}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(stderr).toMatch(/^sealbox: local KMS \(.*\) listening on http:\/\/127\.0\.0\.1:\d+, .*Ctrl-C stops it\n$/);
  expect(stderr).not.toContain('warning');
}, 60_000);

// Every command's --help, found by walking the "Commands:" lists: no option shows its default twice,
// once in its own words and once as commander's "(default: ...)" (kms serve --port and --host did).
it('no --help line gives an option\'s default twice', () => {
  const home = join(tmp('help-defaults'), 'home');
  const seen: string[] = [];
  const walk = (command: string[]): void => {
    const help = spawnSync(process.execPath, [CLI, ...command, '--help'], { env: cliEnv(home) }).stdout.toString();
    seen.push(command.join(' '));
    // Wrapped descriptions: an option's text runs on to the next line.
    expect(help.replace(/\n\s+/g, ' '), command.join(' ')).not.toMatch(/\(default [^)]*\)\s*\(default: /);
    const list = help.split(/\nCommands:\n/)[1]?.split(/\n\n/)[0] ?? '';
    for (const name of list.split('\n').map((l) => /^ {2}([a-z-]+)/.exec(l)?.[1]).filter((n): n is string => n !== undefined && n !== 'help')) walk([...command, name]);
  };
  walk([]);
  expect(seen).toContain('kms serve');
  expect(existsSync(home)).toBe(false);
}, 120_000);
