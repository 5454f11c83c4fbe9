// Node only: worker threads that run AES-256-GCM for `encryptFile` / `decryptFile` (issue 17).
//
// The workers know nothing of the message format. The message engine (the session that derives
// nonces and AADs, claims frame indexes in order, writes frame prefixes; the framers that parse
// and check frames) runs on the calling thread exactly as on the single-threaded path. What
// changes is the content key it is given (`poolKey` below), whose `seal` / `open` of a frame
// that lies in a shared input slot only *record* the operation (nonce, AAD, offsets) and return
// the slot's output region it will fill. `dispatch` then runs the recorded operations of one
// slot (about 1 MiB of frames) on a worker thread, or `runHere` on the calling thread with its
// own key when no worker can take the slot now; the caller reads and writes those output
// regions only after the job has resolved, and writes a decrypted slot only if every frame in
// it verified. So the bytes are the single-threaded path's bytes by construction.
//
// The worker's code is a string run with `eval: true`:
// it needs no file of its own in the package's dist/, in the CLI's single CommonJS file, or
// under vitest (TypeScript sources). Only the derived content key reaches a worker, as a
// node:crypto KeyObject sent with each job (never as bytes in a message or an error).

import { createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { AeadBackend, AeadKey, MaybePromise } from '../crypto/aead.js';
import { SealboxError, decryptionFailed } from '../errors.js';
import { TAG_BYTES } from '../limits.js';
import { IdleThreads } from './idle-threads.js';

/** A worker idle this long is ended (it holds a thread and a few MiB). */
const IDLE_MS = 30_000;

/**
 * The worker: for each job, seal (or open) each recorded frame from the input slot into the
 * output slot. `ops` holds five int32 per frame: input offset, plaintext length, output offset,
 * offset of nonce ‖ AAD in `meta`, AAD length. Opening stops at the first frame whose tag fails,
 * zeroes what it wrote of that frame, and reports its position. Ciphertext and plaintext come
 * out of node:crypto as latin1 strings written into the slot (frames up to 1 MiB): strings fill V8's young
 * generation, which is collected every few MiB and takes node:crypto's per-call Buffers (external
 * memory, otherwise freed only after tens of MiB) with it (see STRING_OUTPUT_BYTES in
 * src/crypto/aead-node.ts). Modules come from process.getBuiltinModule, not require: a worker
 * inherits the parent's `--input-type=module`, which makes eval'd code an ES module.
 */
const WORKER_SOURCE = `
const { parentPort } = process.getBuiltinModule('node:worker_threads');
const crypto = process.getBuiltinModule('node:crypto');
// Frames above 1 MiB as Buffers: a string that large would live in the old generation, whose
// limit is small here.
const put = (c, data, output, at) => {
  if (data.length <= 1048576) output.write(c.update(data, undefined, 'latin1'), at, 'latin1');
  else output.set(c.update(data), at);
};
parentPort.on('message', (job) => {
  if (job.exit) process.exit(1);
  const input = Buffer.from(job.input);
  const output = Buffer.from(job.output);
  const { ops, meta, open, key } = job;
  let failed = -1;
  try {
    if (job.fault) throw new Error('fault injected by a test');
    for (let i = 0; i < ops.length / 5; i++) {
      const inOff = ops[i * 5], len = ops[i * 5 + 1], outOff = ops[i * 5 + 2], m = ops[i * 5 + 3], aadLen = ops[i * 5 + 4];
      const nonce = meta.subarray(m, m + 12);
      const aad = meta.subarray(m + 12, m + 12 + aadLen);
      if (open) {
        const d = crypto.createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
        d.setAAD(aad);
        d.setAuthTag(input.subarray(inOff + len, inOff + len + 16));
        if (len > 0) put(d, input.subarray(inOff, inOff + len), output, outOff);
        try { d.final(); } catch { output.fill(0, outOff, outOff + len); failed = i; break; }
      } else {
        const c = crypto.createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
        c.setAAD(aad);
        if (len > 0) put(c, input.subarray(inOff, inOff + len), output, outOff);
        c.final();
        c.getAuthTag().copy(output, outOff + len);
      }
    }
    parentPort.postMessage({ failed });
  } catch {
    // No detail: nothing about the key or the data leaves the worker.
    parentPort.postMessage({ error: true });
  }
});
`;

/** One worker thread and the jobs it was sent (answered in order). */
interface FrameThread {
  readonly worker: Worker;
  readonly pending: { resolve(r: JobResult): void; reject(e: unknown): void }[];
  dead: boolean;
  /** The worker runs (its start takes tens of milliseconds, more on a busy machine). */
  online: boolean;
  idleTimer?: ReturnType<typeof setTimeout>;
}

interface JobResult {
  failed?: number;
  error?: boolean;
}

const idle = new IdleThreads<FrameThread>(IDLE_MS);

function spawn(): FrameThread {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    // The worker holds a few strings of one frame at a time: small heaps keep its memory small.
    resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
  });
  const thread: FrameThread = { worker, pending: [], dead: false, online: false };
  worker.once('online', () => {
    thread.online = true;
  });
  worker.on('message', (r: JobResult) => thread.pending.shift()?.resolve(r));
  const die = (): void => {
    if (thread.dead) return;
    thread.dead = true;
    idle.forget(thread);
    // A fixed message: whatever the worker's error said stays out of it.
    for (const p of thread.pending.splice(0)) p.reject(new SealboxError('ERR_WORKER', 'A Sealbox frame worker thread stopped'));
  };
  worker.on('error', die);
  worker.on('exit', die);
  return thread;
}

let starts = 0;

/** Test hook: how many files have taken worker threads (calls of `start` with at least one). */
export function framePoolStarts(): number {
  return starts;
}

/** Test hook: how many threads are idle in the pool. */
export function idleFrameThreadCount(): number {
  return idle.size;
}

let injected: 'exit' | 'fault' | undefined;
/** Test hook: where slots go (`'auto'`: to a worker that can take one, else the calling thread). */
let placement: 'auto' | 'workers' | 'here' = 'auto';

/** Test hook: send every slot to a worker (`'workers'`), do every slot on the calling thread (`'here'`), or choose (`'auto'`). */
export function setSlotPlacement(where: 'auto' | 'workers' | 'here'): void {
  placement = where;
}

/** Jobs a worker may have queued before the calling thread does a slot itself. */
const QUEUE_DEPTH = 2;

/** Test hook: the next job's worker exits (`'exit'`) or fails (`'fault'`) instead of running it. */
export function injectFrameWorkerFault(kind: 'exit' | 'fault'): void {
  injected = kind;
}

/** A shared input region and the output region its frames are sealed or opened into. */
export interface Slot {
  readonly input: Buffer;
  readonly output: Buffer;
}

/** Makes a slot of `inputBytes` and `outputBytes`, both in shared memory. */
export function newSlot(inputBytes: number, outputBytes: number): Slot {
  return { input: Buffer.from(new SharedArrayBuffer(inputBytes)), output: Buffer.from(new SharedArrayBuffer(outputBytes)) };
}

/** The operations recorded for one slot, ready for a worker. */
export interface Job {
  readonly slot: Slot;
  readonly ops: Int32Array;
  readonly meta: Uint8Array;
}

/** Records frame operations per slot, sends them to worker threads, hands out the key that records. */
export interface FramePool {
  /** Wraps `real` so that the key it imports records frame operations while a slot is open. */
  readonly backend: AeadBackend;
  /** True while a slot is open (frame operations in it are recorded, not run). */
  readonly recording: boolean;
  /** Takes `threads` worker threads (idle ones first) for this file's jobs. */
  start(threads: number): void;
  /**
   * Whether a worker can take a slot now (one is running and has fewer than two slots queued).
   * If not, the calling thread seals or opens the slot itself: while the workers start, and
   * whenever they are behind, it works as the single-threaded path does.
   */
  canTake(): boolean;
  /**
   * Runs `job` on the calling thread, now, with the calling thread's key (node:crypto, which
   * writes frames of 16 KiB or more through latin1 strings: little garbage, see aead-node.ts).
   * Throws ERR_DECRYPTION_FAILED at the first tag that fails (its output zeroed).
   */
  runHere(job: Job): void;
  /** From now on, frames lying in `slot.input` are recorded (until {@link FramePool.closeSlot}). */
  openSlot(slot: Slot): void;
  /** Stops recording; returns what was recorded, or undefined when nothing was. */
  closeSlot(): Job | undefined;
  /**
   * Runs `job` on the least busy thread. Resolves when every frame is done; for decryption it
   * rejects with ERR_DECRYPTION_FAILED if any tag failed (the failing frame's output is zeroed).
   */
  dispatch(job: Job): Promise<void>;
  /** Gives the threads back to the idle list (or ends them). Call once, after every job settled. */
  release(): void;
}

/** A pool for one file, sealing (`open` false) or opening its frames; no thread is taken before {@link FramePool.start}. */
export function openFramePool(real: AeadBackend, open: boolean): FramePool {
  const mine: FrameThread[] = [];
  let keyObject: KeyObject | undefined;
  let localKey: AeadKey | undefined;
  let slot: Slot | undefined;
  let ops: number[] = [];
  let meta: Uint8Array[] = [];
  let metaBytes = 0;
  let used = 0;

  /** Records one frame; returns the output region, or undefined if it cannot be recorded. */
  const record = (nonce: Uint8Array, aad: Uint8Array, data: Uint8Array, length: number, headroom: number): Uint8Array | undefined => {
    if (!slot || data.buffer !== slot.input.buffer || keyObject === undefined) return undefined;
    const start = used + headroom;
    const end = start + length + (open ? 0 : TAG_BYTES);
    if (end > slot.output.length) return undefined;
    ops.push(data.byteOffset - slot.input.byteOffset, length, start, metaBytes, aad.length);
    meta.push(nonce, aad);
    metaBytes += nonce.length + aad.length;
    used = end;
    return slot.output.subarray(start - headroom, end);
  };

  const backend: AeadBackend = {
    name: real.name,
    importKey(raw: Uint8Array): MaybePromise<AeadKey> {
      // node:crypto copies the key into the KeyObject; the caller wipes `raw` as before.
      keyObject = createSecretKey(raw);
      const local = real.importKey(raw);
      const wrap = (k: AeadKey): AeadKey => {
        localKey = k;
        return poolKey(k, record);
      };
      return local instanceof Promise ? local.then(wrap) : wrap(local);
    },
  };

  return {
    backend,
    get recording() {
      return slot !== undefined;
    },
    start(threads) {
      if (threads > 0) starts++;
      for (let i = 0; i < threads; i++) {
        // Referenced while this file uses it (take() does it; a new worker is): the process
        // waits for the jobs it was sent.
        let thread = idle.take();
        if (!thread) {
          try {
            thread = spawn();
          } catch {
            // No thread to be had (a process at its thread limit: ERR_WORKER_INIT_FAILED): the
            // calling thread does the slots no worker can take, as while workers start.
            break;
          }
        }
        mine.push(thread);
      }
    },
    openSlot(s) {
      slot = s;
      ops = [];
      meta = [];
      metaBytes = 0;
      used = 0;
    },
    closeSlot() {
      const s = slot;
      slot = undefined;
      if (!s || ops.length === 0) return undefined;
      const m = new Uint8Array(metaBytes);
      let off = 0;
      for (const part of meta) {
        m.set(part, off);
        off += part.length;
      }
      return { slot: s, ops: Int32Array.from(ops), meta: m };
    },
    runHere(job) {
      const key = localKey as AeadKey;
      const { ops, meta, slot: { input, output } } = job;
      for (let i = 0; i < ops.length; i += 5) {
        const [inOff, len, outOff, m, aadLen] = [ops[i]!, ops[i + 1]!, ops[i + 2]!, ops[i + 3]!, ops[i + 4]!];
        const nonce = meta.subarray(m, m + 12);
        const aad = meta.subarray(m + 12, m + 12 + aadLen);
        if (open) (key.openInto as NonNullable<AeadKey['openInto']>)(nonce, aad, input.subarray(inOff, inOff + len + TAG_BYTES), output, outOff);
        else (key.sealInto as NonNullable<AeadKey['sealInto']>)(nonce, aad, input.subarray(inOff, inOff + len), output, outOff);
      }
    },
    canTake() {
      if (placement !== 'auto') return placement === 'workers';
      return mine.some((t) => !t.dead && t.online && t.pending.length < QUEUE_DEPTH);
    },
    dispatch(job) {
      const live = mine.filter((t) => !t.dead);
      if (live.length === 0) return Promise.reject(new SealboxError('ERR_WORKER', 'A Sealbox frame worker thread stopped'));
      const thread = live.reduce((a, b) => ((b.online && !a.online) || (b.online === a.online && b.pending.length < a.pending.length) ? b : a));
      return new Promise<JobResult>((resolve, reject) => {
        thread.pending.push({ resolve, reject });
        const fault = injected;
        injected = undefined;
        thread.worker.postMessage({ key: keyObject, input: job.slot.input.buffer, output: job.slot.output.buffer, ops: job.ops, meta: job.meta, open, ...(fault ? { [fault]: true } : {}) });
      }).then((r) => {
        if (r.error) throw new SealboxError('ERR_WORKER', 'A Sealbox frame worker thread failed');
        if (r.failed !== undefined && r.failed >= 0) throw decryptionFailed();
      });
    },
    release() {
      keyObject = undefined;
      for (const thread of mine.splice(0)) {
        if (thread.dead || thread.pending.length > 0) {
          void thread.worker.terminate();
          continue;
        }
        idle.park(thread);
      }
    },
  };
}

type Recorder = (nonce: Uint8Array, aad: Uint8Array, data: Uint8Array, length: number, headroom: number) => Uint8Array | undefined;

/**
 * The content key of a pooled file: frames in the open slot are recorded (their output is
 * valid once the slot's job resolves); anything else (the header tag, a final frame copied out
 * of the slot) runs at once on `local`, the calling thread's key.
 */
function poolKey(local: AeadKey, record: Recorder): AeadKey {
  const key: AeadKey = {
    seal(nonce, aad, plaintext, headroom = 0) {
      return record(nonce, aad, plaintext, plaintext.length, headroom) ?? local.seal(nonce, aad, plaintext, headroom);
    },
    open(nonce, aad, sealed) {
      if (sealed.length >= TAG_BYTES) {
        const out = record(nonce, aad, sealed, sealed.length - TAG_BYTES, 0);
        if (out) return out;
      }
      return local.open(nonce, aad, sealed);
    },
  };
  // The header tag is sealed with sealInto when the backend has it (never recorded).
  if (local.sealInto) key.sealInto = local.sealInto.bind(local);
  // encryptFile's framer gathers parts: recorded, ciphertext and tag are two views of the
  // slot's output; otherwise node:crypto's own arrays, uncopied (as on the single-threaded path).
  const sealParts = local.sealParts?.bind(local);
  if (sealParts) {
    key.sealParts = (nonce, aad, plaintext) => {
      const out = record(nonce, aad, plaintext, plaintext.length, 0);
      return out ? [out.subarray(0, plaintext.length), out.subarray(plaintext.length)] : sealParts(nonce, aad, plaintext);
    };
  }
  return key;
}
