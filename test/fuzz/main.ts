/**
 * `npm run fuzz [-- --iterations N --seconds S --seed X --targets a,b --endpoint-iterations M --no-endpoint]`
 *
 * Runs the message fuzzer (test/fuzz/messages.ts) and the KMS endpoint fuzzer
 * (test/fuzz/endpoint.ts), prints inputs per second per target, saves every input that breaks
 * the oracle to test/fuzz/corpus/ and exits 1 if there was one. A watchdog thread catches an
 * input that blocks the event loop (a synchronous hang the per-input timer cannot see): it saves
 * that input and kills the process.
 */
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { CORPUS_DIR, saveEndpointVector, saveMessageVector } from './corpus.js';
import { runEndpointFuzz } from './endpoint.js';
import { MESSAGE_TARGETS, runMessageFuzz } from './messages.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '1000000' },
    seconds: { type: 'string' },
    seed: { type: 'string' },
    targets: { type: 'string' },
    'endpoint-iterations': { type: 'string', default: '3000' },
    'no-endpoint': { type: 'boolean', default: false },
    'timeout-ms': { type: 'string', default: '5000' },
    'hang-ms': { type: 'string', default: '20000' },
    corpus: { type: 'string', default: CORPUS_DIR },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(`npm run fuzz -- [options]
  --iterations N            message inputs over all targets (default 1000000)
  --seconds S               stop the message fuzzer after S seconds
  --seed X                  seed (default: random, printed; the same seed replays the same inputs)
  --targets a,b             message targets (${MESSAGE_TARGETS.map((t) => t.name).join(', ')})
  --endpoint-iterations M   malformed KMS endpoint requests (default 3000)
  --no-endpoint             skip the KMS endpoint fuzzer
  --timeout-ms T            per-input time budget (default 5000)
  --hang-ms H               event loop blocked this long: save the input and abort (default 20000)
  --corpus DIR              where failing inputs are saved (default ${CORPUS_DIR})
`);
  process.exit(0);
}

const int = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    process.stderr.write(`fuzz: --${name} expects a non-negative integer\n`);
    process.exit(2);
  }
  return n;
};
const seed = int('seed', values.seed) ?? (Math.random() * 0x1_0000_0000) >>> 0;
const iterations = int('iterations', values.iterations)!;
const seconds = int('seconds', values.seconds);
const names = values.targets?.split(',').filter(Boolean);
const targets = names ? MESSAGE_TARGETS.filter((t) => names.includes(t.name)) : MESSAGE_TARGETS;
if (names && targets.length !== names.length) {
  process.stderr.write(`fuzz: unknown target in --targets (known: ${MESSAGE_TARGETS.map((t) => t.name).join(', ')})\n`);
  process.exit(2);
}

// The watchdog: the main thread stores each input (and its target) in shared memory and bumps a
// counter; a thread that sees the counter stand still for --hang-ms writes the input out and
// kills the process, since a blocked event loop can fire no timer of its own.
const SLOTS = 4;
const MAX_KEPT = 4 * 1024 * 1024;
const shared = new SharedArrayBuffer(SLOTS * 4 + MAX_KEPT);
const state = new Int32Array(shared, 0, SLOTS);
const kept = new Uint8Array(shared, SLOTS * 4);
const watchdog = new Worker(
  `
  const { workerData } = require('node:worker_threads');
  const { writeFileSync, mkdirSync } = require('node:fs');
  const { createHash } = require('node:crypto');
  const { join } = require('node:path');
  const state = new Int32Array(workerData.shared, 0, 4);
  const kept = new Uint8Array(workerData.shared, 16);
  let last = -1, since = Date.now();
  setInterval(() => {
    const now = Atomics.load(state, 0);
    if (now !== last) { last = now; since = Date.now(); return; }
    if (Atomics.load(state, 3) === 1 || Date.now() - since < workerData.hangMs) return;
    const input = kept.slice(0, Atomics.load(state, 2));
    const target = workerData.targets[Atomics.load(state, 1)];
    mkdirSync(workerData.corpus, { recursive: true });
    const file = join(workerData.corpus, target + '-' + createHash('sha256').update(input).digest('hex').slice(0, 16) + '.bin');
    writeFileSync(file, input);
    process.stderr.write('fuzz: VIOLATION (hang): ' + target + ' blocked the event loop for ' + workerData.hangMs + ' ms; input saved to ' + file + '\\n');
    process.kill(process.pid, 'SIGKILL');
  }, 250).unref();
  `,
  { eval: true, workerData: { shared, hangMs: int('hang-ms', values['hang-ms']), corpus: values.corpus, targets: MESSAGE_TARGETS.map((t) => t.name) } },
);
watchdog.unref();
const targetIndex = new Map(MESSAGE_TARGETS.map((t, i) => [t.name, i]));

function rate(n: number, ms: number): string {
  return ms > 0 ? Math.round(n / (ms / 1000)).toLocaleString('en-US') : '-';
}

let failed = false;
process.stdout.write(`fuzz: seed ${seed}, ${iterations.toLocaleString('en-US')} message inputs${seconds === undefined ? '' : ` (at most ${seconds} s)`}, targets ${targets.map((t) => t.name).join(', ')}\n`);
const cpu0 = process.cpuUsage();
const report = await runMessageFuzz({
  seed,
  iterations,
  ...(seconds === undefined ? {} : { seconds }),
  timeoutMs: int('timeout-ms', values['timeout-ms'])!,
  targets,
  onInput: (target, input) => {
    Atomics.store(state, 1, targetIndex.get(target)!);
    const n = Math.min(input.length, MAX_KEPT);
    kept.set(input.subarray(0, n));
    Atomics.store(state, 2, n);
    Atomics.add(state, 0, 1);
  },
  onProgress: (done, ms) => {
    if (process.stderr.isTTY) process.stderr.write(`\r  ${done.toLocaleString('en-US')} inputs, ${rate(done, ms)}/s   `);
  },
});
Atomics.store(state, 3, 1); // the endpoint fuzzer waits on sockets: not a hang
const cpu = process.cpuUsage(cpu0);
if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');

process.stdout.write(`\nmessage targets           inputs      inputs/s   slowest ms   outcomes\n`);
for (const [name, s] of Object.entries(report.perTarget)) {
  const outcomes = Object.entries(s.outcomes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  process.stdout.write(`  ${name.padEnd(20)} ${s.inputs.toLocaleString('en-US').padStart(10)} ${rate(s.inputs, s.ms).padStart(13)} ${s.slowestMs.toFixed(1).padStart(12)}   ${outcomes}\n`);
}
process.stdout.write(`\nseeds (all targets)       outcomes\n`);
for (const [name, outcomes] of Object.entries(report.perSeed)) {
  process.stdout.write(`  ${name.padEnd(24)}${Object.entries(outcomes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
}
process.stdout.write(
  `  ${'all'.padEnd(20)} ${report.inputs.toLocaleString('en-US').padStart(10)} ${rate(report.inputs, report.ms).padStart(13)}   ` +
    `(${(report.ms / 1000).toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU; RSS grew at most ${(report.maxRssGrowth / 2 ** 20).toFixed(0)} MiB; ` +
    `one input allocated at most ${(report.maxAllocation / 2 ** 20).toFixed(2)} MiB of typed arrays)\n`,
);
const seen = new Set<string>();
for (const v of report.violations) {
  failed = true;
  const key = `${v.target}:${Buffer.from(v.input).toString('base64')}`;
  if (seen.has(key)) continue;
  seen.add(key);
  const file = saveMessageVector(values.corpus, v.target, v.input);
  process.stdout.write(`  VIOLATION ${v.target} ${v.kind} (${v.mutation}): ${v.detail}\n    saved to ${file}\n`);
}

if (!values['no-endpoint']) {
  const endpointIterations = int('endpoint-iterations', values['endpoint-iterations'])!;
  process.stdout.write(`\nKMS endpoint: ${endpointIterations.toLocaleString('en-US')} malformed requests, 4 slow bodies and 4 slow heads, a health client meanwhile\n`);
  const ep = await runEndpointFuzz({ seed, iterations: endpointIterations });
  process.stdout.write(`  ${ep.requests.toLocaleString('en-US')} requests in ${(ep.ms / 1000).toFixed(1)} s: ${rate(ep.requests, ep.ms)}/s\n`);
  for (const [kind, statuses] of Object.entries(ep.kinds).sort()) {
    process.stdout.write(`  ${kind.padEnd(20)} ${Object.entries(statuses).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
  }
  process.stdout.write(`  health client: ${ep.health.checks} well-formed requests, ${ep.health.failures} not answered 200 within 2 s, slowest ${Math.round(ep.health.slowestMs)} ms\n`);
  for (const v of ep.violations) {
    failed = true;
    const file = saveEndpointVector(values.corpus, v.request, v.detail);
    process.stdout.write(`  VIOLATION endpoint ${v.kind} (${v.request.kind}): ${v.detail}\n    saved to ${file}\n`);
  }
}

process.stdout.write(failed ? '\nfuzz: oracle violated (inputs saved above)\n' : '\nfuzz: no violation\n');
process.exit(failed ? 1 : 0);
