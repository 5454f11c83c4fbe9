import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './build.js';

// The `sealbox` bin (dist/cli/bin.cjs) turns on Node's module compile cache where Node has it
// (22.1+) and keeps its own (src/cli/compile-cache.ts) where it does not (20). CI runs this file
// on 20, 22 and 24.

const BIN = join(process.cwd(), 'dist', 'cli', 'bin.cjs');
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

it(`runs the main job (Node ${process.versions.node}), with ${hasCompileCache ? "Node's" : "Sealbox's own"} compile cache`, () => {
  const tmp = mkdtempSync(join(scratch, 'tmp-'));
  const enc = run(['encrypt'], 'hello', tmp);
  expect(enc.status, enc.stderr).toBe(0);
  const dec = run(['decrypt'], enc.stdout, tmp);
  expect(dec.status, dec.stderr).toBe(0);
  expect(dec.stdout.toString()).toBe('hello');
  const nodeCache = join(tmp, 'node-compile-cache');
  const ownCache = join(tmp, `sealbox-compile-cache-${process.getuid!()}`);
  const [used, unused] = hasCompileCache ? [nodeCache, ownCache] : [ownCache, nodeCache];
  expect(existsSync(used)).toBe(true);
  expect(readdirSync(used, { recursive: true }).length).toBeGreaterThan(0);
  expect(existsSync(unused)).toBe(false);
  if (!hasCompileCache) {
    // Private: the directory 0700, each entry 0600.
    expect(statSync(ownCache).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(ownCache)) expect(statSync(join(ownCache, name)).mode & 0o777).toBe(0o600);
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

// A Node that may one day drop the flag cannot play the part.
const canTurnOffRequireEsm = spawnSync(process.execPath, ['--no-experimental-require-module', '-e', '0']).status === 0;

it.runIf(canTurnOffRequireEsm)('a Node whose require() cannot load ES modules gets one clear line before anything runs (Node 22.0-22.11 by default)', () => {
  // The CLI require()s @noble/* and @scure/base. On Node 22.11 `sealbox keygen` failed half-way
  // with "require() of ES Module .../@scure/base/index.js ... not supported".
  const tmp = mkdtempSync(join(scratch, 'tmp-'));
  const home = join(tmp, 'home');
  const r = spawnSync(process.execPath, ['--no-experimental-require-module', BIN, 'keys', 'list'], { env: { ...process.env, TMPDIR: tmp, SEALBOX_HOME: home } });
  expect(r.status).toBe(1);
  expect(r.stdout.toString()).toBe('');
  expect(r.stderr.toString()).toBe(`sealbox: Node.js ${process.version} cannot require() ES modules, which sealbox needs: use Node.js 20.19 or later 20.x, or 22.12 or later (ERR_REQUIRE_ESM)\n`);
  expect(existsSync(home)).toBe(false);
});

describe.runIf(!hasCompileCache && process.getuid)('the Node 20 compile cache (src/cli/compile-cache.ts)', () => {
  const ownCache = (tmp: string): string => join(tmp, `sealbox-compile-cache-${process.getuid!()}`);

  it('is not used when others can write its directory: nothing is read from it or written to it', () => {
    const tmp = mkdtempSync(join(scratch, 'tmp-'));
    const dir = ownCache(tmp);
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const r = run(['--help'], '', tmp);
    expect(r.status).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('is not used through a symbolic link, even to a directory of this user: nothing is written there', () => {
    const tmp = mkdtempSync(join(scratch, 'tmp-'));
    const mine = mkdtempSync(join(scratch, 'mine-'));
    chmodSync(mine, 0o700);
    symlinkSync(mine, ownCache(tmp));
    const r = run(['--help'], '', tmp);
    expect(r.status).toBe(0);
    expect(readdirSync(mine)).toEqual([]);
  });

  it('an entry others can write, or one V8 rejects, is not used; the command still runs', () => {
    const tmp = mkdtempSync(join(scratch, 'tmp-'));
    const first = run(['--help'], '', tmp);
    const [entry] = readdirSync(ownCache(tmp));
    expect(entry).toBeDefined();
    const path = join(ownCache(tmp), entry!);
    // Garbage in place of the entry: V8 rejects it and the entry is written anew.
    writeFileSync(path, Buffer.alloc(4096, 7), { mode: 0o600 });
    const second = run(['--help'], '', tmp);
    expect(second.status).toBe(0);
    expect(second.stdout.toString()).toBe(first.stdout.toString());
    expect(statSync(path).size).not.toBe(4096);
    // A good entry that others can write is not used: it is written anew (0600), whereas a
    // good entry in use is left as it is.
    const good = statSync(path).mtimeMs;
    run(['--help'], '', tmp);
    expect(statSync(path).mtimeMs).toBe(good);
    chmodSync(path, 0o666);
    const third = run(['--help'], '', tmp);
    expect(third.status).toBe(0);
    expect(third.stdout.toString()).toBe(first.stdout.toString());
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('keeps an entry per kind of command line: a local KMS encrypt after a raw-key encrypt gets its own, written once', () => {
    // An entry holds the functions compiled by the run that wrote it. With one entry for all,
    // the raw-key encrypt that ran first left the local KMS path to be compiled on every start.
    const tmp = mkdtempSync(join(scratch, 'tmp-'));
    const key = join(tmp, 'raw.key');
    writeFileSync(key, Buffer.alloc(32, 1));
    expect(run(['encrypt', '--key', `file:${key}`], 'hello', tmp).status).toBe(0);
    const afterRaw = readdirSync(ownCache(tmp));
    expect(afterRaw).toHaveLength(1);
    expect(run(['encrypt'], 'hello', tmp).status).toBe(0);
    const afterLocal = readdirSync(ownCache(tmp));
    expect(afterLocal).toHaveLength(2);
    const [local] = afterLocal.filter((name) => !afterRaw.includes(name));
    const path = join(ownCache(tmp), local!);
    const written = statSync(path).mtimeMs;
    // The same kinds again, in either spelling of --key: no new entry, none rewritten.
    expect(run(['encrypt'], 'again', tmp).status).toBe(0);
    expect(run(['encrypt', `--key=file:${key}`], 'again', tmp).status).toBe(0);
    expect(readdirSync(ownCache(tmp)).sort()).toEqual([...afterLocal].sort());
    expect(statSync(path).mtimeMs).toBe(written);
  });

  it("deletes other builds' entries and dead writers' temporary files a day after they were written, nothing else", () => {
    const tmp = mkdtempSync(join(scratch, 'tmp-'));
    const dir = ownCache(tmp);
    expect(run(['--help'], '', tmp).status).toBe(0);
    const [current] = readdirSync(dir);
    const key = current!.slice(0, 32);
    const other = 'ab'.repeat(16);
    const dayAndMore = (Date.now() - 25 * 60 * 60 * 1000) / 1000;
    const files = {
      staleOther: `${other}-encrypt-default.v8`,
      staleOlderName: `${other}.v8`,
      staleTmp: `${key}-keys-default.v8.4242.tmp`,
      freshOther: `${other}-decrypt-file.v8`,
      oldCurrent: `${key}-encrypt-file.v8`,
      unrelated: 'notes.txt',
      unrelatedLike: `${other}-encrypt-default.v8.bak`,
    };
    for (const [label, name] of Object.entries(files)) {
      writeFileSync(join(dir, name), 'x', { mode: 0o600 });
      if (label !== 'freshOther') utimesSync(join(dir, name), dayAndMore, dayAndMore);
    }
    utimesSync(join(dir, current!), dayAndMore, dayAndMore);
    mkdirSync(join(dir, `${other}-dir-default.v8`));
    utimesSync(join(dir, `${other}-dir-default.v8`), dayAndMore, dayAndMore);
    // Reading entries deletes nothing; writing one (a command kind not seen yet) prunes.
    expect(run(['--help'], '', tmp).status).toBe(0);
    expect(readdirSync(dir)).toHaveLength(Object.keys(files).length + 2);
    expect(run(['keys', 'list'], '', tmp).status).toBe(0);
    const left = new Set(readdirSync(dir));
    for (const name of [files.staleOther, files.staleOlderName, files.staleTmp]) expect(left.has(name), name).toBe(false);
    for (const name of [current!, files.freshOther, files.oldCurrent, files.unrelated, files.unrelatedLike, `${other}-dir-default.v8`, `${key}-keys-default.v8`]) {
      expect(left.has(name), name).toBe(true);
    }
  });

  it("another install of the same build does not take the first one's entry: stack traces name its own files", () => {
    // Node 20's V8 keeps the file name an entry was compiled under. With entries keyed by the
    // contents alone, a second project's `sealbox` ran the first project's entry, and its stack
    // traces (and better-sqlite3's `bindings` search for its addon, which reads them) named the
    // first project's dist/cli/main.cjs.
    const tmp = mkdtempSync(join(scratch, 'tmp-'));
    const main = 'process.stdout.write(new Error().stack.split("\\n")[1].trim());\n';
    const installs = ['a', 'b'].map((name) => {
      const dir = join(tmp, name, 'dist', 'cli');
      mkdirSync(dir, { recursive: true });
      copyFileSync(BIN, join(dir, 'bin.cjs'));
      writeFileSync(join(dir, 'main.cjs'), main);
      return dir;
    });
    for (const dir of [...installs, ...installs]) {
      const r = spawnSync(process.execPath, [join(dir, 'bin.cjs')], { env: { ...process.env, TMPDIR: tmp } });
      expect(r.status, r.stderr.toString()).toBe(0);
      expect(r.stdout.toString()).toContain(`(${join(dir, 'main.cjs')}:1:`);
    }
    expect(readdirSync(ownCache(tmp))).toHaveLength(2);
  });

  it('NODE_DISABLE_COMPILE_CACHE turns it off', () => {
    const tmp = mkdtempSync(join(scratch, 'tmp-'));
    const r = spawnSync(process.execPath, [BIN, '--help'], { env: { ...process.env, TMPDIR: tmp, NODE_DISABLE_COMPILE_CACHE: '1' } });
    expect(r.status).toBe(0);
    expect(existsSync(ownCache(tmp))).toBe(false);
  });
});

describe('the main job, `sealbox encrypt | sealbox decrypt`, on a machine with no key store', () => {
  it('decrypt waits for its input before it looks for the store that encrypt is creating', async () => {
    // Both commands of the pipe start at once: decrypt must not decide "no key store" before
    // the message arrives. Here decrypt starts, and only after it has had time to give up does
    // encrypt create the store; decrypt then gets the message.
    const home = mkdtempSync(join(scratch, 'home-race-'));
    const env: NodeJS.ProcessEnv = { ...process.env, SEALBOX_HOME: home };
    const decrypting = spawn(process.execPath, [BIN, 'decrypt'], { env });
    const stdout: Buffer[] = [];
    let stderr = '';
    decrypting.stdout.on('data', (b: Buffer) => stdout.push(b));
    decrypting.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => decrypting.on('close', resolve));
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000))]);
    expect(existsSync(join(home, 'kms.sqlite'))).toBe(false);
    const enc = spawnSync(process.execPath, [BIN, 'encrypt'], { input: 'hello', env });
    expect(enc.status, enc.stderr.toString()).toBe(0);
    decrypting.stdin.on('error', () => {});
    decrypting.stdin.end(enc.stdout);
    expect(await exited, stderr).toBe(0);
    expect(Buffer.concat(stdout).toString()).toBe('hello');
  }, 60_000);
});

describe('dist/cli/bin.js, the bin path before 0.1 (tsup.config.ts)', () => {
  it('still runs the CLI, as npx caches made before the rename link to it', () => {
    // npx links a clone's bin once into its cache and never relinks it: `.bin/sealbox` there
    // points at ../sealbox/dist/cli/bin.js and is run through the shell, by its #! line.
    const dir = mkdtempSync(join(scratch, 'npx-'));
    mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(process.cwd(), join(dir, 'node_modules', 'sealbox'));
    symlinkSync('../sealbox/dist/cli/bin.js', join(dir, 'node_modules', '.bin', 'sealbox'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SEALBOX_HOME: mkdtempSync(join(scratch, 'home-legacy-')),
      PATH: `${join(dir, 'node_modules', '.bin')}:${process.env.PATH}`,
    };
    const r = spawnSync('sh', ['-c', 'echo hello | sealbox encrypt | sealbox decrypt'], { env });
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(r.stdout.toString()).toBe('hello\n');
  }, 60_000);
});
