/**
 * encryptFile / decryptFile with work on other threads (the frame pool of `concurrency` >= 2,
 * src/node/frame-pool.ts; a large signed file's hash thread, src/node/hash-thread.ts) as
 * failures hit them: a read that fails while a write or the hash thread is awaited, a worker
 * ended from outside mid-file, worker threads that cannot be created or die at start, a keyring
 * that fails once the workers are taken, two files at once, an input that changes size while
 * read, the output directory removed mid-way. Every failure rejects (a SealboxError with a
 * code, or the file system's error), leaves no output and no temporary file, and never hangs.
 * Child-process cases (exit while busy, memory, ENOSPC): worker-process.test.ts.
 */
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker as RealWorker } from 'node:worker_threads';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** How the next Worker constructions go: as usual, throwing (no thread to be had), or dying at start. */
const workers = { mode: 'ok' as 'ok' | 'throw' | 'die-at-start', made: [] as RealWorker[], tried: 0 };
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class Worker extends real.Worker {
    constructor(source: string | URL, options?: import('node:worker_threads').WorkerOptions) {
      workers.tried++;
      if (workers.mode === 'throw') throw Object.assign(new Error('Cannot create a thread'), { code: 'ERR_WORKER_INIT_FAILED' });
      super(workers.mode === 'die-at-start' ? 'throw new Error("failed at start")' : source, options);
      workers.made.push(this);
    }
  }
  return { ...real, Worker, default: { ...real, Worker } };
});

const { SealboxError, SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } = await import('../../src/index.js');
const { decryptFile, encryptFile } = await import('../../src/node/index.js');
const { setHashThreadMinBytes } = await import('../../src/node/files.js');
const { idleFrameThreadCount } = await import('../../src/node/frame-pool.js');
const { hashThreadSpawns } = await import('../../src/node/hash-thread.js');
const { bytesEqual, pattern, testKeyring, thrown } = await import('../helpers/keys.js');

const SIGNED = SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384;
const MIB = 1024 * 1024;
const dir = await mkdtemp(join(tmpdir(), 'sealbox-worker-failures-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const path = (name: string): string => join(dir, name);
const keyring = testKeyring();
const code = (err: unknown): string | undefined => (err as { code?: string }).code;
const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );
const leftovers = async (d = dir): Promise<string[]> => (await readdir(d)).filter((f) => f.includes('sealbox-tmp'));
afterEach(() => {
  vi.restoreAllMocks();
  workers.mode = 'ok';
  setHashThreadMinBytes(16 * MIB);
});

/** FileHandle.prototype (where read and writev live). */
async function fileHandleProto(): Promise<{ read: (...a: unknown[]) => Promise<unknown>; writev: (...a: unknown[]) => Promise<unknown> }> {
  const fh = await open(path('.'), 'r');
  const proto = Object.getPrototypeOf(fh) as { read: (...a: unknown[]) => Promise<unknown>; writev: (...a: unknown[]) => Promise<unknown> };
  await fh.close();
  return proto;
}

/** The ways of running a file call, each on the thread(s) it names. */
const paths = [
  ['the calling thread', {}],
  ['the frame pool (concurrency 3)', { concurrency: 3 }],
  ['the hash thread (signed)', { suite: SIGNED, hashThread: true }],
] as const;

describe('worker threads that cannot be had', () => {
  // A process at its thread limit: Node's Worker constructor throws ERR_WORKER_INIT_FAILED (the
  // thread could not be created), or the thread fails before it runs anything.
  const setup = async (): Promise<Uint8Array> => {
    const plaintext = pattern(3 * MIB + 9, 5);
    await writeFile(path('n'), plaintext);
    await encryptFile(path('n'), path('n.sbx'), { keyring });
    setHashThreadMinBytes(Number.MAX_SAFE_INTEGER);
    await encryptFile(path('n'), path('ns.sbx'), { keyring, suite: SIGNED });
    return plaintext;
  };

  it('cannot be created: the frame pool and the hash thread leave the work to the calling thread, and the file is done', async () => {
    const plaintext = await setup();
    // Threads parked by earlier calls would be taken instead of new ones: none may be idle (these
    // tests come first in the file).
    expect(idleFrameThreadCount()).toBe(0);
    workers.mode = 'throw';
    setHashThreadMinBytes(0);
    const tried = workers.tried;
    const spawned = hashThreadSpawns();
    await encryptFile(path('n'), path('n2.sbx'), { keyring, concurrency: 4 });
    await decryptFile(path('n2.sbx'), path('n2.out'), { keyring, concurrency: 4 });
    expect(bytesEqual(await readFile(path('n2.out')), plaintext)).toBe(true);
    await encryptFile(path('n'), path('ns2.sbx'), { keyring, suite: SIGNED });
    await decryptFile(path('ns2.sbx'), path('ns2.out'), { keyring, signaturePolicy: 'require-signed' });
    expect(bytesEqual(await readFile(path('ns2.out')), plaintext)).toBe(true);
    await decryptFile(path('ns.sbx'), path('ns.out'), { keyring, signaturePolicy: 'require-signed' });
    expect(bytesEqual(await readFile(path('ns.out')), plaintext)).toBe(true);
    // Each call tried (the frame pool gives up at the first thread it cannot have).
    expect(workers.tried - tried).toBe(5);
    expect(hashThreadSpawns()).toBe(spawned);
    expect(idleFrameThreadCount()).toBe(0);
    expect(await leftovers()).toEqual([]);
  });

  it('fail at start: the frame pool leaves the work to the calling thread (or, once a thread ran, ERR_WORKER); a hash thread is ERR_WORKER; no file', async () => {
    const plaintext = await setup();
    workers.mode = 'die-at-start';
    // A thread that failed before it came online is as one still starting: the calling thread
    // does the slots. One that came online first may have been sent a slot: ERR_WORKER then.
    const run = async (): Promise<void> => {
      await encryptFile(path('n'), path('n3.sbx'), { keyring, concurrency: 3 });
      await decryptFile(path('n3.sbx'), path('n3.out'), { keyring, concurrency: 3 });
      expect(bytesEqual(await readFile(path('n3.out')), plaintext)).toBe(true);
    };
    const pooled = await run().then(
      () => undefined,
      (err: unknown) => err,
    );
    if (pooled !== undefined) {
      expect(pooled).toBeInstanceOf(SealboxError);
      expect(code(pooled)).toBe('ERR_WORKER');
      expect(await exists(path('n3.out'))).toBe(false);
    }
    // Threads given back before their failure was known are dropped once it is.
    await vi.waitFor(() => expect(idleFrameThreadCount()).toBe(0));
    setHashThreadMinBytes(0);
    const e = await thrown(() => encryptFile(path('n'), path('ns3.sbx'), { keyring, suite: SIGNED }));
    expect(e).toBeInstanceOf(SealboxError);
    expect(code(e)).toBe('ERR_WORKER');
    const d = await thrown(() => decryptFile(path('ns.sbx'), path('ns3.out'), { keyring }));
    expect(code(d)).toBe('ERR_WORKER');
    expect(await exists(path('ns3.sbx'))).toBe(false);
    expect(await exists(path('ns3.out'))).toBe(false);
    expect(await leftovers()).toEqual([]);
  });
});

describe('a read that fails mid-file while a write (slow disk) or the hash thread is awaited', () => {
  // The next read is under way while a chunk is written: a read that failed then was a promise
  // rejected with no handler yet, which Node treats as an uncaught exception (the process ended
  // with the temporary file left behind; test/node/worker-process.test.ts shows that).
  let unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  beforeEach(() => {
    unhandled = [];
    process.on('unhandledRejection', onUnhandled);
  });
  const afterThis: (() => void)[] = [];
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
    for (const undo of afterThis.splice(0)) undo();
  });

  for (const [name, options] of paths) {
    for (const writeFails of [false, true]) {
      it(`${name}: rejects with the read's error${writeFails ? ' (the write in flight fails too)' : ''}, no unhandled rejection, no file`, async () => {
        const plaintext = pattern(6 * MIB + 5, 2);
        await writeFile(path('r'), plaintext);
        const { hashThread, ...opts } = { hashThread: false, ...options };
        if (hashThread) setHashThreadMinBytes(0);
        await encryptFile(path('r'), path('r.sbx'), { keyring, ...opts });
        const proto = await fileHandleProto();
        const { read, writev } = proto;
        let reads = 0;
        let failedRead = false;
        // Each write takes 30 ms more than it does (a slow disk); the fourth read fails at once,
        // and with `writeFails` so does every write that completes after it.
        // Patched by hand, not with vi.spyOn: a spy handles the promises it returns (to record
        // them), which would hide a rejection nothing else handles.
        afterThis.push(() => Object.assign(proto, { read, writev }));
        proto.writev = function (this: unknown, ...args: unknown[]) {
          return writev.apply(this, args).then(async (r) => {
            await new Promise((resolve) => setTimeout(resolve, 30));
            if (writeFails && failedRead) throw Object.assign(new Error('I/O error'), { code: 'EIO' });
            return r;
          });
        };
        proto.read = function (this: unknown, ...args: unknown[]) {
          if (++reads === 4) {
            failedRead = true;
            return Promise.reject(Object.assign(new Error('I/O error'), { code: 'EIO' }));
          }
          return read.apply(this, args);
        };
        const e = await thrown(() => encryptFile(path('r'), path('r2.sbx'), { keyring, ...opts }));
        expect(code(e)).toBe('EIO');
        reads = 0;
        failedRead = false;
        const d = await thrown(() => decryptFile(path('r.sbx'), path('r.out'), { keyring, ...opts }));
        expect(code(d)).toBe('EIO');
        // A turn of the event loop: an unhandled rejection is reported after the tick it happened in.
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(unhandled).toEqual([]);
        expect(await exists(path('r2.sbx'))).toBe(false);
        expect(await exists(path('r.out'))).toBe(false);
        expect(await leftovers()).toEqual([]);
      });
    }
  }
});
