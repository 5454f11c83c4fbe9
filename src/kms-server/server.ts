/**
 * `startKmsServer`: the local KMS over HTTP, as AWS KMS speaks it, SigV4-authenticated.
 * What the `sealbox kms serve` command runs.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createKmsHttpServer, type CorsOptions, type HttpLimits, type RequestCaller } from './http.js';
import { verifySigV4, type CredentialLookup } from './sigv4.js';

/** What the server needs of a key service: `LocalKms` satisfies it. */
export interface KmsBackend {
  /** Runs one KMS operation for a caller (`LocalKms.execute`). */
  execute(operation: string, input: unknown, caller?: RequestCaller): Promise<unknown>;
}

/** Options for {@link startKmsServer}. */
export interface KmsServerOptions {
  /** The key service to serve. */
  readonly kms: KmsBackend;
  /** Finds the secret and principal of an access key (`CredentialStore.lookup`). */
  readonly credentials: CredentialLookup;
  /** The region clients must sign for; the local KMS's region. */
  readonly region: string;
  /** TCP port; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** Interface to listen on. Default `127.0.0.1`: the endpoint is for this machine only. */
  readonly host?: string;
  readonly cors?: CorsOptions;
  readonly limits?: HttpLimits;
  /** Told about internal faults (for logging); client errors are not reported. */
  readonly onInternalError?: (err: unknown) => void;
}

/** A running server. */
export interface RunningKmsServer {
  /** `http://127.0.0.1:<port>`: the endpoint to give clients. */
  readonly url: string;
  readonly port: number;
  /** The underlying Node server (for tests and embedding). */
  readonly server: Server;
  /** Stops accepting, closes idle and active connections, resolves when closed. */
  close(): Promise<void>;
}

/**
 * Starts the KMS JSON-protocol endpoint.
 *
 * @example
 * ```ts
 * const server = await startKmsServer({ kms, credentials: (id) => store.lookup(id), region: 'us-east-1' });
 * const client = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey } });
 * await server.close();
 * ```
 * @throws RangeError for an invalid port or limit; the listen error (e.g. `EADDRINUSE`) otherwise.
 */
export async function startKmsServer(options: KmsServerOptions): Promise<RunningKmsServer> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError('"port" expected an integer 0-65535');
  const host = options.host ?? '127.0.0.1';
  const { kms, credentials, region } = options;
  const server = createKmsHttpServer({
    handler: (operation, input, caller) => kms.execute(operation, input, caller),
    authenticate: async (request) => {
      const credential = await verifySigV4(request, { region, lookup: credentials });
      return { principal: credential.principal, accountId: credential.accountId };
    },
    ...(options.cors ? { cors: options.cors } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.onInternalError ? { onInternalError: options.onInternalError } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
