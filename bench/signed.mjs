// The signed suite (issue 20) in `npm run bench`: 1 KiB messages against the AWS Encryption
// SDK's default signing suite, and a file signed end to end against Sealbox's own unsigned
// encryptFile/decryptFile and the AWS SDK's signed streams. Every measurement runs in a fresh
// process (bench/worker.mjs); the implementations are interleaved round by round and the best
// round of each is kept, so that load from other processes on this shared machine hits every
// row alike. Baselines are measured here, in the same run, never taken from elsewhere.
//
// `BENCH_ONLY=signed npm run bench` runs only this part and replaces its block in
// docs/performance.md (between the `bench:signed` markers); a full run writes the block too.

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { settle } from './settle.mjs';

const MIB = 1024 * 1024;

/**
 * @param {object} ctx
 * @param {(...args: unknown[]) => any} ctx.worker  runs one measurement in a fresh process
 * @param {Function} ctx.add  adds a result row (group, name, value, unit, baseline, ratios)
 * @param {(line: string) => void} ctx.log
 * @param {(name: string) => string} ctx.path  a path in the run's scratch directory
 * @param {(path: string, bytes: number) => void} ctx.writeRandomFile
 * @param {string} ctx.root  the repository (its dist/ is measured)
 */
export async function benchSigned({ worker, add, log, path, writeRandomFile, root }) {
  const sealbox = await import(pathToFileURL(join(root, 'dist', 'index.js')).href);
  if (!sealbox.SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384) {
    log('Signed suite: skipped (this build has no SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384)');
    return;
  }
  const SMALL_SECONDS = Number(process.env.BENCH_SMALL_SECONDS ?? 3);
  const ROUNDS = Number(process.env.BENCH_SIGNED_ROUNDS ?? 3);
  const FILE_MIB = Number(process.env.BENCH_FILE_MIB ?? 256);
  const FILE_REPS = Number(process.env.BENCH_FILE_REPS ?? 5);

  log('Signed suite, 1 KiB messages ...');
  const small = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const d of ['enc', 'dec']) {
      for (const impl of ['sealbox-signed', 'aws-signed']) {
        const key = `${impl}-${d}`;
        small[key] = Math.max(small[key] ?? 0, worker('small', impl, d, SMALL_SECONDS).opsPerSec);
      }
    }
  }
  const g1 = 'Signed suite: 1 KiB messages';
  for (const d of ['enc', 'dec']) {
    const verb = d === 'enc' ? 'encrypt' : 'decrypt';
    add(g1, `AWS SDK ${verb}, ECDSA P-384 suite`, small[`aws-signed-${d}`], 'ops/s');
    add(g1, `Sealbox ${verb}, suite 2 (ECDSA P-384)`, small[`sealbox-signed-${d}`], 'ops/s', null, [['AWS SDK signed', small[`sealbox-signed-${d}`] / small[`aws-signed-${d}`], 3]]);
  }

  log(`Signed suite, ${FILE_MIB} MiB file to file ...`);
  const plain = path('signed-plain.bin');
  writeRandomFile(plain, FILE_MIB * MIB);
  const inputs = { 'sealbox-file': path('unsigned.sbx'), 'sealbox-file-signed': path('signed.sbx'), 'aws-stream-signed': path('signed.aws') };
  for (const [impl, sealed] of Object.entries(inputs)) worker('file', impl, 'enc', plain, sealed);
  const out = path('signed-out.bin');
  const best = {};
  const rss = {};
  // The order is reversed every other round: a run right after the AWS SDK's (whose process
  // holds 130 MiB or more) was often much slower here (unsigned encryptFile 340-860 ms instead
  // of 230-250 ms), and a fixed order put the same row after it in every round.
  for (let rep = 0; rep < FILE_REPS; rep++) {
    const order = rep % 2 === 0 ? Object.keys(inputs) : Object.keys(inputs).reverse();
    for (const d of ['enc', 'dec']) {
      for (const impl of order) {
        const key = `${impl}-${d}`;
        settle(out);
        const r = worker('file', impl, d, d === 'enc' ? plain : inputs[impl], out);
        best[key] = Math.min(best[key] ?? Infinity, r.ms);
        rss[key] = Math.max(rss[key] ?? 0, r.peakRss);
      }
    }
  }
  const speed = (key) => FILE_MIB / (best[key] / 1000);
  const g2 = `Signed suite: ${FILE_MIB} MiB file to file`;
  for (const d of ['enc', 'dec']) {
    const verb = d === 'enc' ? 'encrypt' : 'decrypt';
    add(g2, `Sealbox ${verb}File, suite 1 (unsigned)`, speed(`sealbox-file-${d}`), 'MiB/s');
    add(g2, `AWS SDK signed stream ${verb}`, speed(`aws-stream-signed-${d}`), 'MiB/s');
    add(g2, `Sealbox ${verb}File, suite 2 (signed)`, speed(`sealbox-file-signed-${d}`), 'MiB/s', null, [
      ['Sealbox unsigned', speed(`sealbox-file-signed-${d}`) / speed(`sealbox-file-${d}`), 0.5],
      ['AWS SDK signed stream', speed(`sealbox-file-signed-${d}`) / speed(`aws-stream-signed-${d}`), 3],
    ]);
  }
  for (const d of ['enc', 'dec']) {
    const verb = d === 'enc' ? 'encryptFile' : 'decryptFile';
    add(g2, `peak RSS, Sealbox ${verb} suite 2`, rss[`sealbox-file-signed-${d}`] / MIB, 'MiB', null, [['limit', rss[`sealbox-file-signed-${d}`] / (96 * MIB), null, 96]]);
    add(g2, `peak RSS, Sealbox ${verb} suite 1 (reference)`, rss[`sealbox-file-${d}`] / MIB, 'MiB');
  }
}

/** Whether a row belongs to this part of the report (rendered between the bench:signed markers). */
export const isSignedGroup = (group) => group.startsWith('Signed suite');

/** Notes printed under the signed tables. */
export const SIGNED_NOTES = `
Signed rows: Sealbox's suite 2 (\`SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384\`) against the
AWS SDK's \`ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384\` (its default suite),
both with a raw AES keyring and 64 KiB frames; files are decrypted with
\`signaturePolicy: 'require-signed'\` and the AWS SDK's \`decryptStream\`. Rounds of the two
implementations alternate and the best of each is kept.

- 1 KiB encrypt: each signed message costs two fixed-base P-384 scalar multiplications (the
  one-off key pair, and the signature's nonce point), about 0.6 ms each with Node 20's OpenSSL
  3.0, in both SDKs. The AWS SDK does both on the caller's thread, plus about 1 ms. Sealbox makes
  both ahead (docs/decisions/0002): a worker thread makes entries of two fresh OpenSSL key pairs
  (the key and the nonce) and the caller's thread finishes ECDSA, s = k^-1 (z + r d) mod n,
  making an entry itself only when none is ready; it takes the worker's entries off a port
  synchronously, since a loop of \`await encrypt()\` never gives the event loop a turn. CPU time
  per message (measured beside the bench): the caller's thread about 180 us with entries ready
  (was about 1,000 us when it called OpenSSL's sign), all threads 1,300-1,500 us (was about
  1,750 us; the AWS SDK 2,820-3,080 us). On 2 idle cores the worker (about 710 us of CPU a
  message) makes about two entries in three and the caller the rest: 650-680 us wall a message.
  With no free core (a busy shared machine) the rate falls towards the CPU ratio, about 1.9x.
- 1 KiB decrypt: one point decompression (~0.3 ms) and one verification (~1.1 ms) per message;
  the AWS SDK takes far longer per message.
- Files: from 16 MiB suite 2 hashes (SHA-384) on a hash thread of its own, reading the frames
  in place from the shared buffers the file is sealed into or read into, while the calling
  thread seals or opens them (docs/streaming.md, "Signed files: the hash thread"); before it
  (up to commit 73a3c21) the calling thread hashed between the frames: 347/361 MiB/s, 0.40x /
  0.50x unsigned, 2.87x / 2.34x the AWS SDK, on the idle machine. What bounds it now is CPU
  time on 2 cores: SHA-384 of 256 MiB takes 370-400 ms of CPU here (650-690 MiB/s, slower than
  the 885 MiB/s once measured idle on a hot 1 MiB buffer), and a signed 256 MiB file 900-950 ms
  in all threads (calling thread 280-330 ms, hash thread 390-420 ms, libuv's I/O threads
  ~170 ms; unsigned: about 460 ms). So the two threads overlap, but a signed file cannot go
  faster than about half of that total on 2 cores, and less when other processes hold a core:
  at load 0.9-2.2 four runs gave encrypt 439-481 MiB/s (0.46-0.58x unsigned, whose own speed
  moved 790-1,049 MiB/s; 3.12-3.22x the AWS SDK) and decrypt 441-474 MiB/s (0.57-0.60x
  unsigned; 2.63-2.70x the AWS SDK, whose decrypt ran 166-180 MiB/s: 3x needs 500-540 MiB/s). The
  thread costs about 10 MiB of RSS and 25-40 ms to start (28 ms of CPU); the signed paths write
  their frames into reused buffers (no fresh Buffer per frame left to the collector), which more
  than pays for it: signed peaks are below the unsigned ones. Peak RSS is the largest of the
  runs: garbage collection timing moves it by up to 15 MiB from run to run.
- Where a signed file's extra CPU time goes (256 MiB, per thread from /proc/<tid>/schedstat,
  medians of 4-8 interleaved runs at load 3-5; unsigned first): calling thread 192-204 ->
  256-308 ms, libuv's I/O threads ~160 -> ~160 ms, V8's helper threads ~35 -> ~65 ms, hash thread
  0 -> 395-405 ms. The hash thread is SHA-384 itself (345 ms for 256 MiB in 1 MiB updates, the
  same on a hot or a cold buffer), its start (25-28 ms before its first line runs, with a free
  core; loading node:crypto 2.5-6 ms more) and its messages. The calling thread's extra is
  mostly copies (perf: 21 ms making each frame's latin1 string, 19 ms writing it into the
  shared buffer) and 13 ms waking other threads; the helper threads' extra is the scavenges of
  those strings. While the new thread starts, the calling thread fills its 6 buffers and waits
  (22-119 ms under load). Tried and measured, not kept (no gain beyond the 10-20 ms noise, or a
  loss): one message per buffer instead of two, each shared buffer sent once (256 buffers'
  messages cost 4-6 ms in all); hashing every 256 KiB instead of per buffer; encryptFile's
  frames copied from node:crypto's Buffers instead of through strings, one copy fewer (half of
  them: calling thread +42 ms, not less, a fresh Buffer per frame costing more than the copy;
  all of them: no less CPU, peak RSS 103-111 MiB); strings for all of decryptFile's frames
  (+35 ms); synchronous reads and writes on the calling thread (two busy threads instead of
  three on 2 cores: decrypt's calling thread then used 580-720 ms of CPU); 2 MiB reads with 4
  buffers (same) or 512 KiB with 12 (more CPU). So on 2 cores the bound stays all threads' CPU
  time, about 900 ms, and the hash thread's start. The AWS SDK needs one core: at load 3.3
  (bench/worker.mjs, 3 rounds, best of each) Sealbox's signed files ran 2.8x (encrypt) / 2.5x
  (decrypt) the AWS SDK's signed streams, and 0.58x / 0.67x Sealbox's unsigned files.
- How these rows are taken (since 2026-12-07): before each timed run the previous output is
  removed and \`sync\` runs (bench/settle.mjs); until then each run renamed its output over the
  previous run's 256 MiB file inside its timing (about 60 ms of dropping pages) and paid for the
  writeback of the AWS SDK's unsynced outputs. The order of the three is reversed every other
  round: a run right after the AWS SDK's process was often far slower here (unsigned
  encryptFile 340-860 ms instead of 230-250 ms, with libuv's threads using twice their CPU time
  to copy into the page cache, the main thread and the fsyncs unchanged), and the fixed order
  had put the unsigned rows, the 0.5x baseline, after it in every round (a full run then showed
  0.75x / 0.85x). The slow state comes and goes with the machine (some runs show none of it);
  best-of-5 with the order reversed keeps the rows clear of it. Measured cold (a fresh process
  per run, as the bench does): the signed decrypt takes 410-500 ms, of which 50 ms pass before
  the hash thread hashes its first byte (its start) and the rest is bounded by SHA-384 (345 ms
  of CPU) sharing 2 cores with everything else; the AWS SDK's signed decrypt took 1,220-1,300
  ms, so 3x needs 405-435 ms. Tried and not kept: plaintext frames as fresh Buffers instead of
  the reused ones (0-27 ms less, about 10 ms, in 6 interleaved pairs; peak RSS 109-112 MiB,
  over the 96 MiB limit); the hash on the
  calling thread and the frames opened on a worker (\`concurrency: 2\`: 590-640 ms); 12 or 24
  shared buffers for the hash thread instead of 6, so that the calling thread gets further
  ahead while the thread starts (441-493 ms against 454-471 ms; peak RSS 91-104 MiB).
`;
