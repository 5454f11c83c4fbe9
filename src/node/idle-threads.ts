import type { Worker } from 'node:worker_threads';

/** A worker thread that can wait in an {@link IdleThreads} list between uses. */
export interface ParkedThread {
  readonly worker: Worker;
  idleTimer?: ReturnType<typeof setTimeout>;
}

/**
 * The idle worker threads of one kind (the frame pool's, the hash threads): a thread given back
 * waits unreferenced (it keeps no process alive) and is ended after `idleMs` unused; taking one
 * back cancels that and references it again (the process then waits for the work it is sent).
 *
 * @example
 * ```ts
 * const idle = new IdleThreads<MyThread>(30_000);
 * const thread = idle.take() ?? spawn();
 * // ... use it, then:
 * idle.park(thread);
 * ```
 * @throws Never itself.
 */
export class IdleThreads<T extends ParkedThread> {
  readonly #idle: T[] = [];
  readonly #idleMs: number;

  constructor(idleMs: number) {
    this.#idleMs = idleMs;
  }

  /** How many threads wait. */
  get size(): number {
    return this.#idle.length;
  }

  /** The thread given back last, referenced again; undefined when none waits. */
  take(): T | undefined {
    const thread = this.#idle.pop();
    if (!thread) return undefined;
    if (thread.idleTimer) clearTimeout(thread.idleTimer);
    thread.worker.ref();
    return thread;
  }

  /** Gives `thread` back: unreferenced, ended after the idle time unless taken again. */
  park(thread: T): void {
    thread.worker.unref();
    thread.idleTimer = setTimeout(() => {
      this.forget(thread);
      void thread.worker.terminate();
    }, this.#idleMs);
    thread.idleTimer.unref();
    this.#idle.push(thread);
  }

  /** Drops `thread` from the list (it died). */
  forget(thread: T): void {
    const i = this.#idle.indexOf(thread);
    if (i >= 0) this.#idle.splice(i, 1);
  }
}
