/**
 * AWS Signature Version 4 verification for the KMS endpoint.
 *
 * The server recomputes the signature over exactly the headers the client listed in
 * `SignedHeaders`, then compares it in constant time. Every AWS JSON-protocol call is a request
 * to `/` with no query string; for that shape the canonical request is one string, built here
 * (about a tenth of the cost of the general signer, which is a large share of a request's server
 * time). Anything else goes through `@smithy/signature-v4`, the signer every AWS SDK for
 * JavaScript uses, and the tests check that both agree on random headers and values.
 *
 * Refusals carry the names AWS KMS sends (awsJson1.1 services):
 * - no `Authorization` header: `MissingAuthenticationTokenException`
 * - a malformed one, or no `X-Amz-Date`: `IncompleteSignatureException`
 * - an unknown access key or a session token: `UnrecognizedClientException`
 * - wrong signature, service or region in the scope, a date more than 5 minutes off,
 *   a payload hash that does not match the body: `InvalidSignatureException`
 * - a SignedHeaders list without `host` and `x-amz-date`, or leaving out a `content-type`
 *   or any `x-amz-*` header (`x-amz-target` above all) that the request carries:
 *   `InvalidSignatureException`, as AWS answers "'Host' must be a 'SignedHeader'"
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { AUTH_ERRORS, KmsProtocolError } from './errors.js';
import { REGION_NAME } from '../local-kms/key-store.js';

/** The largest difference between the request's `X-Amz-Date` and the server clock (AWS: 5 minutes). */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** A credential the verifier can check a signature against. */
export interface SigV4Credential {
  readonly accessKeyId: string;
  /** The secret access key; SigV4 is an HMAC, so the server needs the secret itself. */
  readonly secretAccessKey: string;
  /** The principal ARN the request acts as, e.g. `arn:aws:iam::111122223333:user/alice`. */
  readonly principal: string;
  /** The 12-digit account of the principal. */
  readonly accountId: string;
}

/** Looks up an access key id; `undefined` when it is unknown. */
export type CredentialLookup = (accessKeyId: string) => SigV4Credential | undefined;

/** What the verifier needs of an HTTP request. Header names are lower case. */
export interface SignedRequest {
  readonly method: string;
  /** The path, without the query string. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | string[]>>;
  /**
   * Every header line sent: a header sent more than once is the array of its values, which
   * SigV4 signs comma-joined (Node's `req.headers` drops repeated Host, Content-Type and
   * Authorization lines; the KMS server passes them all). Two Authorization lines are refused.
   */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Uint8Array;
}

/** Options for {@link verifySigV4}. */
export interface SigV4VerifyOptions {
  /**
   * The region the server answers for; the credential scope must name it. `'*'`: any
   * well-formed region name (a server over a LocalKms serves every region of its store).
   */
  readonly region: string;
  /** The service name in the scope; `kms`. */
  readonly service?: string;
  readonly lookup: CredentialLookup;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number;
  readonly maxSkewMs?: number;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const AMZ_DATE_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function toBinary(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** `node:crypto` behind the hash interface `@smithy/signature-v4` expects (it defaults to nothing). */
export class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBinary(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBinary(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }
}

function refuse(name: string, message: string): KmsProtocolError {
  return new KmsProtocolError(name, message);
}

function header(headers: SignedRequest['headers'], name: string): string | undefined {
  // Own members only: Node's header object inherits from Object.prototype, and a SignedHeaders
  // list naming `constructor` must find no header, not a function.
  if (!Object.hasOwn(headers, name)) return undefined;
  const value = headers[name];
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'string' ? value : undefined;
}

/**
 * True for a header that must be signed whenever the request carries it. AWS requires `host`
 * and every `x-amz-*` header in SignedHeaders; `content-type` and `x-amz-target` decide how
 * the body is read and which operation runs, so a signature that left them out could be
 * replayed, within the clock-skew window, as another operation with the same body.
 */
function mustBeSigned(name: string): boolean {
  return name === 'host' || name === 'content-type' || name.startsWith('x-amz-');
}

/**
 * Refuses a SignedHeaders list that leaves out `host`, `x-amz-date`, or any header of the
 * request that {@link mustBeSigned}, or that names `authorization`.
 */
function checkSignedHeaderSet(headers: SignedRequest['headers'], names: readonly string[]): void {
  const signed = new Set(names);
  if (!signed.has('host') || !signed.has('x-amz-date') || signed.has('authorization')) {
    throw refuse(AUTH_ERRORS.badSignature, "'Host' and 'X-Amz-Date' must be signed.");
  }
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (mustBeSigned(lower) && !signed.has(lower) && headers[name] !== undefined) {
      throw refuse(AUTH_ERRORS.badSignature, `'${lower}' is present in the request and must be a SignedHeader.`);
    }
  }
}

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`. */
function parseAuthorization(value: string): ParsedAuthorization {
  if (!value.startsWith(`${ALGORITHM} `)) {
    throw refuse(AUTH_ERRORS.incomplete, 'Authorization header must use AWS4-HMAC-SHA256.');
  }
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw refuse(AUTH_ERRORS.incomplete, 'Authorization header requires Credential, SignedHeaders and Signature.');
  }
  const scope = credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request' || scope.some((s) => s.length === 0)) {
    throw refuse(AUTH_ERRORS.incomplete, 'Credential must have the form <key>/<date>/<region>/<service>/aws4_request.');
  }
  if (!/^[0-9a-f]{64}$/.test(signature)) {
    throw refuse(AUTH_ERRORS.incomplete, 'Signature must be 64 lower-case hexadecimal characters.');
  }
  const [accessKeyId, date, region, service] = scope as [string, string, string, string, string];
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

function parseAmzDate(value: string): number | undefined {
  const m = AMZ_DATE_RE.exec(value);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = [+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!];
  const t = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls month 13 or second 61 over; the date is signed as written, so it must be real.
  const d = new Date(t);
  const real = d.getUTCMonth() === month - 1 && d.getUTCDate() === day && d.getUTCHours() === hour && d.getUTCMinutes() === minute && d.getUTCSeconds() === second;
  return real ? t : undefined;
}

const signers = new Map<string, SignatureV4>();

/** The general signer, for requests outside the fast path (a path other than `/`, a query). */
function signerFor(credential: SigV4Credential, region: string, service: string): SignatureV4 {
  const id = `${region}\0${service}\0${credential.accessKeyId}\0${credential.secretAccessKey}`;
  let signer = signers.get(id);
  if (signer === undefined) {
    if (signers.size >= 256) signers.clear();
    signer = new SignatureV4({
      credentials: { accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey },
      region,
      service,
      sha256: NodeSha256,
      applyChecksum: false,
    });
    signers.set(id, signer);
  }
  return signer;
}

const signingKeys = new Map<string, Buffer>();

/**
 * The SigV4 signing key of a secret for one day, region and service (an HMAC chain of four),
 * cached: a client signs many requests a day with the same key.
 */
export function sigV4SigningKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const id = `${date}\0${region}\0${service}\0${secretAccessKey}`;
  let key = signingKeys.get(id);
  if (key === undefined) {
    if (signingKeys.size >= 256) signingKeys.clear();
    key = createHmac('sha256', `AWS4${secretAccessKey}`).update(date).digest();
    for (const part of [region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
    signingKeys.set(id, key);
  }
  return key;
}

/**
 * A canonical header value as SigV4 (and `@smithy/signature-v4`) defines it: line breaks become
 * spaces, runs of spaces and tabs become one space, one space is trimmed from each end.
 */
function canonicalValue(value: string): string {
  return value.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
}

/**
 * The hex SigV4 signature of a request to `/` with no query string, the shape of every AWS
 * JSON-protocol call. `headers` are the signed headers as [lower-case name, value] pairs in
 * SignedHeaders order (sorted); `payloadHash` is the hex SHA-256 of the body. The same
 * computation as `@smithy/signature-v4` (the tests compare the two on random requests), without
 * its generality: one string built, two hashes, one HMAC.
 */
export function sigV4RootSignature(
  signingKey: Uint8Array,
  method: string,
  amzDate: string,
  scope: string,
  headers: readonly (readonly [string, string])[],
  payloadHash: string,
): string {
  let canonicalHeaders = '';
  let names = '';
  for (const [name, value] of headers) {
    canonicalHeaders += `${name}:${canonicalValue(value)}\n`;
    names += names === '' ? name : `;${name}`;
  }
  const canonicalRequest = `${method}\n/\n\n${canonicalHeaders}\n${names}\n${payloadHash}`;
  const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
  return createHmac('sha256', signingKey).update(stringToSign).digest('hex');
}

/** What the general signer computes for the request: its signature and signed-header list. */
async function smithySignature(
  request: SignedRequest,
  credential: SigV4Credential,
  auth: ParsedAuthorization,
  signedAt: number,
  headers: readonly (readonly [string, string])[],
): Promise<{ signature: string; list: string | undefined }> {
  const signed = await signerFor(credential, auth.region, auth.service).sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: 'localhost',
      path: request.path,
      query: request.query ? { ...request.query } : {},
      // The signer writes x-amz-date back from signingDate.
      headers: Object.fromEntries(headers.filter(([name]) => name !== 'x-amz-date')),
      body: request.body,
    },
    { signingDate: new Date(signedAt), signableHeaders: new Set(auth.signedHeaders) },
  );
  const expected = String(signed.headers.authorization ?? '');
  return {
    signature: expected.slice(expected.lastIndexOf('Signature=') + 'Signature='.length),
    list: /SignedHeaders=([^,]*)/.exec(expected)?.[1],
  };
}

/**
 * Verifies a request's SigV4 `Authorization` header and returns the credential it was signed
 * with.
 *
 * @throws KmsProtocolError named `MissingAuthenticationTokenException`,
 *   `IncompleteSignatureException` (also for two Authorization headers),
 *   `UnrecognizedClientException` or `InvalidSignatureException`.
 * @example
 * ```ts
 * const cred = await verifySigV4(request, { region: 'us-east-1', lookup: (id) => store.lookup(id) });
 * console.log(cred.principal);
 * ```
 */
export async function verifySigV4(request: SignedRequest, options: SigV4VerifyOptions): Promise<SigV4Credential> {
  const service = options.service ?? 'kms';
  const authorization = header(request.headers, 'authorization');
  if (authorization === undefined || authorization === '') {
    throw refuse(AUTH_ERRORS.missing, 'Missing Authentication Token');
  }
  // Two Authorization lines (an array): which one counts would be the server's guess.
  if (Array.isArray(request.headers.authorization) && request.headers.authorization.length > 1) {
    throw refuse(AUTH_ERRORS.incomplete, 'The request must carry one Authorization header.');
  }
  const auth = parseAuthorization(authorization);
  const amzDate = header(request.headers, 'x-amz-date');
  if (amzDate === undefined) {
    throw refuse(AUTH_ERRORS.incomplete, "Authorization header requires existence of a 'X-Amz-Date' header.");
  }
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) {
    throw refuse(AUTH_ERRORS.incomplete, 'X-Amz-Date must have the form YYYYMMDDTHHMMSSZ.');
  }
  checkSignedHeaderSet(request.headers, auth.signedHeaders);
  // Sealbox issues long-term keys only; a token means credentials from elsewhere.
  if (header(request.headers, 'x-amz-security-token') !== undefined) {
    throw refuse(AUTH_ERRORS.unknownKey, 'The security token included in the request is invalid.');
  }
  const credential = options.lookup(auth.accessKeyId);
  if (credential === undefined) {
    throw refuse(AUTH_ERRORS.unknownKey, 'The security token included in the request is invalid.');
  }
  if (auth.service !== service) {
    throw refuse(AUTH_ERRORS.badSignature, `Credential should be scoped to correct service: '${service}'.`);
  }
  if (options.region === '*' ? !REGION_NAME.test(auth.region) : auth.region !== options.region) {
    throw refuse(AUTH_ERRORS.badSignature, `Credential should be scoped to a valid region.`);
  }
  if (auth.date !== amzDate.slice(0, 8)) {
    throw refuse(AUTH_ERRORS.badSignature, 'Date in Credential scope does not match YYYYMMDD from X-Amz-Date.');
  }
  const now = options.now?.() ?? Date.now();
  const skew = options.maxSkewMs ?? MAX_CLOCK_SKEW_MS;
  if (Math.abs(now - signedAt) > skew) {
    throw refuse(AUTH_ERRORS.badSignature, `Signature expired or not yet current: ${amzDate} is more than 5 minutes from the server time.`);
  }
  const names = auth.signedHeaders;
  const headers: (readonly [string, string])[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    // SignedHeaders is sorted and without repeats, or no signer produced it.
    if (i > 0 && !(names[i - 1]! < name)) {
      throw refuse(AUTH_ERRORS.badSignature, 'SignedHeaders must be sorted and name each header once.');
    }
    const value = name === 'x-amz-date' ? amzDate : header(request.headers, name);
    if (value === undefined) {
      throw refuse(AUTH_ERRORS.badSignature, 'A signed header is missing from the request.');
    }
    headers.push([name, value]);
  }
  // The payload hash is computed here; a client-supplied one must agree with the body received.
  const payloadHash = request.body.length === 0 ? EMPTY_SHA256 : createHash('sha256').update(request.body).digest('hex');
  const claimedHash = header(request.headers, 'x-amz-content-sha256');
  if (claimedHash !== undefined && claimedHash !== payloadHash) {
    throw refuse(AUTH_ERRORS.badSignature, 'The provided x-amz-content-sha256 does not match the request body.');
  }
  let expected: string;
  if (request.path === '/' && (request.query === undefined || Object.keys(request.query).length === 0)) {
    const key = sigV4SigningKey(credential.secretAccessKey, auth.date, auth.region, auth.service);
    const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
    expected = sigV4RootSignature(key, request.method, amzDate, scope, headers, payloadHash);
  } else {
    const general = await smithySignature(request, credential, auth, signedAt, headers);
    expected = general.list === names.join(';') ? general.signature : '';
  }
  const ok = expected.length === auth.signature.length && timingSafeEqual(Buffer.from(expected), Buffer.from(auth.signature));
  if (!ok) {
    throw refuse(
      AUTH_ERRORS.badSignature,
      'The request signature we calculated does not match the signature you provided.',
    );
  }
  return credential;
}

/**
 * The region named by a request's SigV4 credential scope: where a request that
 * {@link verifySigV4} accepted acts. Call it only after verifying.
 *
 * @example
 * ```ts
 * const credential = await verifySigV4(request, { region: '*', lookup });
 * const region = signedRegion(request); // 'eu-west-1'
 * ```
 * @throws KmsProtocolError `IncompleteSignatureException` when there is no well-formed Authorization header.
 */
export function signedRegion(request: SignedRequest): string {
  return parseAuthorization(header(request.headers, 'authorization') ?? '').region;
}
