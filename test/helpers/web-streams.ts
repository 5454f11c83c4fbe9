// Web Streams plumbing for tests; the in-page suites bundle this too (bytes.ts is browser-safe).
import { concat } from '../../src/crypto/bytes.js';

/** Splits `bytes` into chunks of `size` (the last may be shorter); no chunks for empty input. */
export function* chunks(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, Math.min(bytes.length, i + size));
}

/** A ReadableStream of `bytes` in chunks of `size` (copies, so the consumer owns them). */
export function readableOf(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  const it = chunks(bytes, size);
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = it.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value.slice());
    },
  });
}

/**
 * Reads a whole stream into one array, by hand: `new Response(stream).arrayBuffer()` would
 * replace the stream's own error with a TypeError.
 */
export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
  return concat(...parts);
}

/** Runs `bytes` through a TransformStream in chunks of `size`; returns the output. */
export function through(ts: TransformStream<Uint8Array, Uint8Array>, bytes: Uint8Array, size: number): Promise<Uint8Array> {
  return collect(readableOf(bytes, size).pipeThrough(ts));
}
