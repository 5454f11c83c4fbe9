import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureBuilt } from './build.js';

// The `sealbox` bin (dist/cli/bin.js) turns on Node's module compile cache where Node has it
// (22.1+) and runs the CLI unchanged where it does not (20). CI runs this file on 20, 22 and 24.

const BIN = join(process.cwd(), 'dist', 'cli', 'bin.js');
const hasCompileCache = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';
const scratch = mkdtempSync(join(tmpdir(), 'sealbox-bin-'));

beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(args: string[], input: Buffer | string, tmp: string): { status: number | null; stdout: Buffer; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, SEALBOX_HOME: join(scratch, 'home') };
  delete env.NODE_COMPILE_CACHE;
  delete env.NODE_DISABLE_COMPILE_CACHE;
  const r = spawnSync(process.execPath, [BIN, ...args], { input, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

it(`runs the main job (Node ${process.versions.node}), with the compile cache ${hasCompileCache ? 'written' : 'absent'}`, () => {
  const tmp = mkdtempSync(join(scratch, 'tmp-'));
  const enc = run(['encrypt'], 'hello', tmp);
  expect(enc.status, enc.stderr).toBe(0);
  const dec = run(['decrypt'], enc.stdout, tmp);
  expect(dec.status, dec.stderr).toBe(0);
  expect(dec.stdout.toString()).toBe('hello');
  const cache = join(tmp, 'node-compile-cache');
  if (hasCompileCache) {
    expect(existsSync(cache)).toBe(true);
    expect(readdirSync(cache, { recursive: true }).length).toBeGreaterThan(0);
  } else {
    expect(existsSync(cache)).toBe(false);
  }
}, 60_000);

it('a second start with a warm cache gives the same output', () => {
  const tmp = mkdtempSync(join(scratch, 'tmp-'));
  const first = run(['--help'], '', tmp);
  const second = run(['--help'], '', tmp);
  expect(first.status).toBe(0);
  expect(second.stdout.toString()).toBe(first.stdout.toString());
  expect(second.stderr).toBe('');
});
