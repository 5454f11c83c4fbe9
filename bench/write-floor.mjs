// The write floor of `sealbox encrypt FILE... --output-dir DIR` (bench/cli.mjs): one Node
// process that writes `count` files of `bytes` bytes the way the CLI writes each output (a
// private temporary file created exclusively, written, fsynced on libuv's thread pool, closed,
// renamed into place; 64 files in flight on a pool of 16 threads), then fsyncs the directory
// once. No input is read and nothing is encrypted: what is left is Node's start-up and the
// file system's cost of durable files, which no implementation of that guarantee goes below.
// Usage: node bench/write-floor.mjs DIR COUNT BYTES
import { closeSync, fsync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

process.env.UV_THREADPOOL_SIZE ??= '16';
const [dir, count, bytes] = process.argv.slice(2);
const data = Buffer.alloc(Number(bytes), 0x5a);
const fsyncAsync = (fd) => new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
let next = 0;
const writer = async () => {
  while (next < Number(count)) {
    const i = next++;
    const tmp = join(dir, `.f${i}.tmp`);
    const fd = openSync(tmp, 'wx', 0o600);
    writeSync(fd, data);
    await fsyncAsync(fd);
    closeSync(fd);
    renameSync(tmp, join(dir, `f${i}.sbx`));
  }
};
await Promise.all(Array.from({ length: 64 }, writer));
const dirFd = openSync(dir, 'r');
fsyncSync(dirFd);
closeSync(dirFd);
