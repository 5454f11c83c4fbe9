// `node bench/caching.mjs`: messages per second through a KMS keyring with and without the
// caching materials manager, against a KMS endpoint on 127.0.0.1 over @aws-sdk/client-kms.
// The endpoint is moto_server (python3 -m moto.server), started and stopped here; set
// BENCH_KMS_ENDPOINT (+ BENCH_KMS_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, BENCH_KMS_KEY_ARN)
// to measure another endpoint such as `sealbox kms serve`. Reports ratios against the uncached
// run measured in the same process. Builds dist/ first when it is missing. Not part of `npm test`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const MESSAGE_BYTES = Number(process.env.BENCH_MESSAGE_BYTES ?? 1024);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

if (!existsSync(join(root, 'dist', 'index.js'))) execFileSync('npx', ['tsup'], { cwd: root, stdio: 'inherit' });
const { CachingMaterialsManager, KmsKeyring, RawAesKeyring, encrypt } = await import('../dist/index.js');
const { CreateKeyCommand, KMSClient } = await import('@aws-sdk/client-kms');

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startMoto() {
  if (spawnSync('python3', ['-c', 'import moto'], { stdio: 'ignore' }).status !== 0) throw new Error('moto is not installed: set BENCH_KMS_ENDPOINT');
  const port = await freePort();
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      await (await fetch(`${endpoint}/moto-api/`)).arrayBuffer();
      return { endpoint, stop: () => child.kill('SIGTERM'), name: 'moto_server' };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  throw new Error('moto_server did not start');
}

/** Runs `fn` from `CONCURRENCY` loops for SECONDS; returns messages per second. */
async function rate(fn) {
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < end) {
      await fn();
      n++;
    }
  }));
  return n / SECONDS;
}

const target = process.env.BENCH_KMS_ENDPOINT
  ? { endpoint: process.env.BENCH_KMS_ENDPOINT, stop: () => {}, name: process.env.BENCH_KMS_ENDPOINT }
  : await startMoto();
try {
  const region = process.env.BENCH_KMS_REGION ?? 'us-east-1';
  const client = new KMSClient({
    region,
    endpoint: target.endpoint,
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'AKIABENCH', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'bench' },
  });
  const keyArn = process.env.BENCH_KMS_KEY_ARN ?? (await client.send(new CreateKeyCommand({}))).KeyMetadata.Arn;
  const keyring = new KmsKeyring({ generatorKeyId: keyArn, client });
  const data = new Uint8Array(MESSAGE_BYTES).fill(7);
  const encryptionContext = { bench: 'caching' };

  const raw = new RawAesKeyring({ namespace: 'bench', name: 'k', wrappingKey: new Uint8Array(32).fill(1) });
  const local = await rate(() => encrypt(data, { keyring: raw, encryptionContext }));
  const uncached = await rate(() => encrypt(data, { keyring, encryptionContext }));
  const rows = [['raw AES keyring (no KMS, reference)', local], ['KMS keyring, no cache (baseline)', uncached]];
  for (const maxMessages of [100, 1000]) {
    const cmm = new CachingMaterialsManager({ keyring, capacity: 10, maxAgeMs: 60_000, maxMessagesEncrypted: maxMessages });
    rows.push([`KMS keyring + cache, max ${maxMessages} messages/key`, await rate(() => encrypt(data, { materialsManager: cmm, encryptionContext }))]);
  }
  console.log(`KMS endpoint: ${target.name}; ${MESSAGE_BYTES}-byte messages, ${CONCURRENCY} concurrent loops, ${SECONDS} s each`);
  console.log('| configuration | messages/s | vs no cache |');
  console.log('|---|---:|---:|');
  for (const [name, r] of rows) console.log(`| ${name} | ${Math.round(r).toLocaleString('en-US')} | ${(r / uncached).toFixed(1)}x |`);
} finally {
  target.stop();
}
