// Worker threads for large files (issue 17) in `npm run bench`, and on its own:
// `node bench/file-pool.mjs` (after `npm run build`) prints just these rows.
//
// 1. encryptFile / decryptFile of a 256 MiB file with `concurrency: N` (N = the cores, at most
//    4: the calling thread and N - 1 workers; the default is 1)
//    against `concurrency: 1` (the calling thread only), each run in a fresh
//    process (bench/worker.mjs, so the first call pays for starting its threads, and peak RSS is
//    the process's, worker threads included), interleaved A B A B ..., medians.
// 2. The CLI on the same file (`sealbox encrypt FILE -o OUT --key file:<raw key>`, and decrypt)
//    against Debian's age (`age -r <recipient> -o OUT FILE`, `age -d -i <identity>`), when age
//    is installed, interleaved, median wall times. Sealbox fsyncs its output before renaming it
//    into place (docs/streaming.md); age writes without fsync.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { settle } from './settle.mjs';
import { runAlone } from './standalone.mjs';

const MIB = 1024 * 1024;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs) => `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)} ms`;

/** Wall time of one command, in ms; throws if it fails. */
function timed(argv, env) {
  const started = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

/**
 * @param {{ root: string, dir: string, add: Function, log: (line: string) => void, worker?: Function, writeRandomFile?: Function }} ctx
 */
export function benchFilePool({ root, dir, add, log }) {
  const FILE_MIB = Number(process.env.BENCH_FILE_MIB ?? 256);
  const ROUNDS = Number(process.env.BENCH_POOL_ROUNDS ?? 5);
  const worker = (...args) => {
    const out = execFileSync(process.execPath, [join(root, 'bench', 'worker.mjs'), ...args.map(String)], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    return JSON.parse(out.trim().split('\n').pop());
  };
  const plain = join(dir, 'pool-plain.bin');
  const fd = openSync(plain, 'w');
  const chunk = randomBytes(MIB);
  for (let i = 0; i < FILE_MIB; i++) writeSync(fd, chunk);
  closeSync(fd);
  const sealed = join(dir, 'pool.sbx');
  worker('file', 'sealbox-file-c1', 'enc', plain, sealed);
  const out = join(dir, 'pool-out');
  const threads = Math.min(availableParallelism(), 4);
  const pooled = `sealbox-file-c${threads}`;
  const load = [loadavg()[0]];

  log(`${FILE_MIB} MiB file to file, worker threads against concurrency 1 ...`);
  const ms = {};
  const rss = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const d of ['enc', 'dec']) {
      for (const impl of ['sealbox-file-c1', pooled]) {
        settle(out);
        const r = worker('file', impl, d, d === 'enc' ? plain : sealed, out);
        (ms[`${impl}-${d}`] ??= []).push(r.ms);
        rss[`${impl}-${d}`] = Math.max(rss[`${impl}-${d}`] ?? 0, r.peakRss);
      }
    }
    load.push(loadavg()[0]);
  }
  const g = `${FILE_MIB} MiB file to file, worker threads (median of ${ROUNDS} interleaved runs; load average ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)})`;
  for (const d of ['enc', 'dec']) {
    const verb = d === 'enc' ? 'encryptFile' : 'decryptFile';
    const one = ms[`sealbox-file-c1-${d}`];
    const pool = ms[`${pooled}-${d}`];
    add(g, `Sealbox ${verb}, concurrency 1 (baseline; ${spread(one)})`, FILE_MIB / (median(one) / 1000), 'MiB/s');
    add(g, `Sealbox ${verb}, concurrency ${threads} (${threads - 1} worker${threads === 2 ? '' : 's'}; ${spread(pool)})`, FILE_MIB / (median(pool) / 1000), 'MiB/s', null, [['concurrency 1', median(one) / median(pool), 1.5]]);
  }
  const gm = 'Peak RSS, worker threads';
  for (const d of ['enc', 'dec']) {
    const verb = d === 'enc' ? 'encryptFile' : 'decryptFile';
    add(gm, `Sealbox ${verb}, ${FILE_MIB} MiB, concurrency ${threads}`, rss[`${pooled}-${d}`] / MIB, 'MiB', null, [['limit', rss[`${pooled}-${d}`] / (96 * MIB), null, 96]]);
    add(gm, `Sealbox ${verb}, ${FILE_MIB} MiB, concurrency 1`, rss[`sealbox-file-c1-${d}`] / MIB, 'MiB', null, [['limit', rss[`sealbox-file-c1-${d}`] / (96 * MIB), null, 96]]);
  }

  const hasAge = spawnSync('age', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('age-keygen', ['--help'], { stdio: 'ignore' }).error === undefined;
  if (!hasAge) {
    log('age is not installed (Debian: apt-get install age): no CLI rows against it');
    return;
  }
  log(`CLI against age, ${FILE_MIB} MiB ...`);
  const bin = join(root, 'dist', 'cli', 'bin.cjs');
  const env = { ...process.env, SEALBOX_HOME: join(dir, 'pool-home') };
  const rawKey = join(dir, 'pool-raw.key');
  writeFileSync(rawKey, randomBytes(32));
  const identity = join(dir, 'pool-age.key');
  spawnSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
  const recipient = /public key: (age1\w+)/.exec(readFileSync(identity, 'utf8'))[1];
  const sbx = join(dir, 'pool-cli.sbx');
  const ageFile = join(dir, 'pool-cli.age');
  const commands = {
    'age-enc': ['age', '-r', recipient, '-o', ageFile, plain],
    'sealbox-enc': [process.execPath, bin, 'encrypt', plain, '-o', sbx, '--key', `file:${rawKey}`],
    'age-dec': ['age', '-d', '-i', identity, '-o', out, ageFile],
    'sealbox-dec': [process.execPath, bin, 'decrypt', sbx, '-o', out, '--key', `file:${rawKey}`],
  };
  const cleanup = { 'age-enc': ageFile, 'sealbox-enc': sbx, 'age-dec': out, 'sealbox-dec': out };
  const times = {};
  const cliLoad = [loadavg()[0]];
  for (let round = 0; round <= ROUNDS; round++) {
    for (const d of ['enc', 'dec']) {
      for (const impl of ['age', 'sealbox']) {
        const key = `${impl}-${d}`;
        // Each command writes a new file (the encrypt outputs are the decrypt rows' inputs).
        settle(cleanup[key]);
        const t = timed(commands[key], env);
        // Round 0 is a warm-up (the CLI's compile cache, the page cache).
        if (round > 0) (times[key] ??= []).push(t);
      }
    }
    cliLoad.push(loadavg()[0]);
  }
  rmSync(out, { force: true });
  const gc = `CLI against age, ${FILE_MIB} MiB file (median of ${ROUNDS} interleaved runs; load average ${Math.min(...cliLoad).toFixed(1)}-${Math.max(...cliLoad).toFixed(1)})`;
  for (const d of ['enc', 'dec']) {
    const verb = d === 'enc' ? 'encrypt' : 'decrypt';
    const a = times[`age-${d}`];
    const s = times[`sealbox-${d}`];
    add(gc, `age ${d === 'enc' ? '-r' : '-d -i'} ... -o FILE (baseline; ${spread(a)})`, median(a), 'ms');
    add(gc, `sealbox ${verb} FILE -o FILE --key file:<raw key> (${spread(s)}; fsyncs its output, age does not)`, median(s), 'ms', null, [['age (time ratio)', median(a) / median(s), 1]]);
  }
}

// Run alone: `node bench/file-pool.mjs`.
runAlone(import.meta.url, 'sealbox-bench-pool-', benchFilePool);
