/**
 * An attacker on 127.0.0.1 against `startKmsServer` (what `sealbox kms serve` runs), with what
 * test/kms-server/{sigv4,replay,http,sdk}.test.ts leave out: a captured request with headers
 * added after signing, its body or scope changed, and every way of failing authentication
 * compared for a key or alias that exists and one that does not.
 */
import { request as httpRequest } from 'node:http';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { createKmsHttpServer } from '../../src/kms-server/http.js';
import type { SignedRequest } from '../../src/kms-server/sigv4.js';
import { credentialStoreFor } from '../../src/kms-server/server.js';
import { useServedKms } from './served-kms.js';
import { postRaw, signHeaders } from './signing.js';

const served = useServedKms();

interface RawResult {
  status: number;
  type: string | undefined;
  message: string | undefined;
}

/**
 * POSTs with exactly these header lines, repeats and order kept (fetch and node:http's header
 * objects would merge them), the body in the given pieces: without Content-Length when there is
 * more than one (chunked).
 */
function rawPost(url: string, headers: readonly (readonly [string, string])[], body: string | readonly string[]): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lines = headers.flatMap(([k, v]) => [k, v]);
    const pieces = typeof body === 'string' ? [body] : body;
    if (pieces.length === 1) lines.push('content-length', String(Buffer.byteLength(pieces[0]!)));
    const req = httpRequest({ host: u.hostname, port: u.port, method: 'POST', path: '/', headers: lines, setHost: false });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        const json = text ? (JSON.parse(text) as { __type?: string; message?: string }) : {};
        resolve({ status: res.statusCode ?? 0, type: json.__type, message: json.message });
      });
    });
    req.on('error', reject);
    for (const piece of pieces) req.write(piece);
    req.end();
  });
}

async function newKeyWithAlias(alias: string): Promise<string> {
  const keyId = (await served.root.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  await served.root.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
  return keyId;
}

async function keyState(keyId: string): Promise<string | undefined> {
  return (await served.root.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState;
}

describe('a captured request, changed', () => {
  it('is refused when a header the signature covers is sent twice (host, content-type, authorization, x-amz-date, x-amz-target)', async () => {
    const { kms } = served;
    const keyId = await newKeyWithAlias('alias/dup-headers');
    const body = JSON.stringify({ KeyId: keyId });
    const signed = Object.entries(await signHeaders(kms.url, 'TrentService.DisableKey', body, kms.rootCredential, kms.region));
    const value = (name: string) => signed.find(([k]) => k.toLowerCase() === name)![1];
    // Node keeps only the first host, content-type and authorization line and joins the others;
    // SigV4 signs every value of a repeated header, comma-joined, so none of these was signed.
    const added: [string, string][] = [
      ['Host', 'evil.example'],
      ['Content-Type', 'text/plain'],
      ['Authorization', value('authorization').replace(/Signature=\w+/, `Signature=${'0'.repeat(64)}`)],
      ['Authorization', value('authorization')],
      ['X-Amz-Date', value('x-amz-date')],
      ['X-Amz-Target', 'TrentService.DisableKey'],
    ];
    for (const header of added) {
      const res = await rawPost(kms.url, [...signed, header], body);
      expect([header[0], res.status]).toEqual([header[0], 400]);
      expect(['IncompleteSignatureException', 'InvalidSignatureException', 'UnknownOperationException']).toContain(res.type);
    }
    expect(await keyState(keyId)).toBe('Enabled');
    // The request as signed, its body sent in chunks without Content-Length, is the same request.
    const res = await rawPost(kms.url, signed, [body.slice(0, 7), body.slice(7)]);
    expect(res.status).toBe(200);
    expect(await keyState(keyId)).toBe('Disabled');
  });

  it('is refused with another body of the same length, another region in its scope, or its target in other case', async () => {
    const { kms } = served;
    const keyId = await newKeyWithAlias('alias/captured');
    const other = await newKeyWithAlias('alias/captures');
    const body = JSON.stringify({ KeyId: 'alias/captured' });
    const captured = await signHeaders(kms.url, 'TrentService.DisableKey', body, kms.rootCredential, kms.region);
    const swapped = body.replace('captured', 'captures');
    expect(swapped.length).toBe(body.length);
    expect((await postRaw(kms.url, captured, swapped)).json?.__type).toBe('InvalidSignatureException');
    // The server serves every region: a scope rewritten to another one is still not what was signed.
    const rescoped = { ...captured, authorization: captured.authorization!.replace(`/${kms.region}/kms/`, '/eu-west-1/kms/') };
    expect(rescoped.authorization).not.toBe(captured.authorization);
    expect((await postRaw(kms.url, rescoped, body)).json?.__type).toBe('InvalidSignatureException');
    for (const target of ['TrentService.disableKey', 'trentservice.DisableKey', 'TrentService.DISABLEKEY']) {
      const res = await postRaw(kms.url, { ...captured, 'x-amz-target': target }, body);
      expect([target, res.status, res.json?.__type]).toEqual([target, 400, 'UnknownOperationException']);
    }
    expect(await keyState(keyId)).toBe('Enabled');
    expect(await keyState(other)).toBe('Enabled');
  });
});

describe('failed authentication', () => {
  it('answers the same for a key or alias that exists and one that does not, and writes no audit row', async () => {
    const { kms } = served;
    const keyId = await newKeyWithAlias('alias/exists');
    const store = credentialStoreFor(kms.kms);
    const revoked = kms.createCredential(`arn:aws:iam::${kms.accountId}:user/revoked`);
    const deleted = kms.createCredential(`arn:aws:iam::${kms.accountId}:user/deleted`);
    const named = [
      ['alias/exists', 'alias/nothing'],
      [keyId, '00000000-0000-4000-8000-000000000000'],
      [`arn:aws:kms:${kms.region}:${kms.accountId}:key/${keyId}`, `arn:aws:kms:${kms.region}:${kms.accountId}:key/00000000-0000-4000-8000-000000000000`],
    ];
    // Captured while the keys were active, replayed after they were revoked.
    const captured = new Map<string, Record<string, string>>();
    for (const pair of named) {
      for (const id of pair) {
        const body = JSON.stringify({ KeyId: id });
        captured.set(`revoked ${id}`, await signHeaders(kms.url, 'TrentService.DescribeKey', body, revoked, kms.region));
        captured.set(`deleted ${id}`, await signHeaders(kms.url, 'TrentService.DescribeKey', body, deleted, kms.region));
      }
    }
    store.setStatus(revoked.accessKeyId, 'Inactive');
    store.delete(deleted.accessKeyId);
    const attempts: Record<string, (body: string) => Promise<Record<string, string>>> = {
      'no signature': async () => ({ 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.DescribeKey' }),
      'wrong secret': (body) => signHeaders(kms.url, 'TrentService.DescribeKey', body, { ...kms.rootCredential, secretAccessKey: 'not-the-secret' }, kms.region),
      'unknown access key': (body) => signHeaders(kms.url, 'TrentService.DescribeKey', body, { accessKeyId: 'LKIAAAAAAAAAAAAAAAAA', secretAccessKey: 'x' }, kms.region),
      'no region': (body) => signHeaders(kms.url, 'TrentService.DescribeKey', body, kms.rootCredential, 'nowhere'),
      'revoked access key': async (body) => captured.get(`revoked ${(JSON.parse(body) as { KeyId: string }).KeyId}`)!,
      'deleted access key': async (body) => captured.get(`deleted ${(JSON.parse(body) as { KeyId: string }).KeyId}`)!,
    };
    const auditRows = kms.kms.readAudit().length;
    for (const [attempt, sign] of Object.entries(attempts)) {
      for (const [exists, missing] of named) {
        const answers = [];
        for (const id of [exists!, missing!]) {
          const body = JSON.stringify({ KeyId: id });
          const res = await postRaw(kms.url, await sign(body), body);
          answers.push({ status: res.status, type: res.json?.__type, message: res.json?.message });
        }
        expect([attempt, answers[0]!.status]).toEqual([attempt, 400]);
        expect([attempt, exists, answers[0]]).toEqual([attempt, exists, answers[1]]);
        expect(answers[0]!.message).not.toContain(keyId);
      }
    }
    expect(kms.kms.readAudit().length).toBe(auditRows);
  });
});

describe('what an authenticator is given', () => {
  it('a header sent once as a string, as req.headers has it; one sent on several lines as all its values', async () => {
    const seen: SignedRequest['headers'][] = [];
    const server = createKmsHttpServer({
      handler: async () => ({}),
      authenticate: (request) => {
        seen.push(request.headers);
        return { principal: 'arn:aws:iam::111122223333:user/u', accountId: '111122223333' };
      },
      operations: new Set(['ListKeys']),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const target: [string, string] = ['X-Amz-Target', 'TrentService.ListKeys'];
      expect((await rawPost(url, [['Host', 'a'], target, ['X-Amz-Meta', 'x']], '{}')).status).toBe(200);
      expect((await rawPost(url, [['Host', 'a'], ['Host', 'b'], target, ['X-Amz-Meta', 'x'], ['x-amz-meta', 'y']], '{}')).status).toBe(200);
      expect([seen[0]!.host, seen[0]!['x-amz-target'], seen[0]!['x-amz-meta']]).toEqual(['a', 'TrentService.ListKeys', 'x']);
      expect([seen[1]!.host, seen[1]!['x-amz-target'], seen[1]!['x-amz-meta']]).toEqual([['a', 'b'], 'TrentService.ListKeys', ['x', 'y']]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
