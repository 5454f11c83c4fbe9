import { connect, type AddressInfo, type Socket } from 'node:net';
import { Agent, request as httpRequest, type Server } from 'node:http';
import {
  DecryptCommand,
  DisabledException,
  EncryptCommand,
  DescribeKeyCommand,
  KMSClient,
  KMSInternalException,
  NotFoundException,
  CreateAliasCommand,
} from '@aws-sdk/client-kms';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KmsProtocolError } from '../../src/kms-server/errors.js';
import { createKmsHttpServer, type HttpLimits, type OperationHandler } from '../../src/kms-server/http.js';
import { verifySigV4, type SigV4Credential } from '../../src/kms-server/sigv4.js';
import { signedPost } from './signing.js';

const CRED: SigV4Credential = {
  accessKeyId: 'AKIASEALBOXTEST00001',
  secretAccessKey: 'secret-for-http-tests-0123456789',
  principal: 'arn:aws:iam::111122223333:user/tester',
  accountId: '111122223333',
};

/** A stand-in service: real protocol, trivially simple operations. */
const calls: { operation: string; input: Record<string, unknown>; principal: string }[] = [];
const handler: OperationHandler = async (operation, input, caller) => {
  calls.push({ operation, input, principal: caller.principal });
  switch (operation) {
    case 'Encrypt':
      if (!(input.Plaintext instanceof Uint8Array)) throw new KmsProtocolError('ValidationException', 'Plaintext is required');
      return { CiphertextBlob: Uint8Array.from(input.Plaintext as Uint8Array).reverse(), KeyId: input.KeyId, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    case 'Decrypt':
      if (input.KeyId === 'disabled') throw Object.assign(new Error('Key is disabled'), { name: 'DisabledException', $fault: 'client' });
      return { Plaintext: Uint8Array.from(input.CiphertextBlob as Uint8Array).reverse(), KeyId: 'k' };
    case 'DescribeKey':
      if (input.KeyId === 'missing') throw new KmsProtocolError('NotFoundException', 'no such key');
      if (input.KeyId === 'bug') throw new TypeError('secret internals');
      return { KeyMetadata: { KeyId: 'k', CreationDate: new Date(1_700_000_000_500), Enabled: true } };
    case 'CreateAlias':
      return undefined;
    default:
      throw new KmsProtocolError('UnknownOperationException', 'unknown');
  }
};

let server: Server;
let url: string;
let client: KMSClient;

beforeAll(async () => {
  server = createKmsHttpServer({
    handler,
    authenticate: (req) => verifySigV4(req, { region: 'us-east-1', lookup: (id) => (id === CRED.accessKeyId ? CRED : undefined) }),
    operations: new Set(['Encrypt', 'Decrypt', 'DescribeKey', 'CreateAlias']),
    cors: { origins: ['https://app.example'] },
    limits: { maxBodyBytes: 8 * 1024, maxHeaderBytes: 4 * 1024, requestTimeoutMs: 300 },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new KMSClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: CRED.accessKeyId, secretAccessKey: CRED.secretAccessKey },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function post(target: string | undefined, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', ...(target ? { 'x-amz-target': target } : {}), ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as { __type?: string }) : undefined };
}

describe('awsJson1.1 over HTTP with @aws-sdk/client-kms', () => {
  it('round-trips blobs and encryption context, and passes the authenticated principal', async () => {
    const out = await client.send(
      new EncryptCommand({ KeyId: 'alias/a', Plaintext: Buffer.from('hello'), EncryptionContext: { purpose: 'test' } }),
    );
    expect(Buffer.from(out.CiphertextBlob!).toString()).toBe('olleh');
    const last = calls.at(-1)!;
    expect(last.input.EncryptionContext).toEqual({ purpose: 'test' });
    expect(last.input.Plaintext).toBeInstanceOf(Uint8Array);
    expect(last.principal).toBe(CRED.principal);
    const back = await client.send(new DecryptCommand({ CiphertextBlob: out.CiphertextBlob }));
    expect(Buffer.from(back.Plaintext!).toString()).toBe('hello');
  });

  it('round-trips any plaintext bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 600 }), async (bytes) => {
        const out = await client.send(new EncryptCommand({ KeyId: 'k', Plaintext: bytes }));
        expect(Uint8Array.from(out.CiphertextBlob!).reverse()).toEqual(bytes);
      }),
      { numRuns: 25 },
    );
  });

  it('sends timestamps as epoch seconds that the SDK reads back as Dates', async () => {
    const out = await client.send(new DescribeKeyCommand({ KeyId: 'k' }));
    expect(out.KeyMetadata?.CreationDate?.getTime()).toBe(1_700_000_000_500);
  });

  it('sends an empty 200 body for Unit outputs', async () => {
    const out = await client.send(new CreateAliasCommand({ AliasName: 'alias/x', TargetKeyId: 'k' }));
    expect(out.$metadata.httpStatusCode).toBe(200);
  });

  it('raises the typed exception classes', async () => {
    await expect(client.send(new DescribeKeyCommand({ KeyId: 'missing' }))).rejects.toBeInstanceOf(NotFoundException);
    await expect(client.send(new DecryptCommand({ KeyId: 'disabled', CiphertextBlob: Buffer.from('x') }))).rejects.toBeInstanceOf(
      DisabledException,
    );
    const internal = await client.send(new DescribeKeyCommand({ KeyId: 'bug' })).catch((e: unknown) => e);
    expect(internal).toBeInstanceOf(KMSInternalException);
    expect((internal as Error).message).not.toContain('secret');
  });

  it('refuses unsigned requests and wrong secrets with AWS names', async () => {
    expect((await post('TrentService.Encrypt', '{}')).json?.__type).toBe('MissingAuthenticationTokenException');
    const bad = new KMSClient({
      endpoint: url,
      region: 'us-east-1',
      credentials: { accessKeyId: CRED.accessKeyId, secretAccessKey: 'wrong' },
      maxAttempts: 1,
    });
    const err = (await bad.send(new DescribeKeyCommand({ KeyId: 'k' })).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('InvalidSignatureException');
    bad.destroy();
  });
});

describe('protocol errors', () => {
  it('answers malformed JSON and non-object bodies with SerializationException', async () => {
    for (const body of ['{', '{"KeyId":', 'null', '[]', '"x"', '7', '\u0000']) {
      const res = await signedPost(url, 'TrentService.Encrypt', body, CRED);
      expect(res.status).toBe(400);
      expect(res.json?.__type).toBe('SerializationException');
    }
  });

  it('answers members of the wrong JSON type with SerializationException', async () => {
    const bodies = [
      { KeyId: 'k', Plaintext: 5 },
      { KeyId: 'k', Plaintext: 'not base64!' },
      { KeyId: 'k', Plaintext: 'QUJD', EncryptionContext: 'x' },
      { KeyId: 'k', Plaintext: 'QUJD', EncryptionContext: { a: 1 } },
      { KeyId: { nested: true }, Plaintext: 'QUJD' },
      { KeyId: 'k', Plaintext: 'QUJD', GrantTokens: 'tok' },
      { KeyId: 'k', Plaintext: 'QUJD', DryRun: 'yes' },
    ];
    for (const body of bodies) {
      const res = await signedPost(url, 'TrentService.Encrypt', JSON.stringify(body), CRED);
      expect(res.json?.__type).toBe('SerializationException');
    }
  });

  it('survives arbitrary bodies: every answer is an AWS-shaped JSON error or a result', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.json()), async (body) => {
        const res = await signedPost(url, 'TrentService.Encrypt', body, CRED);
        expect([200, 400]).toContain(res.status);
        if (res.status === 400) expect(typeof res.json?.__type).toBe('string');
      }),
      { numRuns: 60 },
    );
  });

  it('answers unknown or missing targets with UnknownOperationException', async () => {
    for (const target of [undefined, 'TrentService.Nope', 'Other.Encrypt', 'TrentService.encrypt']) {
      const res = await post(target, '{}');
      expect(res.status).toBe(400);
      expect(res.json?.__type).toBe('UnknownOperationException');
    }
  });

  it('answers paths other than / and methods other than POST', async () => {
    const res = await fetch(`${url}/keys`, { method: 'POST', headers: { 'x-amz-target': 'TrentService.Encrypt' }, body: '{}' });
    expect(((await res.json()) as { __type: string }).__type).toBe('UnknownOperationException');
    const get = await fetch(url);
    expect(get.status).toBe(404);
  });

  it('answers a body over the limit with 413 before authenticating', async () => {
    const res = await post('TrentService.Encrypt', JSON.stringify({ Plaintext: 'A'.repeat(9000) }));
    expect(res.status).toBe(413);
    expect(res.json?.__type).toBe('RequestEntityTooLargeException');
  });

  it('answers an oversized header with 431 and keeps serving', async () => {
    const res = await fetch(url, { method: 'POST', headers: { 'x-big': 'a'.repeat(5000) }, body: '{}' });
    expect(res.status).toBe(431);
    expect((await post('TrentService.Encrypt', '{}')).json?.__type).toBe('MissingAuthenticationTokenException');
  });

  it('closes a request that does not arrive in time', async () => {
    const status = await new Promise<number | string>((resolve) => {
      const req = httpRequest(url, { method: 'POST', headers: { 'content-length': '10', 'x-amz-target': 'TrentService.Encrypt' } });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('error', () => resolve('closed'));
      req.write('{'); // and never the rest
    });
    expect([408, 'closed']).toContain(status);
    expect((await post('TrentService.Encrypt', '{}')).status).toBe(400);
  });
});

/** A server of its own for one test, on 127.0.0.1; `close` stops it and its connections. */
async function startServer(limits: HttpLimits) {
  const own = createKmsHttpServer({
    handler: async (operation, input) => {
      if (input.KeyId === 'slow') await new Promise((resolve) => setTimeout(resolve, 700));
      return { KeyMetadata: { KeyId: String(input.KeyId) } };
    },
    authenticate: (req) => verifySigV4(req, { region: 'us-east-1', lookup: (id) => (id === CRED.accessKeyId ? CRED : undefined) }),
    operations: new Set(['DescribeKey']),
    limits,
  });
  await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
  const port = (own.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections: () => new Promise<number>((resolve, reject) => own.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
    close: async () => {
      for (const socket of rawSockets.splice(0)) socket.destroy();
      own.closeAllConnections();
      await new Promise((resolve) => own.close(resolve));
    },
  };
}

const rawSockets: Socket[] = [];

/** A raw TCP connection (destroyed by the server's `close`) and the milliseconds from `since` until the server closed it (or gave up). */
function rawConnection(port: number, { halfOpen = false } = {}) {
  const socket: Socket = connect({ port, host: '127.0.0.1', allowHalfOpen: halfOpen });
  rawSockets.push(socket);
  socket.on('error', () => {});
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  const closed = (since: number, giveUpMs: number) =>
    new Promise<number | 'still open'>((resolve) => {
      const t = setTimeout(() => resolve('still open'), giveUpMs);
      // The server closes its side: the end of the stream (a half-open client keeps its own side open).
      const done = () => {
        clearTimeout(t);
        resolve(Date.now() - since);
      };
      if (socket.readableEnded || socket.destroyed) done();
      else {
        socket.once('end', done);
        socket.once('close', done);
      }
    });
  return { socket, closed, received: () => received };
}

describe('connection deadlines', () => {
  it('refuses deadlines beyond what a timer holds (2^31 - 1 ms, also for the two added together)', () => {
    const make = (limits: HttpLimits) => () => createKmsHttpServer({ handler, authenticate: () => ({ principal: 'p', accountId: '111122223333' }), limits });
    for (const limits of [{ requestTimeoutMs: 2 ** 31 }, { keepAliveTimeoutMs: 2 ** 31 }, { requestTimeoutMs: 2 ** 30, keepAliveTimeoutMs: 2 ** 30 }]) {
      expect(make(limits)).toThrow(RangeError);
    }
    expect(make({ requestTimeoutMs: 2 ** 30, keepAliveTimeoutMs: 2 ** 30 - 1 })).not.toThrow();
  });

  it('closes a connection that sends nothing, only blank lines, or part of a head within requestTimeoutMs', async () => {
    const server = await startServer({ requestTimeoutMs: 300 });
    try {
      const start = Date.now();
      const silent = rawConnection(server.port);
      const blank = rawConnection(server.port);
      const trickle = setInterval(() => blank.socket.writable && blank.socket.write('\r\n'), 50);
      const partial = rawConnection(server.port, { halfOpen: true });
      partial.socket.write('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      const times = await Promise.all([silent, blank, partial].map((c) => c.closed(start, 3000)));
      clearInterval(trickle);
      for (const t of times) {
        expect(t).not.toBe('still open');
        expect(t).toBeGreaterThanOrEqual(250);
      }
      expect(partial.received()).toMatch(/^HTTP\/1\.1 408 /);
      // The half-open client keeps its side open; the server has closed the connection all the same.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await server.connections()).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('does not let idle connections lock clients out', async () => {
    const server = await startServer({ requestTimeoutMs: 1000, maxConnections: 16 });
    try {
      const start = Date.now();
      const idle = Array.from({ length: 16 }, () => rawConnection(server.port));
      for (const t of await Promise.all(idle.map((c) => c.closed(start, 3000)))) expect(t).not.toBe('still open');
      const res = await signedPost(server.url, 'TrentService.DescribeKey', '{"KeyId":"k"}', CRED);
      expect(res.status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('closes a kept-alive connection that sends no next request, even one sending blank lines', async () => {
    const server = await startServer({ requestTimeoutMs: 300, keepAliveTimeoutMs: 200 });
    try {
      for (const trickle of [false, true]) {
        const c = rawConnection(server.port);
        c.socket.write('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}');
        await new Promise<void>((resolve) => c.socket.once('data', () => resolve()));
        expect(c.received()).toMatch(/^HTTP\/1\.1 400 /); // unsigned: answered and kept alive
        const answered = Date.now();
        const timer = trickle ? setInterval(() => c.socket.writable && c.socket.write('\r\n'), 50) : undefined;
        const t = await c.closed(answered, 4000);
        clearInterval(timer);
        expect(t).not.toBe('still open');
        expect(t).toBeLessThan(2500);
      }
    } finally {
      await server.close();
    }
  });

  it('keeps a kept-alive connection for request after request, and answers a request slower than the timeout', async () => {
    const server = await startServer({ requestTimeoutMs: 300, keepAliveTimeoutMs: 2000 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sdk = new KMSClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: CRED.accessKeyId, secretAccessKey: CRED.secretAccessKey },
      maxAttempts: 1,
    });
    try {
      const ports = new Set<number>();
      for (let i = 0; i < 6; i++) {
        const status = await new Promise<number>((resolve, reject) => {
          const req = httpRequest(server.url, { method: 'POST', agent, headers: { 'x-amz-target': 'TrentService.DescribeKey' } }, (res) => {
            ports.add(res.socket.localPort!);
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end('{}');
        });
        expect(status).toBe(400); // unsigned
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      expect(ports.size).toBe(1); // one connection for 6 requests over more than requestTimeoutMs
      for (let i = 0; i < 4; i++) {
        const out = await sdk.send(new DescribeKeyCommand({ KeyId: i === 1 ? 'slow' : 'k' }));
        expect(out.KeyMetadata?.KeyId).toBe(i === 1 ? 'slow' : 'k');
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    } finally {
      sdk.destroy();
      agent.destroy();
      await server.close();
    }
  });
});

describe('CORS', () => {
  it('answers a preflight from an allowed origin and refuses others', async () => {
    const ok = await fetch(url, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-amz-target' },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(ok.headers.get('access-control-allow-headers')).toContain('x-amz-target');
    const no = await fetch(url, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    expect(no.status).toBe(403);
    expect(no.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('labels responses (errors too) for allowed origins only', async () => {
    const ok = await post('TrentService.Encrypt', '{}', { origin: 'https://app.example' });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(ok.headers.get('access-control-expose-headers')).toContain('x-amzn-RequestId');
    const no = await post('TrentService.Encrypt', '{}', { origin: 'https://evil.example' });
    expect(no.headers.get('access-control-allow-origin')).toBeNull();
  });
});
