/**
 * `startKmsServer`: the local KMS over HTTP, as AWS KMS speaks it, SigV4-authenticated.
 * What the `sealbox kms serve` command runs.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createKmsHttpServer, type CorsOptions, type HttpLimits, type RequestCaller } from './http.js';
import { signedRegion, verifySigV4, type CredentialLookup } from './sigv4.js';
import { LocalKms, type LocalKmsOptions } from '../local-kms/local-kms.js';
import { CREDENTIAL_SEALING_PURPOSE, CredentialStore } from '../local-kms/credentials.js';

/** What the server needs of a key service: `LocalKms` satisfies it. */
export interface KmsBackend {
  /** Runs one KMS operation for a caller (`LocalKms.execute`). */
  execute(operation: string, input: unknown, caller?: RequestCaller): Promise<unknown>;
}

/** Options for {@link startKmsServer}. */
export interface KmsServerOptions {
  /** The key service to serve. Default: `LocalKms.open(localKms)` (closed again by `close()`). */
  readonly kms?: KmsBackend | LocalKms;
  /** Options for the LocalKms opened when `kms` is not given (`dataDir`, `rootKey`, ...). */
  readonly localKms?: LocalKmsOptions;
  /** Finds the secret and principal of an access key. Default: the LocalKms's credential store. */
  readonly credentials?: CredentialLookup;
  /**
   * The region clients must sign for. Default for a LocalKms: `'*'`, every region: each request
   * acts in the region its SigV4 scope names, over the one store (a client signing for
   * `eu-west-1` sees the eu-west-1 keys and replicas). Give a region to serve only that one.
   */
  readonly region?: string;
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
  /** The key service being served. */
  readonly kms: KmsBackend | LocalKms;
  /** The access keys of the served LocalKms (create, list, deactivate); undefined for other backends. */
  readonly credentialStore: CredentialStore | undefined;
  /** Stops accepting, closes idle and active connections, resolves when closed. */
  close(): Promise<void>;
}

/**
 * Starts the KMS JSON-protocol endpoint.
 *
 * @example
 * ```ts
 * const server = await startKmsServer({ localKms: { dataDir } });     // or { kms: LocalKms.open(...) }
 * const client = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey } });
 * await server.close();
 * ```
 * @throws RangeError for an invalid port or limit; TypeError when `kms` is not a LocalKms and
 *   `region` or `credentials` is missing; LocalKmsError from opening the store; the listen error
 *   (e.g. `EADDRINUSE`) otherwise.
 */
export async function startKmsServer(options: KmsServerOptions = {}): Promise<RunningKmsServer> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError('"port" expected an integer 0-65535');
  const host = options.host ?? '127.0.0.1';
  const owned = options.kms === undefined ? LocalKms.open(options.localKms ?? {}) : undefined;
  const kms = options.kms ?? owned!;
  try {
    const local = kms instanceof LocalKms ? kms : undefined;
    const region = options.region ?? (local ? '*' : undefined);
    if (region === undefined) throw new TypeError('"region" is required when "kms" is not a LocalKms');
    const store = local === undefined ? undefined : credentialStoreFor(local);
    let credentials = options.credentials;
    if (credentials === undefined) {
      if (store === undefined) throw new TypeError('"credentials" is required when "kms" is not a LocalKms');
      credentials = (id) => store.lookup(id);
    }
    const lookup = credentials;
    const server = createKmsHttpServer({
      handler: (operation, input, caller) => kms.execute(operation, input, caller),
      authenticate: async (request) => {
        const credential = await verifySigV4(request, { region, lookup });
        return { principal: credential.principal, accountId: credential.accountId, region: signedRegion(request) };
      },
      ...(local ? { operations: new Set(local.operations) } : {}),
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
      kms,
      credentialStore: store,
      close: () =>
        new Promise<void>((resolve, reject) => {
          server.close((err) => {
            owned?.close();
            if (err) reject(err);
            else resolve();
          });
          server.closeAllConnections();
        }),
    };
  } catch (err) {
    owned?.close();
    throw err;
  }
}

/**
 * The credential store of a LocalKms (what `sealbox kms credentials create/list` use).
 *
 * @example
 * ```ts
 * const { accessKeyId, secretAccessKey } = credentialStoreFor(kms).create({ principal: `arn:aws:iam::${kms.accountId}:root` });
 * ```
 * @throws Never itself; the store's methods throw LocalKmsError (see {@link CredentialStore}),
 * and better-sqlite3's TypeError once `kms` is closed.
 */
export function credentialStoreFor(kms: LocalKms): CredentialStore {
  // Every change to the access keys is an audit row (no secret in it), as identity policy changes are.
  return new CredentialStore(kms.database, kms.deriveKey(CREDENTIAL_SEALING_PURPOSE), (operation, request) => kms.auditAction(operation, request));
}
