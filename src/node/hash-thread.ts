// Node only: the SHA-384 of a large signed file on a thread of its own (issue 20), so that the
// hash of a signed `encryptFile` / `decryptFile` runs beside the sealing or opening of its
// frames instead of adding to it (SHA-384 runs at about 885 MiB/s on one core, about as fast
// as the whole unsigned file path).
//
// No ring and no copy of the message: the file path reads (decryption) or seals (encryption)
// into buffers in shared memory, and a view of such a buffer given to `update` is posted to the
// worker as (buffer, offset, length), adjacent views joined into one. The file path reuses a
// buffer only after `hashed()` says the worker is past it. Anything else given to `update` (the
// header, a final frame's length field) is small and copied. The worker also signs (with the
// message's fresh private key, a KeyObject) or verifies (with its public key) at the end: a
// node:crypto Sign or Verify object cannot leave the thread that fed it. It never sees
// plaintext or the data key: the signed bytes are the message's own bytes.
//
// An earlier hash thread (fed through a 2 MiB ring, commit 5530963) was dropped because the
// thread's 10-12 MiB of RSS took a signed 256 MiB file above its 96 MiB limit. This one is the
// same kind of thread; what makes room for it is the file path itself, which now writes frames
// into reused buffers instead of leaving a fresh one per frame for the collector (files.ts).

import { Worker } from 'node:worker_threads';
import type { ExternalHash } from '../crypto/signature.js';
import { SealboxError } from '../errors.js';
import { IdleThreads } from './idle-threads.js';

/** A thread idle this long is ended (it holds about 10 MiB). */
const IDLE_MS = 30_000;

/**
 * The worker. Messages (all carry `s`, the session): `{ s, begin: 'sign' | 'verify' }` starts a
 * hash; `{ s, b, o, n }` hashes n bytes at o of b (a SharedArrayBuffer, or a copied
 * Uint8Array); `{ s, ack }` is answered `{ s, ack }` (everything before it is hashed);
 * `{ s, sign: key }` is answered `{ s, signature }`, `{ s, verify: key, signature, der }` with
 * `{ s, valid }`; a failure with `{ s, error: true }` and nothing else (no detail leaves the
 * thread). `{ exit: true }` (a test hook) ends the thread.
 */
const WORKER_SOURCE = `
const { parentPort } = process.getBuiltinModule('node:worker_threads');
const crypto = process.getBuiltinModule('node:crypto');
let session = -1;
let hash;
let failed = false;
parentPort.on('message', (m) => {
  if (m.exit) process.exit(1);
  if (m.begin) {
    session = m.s;
    failed = false;
    hash = m.begin === 'sign' ? crypto.createSign('sha384') : crypto.createVerify('sha384');
    return;
  }
  if (m.s !== session) return;
  try {
    if (m.b !== undefined) {
      if (!failed) hash.update(m.b instanceof SharedArrayBuffer ? new Uint8Array(m.b, m.o, m.n) : m.b);
    } else if (m.ack !== undefined) {
      parentPort.postMessage(failed ? { s: session, error: true } : { s: session, ack: m.ack });
    } else if (failed) {
      parentPort.postMessage({ s: session, error: true });
    } else if (m.sign) {
      parentPort.postMessage({ s: session, signature: hash.sign({ key: m.sign, dsaEncoding: 'ieee-p1363' }) });
    } else if (m.verify) {
      let valid = false;
      try { valid = hash.verify({ key: m.verify, dsaEncoding: m.der ? 'der' : 'ieee-p1363' }, m.signature); } catch {}
      parentPort.postMessage({ s: session, valid });
    }
  } catch {
    failed = true;
    if (m.b === undefined) parentPort.postMessage({ s: session, error: true });
  }
});
`;

interface Reply {
  s: number;
  ack?: number;
  signature?: Uint8Array;
  valid?: boolean;
  error?: boolean;
}

/** One worker thread; serves one session at a time. */
interface HashThread {
  readonly worker: Worker;
  dead: boolean;
  /** The session using it, told of its replies and of its death. */
  session?: { reply(r: Reply): void; died(): void };
  idleTimer?: ReturnType<typeof setTimeout>;
}

const idle = new IdleThreads<HashThread>(IDLE_MS);
let spawned = 0;
let faultNext = false;

/** Test hook: how many hash threads have been started (by this module, ever). */
export function hashThreadSpawns(): number {
  return spawned;
}

/** Test hook: the next session's thread exits in the middle of its work. */
export function injectHashThreadExit(): void {
  faultNext = true;
}

/** A new thread; undefined when none can be created (Node's Worker throws ERR_WORKER_INIT_FAILED). */
function spawnIfPossible(): HashThread | undefined {
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // The worker allocates next to nothing (its input is shared memory): small heaps.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
  } catch {
    return undefined;
  }
  spawned++;
  const thread: HashThread = { worker, dead: false };
  worker.on('message', (r: Reply) => thread.session?.reply(r));
  const die = (): void => {
    if (thread.dead) return;
    thread.dead = true;
    idle.forget(thread);
    thread.session?.died();
  };
  worker.on('error', die);
  worker.on('exit', die);
  return thread;
}

/** The error of a session whose thread stopped (a fixed message: nothing of the worker's error). */
function threadStopped(): SealboxError {
  return new SealboxError('ERR_WORKER', 'The Sealbox hash thread stopped');
}

/** A signer's or verifier's hash on a thread of its own (see the top of this file). */
export interface HashSession extends ExternalHash {
  /**
   * Resolves once every byte given to `update` so far is hashed: shared memory that held them
   * may be reused. Rejects with ERR_WORKER if the thread stopped.
   */
  hashed(): Promise<void>;
  /** Ends the session; the thread goes back to the idle list (or ends, if it failed). Call once. */
  release(): void;
}

let sessions = 0;

/** Test hook: how many hash sessions have been opened (by this module, ever). */
export function hashSessionCount(): number {
  return sessions;
}

/**
 * A session on an idle (or new) hash thread, for signing (`sign` true) or verifying. Take it
 * early: a new thread takes tens of milliseconds to start, and bytes sent meanwhile wait.
 * Undefined when no thread can be created (a process at its thread limit): the caller hashes
 * on its own thread then.
 */
export function openHashSession(sign: boolean): HashSession | undefined {
  // Referenced while in use (take() does it; a new worker is): the process waits for the
  // answers this session awaits.
  const thread = idle.take() ?? spawnIfPossible();
  if (!thread) return undefined;
  const s = ++sessions;
  let acks = 0;
  const waiting = new Map<number, { resolve(): void; reject(e: unknown): void }>();
  let final: { resolve(r: Reply): void; reject(e: unknown): void } | undefined;
  let failure: SealboxError | undefined;
  let released = false;
  /** A run of adjacent shared-memory bytes not posted yet. */
  let run: { b: SharedArrayBuffer; o: number; n: number } | undefined;

  const fail = (error: SealboxError): void => {
    failure ??= error;
    for (const w of waiting.values()) w.reject(failure);
    waiting.clear();
    final?.reject(failure);
    final = undefined;
  };
  thread.session = {
    reply(r) {
      if (r.s !== s) return;
      if (r.error) return fail(new SealboxError('ERR_WORKER', 'The Sealbox hash thread failed'));
      if (r.ack !== undefined) {
        const w = waiting.get(r.ack);
        waiting.delete(r.ack);
        w?.resolve();
        return;
      }
      const f = final;
      final = undefined;
      f?.resolve(r);
    },
    died: () => fail(threadStopped()),
  };
  if (thread.dead) fail(threadStopped());
  const post = (message: object, transfer?: ArrayBuffer[]): void => {
    if (!failure) thread.worker.postMessage({ s, ...message }, transfer);
  };
  const flush = (): void => {
    if (run) post(run);
    run = undefined;
  };
  const ask = (message: object): Promise<Reply> => {
    if (failure) return Promise.reject(failure);
    flush();
    return new Promise<Reply>((resolve, reject) => {
      final = { resolve, reject };
      post(message);
    });
  };
  post({ begin: sign ? 'sign' : 'verify' });
  if (faultNext) {
    faultNext = false;
    thread.worker.postMessage({ exit: true });
  }

  return {
    update(chunk) {
      if (chunk.length === 0) return;
      const b = chunk.buffer;
      if (b instanceof SharedArrayBuffer) {
        if (run && run.b === b && run.o + run.n === chunk.byteOffset) {
          run.n += chunk.length;
          return;
        }
        flush();
        run = { b, o: chunk.byteOffset, n: chunk.length };
        return;
      }
      flush();
      const copy = new Uint8Array(chunk);
      post({ b: copy }, [copy.buffer]);
    },
    hashed() {
      if (failure) return Promise.reject(failure);
      flush();
      const id = ++acks;
      return new Promise<void>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        post({ ack: id });
      });
    },
    async sign(privateKey) {
      const r = await ask({ sign: privateKey });
      return new Uint8Array(r.signature as Uint8Array);
    },
    async verify(publicKey, signature, der) {
      const r = await ask({ verify: publicKey, signature: new Uint8Array(signature), der });
      return r.valid === true;
    },
    release() {
      if (released) return;
      released = true;
      thread.session = undefined;
      fail(new SealboxError('ERR_STATE', 'The hash session was released'));
      if (thread.dead) return;
      idle.park(thread);
    },
  };
}
