/**
 * The awsJson1.1 HTTP layer of the KMS endpoint, independent of what answers the calls.
 *
 * AWS KMS's wire protocol: `POST /`, `X-Amz-Target: TrentService.<Operation>`, a JSON body
 * (see codec.ts), 200 with the output (or no body for `Unit` outputs), and errors as 400 (500
 * for server faults) with `{"__type": "<ExceptionName>", "message": "..."}`. `@aws-sdk/client-kms`
 * reads `__type` to raise its typed exception classes, so the names are the whole contract.
 *
 * Every request is bounded before work is spent on it: header size (Node's `maxHeaderSize`),
 * body size (checked against `Content-Length` before reading, and while reading), and time to
 * receive the request (see {@link watchConnection}: every connection, even one that never sends a
 * byte, has a deadline for its next complete request). A bad request gets an AWS-shaped error and never stops the server; an
 * unexpected exception becomes an opaque `KMSInternalException`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { decodeInput, encodeOutput } from './codec.js';
import { KmsProtocolError } from './errors.js';
import type { SignedRequest } from './sigv4.js';
import { MAX_TIMER_MS } from '../limits.js';

/** Who made a request, as authentication established it. */
export interface RequestCaller {
  readonly principal: string;
  readonly accountId: string;
  /** The region the request was signed for (its SigV4 credential scope): where the call acts. */
  readonly region?: string;
}

/** Runs one operation; what `LocalKms.execute` provides. */
export type OperationHandler = (operation: string, input: Record<string, unknown>, caller: RequestCaller) => Promise<unknown>;

/** Establishes the caller of a request (SigV4 in the real server) or throws an AWS-shaped error. */
export type Authenticator = (request: SignedRequest) => Promise<RequestCaller> | RequestCaller;

/** Cross-origin access for browser callers. */
export interface CorsOptions {
  /** Origins allowed to call, exactly as browsers send them (`https://app.example`), or `'*'` for any. */
  readonly origins: readonly string[] | '*';
  /** Seconds a browser may cache a preflight answer. Default 600. */
  readonly maxAgeSeconds?: number;
}

/** Limits on requests; each has a default sized for KMS requests. */
export interface HttpLimits {
  /** Largest request body in bytes. Default 128 KiB: a 32 KiB key policy, JSON-escaped, fits twice over. */
  readonly maxBodyBytes?: number;
  /** Largest request head in bytes (Node `maxHeaderSize`). Default 16 KiB. */
  readonly maxHeaderBytes?: number;
  /**
   * Milliseconds to receive a whole request, counted from the connection's opening (for its
   * first request) or from the end of the idle time allowed after the previous response. A
   * connection that has not delivered one in time is closed (408 when it sent part of a request).
   * Default 10 s.
   */
  readonly requestTimeoutMs?: number;
  /**
   * Milliseconds a kept-alive connection may stay idle after a response (Node adds one second of
   * grace); the next request must then arrive in full within `requestTimeoutMs` more. Default 5 s.
   */
  readonly keepAliveTimeoutMs?: number;
  /** Open connections at most; further ones are refused by the socket layer. Default 256. */
  readonly maxConnections?: number;
}

/** Options for {@link createKmsHttpServer}. */
export interface KmsHttpServerOptions {
  readonly handler: OperationHandler;
  readonly authenticate: Authenticator;
  readonly cors?: CorsOptions;
  readonly limits?: HttpLimits;
  /** Operations the handler knows; others get `UnknownOperationException` before authentication. */
  readonly operations?: ReadonlySet<string>;
  /** Told about internal faults (never about client errors). Default: nothing. */
  readonly onInternalError?: (err: unknown) => void;
}

const TARGET_PREFIX = 'TrentService.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const ALLOWED_REQUEST_HEADERS = [
  'authorization',
  'content-type',
  'x-amz-date',
  'x-amz-target',
  'x-amz-content-sha256',
  'x-amz-security-token',
  'x-amz-user-agent',
  'amz-sdk-invocation-id',
  'amz-sdk-request',
].join(', ');

/** Default limits, exported so docs and tests name the same numbers. */
export const DEFAULT_HTTP_LIMITS = {
  maxBodyBytes: 128 * 1024,
  maxHeaderBytes: 16 * 1024,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
} as const;

function errorBody(name: string, message: string): string {
  return JSON.stringify({ __type: name, message });
}

interface ErrorShape {
  name: string;
  message: string;
  status: number;
}

/**
 * The HTTP status AWS KMS answers each exception with when it is not 400 (client) or 500
 * (server): the `httpError` traits of the KMS service model, as `@aws-sdk/client-kms` carries
 * them.
 */
const AWS_ERROR_STATUS: Readonly<Record<string, number>> = {
  NotFoundException: 404,
  AlreadyExistsException: 409,
  ConflictException: 409,
  DisabledException: 409,
  KMSInvalidStateException: 409,
  DryRunOperationException: 412,
  KeyUnavailableException: 500,
  DependencyTimeoutException: 503,
};

/** Maps any thrown value to what is sent; only AWS-shaped errors keep their name and message. */
function toErrorShape(err: unknown, onInternalError?: (err: unknown) => void): ErrorShape {
  if (err instanceof Error && typeof (err as { $fault?: unknown }).$fault === 'string') {
    const fault = (err as unknown as { $fault: string }).$fault;
    const statusCode = (err as unknown as { statusCode?: unknown }).statusCode;
    const status = typeof statusCode === 'number' ? statusCode : (AWS_ERROR_STATUS[err.name] ?? (fault === 'server' ? 500 : 400));
    if (fault === 'server') onInternalError?.(err);
    return { name: err.name, message: err.message, status };
  }
  onInternalError?.(err);
  return { name: 'KMSInternalException', message: 'The request failed because of an internal error.', status: 500 };
}

function corsOrigin(cors: CorsOptions | undefined, origin: string | undefined): string | undefined {
  if (cors === undefined || origin === undefined) return undefined;
  if (cors.origins === '*') return '*';
  return cors.origins.includes(origin) ? origin : undefined;
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    return Promise.reject(tooLarge(maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.resume(); // drain without storing, so the error can still be answered
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function tooLarge(maxBytes: number): KmsProtocolError {
  return new KmsProtocolError('RequestEntityTooLargeException', `The request body is larger than ${maxBytes} bytes.`, {
    statusCode: 413,
  });
}

/** Extracts the operation name from `X-Amz-Target`. */
function targetOperation(req: IncomingMessage, operations: ReadonlySet<string> | undefined): string {
  const target = req.headers['x-amz-target'];
  const operation = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  if (!/^[A-Z][A-Za-z0-9]{0,63}$/.test(operation) || (operations !== undefined && !operations.has(operation))) {
    throw new KmsProtocolError('UnknownOperationException', 'The operation named by X-Amz-Target is not known.');
  }
  return operation;
}

/**
 * The request's headers with every line sent: a header sent on several lines is the array of
 * its values, which SigV4 signs comma-joined. `req.headers` keeps only the first Host,
 * Content-Type or Authorization line (and joins others with ", "), so a line of those added
 * after signing would go unseen by the signature check. Headers sent once stay strings, as
 * `req.headers` has them.
 */
function everyHeaderLine(req: IncomingMessage): SignedRequest['headers'] {
  const headers = req.headers;
  if (req.rawHeaders.length === 2 * Object.keys(headers).length) return headers; // no name repeated
  const all: Record<string, string | string[] | undefined> = { ...headers };
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values !== undefined && values.length > 1) all[name] = values;
  }
  return all;
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new KmsProtocolError('SerializationException', 'The request body is not valid JSON.');
  }
}

/**
 * Creates (does not start) an HTTP server speaking the AWS KMS JSON protocol.
 *
 * @example
 * ```ts
 * const server = createKmsHttpServer({
 *   handler: (op, input, caller) => kms.execute(op, input, caller),
 *   authenticate: (req) => verifySigV4(req, { region, lookup }),
 * });
 * server.listen(0, '127.0.0.1');
 * ```
 * @throws RangeError when a limit is not a positive integer, or a deadline is longer than a timer holds.
 */
export function createKmsHttpServer(options: KmsHttpServerOptions): Server {
  const limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`"limits.${name}" expected a positive integer`);
  }
  // Both feed timers (a kept-alive connection's deadline is their sum), which hold 2^31 - 1 ms
  // at most: beyond it Node fires them at once, closing every connection.
  for (const name of ['requestTimeoutMs', 'keepAliveTimeoutMs'] as const) {
    if (limits[name] > MAX_TIMER_MS) throw new RangeError(`"limits.${name}" expected at most 2^31 - 1 ms (the longest a timer holds)`);
  }
  if (limits.requestTimeoutMs + limits.keepAliveTimeoutMs > MAX_TIMER_MS) {
    throw new RangeError('"limits.requestTimeoutMs" and "limits.keepAliveTimeoutMs" together expected at most 2^31 - 1 ms (the longest a timer holds)');
  }
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks request timeouts on this interval (default 30 s); keep it below the timeout.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.requestTimeoutMs / 2))),
    },
    (req, res) => {
      void handle(req, res, options, limits.maxBodyBytes);
    },
  );
  server.headersTimeout = Math.min(limits.requestTimeoutMs, 60_000);
  server.maxConnections = limits.maxConnections;
  server.on('connection', (socket: Socket) => watchConnection(socket, limits.requestTimeoutMs));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const watch = watches.get(req.socket);
    if (watch === undefined) return;
    watch.request = req;
    watch.answered = false;
    res.once('finish', () => {
      if (watch.request !== req) return;
      watch.answered = true;
      // Kept alive: idle for keepAliveTimeoutMs at most (Node's timer), then a whole request.
      armDeadline(req.socket, watch, limits.keepAliveTimeoutMs + limits.requestTimeoutMs);
    });
  });
  // A malformed request line or an oversized head: answer 400/431 as Node does, keep serving.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    endAndClose(socket, `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  return server;
}

/** What a connection has done since its deadline was set. */
interface ConnectionWatch {
  timer: NodeJS.Timeout | undefined;
  /** The latest request whose head arrived on the connection. */
  request: IncomingMessage | undefined;
  /** Whether the response to `request` has been sent. */
  answered: boolean;
  /** `socket.bytesRead` when the deadline was set. */
  bytesRead: number;
}

const watches = new WeakMap<Socket, ConnectionWatch>();

/**
 * Gives a new connection `requestTimeoutMs` to deliver its first complete request. Node's own
 * `requestTimeout` / `headersTimeout` do not close a connection that sends nothing (or only the
 * blank lines its parser skips between requests), nor a half-closed one after its 408: such
 * connections would stay open for ever, and `maxConnections` of them lock every client out
 * without authenticating. After each response the deadline is set again (see the `request`
 * listener in {@link createKmsHttpServer}); a connection whose complete request is being
 * answered is left alone.
 */
function watchConnection(socket: Socket, requestTimeoutMs: number): void {
  const watch: ConnectionWatch = { timer: undefined, request: undefined, answered: true, bytesRead: 0 };
  watches.set(socket, watch);
  armDeadline(socket, watch, requestTimeoutMs);
  socket.once('close', () => clearTimeout(watch.timer));
}

function armDeadline(socket: Socket, watch: ConnectionWatch, ms: number): void {
  clearTimeout(watch.timer);
  watch.bytesRead = socket.bytesRead;
  watch.timer = setTimeout(() => {
    const { request } = watch;
    // Received in full and not yet answered: the handler is at work; its response sets the next deadline.
    if (request !== undefined && !watch.answered && request.complete) return;
    if (request === undefined || watch.answered) {
      // No request head since the deadline was set: nothing to answer but a partial request.
      if (socket.bytesRead > watch.bytesRead && socket.writable) {
        endAndClose(socket, 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
    }
    // Silent, or a request whose body is still arriving (its handler then sees the request aborted).
    socket.destroy();
  }, ms);
  watch.timer.unref();
}

/**
 * Sends a last answer and closes the connection once it is written. `end` alone would leave it
 * half-open (the server allows half-open sockets) for as long as the peer keeps its side open.
 */
function endAndClose(socket: Duplex, answer: string): void {
  socket.end(answer, () => socket.destroy());
}

async function handle(req: IncomingMessage, res: ServerResponse, options: KmsHttpServerOptions, maxBodyBytes: number): Promise<void> {
  const requestId = randomUUID();
  res.setHeader('x-amzn-RequestId', requestId);
  const origin = corsOrigin(options.cors, typeof req.headers.origin === 'string' ? req.headers.origin : undefined);
  if (origin !== undefined) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Expose-Headers', 'x-amzn-RequestId, x-amzn-ErrorType, Date');
    if (origin !== '*') res.setHeader('Vary', 'Origin');
  }
  if (req.method === 'OPTIONS') {
    if (origin === undefined) {
      res.writeHead(403, { 'Content-Length': 0 }).end();
      return;
    }
    res.writeHead(204, {
      'Access-Control-Allow-Methods': 'POST',
      'Access-Control-Allow-Headers': ALLOWED_REQUEST_HEADERS,
      'Access-Control-Max-Age': String(options.cors?.maxAgeSeconds ?? 600),
      'Content-Length': 0,
    });
    res.end();
    return;
  }
  let status = 200;
  let body: string;
  try {
    if (req.method !== 'POST' || req.url !== '/') {
      throw new KmsProtocolError('UnknownOperationException', 'The KMS endpoint accepts POST / only.', { statusCode: 404 });
    }
    const operation = targetOperation(req, options.operations);
    const raw = await readBody(req, maxBodyBytes);
    const caller = await options.authenticate({
      method: 'POST',
      path: '/',
      headers: everyHeaderLine(req),
      body: raw,
    });
    const input = decodeInput(operation, parseJson(raw));
    const output = await options.handler(operation, input, caller);
    body = encodeOutput(operation, output);
  } catch (err) {
    const shape = toErrorShape(err, options.onInternalError);
    status = shape.status;
    body = errorBody(shape.name, shape.message);
    res.setHeader('x-amzn-ErrorType', shape.name);
    // An unread body may still be arriving; do not reuse the connection for another request.
    if (status === 413) res.setHeader('Connection', 'close');
  }
  res.writeHead(status, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body, 'utf8') });
  // A string body lets Node send head and body in one write (a Buffer costs a writev of two).
  res.end(body, 'utf8');
}
