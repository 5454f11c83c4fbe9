/**
 * The KMS endpoint fuzzer: malformed requests against the server `sealbox kms serve` runs
 * (`startKmsServer` over a fresh LocalKms, in-process, on 127.0.0.1 with a free port), while
 * another client checks that well-formed requests keep being answered.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { DEFAULT_HTTP_LIMITS } from '../../src/kms-server/http.js';
import { credentialStoreFor, startKmsServer } from '../../src/kms-server/server.js';
import type { RunningKmsServer } from '../../src/kms-server/server.js';
import { LocalKms } from '../../src/local-kms/local-kms.js';
import { Sha256 } from '../kms-server/signing.js';
import { Rng } from './rng.js';

/** A request as the fuzzer sends it. */
export interface FuzzRequest {
  readonly kind: string;
  readonly method: string;
  readonly path: string;
  /** `X-Amz-Target`, or undefined to leave it out. */
  readonly target: string | undefined;
  readonly body: Uint8Array;
  /** Sign after these edits (true), or send unsigned / with a broken signature. */
  readonly sign: 'valid' | 'none' | 'broken';
  /** Oversized or slow: the server may close the connection instead of answering. */
  readonly mayClose: boolean;
  /** Send the body this slowly: one byte per `delayMs`, `bytes` bytes in all (slowloris). */
  readonly slow?: { readonly delayMs: number; readonly bytes: number };
  /** Leave Content-Length out (chunked body). */
  readonly chunked?: boolean;
}

/** The answer, or how the connection ended without one. */
export interface FuzzResponse {
  readonly status?: number;
  readonly headers?: Record<string, string | string[] | undefined>;
  readonly body?: string;
  readonly closed?: string;
}

/** An outcome that breaks the endpoint oracle. */
export interface EndpointViolation {
  readonly kind: string;
  readonly detail: string;
  readonly request: FuzzRequest;
}

const PREFIX = 'TrentService.';

/** Operations the fuzzer builds valid requests for: none creates keys or changes key state. */
function templates(keyId: string, alias: string, blob: string): [string, Record<string, unknown>][] {
  return [
    ['Encrypt', { KeyId: keyId, Plaintext: Buffer.from('hello fuzz').toString('base64'), EncryptionContext: { tenant: 'acme' } }],
    ['Decrypt', { CiphertextBlob: blob, EncryptionContext: { tenant: 'acme' } }],
    ['GenerateDataKey', { KeyId: alias, NumberOfBytes: 32, EncryptionContext: { a: 'b' } }],
    ['GenerateDataKeyWithoutPlaintext', { KeyId: keyId, KeySpec: 'AES_256' }],
    ['DescribeKey', { KeyId: alias }],
    ['GenerateRandom', { NumberOfBytes: 16 }],
    ['ListAliases', { Limit: 10 }],
    ['ReEncrypt', { CiphertextBlob: blob, SourceEncryptionContext: { tenant: 'acme' }, DestinationKeyId: keyId }],
    ['GetKeyPolicy', { KeyId: keyId, PolicyName: 'default' }],
    ['ListGrants', { KeyId: keyId }],
    ['ListKeys', { Limit: 1 }],
    ['ListResourceTags', { KeyId: keyId, Limit: 1 }],
    ['ListKeyRotations', { KeyId: keyId, Limit: 1 }],
  ];
}

const ODD_TARGETS = [
  '', 'TrentService.', 'TrentService.encrypt', 'trentservice.Encrypt', 'Foo.Encrypt', 'TrentService.__proto__', 'TrentService.constructor',
  'TrentService.toString', 'TrentService.hasOwnProperty', 'TrentService.Encrypt ', 'TrentService.Encrypt.Decrypt', `TrentService.${'A'.repeat(70)}`,
  'TrentService.NoSuchOperation', 'TrentService.Encrypt$', 'TrentService.Décrypt',
];
/** List markers a client might send: near the forms issued (key ids, base64url text, numbers) and not. */
function markerValue(rng: Rng): string {
  const hex = (n: number): string => Buffer.from(rng.bytes(n)).toString('hex');
  switch (rng.below(8)) {
    case 0: return Buffer.from(rng.bytes(rng.between(1, 40))).toString('base64url'); // often not UTF-8
    case 1: return Buffer.from(rng.bytes(rng.between(1, 40))).toString('base64');
    case 2: return `${hex(4)}-${hex(2)}-${hex(2)}-${hex(2)}-${hex(6)}${rng.pick(['', 'X', '/us-east-1', '\u0000'])}`;
    case 3: return `mrk-${hex(16)}/${rng.pick(['us-east-1', 'US-EAST-1', '', 'a'.repeat(200), '../x'])}`;
    case 4: return rng.pick(['0', '1', '-1', '01', '1e3', '0x10', '9'.repeat(15), '9'.repeat(16), '9'.repeat(400), ' 1', '1.0']);
    case 5: return rng.pick(['', '=', 'AA==', 'AA', '\u00e9', '\ud800', 'x'.repeat(1024), 'x'.repeat(1025), 'x'.repeat(100_000)]);
    case 6: return Buffer.from(rng.pick(['alias/a', 'tag', '\u{1F600}', '\uFFFD'])).toString('base64url');
    default: return String(rng.between(1, 2 ** 31));
  }
}

const WRONG_VALUES: unknown[] = [1, -1, 0, 1.5, 1e308, true, false, [], [1, 2], {}, { a: 1 }, '', 'x', 'A'.repeat(10_000)];
const HUGE_NUMBERS = ['1e308', '1e400', '-1e400', '9007199254740993', '-1', '0', '1.5', '1e-400', '123456789012345678901234567890', '-0', '2147483648', '4294967296'];
const BAD_BASE64 = ['!!!!', 'abc', 'ab==cd==', '====', 'aGVsbG8', 'aGVs bG8=', 'aGVs\nbG8=', '-_-_', 'aGVsbG8=\u0000', '\u00e9\u00e9\u00e9\u00e9', 'A'.repeat(4 * 40_000)];

function jsonBytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

/** A malformed (or, sometimes, well-formed) request for the endpoint. */
export function makeRequest(rng: Rng, keyId: string, alias: string, blob: string): FuzzRequest {
  const [operation, input] = rng.pick(templates(keyId, alias, blob));
  const base = { method: 'POST', path: '/', target: PREFIX + operation, sign: 'valid' as const, mayClose: false };
  const members = Object.keys(input);
  const with_ = (kind: string, value: unknown): FuzzRequest => ({ ...base, kind, body: jsonBytes(JSON.stringify({ ...input, [rng.pick(members)]: value })) });
  const text = JSON.stringify(input);
  switch (rng.below(17)) {
    case 0: return { ...base, kind: 'valid', body: jsonBytes(text) };
    case 1: return { ...base, kind: 'bad-json', body: jsonBytes(text.slice(0, rng.below(text.length))) };
    case 2: return { ...base, kind: 'bad-json', body: rng.chance(0.5) ? rng.bytes(rng.between(1, 200)) : jsonBytes(rng.pick(['{"a":}', '{', '[', 'null', '1', '"x"', '\ufeff{}', '{"KeyId":"a","KeyId":"b"}', `${'['.repeat(20_000)}${']'.repeat(20_000)}`, `{"a":${'{"a":'.repeat(5000)}1${'}'.repeat(5001)}`])) };
    case 3: return with_('wrong-type', rng.pick(WRONG_VALUES));
    case 4: return with_('bad-base64', rng.pick(BAD_BASE64));
    case 5: {
      const member = rng.pick(members);
      return { ...base, kind: 'huge-number', body: jsonBytes(`${text.slice(0, -1)},"${rng.chance(0.5) ? member : rng.pick(['NumberOfBytes', 'Limit'])}":${rng.pick(HUGE_NUMBERS)}}`) };
    }
    case 6: {
      const where = rng.below(3);
      const proto = rng.pick(['"__proto__":{"KeyId":"x"}', '"__proto__":"x"', '"constructor":{"prototype":{"a":1}}', '"__proto__":null', '"prototype":1']);
      const body = where === 0 ? `{${proto},${text.slice(1)}` : where === 1 ? `{"EncryptionContext":{${proto}},${text.slice(1)}` : `${text.slice(0, -1)},"EncryptionContext":{"__proto__":"v","a":"b"}}`;
      return { ...base, kind: 'proto-keys', body: jsonBytes(body) };
    }
    case 7: return { ...base, kind: 'unknown-target', target: rng.chance(0.2) ? undefined : rng.chance(0.5) ? rng.pick(ODD_TARGETS) : PREFIX + Buffer.from(rng.bytes(rng.between(1, 12))).toString('base64').replace(/[^A-Za-z0-9]/g, 'Q'), body: jsonBytes(text) };
    case 8: return { ...base, kind: 'oversized', body: jsonBytes(`{"KeyId":"${'a'.repeat(DEFAULT_HTTP_LIMITS.maxBodyBytes + rng.between(1, 4096))}"}`), mayClose: true, chunked: rng.chance(0.5) };
    case 9: return { ...base, kind: 'unsigned', sign: rng.chance(0.5) ? 'none' : 'broken', body: jsonBytes(text) };
    case 10: return { ...base, kind: 'method-path', method: rng.pick(['GET', 'PUT', 'DELETE', 'POST', 'PATCH']), path: rng.pick(['/', '/x', '//', '/?a=b', '/%2e%2e/']), body: jsonBytes(text) };
    case 11: return { ...base, kind: 'bad-utf8', body: Uint8Array.of(0x7b, 0x22, 0x4b, 0x65, 0x79, 0x49, 0x64, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x22, 0x7d) };
    case 12: return { ...base, kind: 'empty-body', body: new Uint8Array(0) };
    case 13: {
      const ctx = Object.fromEntries(Array.from({ length: rng.pick([1, 50, 2000]) }, (_, i) => [`k${i}`, 'v'.repeat(rng.pick([1, 100, 9000]))]));
      return { ...base, kind: 'big-context', body: jsonBytes(JSON.stringify({ ...input, EncryptionContext: ctx })) };
    }
    case 14: return with_('null-member', null);
    case 15: {
      const [listOp, listInput] = rng.pick(templates(keyId, alias, blob).filter(([op]) => op.startsWith('List')));
      return { ...base, target: PREFIX + listOp, kind: 'marker', body: jsonBytes(JSON.stringify({ ...listInput, Marker: markerValue(rng) })) };
    }
    default: {
      const bytes = jsonBytes(text);
      for (let i = 0; i < rng.between(1, 3); i++) bytes[rng.below(bytes.length)] = rng.below(128);
      return { ...base, kind: 'mutated-json', body: bytes };
    }
  }
}

/** A slow request: headers, then its body dribbled out slower than the server's request timeout allows. */
export function slowRequest(rng: Rng, keyId: string): FuzzRequest {
  const body = jsonBytes(JSON.stringify({ KeyId: keyId }));
  return { kind: 'slow-body', method: 'POST', path: '/', target: `${PREFIX}DescribeKey`, body, sign: 'valid', mayClose: true, slow: { delayMs: rng.between(150, 400), bytes: body.length } };
}

/** Signs a request as a client would. */
async function signed(url: URL, region: string, cred: { accessKeyId: string; secretAccessKey: string }, req: FuzzRequest): Promise<Record<string, string>> {
  const headers: Record<string, string> = { host: url.host, 'content-type': 'application/x-amz-json-1.1' };
  if (req.target !== undefined) headers['x-amz-target'] = req.target;
  if (req.sign === 'none') return headers;
  const signer = new SignatureV4({ credentials: cred, region, service: 'kms', sha256: Sha256 });
  const out = await signer.sign({ method: req.method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: {}, headers, body: req.body });
  const result = { ...out.headers } as Record<string, string>;
  if (req.sign === 'broken') {
    const auth = result.authorization ?? '';
    result.authorization = auth.slice(0, -1) + (auth.endsWith('0') ? '1' : '0');
  }
  return result;
}

/** Sends one request on its own socket-level terms; never throws. */
function send(url: URL, agent: Agent, headers: Record<string, string>, req: FuzzRequest, timeoutMs: number): Promise<FuzzResponse> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: FuzzResponse): void => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        resolve(r);
      }
    };
    const timer = setTimeout(() => {
      finish({ closed: 'client-timeout' });
      r.destroy();
    }, timeoutMs);
    const allHeaders: Record<string, string> = { ...headers };
    if (!req.chunked) allHeaders['content-length'] = String(req.body.length);
    const r = request({ host: url.hostname, port: url.port, method: req.method, path: req.path, headers: allHeaders, agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => finish({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', (e: NodeJS.ErrnoException) => finish({ closed: e.code ?? e.message }));
    });
    r.on('error', (e: NodeJS.ErrnoException) => finish({ closed: e.code ?? e.message }));
    if (req.slow) {
      let i = 0;
      const step = (): void => {
        if (settled || r.destroyed) return;
        if (i >= req.slow!.bytes) {
          r.end();
          return;
        }
        r.write(req.body.subarray(i, i + 1));
        i++;
        setTimeout(step, req.slow!.delayMs);
      };
      r.flushHeaders();
      step();
    } else {
      r.end(req.body);
    }
  });
}

/** A half-sent request head that never completes (slowloris on the headers), over a raw socket. */
function slowHeaders(url: URL, ms: number): Promise<FuzzResponse> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let data = '';
    const done = (r: FuzzResponse): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ closed: 'client-timeout' }), ms);
    socket.on('connect', () => socket.write('POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.DescribeKey\r\n'));
    socket.on('data', (c) => (data += c.toString('latin1')));
    socket.on('end', () => done(data ? { status: Number(data.slice(9, 12)), body: data } : { closed: 'end' }));
    socket.on('error', (e: NodeJS.ErrnoException) => done({ closed: e.code ?? 'error' }));
  });
}

/** The endpoint oracle for one answer. */
export function judge(req: FuzzRequest, res: FuzzResponse): string | undefined {
  if (res.status === undefined) {
    if (req.mayClose && res.closed !== 'client-timeout') return undefined;
    return `no answer (${res.closed})`;
  }
  if (res.status >= 500) return `HTTP ${res.status}: ${res.body?.slice(0, 200)}`;
  if (res.status >= 200 && res.status < 300) {
    if (req.kind === 'slow-body' || req.kind === 'oversized' || req.sign !== 'valid') return `HTTP ${res.status} for a ${req.kind} request`;
    if (res.body) {
      try {
        JSON.parse(res.body);
      } catch {
        return `HTTP ${res.status} with a body that is not JSON`;
      }
    }
    return undefined;
  }
  if (res.status < 400) return `HTTP ${res.status}`;
  if (res.status === 408 || res.status === 431 || (res.status === 400 && !res.headers?.['x-amzn-requestid'])) {
    // Node's own answers to a request it could not parse or that timed out: no body, connection closed.
    return undefined;
  }
  if (req.method === 'OPTIONS') return undefined;
  let shape: unknown;
  try {
    shape = JSON.parse(res.body ?? '');
  } catch {
    return `HTTP ${res.status} with a body that is not JSON: ${res.body?.slice(0, 100)}`;
  }
  const s = shape as { __type?: unknown; message?: unknown };
  if (typeof s !== 'object' || s === null || typeof s.__type !== 'string' || (s.message !== undefined && typeof s.message !== 'string')) {
    return `HTTP ${res.status} with an error body that is not AWS-shaped: ${res.body?.slice(0, 100)}`;
  }
  if (res.headers?.['x-amzn-errortype'] === undefined) return `HTTP ${res.status} without x-amzn-ErrorType`;
  return undefined;
}

/** Options of {@link runEndpointFuzz}. */
export interface EndpointFuzzOptions {
  readonly seed: number;
  readonly iterations: number;
  readonly seconds?: number;
  /** Slow (slowloris) requests, each held open past the server's request timeout. */
  readonly slowRequests?: number;
  /** The server's request timeout (bounds each slow request). */
  readonly requestTimeoutMs?: number;
  /** Requests in flight at once. */
  readonly concurrency?: number;
  /** Send these requests (corpus replay) instead of generated ones. */
  readonly replay?: readonly FuzzRequest[];
  /** Stand-in for the server under test (tests inject a broken one). */
  readonly start?: (kms: LocalKms, requestTimeoutMs: number) => Promise<RunningKmsServer>;
}

/** What {@link runEndpointFuzz} found. */
export interface EndpointFuzzReport {
  readonly requests: number;
  readonly ms: number;
  readonly kinds: Record<string, Record<string, number>>;
  readonly health: { readonly checks: number; readonly failures: number; readonly slowestMs: number };
  readonly violations: EndpointViolation[];
}

/**
 * Runs the endpoint fuzzer. The server gets a short request timeout (default 1 s) so that slow
 * bodies end quickly; a health client sends a well-formed DescribeKey every 50 ms on its own
 * connection and needs a 200 within 2 s each time, slowloris connections included.
 */
export async function runEndpointFuzz(options: EndpointFuzzOptions): Promise<EndpointFuzzReport> {
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-fuzz-kms-'));
  const kms = LocalKms.open({ dataDir: dir, rootKey: randomBytes(32) });
  const requestTimeoutMs = options.requestTimeoutMs ?? 1000;
  const server = options.start
    ? await options.start(kms, requestTimeoutMs)
    : await startKmsServer({ kms, limits: { requestTimeoutMs } });
  const url = new URL(server.url);
  const cred = credentialStoreFor(kms).create({ principal: `arn:aws:iam::${kms.accountId}:root` });
  const region = kms.region;
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const healthAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const violations: EndpointViolation[] = [];
  const kinds: Record<string, Record<string, number>> = {};
  const started = performance.now();
  const deadline = options.seconds === undefined ? Infinity : started + options.seconds * 1000;
  const health = { checks: 0, failures: 0, slowestMs: 0 };
  try {
    const call = async (req: FuzzRequest, a = agent, timeoutMs = 10_000): Promise<FuzzResponse> => send(url, a, await signed(url, region, cred, req), req, timeoutMs);
    const setup = async (operation: string, input: object): Promise<Record<string, unknown>> => {
      const res = await call({ kind: 'setup', method: 'POST', path: '/', target: PREFIX + operation, body: jsonBytes(JSON.stringify(input)), sign: 'valid', mayClose: false });
      if (res.status !== 200) throw new Error(`endpoint fuzz set-up: ${operation} answered ${res.status} ${res.body}`);
      return JSON.parse(res.body || '{}') as Record<string, unknown>;
    };
    const keyId = ((await setup('CreateKey', {})).KeyMetadata as { Arn: string }).Arn;
    const alias = 'alias/fuzz';
    await setup('CreateAlias', { AliasName: alias, TargetKeyId: keyId });
    const blob = (await setup('Encrypt', { KeyId: keyId, Plaintext: Buffer.from('x').toString('base64'), EncryptionContext: { tenant: 'acme' } })).CiphertextBlob as string;

    // The other client: a well-formed request must keep being answered while the fuzzer runs.
    let healthy = true;
    const healthRequest: FuzzRequest = { kind: 'health', method: 'POST', path: '/', target: `${PREFIX}DescribeKey`, body: jsonBytes(JSON.stringify({ KeyId: alias })), sign: 'valid', mayClose: false };
    const healthLoop = (async () => {
      while (healthy) {
        const t0 = performance.now();
        const res = await call(healthRequest, healthAgent, 2000);
        const dt = performance.now() - t0;
        health.checks++;
        health.slowestMs = Math.max(health.slowestMs, dt);
        if (res.status !== 200) {
          health.failures++;
          violations.push({ kind: 'health', detail: `a well-formed DescribeKey from another client got ${res.status ?? res.closed} after ${Math.round(dt)} ms`, request: healthRequest });
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const rng = new Rng(options.seed);
    const slow: Promise<void>[] = [];
    const slowCount = options.slowRequests ?? 4;
    for (let i = 0; i < slowCount; i++) {
      const req = slowRequest(rng, keyId);
      slow.push(
        call(req, new Agent({ keepAlive: false }), requestTimeoutMs * 4 + req.slow!.delayMs * req.body.length).then((res) => {
          const bad = judge(req, res);
          const tally = (kinds[req.kind] ??= {});
          const label = String(res.status ?? res.closed);
          tally[label] = (tally[label] ?? 0) + 1;
          if (bad) violations.push({ kind: 'oracle', detail: bad, request: req });
        }),
      );
      slow.push(slowHeaders(url, requestTimeoutMs * 4).then((res) => {
        const tally = (kinds['slow-headers'] ??= {});
        const label = String(res.status ?? res.closed);
        tally[label] = (tally[label] ?? 0) + 1;
        if (res.closed === 'client-timeout') violations.push({ kind: 'oracle', detail: 'a request head that never completes was never timed out', request: { kind: 'slow-headers', method: 'POST', path: '/', target: undefined, body: new Uint8Array(0), sign: 'none', mayClose: true } });
      }));
    }

    let sent = 0;
    const total = options.replay ? options.replay.length : options.iterations;
    const worker = async (): Promise<void> => {
      while (sent < total && performance.now() < deadline) {
        const req = options.replay ? options.replay[sent]! : makeRequest(rng, keyId, alias, blob);
        sent++;
        const res = await call(req);
        const bad = judge(req, res);
        const tally = (kinds[req.kind] ??= {});
        const label = String(res.status ?? res.closed);
        tally[label] = (tally[label] ?? 0) + 1;
        if (bad) violations.push({ kind: 'oracle', detail: bad, request: req });
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
    await Promise.all(slow);
    healthy = false;
    await healthLoop;
    return { requests: sent, ms: performance.now() - started, kinds, health, violations };
  } finally {
    agent.destroy();
    healthAgent.destroy();
    await server.close();
    kms.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
