// `node bench/caching.mjs`: messages per second through a KMS keyring with and without the
// caching materials manager, over a real @aws-sdk/client-kms KMSClient against
//   - the local endpoint: `startKmsServer` over a LocalKms in a temporary directory (SigV4),
//   - the in-process LocalKms (`send` with the same Command objects),
//   - moto_server on 127.0.0.1, when `python3 -c 'import moto'` works (a KMS nobody here wrote).
// Every ratio is against the uncached run on the same target, measured in this run.
// Sources are bundled from src/ with esbuild first. Not part of `npm test`.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const MESSAGE_BYTES = Number(process.env.BENCH_MESSAGE_BYTES ?? 1024);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

const outfile = join(root, 'node_modules', '.cache', 'sealbox', 'bench-caching.mjs');
await build({
  stdin: {
    contents: [
      "export { CachingMaterialsManager, KmsKeyring, RawAesKeyring, encrypt } from './src/index.ts';",
      "export { LocalKms } from './src/local-kms/index.ts';",
      "export { startKmsServer } from './src/kms-server/index.ts';",
    ].join('\n'),
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  logLevel: 'warning',
  outfile,
});
const { CachingMaterialsManager, KmsKeyring, RawAesKeyring, encrypt, LocalKms, startKmsServer } = await import(pathToFileURL(outfile).href);
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
  if (spawnSync('python3', ['-c', 'import moto'], { stdio: 'ignore' }).status !== 0) return undefined;
  const port = await freePort();
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      await (await fetch(`${endpoint}/moto-api/`)).arrayBuffer();
      return { endpoint, stop: () => child.kill('SIGTERM') };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  return undefined;
}

/** Runs `fn` from CONCURRENCY loops for SECONDS; returns messages per second. */
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

const data = new Uint8Array(MESSAGE_BYTES).fill(7);
const encryptionContext = { bench: 'caching' };
const rows = [];

async function measure(name, client, keyArn) {
  const keyring = new KmsKeyring({ generatorKeyId: keyArn, client });
  const uncached = await rate(() => encrypt(data, { keyring, encryptionContext }));
  rows.push([name, 'no cache (baseline)', uncached, uncached]);
  for (const maxMessages of [100, 1000]) {
    const cmm = new CachingMaterialsManager({ keyring, capacity: 10, maxAgeMs: 60_000, maxMessagesEncrypted: maxMessages });
    rows.push([name, `cache, max ${maxMessages} messages/key`, await rate(() => encrypt(data, { materialsManager: cmm, encryptionContext })), uncached]);
  }
}

const raw = new RawAesKeyring({ namespace: 'bench', name: 'k', wrappingKey: new Uint8Array(32).fill(1) });
const reference = await rate(() => encrypt(data, { keyring: raw, encryptionContext }));

const dir = mkdtempSync(join(tmpdir(), 'sealbox-bench-caching-'));
const credential = { accessKeyId: 'AKIABENCHLOCAL000001', secretAccessKey: 'bench-secret-0123456789abcdefghijklmnopqr', principal: 'arn:aws:iam::111122223333:root', accountId: '111122223333' };
const kms = LocalKms.open({ dataDir: dir, rootKey: new Uint8Array(32).fill(3), region: 'us-east-1' });
const server = await startKmsServer({ kms, credentials: (id) => (id === credential.accessKeyId ? credential : undefined), region: 'us-east-1', port: 0 });
const moto = await startMoto();
try {
  const http = new KMSClient({ region: 'us-east-1', endpoint: server.url, credentials: credential });
  await measure('local endpoint (kms-server over HTTP)', http, (await http.send(new CreateKeyCommand({}))).KeyMetadata.Arn);
  await measure('LocalKms in-process (send)', kms, (await kms.createKey({})).KeyMetadata.Arn);
  if (moto) {
    const client = new KMSClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'AKIABENCH', secretAccessKey: 'bench' } });
    await measure('moto_server', client, (await client.send(new CreateKeyCommand({}))).KeyMetadata.Arn);
  } else {
    console.log('moto is not available: moto_server rows skipped');
  }
} finally {
  moto?.stop();
  await server.close();
  kms.close();
  rmSync(dir, { recursive: true, force: true });
}

console.log(`${MESSAGE_BYTES}-byte messages, ${CONCURRENCY} concurrent loops, ${SECONDS} s per row; raw AES keyring (no KMS) reference: ${Math.round(reference).toLocaleString('en-US')} messages/s`);
console.log('| KMS | configuration | messages/s | vs no cache |');
console.log('|---|---|---:|---:|');
for (const [target, config, r, base] of rows) console.log(`| ${target} | ${config} | ${Math.round(r).toLocaleString('en-US')} | ${(r / base).toFixed(1)}x |`);
