import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createDecryptStream, createEncryptStream } from '../../src/node/index.js';
import { decryptStream } from '../../src/stream/decrypt-stream.js';
import { encryptStream } from '../../src/stream/encrypt-stream.js';
import { pattern, testKeyring } from '../helpers/keys.js';

// Live memory is measured after two forced collections (one leaves freed ArrayBuffer backing
// stores counted), so garbage not yet collected does not count; a stream that retained its
// input or output would show tens of MiB here.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const keyring = testKeyring();
const CHUNK = 64 * 1024;
const TOTAL = 96 * 1024 * 1024;
const template = pattern(CHUNK, 3);

function live(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.arrayBuffers + m.heapUsed;
}

/** A consumer that stalls 2 ms every 16 chunks and samples live memory every 64 chunks. */
function slowSink(): { peak: () => number; bytes: () => number; consume: (chunk: Uint8Array) => Promise<void> } {
  let seen = 0;
  let bytes = 0;
  let peak = 0;
  return {
    peak: () => peak,
    bytes: () => bytes,
    async consume(chunk) {
      bytes += chunk.length;
      if (++seen % 64 === 0) peak = Math.max(peak, live());
      if (seen % 16 === 0) await new Promise((r) => setTimeout(r, 2));
    },
  };
}

describe('memory stays bounded with a slow consumer (96 MiB through encrypt then decrypt)', () => {
  async function webRun(total: number, sink: ReturnType<typeof slowSink>): Promise<void> {
    let produced = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (produced >= total) return controller.close();
        produced += CHUNK;
        controller.enqueue(template.slice());
      },
    }, { highWaterMark: 0 });
    await source
      .pipeThrough(encryptStream({ keyring }))
      .pipeThrough(decryptStream({ keyring }))
      .pipeTo(new WritableStream({ write: (chunk) => sink.consume(chunk) }));
  }

  it('Web Streams', async () => {
    // A short warm-up first, so compiled code and lazily loaded modules are in the baseline.
    await webRun(2 * 1024 * 1024, slowSink());
    const baseline = live();
    const sink = slowSink();
    await webRun(TOTAL, sink);
    expect(sink.bytes()).toBe(TOTAL);
    expect(sink.peak() - baseline).toBeLessThan(4 * 1024 * 1024);
  });

  async function nodeRun(total: number, sink: ReturnType<typeof slowSink>): Promise<void> {
    let produced = 0;
    const source = new Readable({
      highWaterMark: CHUNK,
      read() {
        if (produced >= total) return void this.push(null);
        produced += CHUNK;
        this.push(template.slice());
      },
    });
    const writable = new Writable({
      highWaterMark: CHUNK,
      write(chunk: Uint8Array, _enc, cb) {
        sink.consume(chunk).then(() => cb(), cb);
      },
    });
    await pipeline(source, createEncryptStream({ keyring }), createDecryptStream({ keyring }), writable);
  }

  it('Node Transforms in stream.pipeline', async () => {
    await nodeRun(2 * 1024 * 1024, slowSink());
    const baseline = live();
    const sink = slowSink();
    await nodeRun(TOTAL, sink);
    expect(sink.bytes()).toBe(TOTAL);
    expect(sink.peak() - baseline).toBeLessThan(4 * 1024 * 1024);
  });
});
