import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifySigV4, type SigV4Credential, type SignedRequest } from '../../src/kms-server/sigv4.js';

const ALICE: SigV4Credential = {
  accessKeyId: 'AKIASEALBOXALICE0001',
  secretAccessKey: 'alice-secret-0123456789abcdefghijklmnopqrstuv',
  principal: 'arn:aws:iam::111122223333:user/alice',
  accountId: '111122223333',
};
const lookup = (id: string) => (id === ALICE.accessKeyId ? ALICE : undefined);
function toBinary(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** The client's hash: an independent node:crypto wrapper, as the SDK's own is a separate package. */
class Sha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBinary(secret));
  }
  update(d: string | ArrayBuffer | ArrayBufferView) {
    this.h.update(toBinary(d));
  }
  digest() {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}
const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);

async function signed(
  opts: {
    body?: string;
    region?: string;
    service?: string;
    date?: number;
    secret?: string;
    accessKeyId?: string;
    extraHeaders?: Record<string, string>;
    path?: string;
    /** Headers the signer leaves out of SignedHeaders (a minimal signer's choice). */
    unsigned?: string[];
    /** Whether the signer adds a signed x-amz-content-sha256 (default true, as @smithy does). */
    checksum?: boolean;
  } = {},
): Promise<SignedRequest> {
  const body = opts.body ?? '{"KeyId":"alias/x"}';
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: opts.accessKeyId ?? ALICE.accessKeyId,
      secretAccessKey: opts.secret ?? ALICE.secretAccessKey,
    },
    region: opts.region ?? 'us-east-1',
    service: opts.service ?? 'kms',
    sha256: Sha256,
    applyChecksum: opts.checksum ?? true,
  });
  const req = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 4000,
      path: opts.path ?? '/',
      query: {},
      headers: {
        host: '127.0.0.1:4000',
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'TrentService.Encrypt',
        'user-agent': 'test',
        ...opts.extraHeaders,
      },
      body,
    },
    { signingDate: new Date(opts.date ?? NOW), ...(opts.unsigned ? { unsignableHeaders: new Set(opts.unsigned) } : {}) },
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
  return { method: 'POST', path: opts.path ?? '/', headers, body: Buffer.from(body) };
}

const verify = (req: SignedRequest, now = NOW) => verifySigV4(req, { region: 'us-east-1', lookup, now: () => now });

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).name;
  }
  return 'accepted';
}

describe('verifySigV4', () => {
  it('accepts a request signed by @smithy/signature-v4 and returns its principal', async () => {
    const cred = await verify(await signed());
    expect(cred.principal).toBe(ALICE.principal);
  });

  it('accepts a request carrying a matching x-amz-content-sha256', async () => {
    const body = '{"a":1}';
    const hash = createHash('sha256').update(body).digest('hex');
    await expect(verify(await signed({ body, extraHeaders: { 'x-amz-content-sha256': hash } }))).resolves.toBe(ALICE);
  });

  it('refuses a request without a signature', async () => {
    const req = await signed();
    const { authorization: _a, ...headers } = req.headers;
    expect(await refusal(verify({ ...req, headers }))).toBe('MissingAuthenticationTokenException');
  });

  it('refuses a malformed Authorization header or a missing date', async () => {
    const req = await signed();
    expect(await refusal(verify({ ...req, headers: { ...req.headers, authorization: 'Basic abc' } }))).toBe(
      'IncompleteSignatureException',
    );
    const auth = String(req.headers.authorization);
    expect(await refusal(verify({ ...req, headers: { ...req.headers, authorization: auth.replace(/, Signature=.*/, '') } }))).toBe(
      'IncompleteSignatureException',
    );
    const { 'x-amz-date': _d, ...noDate } = req.headers;
    expect(await refusal(verify({ ...req, headers: noDate }))).toBe('IncompleteSignatureException');
  });

  it('refuses two Authorization headers, even two copies of the right one', async () => {
    const req = await signed();
    const auth = String(req.headers.authorization);
    await expect(verify({ ...req, headers: { ...req.headers, authorization: [auth] } })).resolves.toBe(ALICE);
    for (const pair of [[auth, auth], [auth, 'Basic abc'], ['Basic abc', auth]]) {
      expect(await refusal(verify({ ...req, headers: { ...req.headers, authorization: pair } }))).toBe('IncompleteSignatureException');
    }
  });

  it('signs a repeated header as its values comma-joined, and refuses a value added after signing', async () => {
    const req = await signed({ extraHeaders: { 'x-amz-meta': 'a,b' } });
    await expect(verify({ ...req, headers: { ...req.headers, 'x-amz-meta': ['a', 'b'] } })).resolves.toBe(ALICE);
    const host = String(req.headers.host);
    expect(await refusal(verify({ ...req, headers: { ...req.headers, host: [host, 'evil.example'] } }))).toBe('InvalidSignatureException');
  });

  it('refuses an unknown access key and any session token', async () => {
    expect(await refusal(verify(await signed({ accessKeyId: 'AKIAUNKNOWN000000000' })))).toBe('UnrecognizedClientException');
    const req = await signed({ extraHeaders: { 'x-amz-security-token': 'tok' } });
    expect(await refusal(verify(req))).toBe('UnrecognizedClientException');
  });

  it('refuses a wrong secret', async () => {
    expect(await refusal(verify(await signed({ secret: 'not-the-secret' })))).toBe('InvalidSignatureException');
  });

  it('refuses a changed body, target or signed header', async () => {
    const req = await signed();
    expect(await refusal(verify({ ...req, body: Buffer.from('{"KeyId":"alias/y"}') }))).toBe('InvalidSignatureException');
    const headers = { ...req.headers, 'x-amz-target': 'TrentService.Decrypt' };
    expect(await refusal(verify({ ...req, headers }))).toBe('InvalidSignatureException');
    const { host: _h, ...noHost } = req.headers;
    expect(await refusal(verify({ ...req, headers: noHost }))).toBe('InvalidSignatureException');
  });

  it('refuses a signature over host;x-amz-date only, before and after the target is changed', async () => {
    // A minimal signer: what the check used to require. The target and content type ride unsigned.
    const req = await signed({ unsigned: ['content-type', 'x-amz-target'], checksum: false });
    expect(/SignedHeaders=([^,]*)/.exec(String(req.headers.authorization))![1]).toBe('host;x-amz-date');
    expect(await refusal(verify(req))).toBe('InvalidSignatureException');
    const replayed = { ...req, headers: { ...req.headers, 'x-amz-target': 'TrentService.ScheduleKeyDeletion' } };
    expect(await refusal(verify(replayed))).toBe('InvalidSignatureException');
  });

  it('refuses a request whose content-type or x-amz-target alone is unsigned', async () => {
    expect(await refusal(verify(await signed({ unsigned: ['content-type'] })))).toBe('InvalidSignatureException');
    expect(await refusal(verify(await signed({ unsigned: ['x-amz-target'] })))).toBe('InvalidSignatureException');
  });

  it('refuses any unsigned x-amz-* header: a session token, a payload hash, one of any name', async () => {
    const body = '{"KeyId":"alias/x"}';
    const hash = createHash('sha256').update(body).digest('hex');
    for (const [name, value] of [
      ['x-amz-security-token', 'tok'],
      ['x-amz-content-sha256', hash],
      ['x-amz-user-agent', 'aws-sdk-js/3'],
      ['x-amz-anything', 'v'],
    ] as const) {
      const unsigned = await signed({ body, extraHeaders: { [name]: value }, unsigned: [name], checksum: false });
      expect(await refusal(verify(unsigned))).toBe('InvalidSignatureException');
      // The same header added after signing, to a request that did not carry it.
      const req = await signed({ body, checksum: false });
      expect(await refusal(verify({ ...req, headers: { ...req.headers, [name]: value } }))).toBe('InvalidSignatureException');
    }
  });

  it('still accepts unsigned headers outside x-amz-* (user-agent, x-amzn-trace-id)', async () => {
    const req = await signed({ extraHeaders: { 'x-amzn-trace-id': 'Root=1-abc' } });
    expect(/SignedHeaders=([^,]*)/.exec(String(req.headers.authorization))![1]).not.toContain('x-amzn-trace-id');
    await expect(verify({ ...req, headers: { ...req.headers, 'user-agent': 'other', accept: '*/*' } })).resolves.toBe(ALICE);
  });

  it('finds no header for SignedHeaders names inherited from Object.prototype', async () => {
    const req = await signed();
    const auth = String(req.headers.authorization).replace(/SignedHeaders=/, 'SignedHeaders=constructor;');
    // Node's header objects inherit from Object.prototype, as this one does.
    expect(await refusal(verify({ ...req, headers: { ...req.headers, authorization: auth } }))).toBe('InvalidSignatureException');
  });

  it('refuses a payload hash header that does not match the body', async () => {
    const req = await signed({ extraHeaders: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    expect(await refusal(verify(req))).toBe('InvalidSignatureException');
  });

  it('refuses a scope naming another service or region', async () => {
    expect(await refusal(verify(await signed({ service: 's3' })))).toBe('InvalidSignatureException');
    expect(await refusal(verify(await signed({ region: 'eu-west-1' })))).toBe('InvalidSignatureException');
  });

  it('refuses a date more than 5 minutes from the server clock, either way', async () => {
    const req = await signed();
    await expect(verify(req, NOW + 5 * 60 * 1000)).resolves.toBe(ALICE);
    expect(await refusal(verify(req, NOW + 5 * 60 * 1000 + 1000))).toBe('InvalidSignatureException');
    expect(await refusal(verify(req, NOW - 5 * 60 * 1000 - 1000))).toBe('InvalidSignatureException');
  });

  it('refuses every single-character change of the signature', async () => {
    const req = await signed();
    const auth = String(req.headers.authorization);
    const sigStart = auth.lastIndexOf('=') + 1;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: sigStart, max: auth.length - 1 }), fc.constantFrom(...'0123456789abcdef'), async (i, c) => {
        fc.pre(auth[i] !== c);
        const tampered = auth.slice(0, i) + c + auth.slice(i + 1);
        expect(await refusal(verify({ ...req, headers: { ...req.headers, authorization: tampered } }))).toBe(
          'InvalidSignatureException',
        );
      }),
      { numRuns: 50 },
    );
  });

  it('accepts any body when it is signed, refuses it when one byte changes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (body) => {
        const req = await signed({ body });
        await expect(verify(req)).resolves.toBe(ALICE);
        const other = Buffer.concat([req.body, Buffer.from(' ')]);
        expect(await refusal(verify({ ...req, body: other }))).toBe('InvalidSignatureException');
      }),
      { numRuns: 40 },
    );
  });

  it('agrees with @smithy/signature-v4 on any set of signed headers and values', async () => {
    // Values with tabs, runs of spaces, edge spaces: the canonical forms must match exactly.
    const name = fc.stringMatching(/^x-[a-z0-9-]{1,12}$/).filter((n) => n !== 'x-amz-date' && n !== 'x-amz-security-token' && n !== 'x-amz-content-sha256' && n !== 'x-amz-target');
    const value = fc.stringMatching(/^[ \t]{0,2}[!-~]{1,6}([ \t]{1,3}[!-~]{1,6}){0,3}[ \t]{0,2}$/);
    await fc.assert(
      fc.asyncProperty(fc.dictionary(name, value, { maxKeys: 5 }), async (extraHeaders) => {
        const req = await signed({ extraHeaders });
        await expect(verify(req)).resolves.toBe(ALICE);
        for (const k of Object.keys(extraHeaders)) {
          const changed = { ...req.headers, [k]: `${String(req.headers[k])}z` };
          expect(await refusal(verify({ ...req, headers: changed }))).toBe('InvalidSignatureException');
        }
      }),
      { numRuns: 60 },
    );
  });

  it('verifies requests to other paths through the general signer', async () => {
    const req = await signed({ path: '/other/path' });
    await expect(verify(req)).resolves.toBe(ALICE);
    expect(await refusal(verify({ ...req, path: '/' }))).toBe('InvalidSignatureException');
  });

  it('refuses a date that does not exist and an unsorted SignedHeaders list', async () => {
    const req = await signed();
    const badDate = { ...req.headers, 'x-amz-date': '20261322T100000Z' };
    expect(await refusal(verify({ ...req, headers: badDate }))).toBe('IncompleteSignatureException');
    const auth = String(req.headers.authorization);
    const list = /SignedHeaders=([^,]*)/.exec(auth)![1]!;
    const reversed = auth.replace(list, list.split(';').reverse().join(';'));
    expect(await refusal(verify({ ...req, headers: { ...req.headers, authorization: reversed } }))).toBe(
      'InvalidSignatureException',
    );
  });

  it('answers any Authorization, X-Amz-Date and SignedHeaders garbage with an AWS refusal name', async () => {
    const req = await signed();
    const auth = String(req.headers.authorization);
    const names = new Set(['MissingAuthenticationTokenException', 'IncompleteSignatureException', 'UnrecognizedClientException', 'InvalidSignatureException']);
    const part = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('AWS4-HMAC-SHA256 ', 'Credential=', 'SignedHeaders=', 'Signature=', ',', ';', '/', ALICE.accessKeyId, 'host', 'x-amz-date', '20261122', 'us-east-1', 'kms', 'aws4_request', '__proto__', 'constructor'));
    await fc.assert(
      fc.asyncProperty(fc.array(part, { maxLength: 12 }), fc.option(fc.string({ maxLength: 20 })), fc.boolean(), async (parts, date, mangleList) => {
        const authorization = mangleList ? auth.replace(/SignedHeaders=[^,]*/, `SignedHeaders=${parts.join('')}`) : parts.join('');
        const headers: Record<string, string> = { ...(req.headers as Record<string, string>), authorization };
        if (date !== null) headers['x-amz-date'] = date;
        expect(names.has(await refusal(verify({ ...req, headers })))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
