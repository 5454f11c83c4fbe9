import { invert } from '@noble/curves/abstract/modular.js';

// Node only: imported by signature-node.ts alone, which the browser bundle replaces.
//
// ECDSA P-384 signing with its two scalar multiplications made ahead (issue 20). A signature
// of a message with a one-off key costs two fixed-base multiplications: Q = d·G for the key,
// R = k·G for the nonce (~0.6 ms each with Node 20's OpenSSL). Neither depends on the message,
// so both are made before it, on a worker thread when there is a core to spare, as a pair of
// fresh OpenSSL key pairs; the caller's `sign` is then s = k⁻¹ (z + r·d) mod n (SEC 1 §4.1.3),
// two multiplications and a blinded inversion (~50 us). docs/decisions/0002 has the argument.

type NodeCrypto = typeof import('node:crypto');
type Worker = import('node:worker_threads').Worker;
type MessagePort = import('node:worker_threads').MessagePort;
type WorkerThreads = typeof import('node:worker_threads');

/** n, the order of the P-384 base point (SEC 2 §2.2.1; SP 800-186 §3.2.1.4). */
const N = 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;

/** Bytes of one made-ahead entry: d (48), the compressed Q (49), k (48), x of R (48). */
export const ENTRY_BYTES = 193;

/**
 * `count` entries of {@link ENTRY_BYTES}, each from two fresh OpenSSL P-384 key pairs (ECDH key
 * generation: the cheapest node:crypto has, no KeyObject, no encoding): the first is the
 * message's key, the second the nonce. Self-contained, with no reference outside its body:
 * the worker runs its source (Function.prototype.toString).
 */
export function makeEntries(crypto: Pick<NodeCrypto, 'createECDH'>, count: number): Uint8Array {
  const out = new Uint8Array(count * 193);
  const key = crypto.createECDH('secp384r1');
  const nonce = crypto.createECDH('secp384r1');
  for (let i = 0; i < count; i++) {
    const at = i * 193;
    key.generateKeys();
    nonce.generateKeys();
    // getPrivateKey() leaves out leading zero bytes: each scalar is right-aligned in 48.
    const d = key.getPrivateKey();
    const k = nonce.getPrivateKey();
    out.set(d, at + 48 - d.length);
    out.set(key.getPublicKey(null, 'compressed'), at + 48);
    out.set(k, at + 97 + 48 - k.length);
    out.set(nonce.getPublicKey(null, 'uncompressed').subarray(1, 49), at + 145);
    d.fill(0);
    k.fill(0);
  }
  return out;
}

/**
 * The worker: answers a count with that many entries, transferred, on the port it was given.
 * The caller takes them off that port synchronously (receiveMessageOnPort): a caller that signs
 * message after message without yielding to the event loop (an `await` of work that completes in
 * microtasks) would never see a 'message' event, and made every entry itself.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const crypto = process.getBuiltinModule('node:crypto');
const makeEntries = ${makeEntries.toString()};
parentPort.on('message', (m) => {
  if (m === 'exit') process.exit(1);
  const out = makeEntries(crypto, m);
  workerData.port.postMessage(out, [out.buffer]);
});
`;

/** One signature's material: the message key (d, Q compressed) and the nonce (k, r = x(R) mod n). */
export interface Presigned {
  readonly d: bigint;
  readonly publicKey: Uint8Array;
  readonly k: bigint;
  readonly r: bigint;
}

/** Entries a worker makes per request (~5 ms of work). */
const BATCH = 4;
/** A worker idle this long (no entry taken) is ended. */
const IDLE_MS = 30_000;

/** Requests a worker may have outstanding: it starts the next batch as soon as one is sent. */
const IN_FLIGHT = 2;

interface Thread {
  readonly worker: Worker;
  /** Where its batches arrive; never started (no listener), read by receiveMessageOnPort. */
  readonly port: MessagePort;
  /** Batches asked for and not yet taken off the port. */
  pending: number;
}

/**
 * Entries made ahead by worker threads (at most 3, one fewer than the cores), started at the
 * second entry taken in a process (a command that signs one message starts none); an entry is
 * made on the caller's thread when none is ready. The workers never keep a process alive and end
 * after {@link IDLE_MS} without use; one that stops is not replaced (entries are then made on the
 * caller's thread). Each entry is handed out once, and its bytes are wiped when taken.
 */
export class PresignPool {
  readonly #crypto: NodeCrypto;
  readonly #ready: Uint8Array[] = [];
  #threads: Thread[] = [];
  #taken = 0;
  #started = false;
  #idleTimer?: ReturnType<typeof setTimeout>;
  #workerThreads?: WorkerThreads;
  /** Test hook: how many worker threads this pool has started. */
  spawned = 0;
  /** Test hook: how many entries taken were made by a worker. */
  takenFromWorkers = 0;

  /** Test hook: how many entries are ready (taking what the workers have sent). */
  get readyCount(): number {
    this.#receive();
    return this.#ready.length;
  }

  /** `workerThreads`: node:worker_threads unless a test gives another. */
  constructor(crypto: NodeCrypto, workerThreads?: WorkerThreads) {
    this.#crypto = crypto;
    this.#workerThreads = workerThreads;
  }

  /** One entry, for one signature. */
  take(): Presigned {
    this.#taken++;
    this.#receive();
    const ready = this.#ready.shift();
    if (ready) this.takenFromWorkers++;
    const bytes = ready ?? makeEntries(this.#crypto, 1);
    try {
      return decodeEntry(bytes);
    } finally {
      bytes.fill(0);
      this.#refill();
    }
  }

  /** Test hook: the next worker to answer exits instead. */
  injectWorkerExit(): void {
    this.#threads[0]?.worker.postMessage('exit');
  }

  /** Takes every batch the workers have sent off their ports, without waiting. */
  #receive(): void {
    const receive = this.#workerThreads?.receiveMessageOnPort;
    if (!receive) return;
    for (const thread of this.#threads) {
      for (let got = receive(thread.port); got; got = receive(thread.port)) {
        thread.pending--;
        const batch = got.message as Uint8Array;
        for (let at = 0; at < batch.length; at += ENTRY_BYTES) this.#ready.push(batch.subarray(at, at + ENTRY_BYTES));
      }
    }
  }

  #refill(): void {
    if (this.#taken < 2) return;
    if (!this.#started) this.#start();
    if (this.#idleTimer) this.#idleTimer.refresh();
    // Entries ready or asked for, against three batches a worker.
    let coming = this.#ready.length;
    for (const thread of this.#threads) coming += thread.pending * BATCH;
    const wanted = 3 * BATCH * this.#threads.length;
    for (const thread of this.#threads) {
      while (thread.pending < IN_FLIGHT && coming < wanted) {
        thread.pending++;
        coming += BATCH;
        thread.worker.postMessage(BATCH);
      }
    }
  }

  #start(): void {
    this.#started = true;
    const { availableParallelism } = process.getBuiltinModule('node:os');
    const threads = (this.#workerThreads ??= process.getBuiltinModule('node:worker_threads'));
    const count = Math.max(0, Math.min(3, availableParallelism() - 1));
    for (let i = 0; i < count; i++) {
      const { port1, port2 } = new threads.MessageChannel();
      let worker: Worker;
      try {
        // Next to nothing is allocated in the worker: small heaps.
        worker = new threads.Worker(WORKER_SOURCE, {
          eval: true,
          workerData: { port: port2 },
          transferList: [port2],
          resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
        });
      } catch {
        // No thread to be had (a process at its thread limit, say): the entries are made on
        // the caller's thread, and the signature goes on.
        port1.close();
        port2.close();
        break;
      }
      this.spawned++;
      worker.unref();
      const thread: Thread = { worker, port: port1, pending: 0 };
      const stopped = (): void => {
        // What it sent before it stopped is still taken; then the thread is forgotten.
        this.#receive();
        this.#threads = this.#threads.filter((t) => t !== thread);
        port1.close();
      };
      worker.on('error', stopped);
      worker.on('exit', stopped);
      this.#threads.push(thread);
    }
    this.#idleTimer = setTimeout(() => this.#stop(), IDLE_MS);
    this.#idleTimer.unref();
  }

  #stop(): void {
    for (const thread of this.#threads) {
      void thread.worker.terminate();
      thread.port.close();
    }
    this.#threads = [];
    this.#started = false;
    this.#taken = 0;
    this.#idleTimer = undefined;
  }
}

/** An entry's numbers; throws on an entry no signature can use (r = 0, about 2^-384). */
export function decodeEntry(bytes: Uint8Array): Presigned {
  const r = toBigInt(bytes.subarray(145, 193)) % N;
  if (r === 0n) throw new Error('ECDSA: r = 0; sign the message again');
  return { d: toBigInt(bytes.subarray(0, 48)), publicKey: bytes.slice(48, 97), k: toBigInt(bytes.subarray(97, 145)), r };
}

/**
 * The signature r ‖ s (48 bytes each; either s) of the SHA-384 `digest` with `entry`:
 * s = k⁻¹ (z + r·d) mod n, z the whole digest (as long as n). The inverse is of k·b for a random
 * b, then times b: noble's inversion (extended Euclid) takes time that depends on its input, so
 * it only sees a value independent of k. Throws when s is 0 (about 2^-384).
 */
export function signDigest(digest: Uint8Array, entry: Presigned, blind: Uint8Array): Uint8Array {
  const b = (toBigInt(blind) % (N - 1n)) + 1n;
  const kInverse = (invert((entry.k * b) % N, N) * b) % N;
  const s = (kInverse * ((toBigInt(digest) + entry.r * entry.d) % N)) % N;
  if (s === 0n) throw new Error('ECDSA: s = 0; sign the message again');
  const hex = entry.r.toString(16).padStart(96, '0') + s.toString(16).padStart(96, '0');
  const out = new Uint8Array(96);
  for (let i = 0; i < 96; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The big-endian integer `bytes`. */
function toBigInt(bytes: Uint8Array): bigint {
  let hex = '0x';
  for (const byte of bytes) hex += byte < 16 ? '0' + byte.toString(16) : byte.toString(16);
  return BigInt(hex);
}
