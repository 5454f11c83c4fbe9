// CLI rows of `npm run bench` (called by bench/run.mjs, same run, same table), and on its own:
// `node bench/cli.mjs` (after `npm run build`) prints just these rows.
//
// Many files: 1,000 files of 1 KiB encrypted by one `sealbox encrypt FILE... --output-dir DIR`
// (with a raw key file, and with the default local KMS key) against a shell loop of `age -r`
// over the same files (Debian's age, when it is installed: `apt-get install age`; without it,
// against a loop of one `sealbox encrypt` per file), in interleaved rounds, medians (the
// target is 10x, issue #17). The load average at the start and end of each part is in its title.
//
// Start-up: `echo hi | sealbox encrypt --key file:<raw key>` and the same with the default
// local KMS key, against `node -e 0` (what any Node program pays to start), as the median wall
// time of interleaved runs (each round runs every command once, so a busy moment of a shared
// machine hits them all alike); the minimum is shown too. BENCH_CLI_STARTUP_ONLY=1 runs only
// these rows (`BENCH_CLI_STARTUP_ONLY=1 node bench/cli.mjs`); BENCH_STARTUP_RUNS sets the rounds.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { settle } from './settle.mjs';
import { runAlone } from './standalone.mjs';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Wall time of one run, in ms; throws if the command fails. */
function timed(argv, { input, env, cwd }) {
  const started = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { input, env, cwd, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

/**
 * @param {{ root: string, dir: string, add: Function, log: (line: string) => void }} ctx
 */
export function benchCli({ root, dir, add, log }) {
  const bin = join(root, 'dist', 'cli', 'bin.cjs');
  const work = join(dir, 'cli');
  mkdirSync(work, { recursive: true });
  const env = { ...process.env, SEALBOX_HOME: join(work, 'home') };
  delete env.NODE_COMPILE_CACHE;
  delete env.NODE_DISABLE_COMPILE_CACHE;
  const rawKey = join(work, 'raw.key');
  writeFileSync(rawKey, randomBytes(32));

  const loadBefore = loadavg()[0].toFixed(1);
  log('CLI start-up ...');
  const rounds = Number(process.env.BENCH_STARTUP_RUNS ?? 40);
  const commands = {
    node: [process.execPath, '-e', '0'],
    raw: [process.execPath, bin, 'encrypt', '--key', `file:${rawKey}`],
    local: [process.execPath, bin, 'encrypt'],
  };
  // Warm-up: creates the local key store and the compile cache, as a user's first run does.
  for (let i = 0; i < 3; i++) for (const argv of Object.values(commands)) timed(argv, { input: 'hi\n', env, cwd: work });
  const times = { node: [], raw: [], local: [] };
  for (let i = 0; i < rounds; i++) for (const [name, argv] of Object.entries(commands)) times[name].push(timed(argv, { input: 'hi\n', env, cwd: work }));
  const g = `CLI start-up (median wall time of ${rounds} interleaved rounds; load ${loadBefore} -> ${loadavg()[0].toFixed(1)})`;
  const base = median(times.node);
  const minBase = Math.min(...times.node);
  add(g, `node -e 0 (baseline; min ${minBase.toFixed(0)} ms)`, base, 'ms');
  for (const [name, label] of [['raw', 'echo hi | sealbox encrypt --key file:<raw key>'], ['local', 'echo hi | sealbox encrypt (default local KMS key)']]) {
    const m = median(times[name]);
    add(g, `${label} (min ${Math.min(...times[name]).toFixed(0)} ms)`, m, 'ms', null, [['node -e 0', m / base, 1.5, null, '<=']]);
  }

  if (process.env.BENCH_CLI_STARTUP_ONLY === '1') return;
  const count = Number(process.env.BENCH_MANY_FILES ?? 1000);
  log(`CLI, ${count} files of 1 KiB ...`);
  const files = join(work, 'files');
  mkdirSync(files);
  const names = Array.from({ length: count }, (_, i) => `f${String(i).padStart(5, '0')}.bin`);
  for (const name of names) writeFileSync(join(files, name), randomBytes(1024));
  const loadMany = loadavg()[0].toFixed(1);
  const hasAge = spawnSync('age', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('age-keygen', ['--help'], { stdio: 'ignore' }).error === undefined;
  const reps = Number(process.env.BENCH_MANY_REPS ?? 3);
  // Every run writes into a new empty directory, after `sync` (so no run pays for the previous
  // one's writeback), and no run deletes anything: the directories go after the last round.
  // Deleting the previous run's 1,000 outputs first made the next run's file creations slower
  // (ext4 passes over inodes freed in the last minutes when it allocates one: perf showed about
  // a fifth of the sealbox process's main thread in that search), the one-process rows most.
  const outputs = [];
  const freshDir = () => {
    const out = join(work, `out-${outputs.length}`);
    mkdirSync(out);
    outputs.push(out);
    settle();
    return out;
  };
  // One sealbox command for all files, with the raw key file and with the default local KMS
  // key (the store exists: the start-up rounds created it).
  const many = (keyArgs) => () => {
    const out = freshDir();
    return timed([process.execPath, bin, 'encrypt', ...names, '--output-dir', out, ...keyArgs], { env, cwd: files });
  };
  let loop;
  let loopLabel;
  if (hasAge) {
    const identity = join(work, 'age.key');
    spawnSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
    const recipient = /public key: (age1\w+)/.exec(readFileSync(identity, 'utf8'))[1];
    loopLabel = `shell loop of age -r, ${count} files (baseline)`;
    loop = () => {
      const out = freshDir();
      return timed(['sh', '-c', `for f in *.bin; do age -r ${recipient} -o ${JSON.stringify(out)}/"$f.age" "$f" || exit 1; done`], { env, cwd: files });
    };
  } else {
    log('age is not installed (Debian: apt-get install age): comparing against a loop of one sealbox call per file');
    loopLabel = `shell loop of one sealbox encrypt per file, ${count} files (baseline; age not installed)`;
    loop = () => {
      const out = freshDir();
      return timed(['sh', '-c', `for f in *.bin; do ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} encrypt "$f" -o ${JSON.stringify(out)}/"$f.sbx" --key ${JSON.stringify(`file:${rawKey}`)} || exit 1; done`], { env, cwd: files });
    };
  }
  // What durable outputs cost alone (bench/write-floor.mjs): Node's start-up and, per file, a
  // temporary file, its fsync and its rename, as the CLI writes them (a 1 KiB input seals to
  // about 1,150 bytes), with no reading and no crypto.
  const writes = () => timed([process.execPath, join(root, 'bench', 'write-floor.mjs'), freshDir(), String(count), '1150'], { env, cwd: files });
  // Interleaved rounds (loop, raw, local, writes, loop, ...): a busy moment hits them all alike.
  const runs = { loop: [], raw: [], local: [], writes: [] };
  const fns = { loop, raw: many(['--key', `file:${rawKey}`]), local: many([]), writes };
  for (let i = 0; i < reps; i++) for (const [name, fn] of Object.entries(fns)) runs[name].push(fn());
  for (const out of outputs) rmSync(out, { recursive: true, force: true });
  const gm = `CLI, ${count} files of 1 KiB (median of ${reps} interleaved rounds; load ${loadMany} -> ${loadavg()[0].toFixed(1)})`;
  const loopMs = median(runs.loop);
  const than = hasAge ? 'less time than the age loop' : 'less time than the sealbox loop';
  add(gm, `${loopLabel} (min ${Math.min(...runs.loop).toFixed(0)} ms)`, loopMs, 'ms');
  for (const [name, label] of [['raw', '--key file:<raw key>'], ['local', 'default local KMS key']]) {
    const ms = median(runs[name]);
    add(gm, `sealbox encrypt FILE... --output-dir DIR, ${label}, one process (min ${Math.min(...runs[name]).toFixed(0)} ms)`, ms, 'ms', null, [[than, loopMs / ms, 10]]);
  }
  const writesMs = median(runs.writes);
  add(gm, `node: the ${count} outputs' writes alone, as the CLI makes them durable (temp file, fsync, rename; no reads, no crypto; min ${Math.min(...runs.writes).toFixed(0)} ms)`, writesMs, 'ms', null, [[than, loopMs / writesMs, null]]);
}

// Run alone: `node bench/cli.mjs`.
runAlone(import.meta.url, 'sealbox-bench-cli-', benchCli);
