// CLI rows of `npm run bench` (called by bench/run.mjs, same run, same table), and on its own:
// `node bench/cli.mjs` (after `npm run build`) prints just these rows.
//
// Start-up: `echo hi | sealbox encrypt --key file:<raw key>` and the same with the default
// local KMS key, against `node -e 0` (what any Node program pays to start), as the median wall
// time of interleaved runs (each round runs every command once, so a busy moment of a shared
// machine hits them all alike); the minimum is shown too.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  const g = 'CLI start-up (median wall time of interleaved runs)';
  const base = median(times.node);
  const minBase = Math.min(...times.node);
  add(g, `node -e 0 (baseline; min ${minBase.toFixed(0)} ms)`, base, 'ms');
  for (const [name, label] of [['raw', 'echo hi | sealbox encrypt --key file:<raw key>'], ['local', 'echo hi | sealbox encrypt (default local KMS key)']]) {
    const m = median(times[name]);
    add(g, `${label} (min ${Math.min(...times[name]).toFixed(0)} ms)`, m, 'ms', null, [['node -e 0', m / base, 1.5, null, '<=']]);
  }
}

// Run alone: `node bench/cli.mjs`.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-bench-cli-'));
  const rows = [];
  try {
    benchCli({ root, dir, log: (l) => process.stderr.write(`${l}\n`), add: (group, name, value, unit, _b, ratios = []) => rows.push({ group, name, value, unit, ratios }) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const r of rows) {
    const ratios = r.ratios.map(([base, x, target, , kind]) => `${x.toFixed(2)}x ${base}${target == null ? '' : ` (${kind === '<=' ? '<=' : '>='} ${target}x: ${(kind === '<=' ? x <= target : x >= target) ? 'met' : 'NOT met'})`}`).join('; ');
    process.stdout.write(`${r.group} | ${r.name} | ${r.value.toFixed(r.unit === 'ms' ? 0 : 1)} ${r.unit} | ${ratios}\n`);
  }
}
