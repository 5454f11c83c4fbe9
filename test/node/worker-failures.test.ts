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
import { appendFile, mkdir, mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { KeyObject } from 'node:crypto';
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
const { encryptFileWithMessageId, setHashThreadMinBytes } = await import('../../src/node/files.js');
const { framePoolStarts, idleFrameThreadCount, injectFrameWorkerFault, setSlotPlacement } = await import('../../src/node/frame-pool.js');
const { hashSessionCount, hashThreadSpawns } = await import('../../src/node/hash-thread.js');
const { FixedMaterialsManager, MESSAGE_ID } = await import('../stream/helpers.js');
const { getAeadBackend } = await import('../../src/crypto/backend.js');
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

/** Runs `hook` at the `n`th write of a file (mid-file), once. */
async function atWrite(n: number, hook: () => unknown): Promise<void> {
  const proto = await fileHandleProto();
  const { writev } = proto;
  let writes = 0;
  vi.spyOn(proto, 'writev').mockImplementation(async function (this: unknown, ...args: unknown[]) {
    if (++writes === n) await hook();
    return writev.apply(this, args);
  });
}


describe('a write that fails (ENOSPC) while the next read, or the hash thread, is awaited', () => {
  // The chunk's write was awaited only when the next chunk's output was ready: a write that
  // failed meanwhile was a rejection with no handler (Node ended the process; a real full
  // tmpfs showed it, test/node/worker-process.test.ts).
  let unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  const undo: (() => void)[] = [];
  beforeEach(() => {
    unhandled = [];
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
    for (const u of undo.splice(0)) u();
  });

  for (const [name, options] of paths) {
    it(`${name}: rejects with ENOSPC, no unhandled rejection, no file`, async () => {
      await writeFile(path('w'), pattern(6 * MIB + 5, 7));
      const { hashThread, ...opts } = { hashThread: false, ...options };
      if (hashThread) setHashThreadMinBytes(0);
      await encryptFile(path('w'), path('w.sbx'), { keyring, ...opts });
      const proto = await fileHandleProto();
      const { read, writev } = proto;
      undo.push(() => Object.assign(proto, { read, writev }));
      let writes = 0;
      // By hand, not vi.spyOn (which handles what it returns). The second write fails; reads
      // take 20 ms more than they do, so that the failure comes while one is awaited.
      proto.writev = function (this: unknown, ...args: unknown[]) {
        if (++writes === 2) return Promise.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
        return writev.apply(this, args);
      };
      proto.read = function (this: unknown, ...args: unknown[]) {
        return read.apply(this, args).then(async (r) => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          return r;
        });
      };
      const e = await thrown(() => encryptFile(path('w'), path('w2.sbx'), { keyring, ...opts }));
      expect(code(e)).toBe('ENOSPC');
      writes = 0;
      const d = await thrown(() => decryptFile(path('w.sbx'), path('w.out'), { keyring, ...opts }));
      expect(code(d)).toBe('ENOSPC');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(unhandled).toEqual([]);
      expect(await exists(path('w2.sbx'))).toBe(false);
      expect(await exists(path('w.out'))).toBe(false);
      expect(await leftovers()).toEqual([]);
    });
  }
});
describe('a worker ended from outside mid-file (Worker.terminate through its handle)', () => {
  const plaintext = pattern(6 * MIB + 77, 9);
  const live = (): RealWorker[] => workers.made.filter((w) => w.threadId > 0);
  afterEach(() => setSlotPlacement('auto'));

  for (const placement of ['workers', 'auto'] as const) {
    it(`frame pool, slots on ${placement === 'workers' ? 'workers only' : 'workers and the calling thread'}: ERR_WORKER and no file (or, if no slot was on it, the right bytes)`, async () => {
      await writeFile(path('t'), plaintext);
      await encryptFile(path('t'), path('t.sbx'), { keyring });
      setSlotPlacement(placement);
      for (const [name, run, out] of [
        ['encrypt', () => encryptFile(path('t'), path('t2.sbx'), { keyring, frameLength: 4096, concurrency: 3 }), path('t2.sbx')],
        ['decrypt', () => decryptFile(path('t.sbx'), path('t.out'), { keyring, concurrency: 3 }), path('t.out')],
      ] as const) {
        vi.restoreAllMocks();
        // Every live thread Sealbox made: the frame workers of this call among them.
        await atWrite(2, () => Promise.all(live().map((w) => w.terminate())));
        const outcome = await run().then(
          () => undefined,
          (err: unknown) => err,
        );
        if (placement === 'workers' || outcome !== undefined) {
          expect(outcome, name).toBeInstanceOf(SealboxError);
          expect(code(outcome), name).toBe('ERR_WORKER');
          expect(await exists(out), name).toBe(false);
        }
        expect(await leftovers()).toEqual([]);
      }
      // The dead threads are not handed out again: the next calls work.
      vi.restoreAllMocks();
      await encryptFile(path('t'), path('t3.sbx'), { keyring, concurrency: 3 });
      await decryptFile(path('t3.sbx'), path('t3.out'), { keyring, concurrency: 3 });
      expect(bytesEqual(await readFile(path('t3.out')), plaintext)).toBe(true);
    });
  }

  it('hash thread: ERR_WORKER and no file, encrypting or decrypting; the next file gets a new thread', async () => {
    await writeFile(path('t'), plaintext);
    setHashThreadMinBytes(0);
    await encryptFile(path('t'), path('ts.sbx'), { keyring, suite: SIGNED });
    for (const [name, run, out] of [
      ['encrypt', () => encryptFile(path('t'), path('ts2.sbx'), { keyring, suite: SIGNED }), path('ts2.sbx')],
      ['decrypt', () => decryptFile(path('ts.sbx'), path('ts.out'), { keyring }), path('ts.out')],
    ] as const) {
      vi.restoreAllMocks();
      await atWrite(2, () => Promise.all(live().map((w) => w.terminate())));
      const sessions = hashSessionCount();
      const e = await thrown(run);
      expect(hashSessionCount(), name).toBe(sessions + 1);
      expect(e, name).toBeInstanceOf(SealboxError);
      expect(code(e), name).toBe('ERR_WORKER');
      expect(await exists(out), name).toBe(false);
      expect(await leftovers()).toEqual([]);
    }
    vi.restoreAllMocks();
    await decryptFile(path('ts.sbx'), path('ts.out'), { keyring, signaturePolicy: 'require-signed' });
    expect(bytesEqual(await readFile(path('ts.out')), plaintext)).toBe(true);
  });
});

describe('a keyring that fails once the threads are taken', () => {
  it('rejects with its error, leaves no file, and gives the threads back (none left referenced)', async () => {
    await writeFile(path('k'), pattern(2 * MIB, 3));
    await encryptFile(path('k'), path('k.sbx'), { keyring, suite: SIGNED });
    const broken = {
      wrapKey: () => Promise.reject(new Error('KMS unreachable')),
      unwrapKey: () => Promise.reject(new Error('KMS unreachable')),
    };
    setHashThreadMinBytes(0);
    // encryptFile takes the frame workers (or the hash thread) before it asks the keyring.
    for (const options of [{ concurrency: 3 }, { suite: SIGNED }, {}] as const) {
      const idleBefore = idleFrameThreadCount();
      const e = await thrown(() => encryptFile(path('k'), path('k2.sbx'), { keyring: broken, ...options }));
      expect(code(e), JSON.stringify(options)).toBe('ERR_KEYRING');
      const d = await thrown(() => decryptFile(path('k.sbx'), path('k.out'), { keyring: broken, ...options }));
      expect(code(d), JSON.stringify(options)).toBe('ERR_KEYRING');
      if ('concurrency' in options) expect(idleFrameThreadCount()).toBeGreaterThanOrEqual(Math.max(idleBefore, 2));
    }
    expect(await exists(path('k2.sbx'))).toBe(false);
    expect(await exists(path('k.out'))).toBe(false);
    expect(await leftovers()).toEqual([]);
  });
});

describe('two files at once, sharing the pool', () => {
  it('each gets its own threads and the bytes of concurrency 1; a worker that dies fails its own file only', async () => {
    const a = pattern(5 * MIB + 3, 31);
    const b = pattern(4 * MIB + 999, 32);
    await writeFile(path('a'), a);
    await writeFile(path('b'), b);
    const materialsManager = new FixedMaterialsManager();
    for (const n of ['a', 'b']) await encryptFileWithMessageId(path(n), path(`${n}1.sbx`), { materialsManager, frameLength: 4096, concurrency: 1 }, MESSAGE_ID);
    setSlotPlacement('workers');
    try {
      await Promise.all(['a', 'b'].map((n) => encryptFileWithMessageId(path(n), path(`${n}3.sbx`), { materialsManager, frameLength: 4096, concurrency: 3 }, MESSAGE_ID)));
      for (const n of ['a', 'b']) expect(bytesEqual(await readFile(path(`${n}3.sbx`)), await readFile(path(`${n}1.sbx`))), n).toBe(true);
      await Promise.all(['a', 'b'].map((n) => decryptFile(path(`${n}3.sbx`), path(`${n}.out`), { materialsManager, concurrency: 3 })));
      expect(bytesEqual(await readFile(path('a.out')), a)).toBe(true);
      expect(bytesEqual(await readFile(path('b.out')), b)).toBe(true);
      // The next slot sent (by either file) ends its worker: that file fails, the other is done.
      await rm(path('a.out'));
      await rm(path('b.out'));
      injectFrameWorkerFault('exit');
      const results = await Promise.allSettled(['a', 'b'].map((n) => decryptFile(path(`${n}3.sbx`), path(`${n}.out`), { materialsManager, concurrency: 3 })));
      const failed = results.filter((r) => r.status === 'rejected');
      expect(failed).toHaveLength(1);
      expect(code((failed[0] as PromiseRejectedResult).reason)).toBe('ERR_WORKER');
      const [good, plain] = results[0]!.status === 'fulfilled' ? ['a', a] : ['b', b];
      expect(bytesEqual(await readFile(path(`${good}.out`)), plain)).toBe(true);
      expect(await exists(path(`${good === 'a' ? 'b' : 'a'}.out`))).toBe(false);
      expect(await leftovers()).toEqual([]);
    } finally {
      setSlotPlacement('auto');
    }
  });

  it('two large signed files at once: a hash thread each', async () => {
    const a = pattern(3 * MIB + 1, 33);
    await writeFile(path('sa'), a);
    setHashThreadMinBytes(0);
    const sessions = hashSessionCount();
    await Promise.all([1, 2].map((i) => encryptFile(path('sa'), path(`sa${i}.sbx`), { keyring, suite: SIGNED })));
    await Promise.all([1, 2].map((i) => decryptFile(path(`sa${i}.sbx`), path(`sa${i}.out`), { keyring, signaturePolicy: 'require-signed' })));
    expect(hashSessionCount()).toBe(sessions + 4);
    for (const i of [1, 2]) expect(bytesEqual(await readFile(path(`sa${i}.out`)), a)).toBe(true);
  });
});

describe('an input that changes size while it is read', () => {
  // Larger than the reads made ahead of the writes (six slots of 1 MiB with concurrency 3).
  const plaintext = pattern(12 * MIB + 11, 41);
  for (const [name, options] of paths) {
    it(`${name}: encrypting, the message holds what was read (cut or grown); decrypting, a cut or grown message is refused, no file`, async () => {
      const { hashThread, ...opts } = { hashThread: false, ...options };
      if (hashThread) setHashThreadMinBytes(0);
      for (const change of ['cut', 'grown'] as const) {
        await writeFile(path('c'), plaintext);
        vi.restoreAllMocks();
        await atWrite(2, () => (change === 'cut' ? truncate(path('c'), 3 * MIB + 5) : appendFile(path('c'), pattern(MIB, 42))));
        await encryptFile(path('c'), path('c.sbx'), { keyring, frameLength: 4096, ...opts });
        vi.restoreAllMocks();
        // Cut: what was read before the cut (at least the bytes left); grown: the input as it became.
        const now = await readFile(path('c'));
        await decryptFile(path('c.sbx'), path('c.out'), { keyring, ...opts });
        const out = await readFile(path('c.out'));
        if (change === 'cut') {
          expect(out.length).toBeGreaterThanOrEqual(now.length);
          expect(bytesEqual(out, plaintext.subarray(0, out.length))).toBe(true);
        } else {
          expect(bytesEqual(out, now)).toBe(true);
        }
      }
      // The message itself cut or grown while decryptFile reads it.
      await writeFile(path('c'), plaintext);
      await encryptFile(path('c'), path('c.sbx'), { keyring, frameLength: 4096, ...opts });
      const whole = await readFile(path('c.sbx'));
      for (const [change, expected] of [
        ['cut', 'ERR_TRUNCATED'],
        ['grown', 'ERR_TRAILING_DATA'],
      ] as const) {
        await writeFile(path('c.sbx'), whole);
        await rm(path('c.out'), { force: true });
        vi.restoreAllMocks();
        await atWrite(2, () => (change === 'cut' ? truncate(path('c.sbx'), 4 * MIB + 1) : appendFile(path('c.sbx'), Buffer.alloc(100, 1))));
        const e = await thrown(() => decryptFile(path('c.sbx'), path('c.out'), { keyring, ...opts }));
        expect(code(e), change).toBe(expected);
        expect(await exists(path('c.out'))).toBe(false);
      }
      expect(await leftovers()).toEqual([]);
    });
  }
});

describe('the output directory removed mid-way', () => {
  for (const [name, options] of paths) {
    it(`${name}: rejects (ENOENT), never hangs, leaves nothing`, async () => {
      const { hashThread, ...opts } = { hashThread: false, ...options };
      if (hashThread) setHashThreadMinBytes(0);
      await writeFile(path('g'), pattern(5 * MIB, 43));
      await encryptFile(path('g'), path('g.sbx'), { keyring, ...opts });
      for (const run of [(out: string) => encryptFile(path('g'), join(out, 'g.sbx'), { keyring, ...opts }), (out: string) => decryptFile(path('g.sbx'), join(out, 'g'), { keyring, ...opts })]) {
        const out = path('gone');
        await mkdir(out, { recursive: true });
        vi.restoreAllMocks();
        await atWrite(2, () => rm(out, { recursive: true }));
        const e = await thrown(() => run(out));
        expect(code(e)).toBe('ENOENT');
        expect(await exists(out)).toBe(false);
      }
    });
  }
});

describe('keys and plaintext on other threads', () => {
  it('the frame workers are sent the content key as a KeyObject only: no message holds its bytes, the data key or plaintext', async () => {
    const plaintext = pattern(3 * MIB + 1, 51);
    await writeFile(path('m'), plaintext);
    const raw: Uint8Array[] = [];
    const backend = getAeadBackend();
    const importKey = backend.importKey.bind(backend);
    vi.spyOn(backend, 'importKey').mockImplementation((key: Uint8Array) => {
      raw.push(key.slice());
      return importKey(key);
    });
    const { Worker } = await import('node:worker_threads');
    const posted: unknown[] = [];
    const postMessage = Worker.prototype.postMessage;
    vi.spyOn(Worker.prototype, 'postMessage').mockImplementation(function (this: RealWorker, message: unknown, transfer?: readonly import('node:worker_threads').Transferable[]) {
      posted.push(message);
      return postMessage.call(this, message, transfer);
    });
    setSlotPlacement('workers');
    try {
      await encryptFile(path('m'), path('m.sbx'), { keyring, concurrency: 2 });
      await decryptFile(path('m.sbx'), path('m.out'), { keyring, concurrency: 2 });
    } finally {
      setSlotPlacement('auto');
    }
    const jobs = posted.filter((m): m is { key: unknown; meta: Uint8Array; ops: Int32Array } => typeof m === 'object' && m !== null && 'ops' in m);
    expect(jobs.length).toBeGreaterThan(4);
    expect(raw.length).toBeGreaterThanOrEqual(2);
    const secrets = raw.map((k) => Buffer.from(k));
    for (const job of jobs) {
      expect(job.key).toBeInstanceOf(KeyObject);
      // The only bytes of the job's own (the slots are the message and its output): nonces and AADs.
      expect(Object.values(job).filter((v) => ArrayBuffer.isView(v) && !(v instanceof Int32Array))).toEqual([job.meta]);
      for (const secret of secrets) expect(Buffer.from(job.meta).includes(secret.subarray(0, 16))).toBe(false);
      expect(Buffer.from(job.meta).includes(Buffer.from(plaintext.subarray(0, 16)))).toBe(false);
    }
  });

  it('a worker\'s failure says nothing of the key or the data, and nothing is logged', async () => {
    await writeFile(path('q'), pattern(3 * MIB, 52));
    await encryptFile(path('q'), path('q.sbx'), { keyring });
    const logged: unknown[] = [];
    for (const method of ['log', 'error', 'warn', 'info', 'debug'] as const) vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void logged.push(args));
    const stderr = vi.spyOn(process.stderr, 'write');
    setSlotPlacement('workers');
    const errors: unknown[] = [];
    try {
      for (const kind of ['exit', 'fault'] as const) {
        injectFrameWorkerFault(kind);
        errors.push(await thrown(() => encryptFile(path('q'), path('q2.sbx'), { keyring, concurrency: 2 })));
        injectFrameWorkerFault(kind);
        errors.push(await thrown(() => decryptFile(path('q.sbx'), path('q.out'), { keyring, concurrency: 2 })));
      }
      setHashThreadMinBytes(0);
      await encryptFile(path('q'), path('qs.sbx'), { keyring, suite: SIGNED });
      await atWrite(1, () => Promise.all(workers.made.filter((w) => w.threadId > 0).map((w) => w.terminate())));
      errors.push(await thrown(() => decryptFile(path('qs.sbx'), path('qs.out'), { keyring })));
    } finally {
      setSlotPlacement('auto');
    }
    expect(errors).toHaveLength(5);
    for (const e of errors) {
      expect(e).toBeInstanceOf(SealboxError);
      expect(code(e)).toBe('ERR_WORKER');
      expect((e as Error).message).toMatch(/^A Sealbox frame worker thread (stopped|failed)$|^The Sealbox hash thread stopped$/);
      expect((e as Error).cause).toBeUndefined();
      expect((e as InstanceType<typeof SealboxError>).errors).toEqual([]);
    }
    expect(logged).toEqual([]);
    expect(stderr).not.toHaveBeenCalled();
  });
});

describe('the concurrency option, beyond test/node/file-pool.test.ts\'s values', () => {
  it('-0, 1e9, 2^53, MAX_VALUE: RangeError; true, an object with a valueOf, a numeric string: TypeError; 1 and 64 accepted; no file, no thread', async () => {
    await writeFile(path('v'), pattern(1000));
    await encryptFile(path('v'), path('v.sbx'), { keyring });
    const starts = framePoolStarts();
    for (const [value, type] of [[-0, RangeError], [1e9, RangeError], [2 ** 53, RangeError], [Number.MAX_VALUE, RangeError], [true, TypeError], [{ valueOf: () => 2 }, TypeError], ['3', TypeError]] as const) {
      expect(await thrown(() => encryptFile(path('v'), path('bad.sbx'), { keyring, concurrency: value as number })), String(value)).toBeInstanceOf(type);
      expect(await thrown(() => decryptFile(path('v.sbx'), path('bad'), { keyring, concurrency: value as number })), String(value)).toBeInstanceOf(type);
    }
    expect(await exists(path('bad.sbx'))).toBe(false);
    expect(await exists(path('bad'))).toBe(false);
    // The bounds, on the noble backend (no worker: the calling thread does the work whatever `concurrency` says).
    for (const concurrency of [1, 64]) {
      await encryptFile(path('v'), path('ok.sbx'), { keyring, concurrency, backend: 'noble' });
      await decryptFile(path('ok.sbx'), path('ok'), { keyring, concurrency, backend: 'noble' });
      expect(bytesEqual(await readFile(path('ok')), await readFile(path('v')))).toBe(true);
    }
    expect(framePoolStarts()).toBe(starts);
  });
});
