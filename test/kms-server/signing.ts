import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

function toBinary(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** The client's hash: a node:crypto wrapper written here, independent of the server's. */
export class Sha256 {
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

/** What {@link postRaw} and {@link signedPost} return. */
export interface PostResult {
  status: number;
  json: { __type?: string; message?: string } | undefined;
  text: string;
}

/** Options of {@link signHeaders}: a minimal signer leaves headers out of SignedHeaders. */
export interface SignOptions {
  /** Headers sent but left out of SignedHeaders. */
  readonly unsigned?: readonly string[];
}

/** The headers of a SigV4-signed KMS request (what a client sends, and a listener captures). */
export async function signHeaders(
  url: string,
  target: string,
  body: string,
  cred: { accessKeyId: string; secretAccessKey: string },
  region = 'us-east-1',
  options: SignOptions = {},
): Promise<Record<string, string>> {
  const u = new URL(url);
  const signer = new SignatureV4({ credentials: cred, region, service: 'kms', sha256: Sha256, applyChecksum: options.unsigned === undefined });
  const req = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: '/',
      query: {},
      headers: { host: u.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
      body,
    },
    options.unsigned ? { unsignableHeaders: new Set(options.unsigned) } : {},
  );
  return req.headers;
}

/** POSTs a body with the given headers, as sent or as an attacker rewrote them. */
export async function postRaw(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<PostResult> {
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as { __type?: string }) : undefined, text };
}

/** POSTs a raw (possibly malformed) body to a KMS endpoint, correctly SigV4-signed. */
export async function signedPost(
  url: string,
  target: string,
  body: string,
  cred: { accessKeyId: string; secretAccessKey: string },
  region = 'us-east-1',
): Promise<PostResult> {
  return postRaw(url, await signHeaders(url, target, body, cred, region), body);
}
