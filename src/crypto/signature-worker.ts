// Node only (imported by signature-node.ts, which the browser bundle replaces with a stand-in).
//
// SHA-384 runs at about 885 MiB/s on one core, slower than Sealbox's unsigned file path, so a
// large signed message would be bound by its hash if the hash ran between the frames. Here the
// hash (inside a node:crypto Sign or Verify object) runs on a worker thread, fed through a ring
// buffer in shared memory: `update` copies the bytes in and returns, and blocks (Atomics.wait)
// only when the worker is a whole ring behind, which bounds memory. Sealing on this thread and
// hashing on the other overlap; the signature or verdict comes back by message at the end.

type KeyObject = import('node:crypto').KeyObject;
type Worker = import('node:worker_threads').Worker;

/** Ring size: what the worker may lag behind, and the memory a session holds. */
const RING_BYTES = 2 * 1024 * 1024;
/** Room in the control block for the signature to verify (DER is at most 104 bytes for P-384). */
const SIGNATURE_ROOM = 256;
/**
 * Control block: written and read counters (BigInt64); the signature's length and encoding (1:
 * DER); "worker waits" and "writer waits" flags (each side wakes the other only when it waits:
 * a wake-up per frame would cost a system call and a context switch each); then the signature.
 */
const CONTROL_BYTES = 32 + SIGNATURE_ROOM;
/** A worker idle this long is ended (it holds a thread and a few MiB). */
const IDLE_MS = 30_000;
/** `update` gives up when the worker has made no progress for this long (it died or hangs). */
const STALL_MS = 60_000;

/**
 * The worker's code, run with `eval: true` so it needs no file of its own in any build (dist,
 * tests, bundlers). Counter 0 is what the writer has written; it is stored as -(total + 1) when
 * the writer has finished, so the one word the worker waits on carries both (no lost wake-up).
 * Counter 1 is what the worker has hashed.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const c = new BigInt64Array(workerData.control, 0, 2);
const sigLength = new Int32Array(workerData.control, 16, 1);
const sigDer = new Int32Array(workerData.control, 20, 1);
const waits = new Int32Array(workerData.control, 24, 2);
const sigBytes = new Uint8Array(workerData.control, 32);
const ring = new Uint8Array(workerData.ring);
const size = BigInt(ring.length);
parentPort.on('message', ({ key, sign }) => {
  // The result is posted only after the writer has finished, error or not: the writer listens
  // for it only from then on (a listener would keep its process alive).
  let error;
  let h;
  try { h = sign ? crypto.createSign('sha384') : crypto.createVerify('sha384'); } catch (err) { error = err; }
  let read = 0n;
  for (;;) {
    const w = Atomics.load(c, 0);
    const end = w < 0n ? -w - 1n : w;
    if (end === read) {
      if (w < 0n) break;
      // Flag first, then look again: a writer that stores after this look sees the flag.
      Atomics.store(waits, 0, 1);
      if (Atomics.load(c, 0) === w) Atomics.wait(c, 0, w);
      Atomics.store(waits, 0, 0);
      continue;
    }
    const start = read % size;
    const n = end - read < size - start ? end - read : size - start;
    if (!error) {
      try { h.update(ring.subarray(Number(start), Number(start + n))); } catch (err) { error = err; }
    }
    read += n;
    Atomics.store(c, 1, read);
    if (Atomics.load(waits, 1) === 1) Atomics.notify(c, 1);
  }
  try {
    if (error) throw error;
    if (sign) {
      parentPort.postMessage({ signature: h.sign({ key, dsaEncoding: 'ieee-p1363' }) });
    } else {
      const signature = sigBytes.slice(0, Atomics.load(sigLength, 0));
      const dsaEncoding = Atomics.load(sigDer, 0) === 1 ? 'der' : 'ieee-p1363';
      let valid = false;
      try { valid = h.verify({ key, dsaEncoding }, signature); } catch {}
      parentPort.postMessage({ valid });
    }
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message) });
  }
});
`;

/** One worker thread with its ring; serves one session at a time. */
interface HashThread {
  readonly worker: Worker;
  readonly counters: BigInt64Array;
  readonly sigLength: Int32Array;
  readonly sigDer: Int32Array;
  /** [0]: the worker waits for bytes; [1]: the writer waits for room. */
  readonly waits: Int32Array;
  readonly sigBytes: Uint8Array;
  readonly ring: Uint8Array;
  idleTimer?: ReturnType<typeof setTimeout>;
}

const idle: HashThread[] = [];

function workerThreads(): typeof import('node:worker_threads') {
  const proc = (globalThis as unknown as { process: { getBuiltinModule(id: 'node:worker_threads'): typeof import('node:worker_threads') } }).process;
  return proc.getBuiltinModule('node:worker_threads');
}

function spawn(): HashThread {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const ring = new SharedArrayBuffer(RING_BYTES);
  const worker = new (workerThreads().Worker)(WORKER_SOURCE, {
    eval: true,
    workerData: { control, ring },
    // The worker allocates next to nothing: small heaps keep its memory small.
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
  });
  const thread: HashThread = { worker, counters: new BigInt64Array(control, 0, 2), sigLength: new Int32Array(control, 16, 1), sigDer: new Int32Array(control, 20, 1), waits: new Int32Array(control, 24, 2), sigBytes: new Uint8Array(control, 32), ring: new Uint8Array(ring) };
  worker.unref();
  // A dead worker is never handed out again; a session waiting on it is failed by its listener.
  worker.on('error', () => forget(thread));
  worker.on('exit', () => forget(thread));
  return thread;
}

function forget(thread: HashThread): void {
  const i = idle.indexOf(thread);
  if (i >= 0) idle.splice(i, 1);
}

/** Starts a worker thread now (it takes tens of milliseconds to boot), to be taken by {@link hashSession}. */
export function prewarmHashThread(): void {
  if (idle.length === 0) park(spawn());
}

function park(thread: HashThread): void {
  thread.worker.unref();
  thread.idleTimer = setTimeout(() => {
    forget(thread);
    void thread.worker.terminate();
  }, IDLE_MS);
  thread.idleTimer.unref();
  idle.push(thread);
}

/** What a session's `finish` resolves to. */
interface Result {
  signature?: Uint8Array;
  valid?: boolean;
  error?: string;
}

/** A running hash on a worker thread: `update` feeds it, `finish` ends it once. */
export interface HashSession {
  update(chunk: Uint8Array): void;
  /** For a signing session: the signature, r ‖ s (either s). */
  finishSign(): Promise<Uint8Array>;
  /** For a verifying session: whether `signature` (r ‖ s, or DER) verifies as raw ECDSA. */
  finishVerify(signature: Uint8Array, der: boolean): Promise<boolean>;
}

/**
 * A session on an idle (or new) worker thread that signs with `key` (a private key) or
 * verifies with it (a public key), hashing with SHA-384 everything given to `update`.
 */
export function hashSession(key: KeyObject, sign: boolean): HashSession {
  const thread = idle.pop() ?? spawn();
  sessions++;
  if (thread.idleTimer) clearTimeout(thread.idleTimer);
  const { worker, counters, ring, waits } = thread;
  Atomics.store(counters, 0, 0n);
  Atomics.store(counters, 1, 0n);
  worker.postMessage({ key, sign });
  const size = BigInt(ring.length);
  let written = 0n;
  let finished = false;

  const finish = async (): Promise<Result> => {
    if (finished) throw new Error('hash session finished twice');
    finished = true;
    abandoned.unregister(session);
    // Listened to and referenced only while the result is awaited: unreferenced, the process
    // could exit under a caller awaiting it; referenced (or listened to) before, a session
    // dropped unfinished would keep the process alive.
    worker.ref();
    const result = new Promise<Result>((resolve) => {
      const onMessage = (m: Result): void => {
        worker.off('exit', onExit);
        resolve(m);
      };
      const onExit = (): void => {
        worker.off('message', onMessage);
        resolve({ error: 'the signature worker thread exited' });
      };
      worker.once('message', onMessage);
      worker.once('exit', onExit);
    });
    Atomics.store(counters, 0, -written - 1n);
    Atomics.notify(counters, 0);
    const r = await result;
    if (r.error === undefined) park(thread);
    else void worker.terminate();
    return r;
  };

  const session: HashSession = {
    update(chunk) {
      if (finished) throw new Error('hash session: update after finish');
      let off = 0;
      while (off < chunk.length) {
        let read = Atomics.load(counters, 1);
        let stalledSince = 0;
        while (written - read === size) {
          // The ring is full: wait for the worker to hash some of it (flag, look again, wait).
          Atomics.store(waits, 1, 1);
          read = Atomics.load(counters, 1);
          if (written - read === size && Atomics.wait(counters, 1, read, 1000) === 'timed-out') {
            stalledSince ||= Date.now();
            if (Date.now() - stalledSince > STALL_MS) throw new Error('the signature worker thread stopped hashing');
          }
          Atomics.store(waits, 1, 0);
          read = Atomics.load(counters, 1);
        }
        const start = Number(written % size);
        const n = Math.min(chunk.length - off, Number(size - (written - read)), ring.length - start);
        ring.set(chunk.subarray(off, off + n), start);
        off += n;
        written += BigInt(n);
        Atomics.store(counters, 0, written);
        if (Atomics.load(waits, 0) === 1) Atomics.notify(counters, 0);
      }
    },
    async finishSign() {
      const r = await finish();
      if (!r.signature) throw new Error(`ECDSA signing failed on the worker thread: ${r.error ?? 'no signature'}`);
      return new Uint8Array(r.signature);
    },
    async finishVerify(signature, der) {
      if (signature.length > SIGNATURE_ROOM) {
        // No valid signature is that long; still end the session so the worker is freed.
        await finish();
        return false;
      }
      thread.sigBytes.set(signature);
      Atomics.store(thread.sigLength, 0, signature.length);
      Atomics.store(thread.sigDer, 0, der ? 1 : 0);
      const r = await finish();
      if (r.valid === undefined) throw new Error(`ECDSA verification failed on the worker thread: ${r.error ?? 'no verdict'}`);
      return r.valid;
    },
  };
  // A session dropped before its end (an encryption that failed, a forged message abandoned
  // mid-stream) leaves its worker waiting for bytes: end that worker when the session is collected.
  abandoned.register(session, worker, session);
  return session;
}

const abandoned = new FinalizationRegistry<Worker>((worker) => void worker.terminate());

/** Test hook: how many hash sessions have run on worker threads in this process. */
export function hashSessionCount(): number {
  return sessions;
}
let sessions = 0;
