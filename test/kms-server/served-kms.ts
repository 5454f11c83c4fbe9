import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll } from 'vitest';
import { credentialStoreFor, startKmsServer } from '../../src/kms-server/server.js';
import { LocalKms } from '../../src/local-kms/local-kms.js';

export interface TestCredential {
  accessKeyId: string;
  secretAccessKey: string;
  principal: string;
}

export interface ServedKms {
  url: string;
  region: string;
  accountId: string;
  kms: LocalKms;
  /** An access key acting as the account root. */
  rootCredential: TestCredential;
  createCredential(principal: string): TestCredential;
  client(credential: { accessKeyId: string; secretAccessKey: string }, region?: string): KMSClient;
  close(): Promise<void>;
}

/** A LocalKms in a fresh directory, served on 127.0.0.1 with a free port. */
export async function startServedKms(): Promise<ServedKms> {
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-kms-server-'));
  const kms = LocalKms.open({ dataDir: dir, rootKey: randomBytes(32) });
  const server = await startKmsServer({ kms });
  const store = credentialStoreFor(kms);
  const clients: KMSClient[] = [];
  const createCredential = (principal: string): TestCredential => {
    const k = store.create({ principal });
    return { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey, principal };
  };
  return {
    url: server.url,
    region: kms.region,
    accountId: kms.accountId,
    kms,
    rootCredential: createCredential(`arn:aws:iam::${kms.accountId}:root`),
    createCredential,
    client: (credential, region = kms.region) => {
      const client = new KMSClient({
        endpoint: server.url,
        region,
        credentials: { accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey },
        maxAttempts: 1,
      });
      clients.push(client);
      return client;
    },
    close: async () => {
      for (const c of clients) c.destroy();
      await server.close();
      kms.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A served KMS for one test file: started before its tests, closed after them. Read `kms` and
 * `root` (a client acting as the account root) inside tests, once `beforeAll` has run.
 */
export function useServedKms(): { readonly kms: ServedKms; readonly root: KMSClient } {
  let kms: ServedKms | undefined;
  let root: KMSClient | undefined;
  beforeAll(async () => {
    kms = await startServedKms();
    root = kms.client(kms.rootCredential);
  });
  afterAll(async () => {
    await kms?.close();
  });
  return {
    get kms() {
      return kms!;
    },
    get root() {
      return root!;
    },
  };
}

/** The error a call fails with; throws when it succeeds. */
export async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}
