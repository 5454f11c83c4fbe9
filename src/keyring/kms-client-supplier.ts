import type { KMSClientConfig } from '@aws-sdk/client-kms';
import { DEFAULT_KMS_CLIENT_CACHE_SIZE } from '../limits.js';
// A leaf module (no imports): the caching materials manager's LRU serves the client cache too.
import { LruMap } from '../materials/lru.js';
import { isAwsRegionName } from './kms-arn.js';

/**
 * What the KMS keyrings need of a client: `send(command, { abortSignal })`, as
 * `KMSClient` from `@aws-sdk/client-kms` has it. The in-process `LocalKms` fits too, and
 * offers `execute(operation, input)`, which the keyrings prefer: it needs no SDK objects.
 */
export interface KmsClientLike {
  // Commands are the SDK's Command objects (GenerateDataKeyCommand, EncryptCommand, DecryptCommand).
  send(command: object, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  /** Runs an operation by its AWS name with the AWS input shape (LocalKms). */
  execute?(operation: string, input: unknown): Promise<unknown>;
}

/**
 * Returns the client for a region. `region` is undefined when a key is named without an ARN
 * (a bare key id or an alias name): the supplier's default region applies.
 */
export type KmsClientSupplier = (region: string | undefined) => KmsClientLike | Promise<KmsClientLike>;

/** Options of {@link kmsClientSupplier}. */
export interface KmsClientSupplierOptions {
  /** Config for every client (credentials, endpoint, retries, ...); `region` is set per client. */
  clientConfig?: KMSClientConfig;
  /** Only these regions get a client; others fail with ERR_KEYRING from the keyring. */
  regions?: readonly string[];
  /**
   * Clients kept at most (default 16); beyond it the least recently used is dropped (not
   * destroyed, so calls in flight finish) and made again when its region is next used.
   */
  maxClients?: number;
}

/**
 * Per-attempt timeouts when the caller's config sets no request handler: the SDK's default has
 * none, so a silent peer would hang an attempt forever. Retries follow the SDK's standard mode
 * (3 attempts, exponential backoff with jitter) unless `maxAttempts`/`retryMode` say otherwise.
 */
export const DEFAULT_KMS_CONNECTION_TIMEOUT_MS = 5_000;
/** See {@link DEFAULT_KMS_CONNECTION_TIMEOUT_MS}. */
export const DEFAULT_KMS_REQUEST_TIMEOUT_MS = 20_000;

/**
 * A client supplier that creates one `KMSClient` per region on first use and reuses it.
 * `@aws-sdk/client-kms` is loaded lazily, so code that brings its own client never loads it.
 *
 * Regions reach the supplier from EDKs, which anyone can write: a region name must have AWS
 * region syntax (`us-east-1`) before a client is made, and at most `maxClients` clients are kept
 * (least recently used dropped first), so a stream of messages naming ever new regions cannot
 * make it hold a client for each. `regions` restricts it to the regions you use.
 *
 * @example
 * ```ts
 * const clientSupplier = kmsClientSupplier({ clientConfig: { maxAttempts: 5 }, regions: ['us-east-1', 'eu-west-1'] });
 * const keyring = new KmsKeyring({ generatorKeyId: usEastArn, keyIds: [euWestArn], clientSupplier });
 * ```
 * @throws TypeError for bad options (a `regions` entry that is not an AWS region name, a
 *   `maxClients` that is not a positive integer). The returned function throws RangeError, before
 *   any client is made, for a region that is not an AWS region name or is not in `regions`.
 */
export function kmsClientSupplier(options: KmsClientSupplierOptions = {}): KmsClientSupplier {
  if (typeof options !== 'object' || options === null) throw new TypeError('kmsClientSupplier expected an options object');
  const config = options.clientConfig ?? {};
  if (options.regions !== undefined && (!Array.isArray(options.regions) || !options.regions.every(isAwsRegionName))) {
    throw new TypeError('"regions" expected an array of AWS region names such as "us-east-1"');
  }
  const regions = options.regions ? new Set(options.regions) : undefined;
  const maxClients = options.maxClients ?? DEFAULT_KMS_CLIENT_CACHE_SIZE;
  if (!Number.isSafeInteger(maxClients) || maxClients < 1) throw new TypeError('"maxClients" expected a positive integer');
  const clients = new LruMap<string, Promise<KmsClientLike>>(maxClients);
  return (region) => {
    if (region !== undefined && !isAwsRegionName(region)) {
      throw new RangeError(`no KMS client for ${JSON.stringify(String(region).slice(0, 64))}: not an AWS region name`);
    }
    if (regions && region !== undefined && !regions.has(region)) {
      throw new RangeError(`no KMS client for region ${JSON.stringify(region)} (allowed: ${[...regions].join(', ')})`);
    }
    const name = region ?? '';
    let client = clients.get(name);
    if (!client) {
      const made = import('@aws-sdk/client-kms').then(({ KMSClient }) =>
        new KMSClient({
          requestHandler: { connectionTimeout: DEFAULT_KMS_CONNECTION_TIMEOUT_MS, requestTimeout: DEFAULT_KMS_REQUEST_TIMEOUT_MS },
          ...config,
          ...(region === undefined ? {} : { region }),
        }),
      );
      // A failed import must not stay cached as a rejected promise.
      made.catch(() => {
        if (clients.get(name) === made) clients.delete(name);
      });
      clients.set(name, made);
      client = made;
    }
    return client;
  };
}

/**
 * A supplier that returns one client whatever the region (a fixed endpoint, or the local KMS).
 * `KmsKeyring({ client })` uses it.
 *
 * @example
 * ```ts
 * const keyring = new KmsKeyring({ generatorKeyId: arn, clientSupplier: singleClientSupplier(localKms) });
 * ```
 * @throws TypeError when `client` has no `send` method.
 */
export function singleClientSupplier(client: KmsClientLike): KmsClientSupplier {
  if (typeof client !== 'object' || client === null || typeof client.send !== 'function') {
    throw new TypeError('"client" expected an object with a send(command) method');
  }
  return () => client;
}
