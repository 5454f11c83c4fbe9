// One benchmark measurement in a fresh process (so peak RSS belongs to that measurement
// alone). Prints one JSON line. Driven by bench/run.mjs; runs the built dist/.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import * as sealbox from '../dist/index.js';
import { createDecryptStream, createEncryptStream, decryptFile, encryptFile } from '../dist/node/index.js';

const { RawAesKeyring, decrypt, encrypt } = sealbox;
const WRAPPING_KEY = new Uint8Array(32).fill(7);
const FRAME = 64 * 1024;
const [scenario, impl, dir, ...rest] = process.argv.slice(2);

function sealboxKeyring() {
  return new RawAesKeyring({ namespace: 'bench', name: 'key', wrappingKey: WRAPPING_KEY });
}

/** Sealbox's signed suite (issue 20), looked up so that a build without it fails clearly. */
function signedSuite() {
  const suite = sealbox.SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384;
  if (!suite) throw new Error('this build of Sealbox has no SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384');
  return suite;
}

async function awsClient(signed = false) {
  const aws = await import('@aws-crypto/client-node');
  const client = aws.buildClient(aws.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const keyring = new aws.RawAesKeyringNode({
    keyName: 'key',
    keyNamespace: 'bench',
    unencryptedMasterKey: WRAPPING_KEY,
    wrappingSuite: aws.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  // The signing suite is the AWS SDK's default; the committing non-signing one its fastest.
  const suiteId = signed ? aws.AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 : aws.AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
  return { client, keyring, suiteId };
}

/** Raw node:crypto AES-256-GCM framed like Sealbox: per frame a fresh cipher, nonce from the counter, AAD, tag. */
const raw = {
  key: randomBytes(32),
  aad: randomBytes(41),
  nonce(i, final) {
    const n = Buffer.alloc(12);
    n[3] = final ? 2 : 1;
    n.writeUInt32BE(i, 8);
    return n;
  },
  encrypt(pt) {
    const frames = Math.floor(pt.length / FRAME);
    const out = Buffer.allocUnsafe(frames * (FRAME + 17) + (pt.length % FRAME) + 21);
    let pos = 0;
    for (let i = 0; i <= frames; i++) {
      const final = i === frames;
      const chunk = pt.subarray(i * FRAME, final ? pt.length : (i + 1) * FRAME);
      out[pos] = final ? 1 : 0;
      pos += final ? 5 : 1;
      const c = createCipheriv('aes-256-gcm', raw.key, raw.nonce(i, final));
      c.setAAD(raw.aad);
      out.set(c.update(chunk), pos);
      c.final();
      pos += chunk.length;
      out.set(c.getAuthTag(), pos);
      pos += 16;
    }
    return out;
  },
  decrypt(ct, length) {
    const frames = Math.floor(length / FRAME);
    const out = Buffer.allocUnsafe(length);
    let pos = 0;
    for (let i = 0; i <= frames; i++) {
      const final = i === frames;
      const len = final ? length % FRAME : FRAME;
      pos += final ? 5 : 1;
      const d = createDecipheriv('aes-256-gcm', raw.key, raw.nonce(i, final));
      d.setAAD(raw.aad);
      d.setAuthTag(ct.subarray(pos + len, pos + len + 16));
      out.set(d.update(ct.subarray(pos, pos + len)), i * FRAME);
      d.final();
      pos += len + 16;
    }
    return out;
  },
};

function peakRss() {
  return process.resourceUsage().maxRSS * 1024;
}

/** Runs `op` repeatedly for about `seconds` after a warm-up; returns operations per second. */
async function opsPerSecond(op, seconds, warmUp = 300, batch = 100) {
  for (let i = 0; i < warmUp; i++) await op();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    for (let i = 0; i < batch; i++) await op();
    n += batch;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

/** Best of `reps` timings of `op` (ms), after one warm-up run. */
async function bestMs(op, reps) {
  await op();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await op();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/** The node:crypto calls alone (bench/floor.mjs). */
const floor = await import('./floor.mjs');

async function small() {
  const pt = randomBytes(1024);
  const seconds = Number(rest[0] ?? 1.5);
  if (impl === 'sealbox-signed') {
    // A signature costs ~1 ms: fewer warm-up operations and smaller batches than below.
    const keyring = sealboxKeyring();
    const suite = signedSuite();
    if (dir === 'enc') return { opsPerSec: await opsPerSecond(() => encrypt(pt, { keyring, suite }), seconds, 50, 10) };
    const { ciphertext } = await encrypt(pt, { keyring, suite });
    return { opsPerSec: await opsPerSecond(() => decrypt(ciphertext, { keyring }), seconds, 50, 10) };
  }
  if (impl === 'aws-signed') {
    const { client, keyring, suiteId } = await awsClient(true);
    if (dir === 'enc') return { opsPerSec: await opsPerSecond(() => client.encrypt(keyring, pt, { suiteId, frameLength: FRAME }), seconds, 50, 10) };
    const { result } = await client.encrypt(keyring, pt, { suiteId, frameLength: FRAME });
    return { opsPerSec: await opsPerSecond(() => client.decrypt(keyring, result), seconds, 50, 10) };
  }
  if (impl === 'floor') {
    if (dir === 'enc') return { opsPerSec: await opsPerSecond(() => floor.encryptOnce(pt), seconds) };
    const m = floor.sealed(pt);
    return { opsPerSec: await opsPerSecond(() => floor.decryptOnce(m), seconds) };
  }
  if (impl === 'sealbox') {
    const keyring = sealboxKeyring();
    if (dir === 'enc') return { opsPerSec: await opsPerSecond(() => encrypt(pt, { keyring }), seconds) };
    const { ciphertext } = await encrypt(pt, { keyring });
    return { opsPerSec: await opsPerSecond(() => decrypt(ciphertext, { keyring }), seconds) };
  }
  const { client, keyring, suiteId } = await awsClient();
  if (dir === 'enc') return { opsPerSec: await opsPerSecond(() => client.encrypt(keyring, pt, { suiteId, frameLength: FRAME }), seconds) };
  const { result } = await client.encrypt(keyring, pt, { suiteId, frameLength: FRAME });
  return { opsPerSec: await opsPerSecond(() => client.decrypt(keyring, result), seconds) };
}

/**
 * 1 KiB messages, Sealbox against the node:crypto floor in one process, in alternating rounds
 * of about 0.2 s (floor, Sealbox, floor, ...) for about 2 x `seconds`: both see the same
 * machine, whatever else runs on it. Returns the median ops/s of each side's rounds.
 */
async function smallFloor() {
  const pt = randomBytes(1024);
  const seconds = Number(rest[0] ?? 3);
  const keyring = sealboxKeyring();
  let sides;
  if (dir === 'enc') {
    sides = { floor: () => floor.encryptOnce(pt), sealbox: () => encrypt(pt, { keyring }) };
  } else {
    const m = floor.sealed(pt);
    const { ciphertext } = await encrypt(pt, { keyring });
    sides = { floor: () => floor.decryptOnce(m), sealbox: () => decrypt(ciphertext, { keyring }) };
  }
  for (const op of Object.values(sides)) for (let i = 0; i < 300; i++) await op();
  // Also per CPU second of this process (process.cpuUsage): on a loaded machine the wall
  // clock counts the time other processes held the core, the CPU time does not.
  const rates = { floor: [], sealbox: [], floorCpu: [], sealboxCpu: [] };
  const until = performance.now() + 2 * seconds * 1000;
  while (performance.now() < until) {
    for (const [name, op] of Object.entries(sides)) {
      let n = 0;
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      let t = t0;
      while (t - t0 < 200) {
        for (let i = 0; i < 50; i++) await op();
        n += 50;
        t = performance.now();
      }
      const cpu = process.cpuUsage(cpu0);
      rates[name].push((n * 1000) / (t - t0));
      rates[`${name}Cpu`].push((n * 1e6) / (cpu.user + cpu.system));
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const result = { rounds: rates.floor.length };
  for (const [name, xs] of Object.entries(rates)) result[name] = median(xs);
  return result;
}

async function buffer() {
  const mib = Number(rest[0] ?? 64);
  const reps = Number(rest[1] ?? 5);
  const pt = randomBytes(mib * 1024 * 1024);
  let op;
  if (impl === 'sealbox') {
    const keyring = sealboxKeyring();
    if (dir === 'enc') op = () => encrypt(pt, { keyring });
    else {
      const { ciphertext } = await encrypt(pt, { keyring });
      op = () => decrypt(ciphertext, { keyring });
    }
  } else if (impl === 'raw') {
    if (dir === 'enc') op = () => raw.encrypt(pt);
    else {
      const ct = raw.encrypt(pt);
      op = () => raw.decrypt(ct, pt.length);
    }
  } else {
    const { client, keyring, suiteId } = await awsClient();
    if (dir === 'enc') op = () => client.encrypt(keyring, pt, { suiteId, frameLength: FRAME });
    else {
      const { result } = await client.encrypt(keyring, pt, { suiteId, frameLength: FRAME });
      op = () => client.decrypt(keyring, result);
    }
  }
  const ms = await bestMs(op, reps);
  return { mibPerSec: mib / (ms / 1000) };
}

/** One Buffer operation on a file's contents, for peak RSS only: read N bytes, produce N bytes. */
async function bufferRss() {
  const [input, output] = rest;
  const bytes = await readFile(input);
  let result;
  if (impl === 'raw') {
    // The baseline: node:crypto framed, the same input and output sizes.
    result = dir === 'enc' ? raw.encrypt(bytes) : raw.decrypt(bytes, bytes.length - Math.ceil(bytes.length / (FRAME + 17)) * 17 - 4);
  } else {
    const keyring = sealboxKeyring();
    result = dir === 'enc' ? (await encrypt(bytes, { keyring })).ciphertext : (await decrypt(bytes, { keyring })).plaintext;
  }
  await writeFile(output, result);
  return { inputBytes: bytes.length, peakRss: peakRss() };
}

async function file() {
  const [input, output] = rest;
  // Everything but the I/O and crypto is set up before the clock starts.
  let run;
  if (impl === 'copy') {
    run = () => pipeline(createReadStream(input), createWriteStream(output));
  } else if (impl === 'sealbox-file' || /^sealbox-file-c\d+$/.test(impl)) {
    // sealbox-file: the defaults (worker threads for large files on a multi-core machine);
    // sealbox-file-cN: `concurrency: N` (c1: the calling thread only).
    const keyring = sealboxKeyring();
    const concurrency = impl === 'sealbox-file' ? undefined : Number(impl.slice('sealbox-file-c'.length));
    run = () => (dir === 'enc' ? encryptFile(input, output, { keyring, concurrency }) : decryptFile(input, output, { keyring, concurrency }));
  } else if (impl === 'sealbox-stream') {
    const keyring = sealboxKeyring();
    const t = dir === 'enc' ? createEncryptStream({ keyring }) : createDecryptStream({ keyring });
    run = () => pipeline(createReadStream(input), t, createWriteStream(output));
  } else if (impl === 'sealbox-file-signed') {
    const keyring = sealboxKeyring();
    const suite = signedSuite();
    run = () => (dir === 'enc' ? encryptFile(input, output, { keyring, suite }) : decryptFile(input, output, { keyring, signaturePolicy: 'require-signed' }));
  } else if (impl === 'aws-stream') {
    const { client, keyring, suiteId } = await awsClient();
    const t = dir === 'enc' ? client.encryptStream(keyring, { suiteId, frameLength: FRAME }) : client.decryptUnsignedMessageStream(keyring);
    run = () => pipeline(createReadStream(input), t, createWriteStream(output));
  } else if (impl === 'aws-stream-signed') {
    const { client, keyring, suiteId } = await awsClient(true);
    const t = dir === 'enc' ? client.encryptStream(keyring, { suiteId, frameLength: FRAME }) : client.decryptStream(keyring);
    run = () => pipeline(createReadStream(input), t, createWriteStream(output));
  } else {
    throw new Error(`unknown file impl ${impl}`);
  }
  const t0 = performance.now();
  await run();
  return { ms: performance.now() - t0, peakRss: peakRss() };
}

const scenarios = { small, 'small-floor': smallFloor, buffer, 'buffer-rss': bufferRss, file };
const result = await scenarios[scenario]();
process.stdout.write(`${JSON.stringify(result)}\n`);
