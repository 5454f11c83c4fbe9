/**
 * Sealbox's threads seen from a whole process (test/node/fixtures/worker-child.ts): a process
 * that exits while frame workers and a hash thread are busy ends at once with its status; one
 * that has used every kind of thread ends by itself when its work is done; the pool's memory
 * stays bounded with a slow writer (peak RSS, measured in the child); a real full file system
 * (a 2 MiB tmpfs, where `unshare` can make one) fails each path with ENOSPC and leaves nothing.
 * The timeouts below only stop a hung child; nothing here is timed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../../src/index.js';
import { encryptFile } from '../../src/node/index.js';
import { pattern, testKeyring } from '../helpers/keys.js';

const child = join(process.cwd(), 'node_modules', '.cache', 'sealbox-test', `worker-child-${process.pid}.mjs`);
const dir = await mkdtemp(join(tmpdir(), 'sealbox-worker-process-'));
beforeAll(async () => {
  await build({ entryPoints: [join(import.meta.dirname, 'fixtures', 'worker-child.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: child, logLevel: 'silent' });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(child, { force: true });
});
const MIB = 1024 * 1024;

/** Runs a scenario in a fresh directory; a child still running after 60 s is killed (a hang). */
async function run(scenario: string, ...args: string[]): Promise<{ status: number | null; signal: NodeJS.Signals | null; lines: Record<string, unknown>[]; stderr: string; files: string[] }> {
  const work = await mkdtemp(join(dir, `${scenario}-`));
  const r = spawnSync(process.execPath, [child, scenario, work, ...args], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
  const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, signal: r.signal, lines, stderr: r.stderr, files: await readdir(work) };
}

describe('a process using Sealbox\'s threads', () => {
  it('exits with its status when it calls process.exit while frame workers and a hash thread are busy', async () => {
    const r = await run('exit-while-busy');
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(7);
    expect(r.lines).toEqual([{ exiting: true }]);
    // No output file appeared, and no temporary file is left: process.exit skips each write's
    // own clean-up, and Sealbox's 'exit' listener removes them (a decryptFile's holds plaintext).
    expect(r.files.filter((f) => !f.startsWith('.') && !['big', 'small', 'small.sbx'].includes(f))).toEqual([]);
    expect(r.files.filter((f) => f.endsWith('.sealbox-tmp'))).toEqual([]);
  });

  it('ends by itself once its work is done, after frame workers, hash threads and the made-ahead ECDSA worker', async () => {
    const r = await run('natural-end');
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.lines).toEqual([{ done: true }]);
  });

  it('frame pool with a slow writer: peak RSS stays within the slots and worker heaps of docs/streaming.md', async () => {
    // docs/streaming.md: two slots of about 2 MiB per thread and a worker's heap (about 9-10 MiB;
    // at most 32 MiB old and 8 MiB young generation) per worker. With concurrency 3, over a
    // baseline that holds the idle workers: 12 MiB of slots, the workers' heaps growing to their
    // working size, the calling thread's garbage (collected later on a busy machine): measured
    // 21-41 MiB. A pool that read ahead of a slow writer would hold the file: 160 MiB.
    const r = await run('memory', '3');
    expect(r.status, r.stderr).toBe(0);
    const { baseline, peak } = r.lines[0] as { baseline: number; peak: number };
    expect(peak - baseline).toBeLessThan(64 * MIB);
  });
});

const canMountTmpfs = spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o size=1m tmpfs ${tmpdir()}`], { stdio: 'ignore' }).status === 0;

describe.skipIf(!canMountTmpfs)('a real full file system (a 2 MiB tmpfs in a mount namespace of the child)', () => {
  it('every path fails with ENOSPC, the process goes on, and the tmpfs is left empty', async () => {
    const src = join(dir, 'in');
    await writeFile(src, pattern(4 * MIB, 61));
    const keyring = testKeyring();
    await encryptFile(src, `${src}.plain.sbx`, { keyring });
    await encryptFile(src, `${src}.signed.sbx`, { keyring, suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 });
    const full = await mkdtemp(join(dir, 'full-'));
    const script = `mount -t tmpfs -o size=2m tmpfs "$1" && "$2" "$3" enospc "$1" "$4"; status=$?; ls -A "$1"; exit $status`;
    const r = spawnSync('unshare', ['-rm', 'sh', '-c', script, 'sh', full, process.execPath, child, src], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout.split('\n').filter(Boolean);
    const results = out.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { name: string; code: string });
    expect(results.map((x) => x.name)).toEqual(['one thread', 'frame pool', 'hash thread', 'decrypt one thread', 'decrypt frame pool', 'decrypt hash thread']);
    for (const x of results) expect(x.code, x.name).toBe('ENOSPC');
    // `ls -A` of the tmpfs printed nothing: no temporary file left.
    expect(out.filter((l) => !l.startsWith('{'))).toEqual([]);
  });
});
