// One rewrap benchmark measurement in a fresh process; prints one JSON line. Driven by
// bench/rewrap.mjs (through bench/run.mjs); runs the built dist/.
import { createReadStream, createWriteStream, writeFileSync } from 'node:fs';
import { copyFile, open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { RawAesKeyring, encrypt } from '../dist/index.js';
import { rewrap } from '../dist/rewrap/index.js';
import { createDecryptStream, createEncryptStream, rewrapFile } from '../dist/node/index.js';

const [scenario, ...args] = process.argv.slice(2);
const keyring = (name, seed) => new RawAesKeyring({ namespace: 'bench', name, wrappingKey: new Uint8Array(32).fill(seed) });
const A = keyring('key-a', 7);
const B = keyring('key-b', 8);
const C = keyring('key-c', 9);

async function fsyncPath(path) {
  const f = await open(path, 'r+');
  await f.sync();
  await f.close();
}

async function timed(fn) {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const out = {};
switch (scenario) {
  case 'make': {
    // A message of MiB from random-ish bytes, under key A, 64 KiB frames.
    const [plain, sealed] = args;
    await pipeline(createReadStream(plain), createEncryptStream({ keyring: A }), createWriteStream(sealed));
    // Rewrapped once (A -> A): suite 3, whose header keeps its length from then on (a suite 1
    // message's first rewrap adds the 9-byte header salt item and always takes the copy).
    await rewrapFile(sealed, sealed, { keyring: A, to: A });
    break;
  }
  case 'copyfile': {
    const [src, dst, sync] = args;
    out.ms = await timed(async () => {
      await copyFile(src, dst);
      if (sync === 'sync') await fsyncPath(dst);
    });
    break;
  }
  case 'rewrap-new': {
    // replace: same header length (the copyFile path); add: a longer header (positional copy).
    const [src, dst, mode] = args;
    out.ms = await timed(() => rewrapFile(src, dst, { keyring: A, to: mode === 'add' ? C : B, mode }));
    break;
  }
  case 'reencrypt': {
    // What rewrap replaces: decrypt and encrypt again (streams: no plaintext on disk), synced as rewrapFile is.
    const [src, dst] = args;
    out.ms = await timed(async () => {
      await pipeline(createReadStream(src, { highWaterMark: 1024 * 1024 }), createDecryptStream({ keyring: A }), createEncryptStream({ keyring: B }), createWriteStream(dst));
      await fsyncPath(dst);
    });
    break;
  }
  case 'inplace': {
    // Header only, journaled; back and forth between A and B so the file stays a message.
    const [file, reps] = args;
    const times = [];
    for (let i = 0; i < Number(reps); i++) {
      const [from, to] = i % 2 === 0 ? [A, B] : [B, A];
      let method;
      times.push(await timed(async () => {
        method = (await rewrapFile(file, file, { keyring: from, to })).method;
      }));
      if (method !== 'header') throw new Error(`expected the header path, got ${method}`);
    }
    if (Number(reps) % 2 === 1) await rewrapFile(file, file, { keyring: B, to: A });
    out.ms = Math.min(...times);
    break;
  }
  case 'small': {
    // N messages of 1 KiB with raw AES keyrings: encrypt N distinct plaintexts and rewrap N
    // distinct messages (A -> B), and the same with the node:crypto calls alone (the floors of
    // bench/floor.mjs, whose ratio is the most Sealbox's ratio could be), in turns in this one
    // process so that all four see the same machine; medians of at least 5 rounds. Distinct
    // inputs on both sides: each round reads 10 MB of plaintexts or 12 MB of messages that are
    // no longer in the CPU caches, as a batch job does.
    const floor = await import('./floor.mjs');
    const [n, seconds] = args;
    const N = Number(n);
    const plaintexts = Array.from({ length: N }, (_, i) => new Uint8Array(1024).fill(i & 0xff));
    const messages = [];
    for (let i = 0; i < N; i++) messages.push((await encrypt(plaintexts[i], { keyring: A })).ciphertext);
    const floorMessages = plaintexts.map((p) => floor.sealed(p));
    const rates = { encrypt: [], rewrap: [], floorEncrypt: [], floorRewrap: [], encryptCpu: [], rewrapCpu: [], floorEncryptCpu: [], floorRewrapCpu: [] };
    const sides = {
      encrypt: async () => {
        for (let i = 0; i < N; i++) await encrypt(plaintexts[i], { keyring: A });
      },
      rewrap: async () => {
        for (let i = 0; i < N; i++) await rewrap(messages[i], { keyring: A, to: B });
      },
      floorEncrypt: async () => {
        for (let i = 0; i < N; i++) floor.encryptOnce(plaintexts[i]);
      },
      floorRewrap: async () => {
        for (let i = 0; i < N; i++) floor.rewrapOnce(floorMessages[i]);
      },
    };
    const until = performance.now() + Number(seconds) * 1000;
    do {
      for (const [name, run] of Object.entries(sides)) {
        // Also per CPU second of this process: the wall clock also counts the time other
        // processes held the core, the CPU time does not.
        const cpu0 = process.cpuUsage();
        rates[name].push(N / ((await timed(run)) / 1000));
        const cpu = process.cpuUsage(cpu0);
        rates[`${name}Cpu`].push((N * 1e6) / (cpu.user + cpu.system));
      }
    } while (performance.now() < until || rates.encrypt.length < 5);
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    for (const [name, xs] of Object.entries(rates)) out[name] = median(xs);
    out.rounds = rates.encrypt.length;
    break;
  }
  case 'small-files': {
    // N files of 1 KiB messages under the CLI's key-file keyring, for the CLI measurement.
    const [dir, n, keyHex] = args;
    const { createHash } = await import('node:crypto');
    const key = Buffer.from(keyHex, 'hex');
    const k = new RawAesKeyring({ namespace: 'raw-key-file', name: createHash('sha256').update(key).digest('hex').slice(0, 32), wrappingKey: key });
    const plaintext = new Uint8Array(1024).fill(2);
    for (let i = 0; i < Number(n); i++) writeFileSync(`${dir}/m${String(i).padStart(5, '0')}.sbx`, (await encrypt(plaintext, { keyring: k })).ciphertext);
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
process.stdout.write(JSON.stringify(out) + '\n');
