import type { MaybePromise } from './aead.js';

/**
 * The steps of an operation that may or may not have to wait: a generator that yields values
 * or promises, each `yield x` evaluating to `x` or to what the promise `x` resolves to (a
 * rejection is thrown at the `yield`). See {@link drive}.
 */
export type Steps<T> = Generator<unknown, T, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Runs {@link Steps}: synchronously for as long as every yielded value is already there, and
 * from the first promise on, asynchronously. One body then serves both the node:crypto path,
 * which never waits (and so pays no microtask per step: a 1 KiB decrypt or rewrap with a raw
 * key is a few dozen microseconds, of which a chain of `await`s took several), and the
 * WebCrypto or key-service path, which does. Only real `Promise`s are awaited: callers wrap a
 * value of unknown kind (a custom keyring's answer) in `Promise.resolve` first.
 *
 * @example
 * ```ts
 * function* unwrapSteps(key: AeadKey, edk: Uint8Array): Steps<Uint8Array> {
 *   const dataKey: Uint8Array = yield key.open(nonce, aad, edk); // sync on Node, a promise on WebCrypto
 *   return dataKey;
 * }
 * const dataKey = drive(unwrapSteps(key, edk)); // Uint8Array | Promise<Uint8Array>
 * ```
 * @throws Whatever the steps throw (synchronously while they run synchronously, else by rejection).
 */
export function drive<T>(steps: Steps<T>): MaybePromise<T> {
  let step = steps.next();
  while (!step.done) {
    if (step.value instanceof Promise) return finish(steps, step.value);
    step = steps.next(step.value);
  }
  return step.value;
}

async function finish<T>(steps: Steps<T>, first: Promise<unknown>): Promise<T> {
  let pending = first;
  for (;;) {
    let value: unknown;
    let failed = false;
    try {
      value = await pending;
    } catch (err) {
      value = err;
      failed = true;
    }
    let step = failed ? steps.throw(value) : steps.next(value);
    while (!step.done && !(step.value instanceof Promise)) step = steps.next(step.value);
    if (step.done) return step.value;
    pending = step.value as Promise<unknown>;
  }
}
