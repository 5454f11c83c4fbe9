// Runs one part of `npm run bench` on its own (`node bench/cli.mjs`, `node bench/file-pool.mjs`):
// a temporary directory for its files, and its rows printed as the markdown table
// docs/performance.md uses (bench/run.mjs writes that file; this only prints).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatRatio } from './ratio.mjs';

/**
 * When the module at `moduleUrl` is the script node was started with, runs `bench` (a part of
 * bench/run.mjs, given { root, dir, log, add }) and prints its rows.
 */
export function runAlone(moduleUrl, prefix, bench) {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return;
  const root = join(dirname(fileURLToPath(moduleUrl)), '..');
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const rows = [];
  try {
    bench({ root, dir, log: (l) => process.stderr.write(`${l}\n`), add: (group, name, value, unit, _b, ratios = []) => rows.push({ group, name, value, unit, ratios }) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  let group = '';
  for (const r of rows) {
    if (r.group !== group) {
      group = r.group;
      process.stdout.write(`\n### ${group}\n\n| | result | ratios (target) |\n|---|---:|---|\n`);
    }
    const ratios = r.ratios.map(([base, x, target, limit, kind]) => {
      if (base === 'limit') return `limit ${limit} ${r.unit}: ${x < 1 ? 'met' : '**NOT met**'}`;
      if (target == null) return `${x.toFixed(2)}x ${base}`;
      const met = kind === '<=' ? x <= target : x >= target;
      return `${formatRatio(x, target)}x ${base} (${kind === '<=' ? '<=' : '>='} ${target}x${met ? '' : ', **NOT met**'})`;
    });
    process.stdout.write(`| ${r.name} | ${r.value.toLocaleString('en-US', { maximumFractionDigits: r.unit === 'MiB' ? 1 : 0 })} ${r.unit} | ${ratios.join('; ')} |\n`);
  }
}
