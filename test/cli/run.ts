import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { CLI, ensureBuilt } from './build.js';

/** What a run of the CLI left. */
export interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** The environment of a CLI run: its own SEALBOX_HOME, no secrets from the caller's shell. */
export function cliEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SEALBOX_HOME: home, ...extra };
  delete env.SEALBOX_ROOT_KEY;
  delete env.SEALBOX_PASSPHRASE;
  return env;
}

/** Spawns the built CLI as a user would, with its own SEALBOX_HOME. */
export function sealbox(home: string, args: string[], input?: Buffer | string, options: { cwd?: string; uid?: number; gid?: number; timeout?: number } = {}): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, env: cliEnv(home), maxBuffer: 64 * 1024 * 1024, ...options });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `sealbox-cli-${prefix}-`));
}

/** A shell word. */
export const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The CLI as a shell command. */
export const CLI_COMMAND = `${q(process.execPath)} ${q(CLI)}`;

/** True when util-linux `script` is there to give a command a pseudo-terminal. */
export const HAS_SCRIPT = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/** What a terminal showed: stdout and stderr of the command, mixed, as the pty saw them. */
export interface TerminalRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  screen: string;
}

/**
 * Runs a shell command line on a pseudo-terminal (util-linux `script`), as a person at a
 * terminal would: stdin, stdout and stderr of the command are the terminal unless the command
 * line redirects them. `typed` is sent to the terminal as keystrokes; stdin of `script` then
 * stays open (no end of file) unless `eof` is set, so a command that waits for more input
 * runs until `timeoutMs` and is killed (signal SIGKILL in the result). `interruptWhen`: once
 * the screen matches it, Ctrl-C is typed (the terminal sends SIGINT to the command).
 */
export function onTerminal(
  command: string,
  options: { env?: NodeJS.ProcessEnv; typed?: string; eof?: boolean; timeoutMs?: number; cwd?: string; interruptWhen?: RegExp } = {},
): Promise<TerminalRun> {
  return new Promise((resolve, reject) => {
    // `script -e` returns the command's status; -q: no "Script started" lines; /dev/null: no log file.
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: options.env ?? process.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let screen = '';
    let interrupted = false;
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, options.timeoutMs ?? 15_000);
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      if (options.interruptWhen && !interrupted && options.interruptWhen.test(screen)) {
        interrupted = true;
        child.stdin.write('\x03');
      }
    });
    child.stderr.on('data', (d: Buffer) => (screen += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, screen });
    });
    if (options.typed) child.stdin.write(options.typed);
    if (options.eof) child.stdin.end();
  });
}

/**
 * A test file's scratch directory with a CLI home and a raw AES key file, made (and the CLI
 * built) before its tests and removed after them. `K` is the `--key` value naming the key.
 */
export function rawKeyFixture(prefix: string, keyName = 'k.key'): { dir: string; home: string; key: string; K: string } {
  const dir = tmp(prefix);
  const key = join(dir, keyName);
  beforeAll(() => {
    ensureBuilt();
    writeFileSync(key, randomBytes(32));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, home: join(dir, 'home'), key, K: `file:${key}` };
}
