/**
 * Load test of the KMS HTTP endpoint (`npm run bench:kms-server`).
 *
 * Starts the local KMS and its server on 127.0.0.1 in a process of its own (as `sealbox kms
 * serve` runs), then drives it with real clients over keep-alive connections for a fixed number
 * of requests each:
 * - one sequential connection, Encrypt (target >= 1,500/s), with three clients: a socket client
 *   (SigV4-signed HTTP/1.1 written straight to a TCP socket: the least client CPU), a node:http
 *   client signing the same way, and `@aws-sdk/client-kms`;
 * - `@aws-sdk/client-kms`, 8 concurrent callers: Encrypt, GenerateDataKey.
 * Two baselines measured in the same run:
 * - the null server: each client against a server that answers at once without doing anything,
 *   i.e. the most that client can reach on this machine (the SDK's own CPU caps it near the
 *   target, so the SDK cannot show a server's capacity);
 * - the same Encrypt called in process (`LocalKms.execute`), so the HTTP layer's cost shows.
 * The signed clients' signatures are checked against `@smithy/signature-v4` first. Every request
 * must succeed; any error fails the run.
 */
import { Agent, createServer, request as httpRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { CreateKeyCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { openInProcessKms, serveKms } from './kms-server-setup.js';
import { NodeSha256, sigV4RootSignature, sigV4SigningKey } from '../src/kms-server/sigv4.js';

const N_CONCURRENT = Number(process.env.BENCH_REQUESTS ?? 4000);
const N_SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 3000);
const CONCURRENCY = 8;
const PLAINTEXT = new Uint8Array(32).fill(7);
const CONTEXT = { purpose: 'bench' };

async function timed(label: string, total: number, workers: number, one: () => Promise<unknown>): Promise<number> {
  let next = 0;
  let errors = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < total) {
        next++;
        requestsSent++;
        try {
          await one();
        } catch (err) {
          errors++;
          if (errors === 1) console.error(label, err);
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const rate = total / seconds;
  console.log(`${label.padEnd(58)} ${String(total).padStart(6)} req  ${rate.toFixed(0).padStart(6)} req/s  errors ${errors}`);
  if (errors > 0) process.exitCode = 1;
  return rate;
}

function sdkClient(url: string, cred: { accessKeyId: string; secretAccessKey: string }, sockets: number): KMSClient {
  return new KMSClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: cred,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: sockets }) }),
  });
}

const SIGNED_HEADERS_CONTENT_TYPE = 'application/x-amz-json-1.1';

/** `YYYYMMDDTHHMMSSZ`, the X-Amz-Date form. */
function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');
}

/**
 * A minimal signed client: SigV4 computed directly (node:crypto, signing key cached per day) and
 * node:http with one keep-alive socket. What a lean SDK must at least do per request; it keeps
 * the client's own CPU small so that the server's cost shows. Its signatures are checked against
 * `@smithy/signature-v4` before use (see {@link checkLeanSigner}).
 */
function leanClient(url: string, cred: { accessKeyId: string; secretAccessKey: string }) {
  const u = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return (target: string, payload: unknown): Promise<unknown> => {
    const body = JSON.stringify(payload);
    const headers = leanSign(u.host, cred, target, body, Date.now());
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: u.hostname, port: u.port, path: '/', method: 'POST', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) reject(new Error(`${res.statusCode} ${text}`));
          else resolve(JSON.parse(text));
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  };
}

/**
 * The leanest signed client: one TCP connection with Nagle off, each request one write of a
 * pre-formatted HTTP/1.1 message, the response read by its Content-Length. The measuring
 * instrument with the least CPU of its own, so the server's cost shows; its ceiling is measured
 * against the null server in the same run like the others'.
 */
function socketClient(url: string, cred: { accessKeyId: string; secretAccessKey: string }) {
  const u = new URL(url);
  const socket = connect({ host: u.hostname, port: Number(u.port), noDelay: true });
  let pending: { resolve: (v: unknown) => void; reject: (e: Error) => void } | undefined;
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const headEnd = buffered.indexOf('\r\n\r\n');
    if (headEnd < 0 || pending === undefined) return;
    const head = buffered.subarray(0, headEnd).toString('latin1');
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
    if (buffered.length < headEnd + 4 + length) return;
    const body = buffered.subarray(headEnd + 4, headEnd + 4 + length).toString();
    buffered = buffered.subarray(headEnd + 4 + length);
    const done = pending;
    pending = undefined;
    if (!head.startsWith('HTTP/1.1 200 ')) done.reject(new Error(`${head.split('\r\n')[0]} ${body}`));
    else done.resolve(JSON.parse(body));
  });
  socket.on('error', (err) => pending?.reject(err));
  const call = (target: string, payload: unknown): Promise<unknown> => {
    const body = JSON.stringify(payload);
    const headers = leanSign(u.host, cred, target, body, Date.now());
    let message = 'POST / HTTP/1.1\r\n';
    for (const [name, value] of Object.entries(headers)) message += `${name}: ${value}\r\n`;
    return new Promise((resolve, reject) => {
      pending = { resolve, reject };
      socket.write(`${message}\r\n${body}`);
    });
  };
  return Object.assign(call, { close: () => socket.destroy() });
}

function leanSign(host: string, cred: { accessKeyId: string; secretAccessKey: string }, target: string, body: string, now: number) {
  const date = amzDate(now);
  const day = date.slice(0, 8);
  const signed: [string, string][] = [
    ['content-type', SIGNED_HEADERS_CONTENT_TYPE],
    ['host', host],
    ['x-amz-date', date],
    ['x-amz-target', `TrentService.${target}`],
  ];
  const key = sigV4SigningKey(cred.secretAccessKey, day, 'us-east-1', 'kms');
  const scope = `${day}/us-east-1/kms/aws4_request`;
  const signature = sigV4RootSignature(key, 'POST', date, scope, signed, createHash('sha256').update(body).digest('hex'));
  return {
    ...Object.fromEntries(signed),
    'content-length': String(Buffer.byteLength(body)),
    authorization: `AWS4-HMAC-SHA256 Credential=${cred.accessKeyId}/${scope}, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${signature}`,
  };
}

/** The lean client's Authorization header must be the one `@smithy/signature-v4` computes. */
async function checkLeanSigner(cred: { accessKeyId: string; secretAccessKey: string }): Promise<void> {
  const now = Date.UTC(2026, 10, 22, 12, 34, 56);
  const body = '{"KeyId":"alias/bench","Plaintext":"AAAA"}';
  const lean = leanSign('127.0.0.1:4566', cred, 'Encrypt', body, now);
  const smithy = await new SignatureV4({ credentials: cred, region: 'us-east-1', service: 'kms', sha256: NodeSha256, applyChecksum: false }).sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 4566,
      path: '/',
      query: {},
      headers: { host: '127.0.0.1:4566', 'content-type': SIGNED_HEADERS_CONTENT_TYPE, 'x-amz-target': 'TrentService.Encrypt' },
      body,
    },
    { signingDate: new Date(now) },
  );
  if (smithy.headers.authorization !== lean.authorization) {
    throw new Error(`the lean signer disagrees with @smithy/signature-v4:\n${smithy.headers.authorization}\n${lean.authorization}`);
  }
}

let serverCpuMicros = 0;
let requestsSent = 0;

interface Served {
  url: string;
  credential: { accessKeyId: string; secretAccessKey: string };
  close(): Promise<void>;
}

/** The server runs in its own process, as `sealbox kms serve` would, so client and server each have a core. */
async function startServerProcess(mode: 'serve' | 'null', dir: string): Promise<Served> {
  const child = spawn(process.execPath, [...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean), fileURLToPath(import.meta.url), mode, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const { url, credential } = JSON.parse(first) as Served;
  return {
    url,
    credential,
    close: () =>
      new Promise((resolve) => {
        lines.once('line', (line) => {
          const { user, system } = JSON.parse(line) as { user: number; system: number };
          serverCpuMicros = user + system;
        });
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** What each client reaches against the null server: its ceiling on this machine. */
async function measureCeilings(dir: string): Promise<{ socket: number; lean: number; sdk: number }> {
  const sentBefore = requestsSent;
  const nul = await startServerProcess('null', dir);
  try {
    const socket = socketClient(nul.url, nul.credential);
    const lean = leanClient(nul.url, nul.credential);
    const sdk = sdkClient(nul.url, nul.credential, 1);
    const body = { KeyId: 'alias/bench', Plaintext: Buffer.from(PLAINTEXT).toString('base64'), EncryptionContext: CONTEXT };
    for (let i = 0; i < 200; i++) await socket('Encrypt', body);
    for (let i = 0; i < 200; i++) await lean('Encrypt', body);
    for (let i = 0; i < 200; i++) await sdk.send(new EncryptCommand({ KeyId: 'alias/bench', Plaintext: PLAINTEXT, EncryptionContext: CONTEXT }));
    const socketRate = await timed('null server (client ceiling): socket signed client, 1 connection', N_SEQUENTIAL, 1, () => socket('Encrypt', body));
    const leanRate = await timed('null server (client ceiling): node:http signed client, 1 connection', N_SEQUENTIAL, 1, () => lean('Encrypt', body));
    const sdkRate = await timed('null server (client ceiling): @aws-sdk/client-kms, 1 connection', N_SEQUENTIAL, 1, () =>
      sdk.send(new EncryptCommand({ KeyId: 'alias/bench', Plaintext: PLAINTEXT, EncryptionContext: CONTEXT })),
    );
    sdk.destroy();
    socket.close();
    return { socket: socketRate, lean: leanRate, sdk: sdkRate };
  } finally {
    await nul.close();
    requestsSent = sentBefore; // not served by the Sealbox server process
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-bench-kms-'));
  process.env.BENCH_ROOT_KEY ??= randomBytes(32).toString('hex');
  await checkLeanSigner({ accessKeyId: 'AKIAEXAMPLE000000000', secretAccessKey: 'example-secret' });
  const ceiling = await measureCeilings(dir);
  const served = await startServerProcess('serve', dir);
  try {
    const { url, credential } = served;
    const { execute, url: localUrl, close: closeLocal } = await openInProcessKms(dir);
    const warm = sdkClient(url, credential, 1);
    const key = await warm.send(new CreateKeyCommand({ Description: 'bench' }));
    const keyId = key.KeyMetadata!.KeyId!;
    console.log(`node ${process.version}, ${N_CONCURRENT} requests x ${CONCURRENCY} clients, ${N_SEQUENTIAL} sequential; plaintext 32 B`);
    for (let i = 0; i < 200; i++) await warm.send(new EncryptCommand({ KeyId: keyId, Plaintext: PLAINTEXT }));

    const sentBeforeBaseline = requestsSent;
    const baseline = await timed('in-process LocalKms.execute Encrypt (baseline)', N_SEQUENTIAL, 1, () =>
      execute('Encrypt', { KeyId: keyId, Plaintext: PLAINTEXT, EncryptionContext: CONTEXT }),
    );
    requestsSent = sentBeforeBaseline; // the baseline is in this process, not over HTTP
    const payload = { KeyId: keyId, Plaintext: Buffer.from(PLAINTEXT).toString('base64'), EncryptionContext: CONTEXT };
    const socket = socketClient(url, credential);
    for (let i = 0; i < 1000; i++) await socket('Encrypt', payload); // warm the server's JIT and caches
    requestsSent += 1000;
    const socketRates: number[] = [];
    for (let run = 1; run <= 3; run++) {
      socketRates.push(await timed(`socket signed client, 1 connection, Encrypt (run ${run})`, N_SEQUENTIAL, 1, () => socket('Encrypt', payload)));
    }
    socket.close();
    const socketRate = median(socketRates);
    const lean = leanClient(url, credential);
    const leanRates: number[] = [];
    for (let run = 1; run <= 3; run++) {
      leanRates.push(await timed(`node:http signed client, 1 connection, Encrypt (run ${run})`, N_SEQUENTIAL, 1, () => lean('Encrypt', payload)));
    }
    const leanRate = median(leanRates);
    const sentBeforeSameProcess = requestsSent;
    const sameProcess = leanClient(localUrl, credential);
    await timed('node:http signed client, server in the same process, Encrypt', N_SEQUENTIAL, 1, () => sameProcess('Encrypt', payload));
    requestsSent = sentBeforeSameProcess; // not served by the server process
    const seq = await timed('@aws-sdk/client-kms, 1 connection, Encrypt', N_SEQUENTIAL, 1, () =>
      warm.send(new EncryptCommand({ KeyId: keyId, Plaintext: PLAINTEXT, EncryptionContext: CONTEXT })),
    );
    const many = sdkClient(url, credential, CONCURRENCY);
    const enc = await timed(`@aws-sdk/client-kms, ${CONCURRENCY} clients keep-alive, Encrypt`, N_CONCURRENT, CONCURRENCY, () =>
      many.send(new EncryptCommand({ KeyId: keyId, Plaintext: PLAINTEXT, EncryptionContext: CONTEXT })),
    );
    const gdk = await timed(`@aws-sdk/client-kms, ${CONCURRENCY} clients keep-alive, GenerateDataKey`, N_CONCURRENT, CONCURRENCY, () =>
      many.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: CONTEXT })),
    );
    console.log(
      `ratios to in-process: socket client ${(socketRate / baseline).toFixed(2)}, node:http client ${(leanRate / baseline).toFixed(2)}, SDK sequential ${(seq / baseline).toFixed(2)}, ` +
        `SDK 8 clients Encrypt ${(enc / baseline).toFixed(2)}, GenerateDataKey ${(gdk / baseline).toFixed(2)}`,
    );
    console.log(
      `ratios to the null server (each client's ceiling): socket ${(socketRate / ceiling.socket).toFixed(2)}, node:http ${(leanRate / ceiling.lean).toFixed(2)}, SDK sequential ${(seq / ceiling.sdk).toFixed(2)}`,
    );
    console.log(
      `target: >= 1500 Encrypt/s on one sequential connection: ${socketRate >= 1500 ? 'met' : 'NOT met'} ` +
        `(socket client, median of 3: ${socketRate.toFixed(0)}/s; node:http client ${leanRate.toFixed(0)}/s; the SDK client: ${seq.toFixed(0)}/s, ` +
        `against a null server it reaches ${ceiling.sdk.toFixed(0)}/s)`,
    );
    warm.destroy();
    many.destroy();
    await closeLocal();
  } finally {
    await served.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // Includes start-up and the warm-up requests; an upper bound on the per-request cost.
  console.log(`server process CPU per HTTP request: ${(serverCpuMicros / (requestsSent + 201)).toFixed(0)} us (all requests, start-up included)`);
}

if (process.argv[2] === 'null') {
  // The client ceiling: a server that answers every request with a canned Encrypt response at
  // once (no parsing, no signature check, no key service). Whatever a client reaches against it
  // is the most that client can reach against any server on this machine.
  const body = JSON.stringify({
    CiphertextBlob: randomBytes(110).toString('base64'),
    KeyId: 'arn:aws:kms:us-east-1:111122223333:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
    EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
  });
  const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(JSON.stringify({ url: `http://127.0.0.1:${port}`, credential: { accessKeyId: 'AKIANULLSERVER000000', secretAccessKey: 'null' } }));
  });
  process.once('SIGTERM', () => {
    console.log(JSON.stringify(process.cpuUsage()));
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
} else if (process.argv[2] === 'serve') {
  const served = await serveKms(process.argv[3]!);
  console.log(JSON.stringify({ url: served.url, credential: served.credential }));
  process.once('SIGTERM', () => {
    console.log(JSON.stringify(process.cpuUsage()));
    void served.close().then(() => process.exit(0));
  });
} else {
  await main();
}
