/** The local KMS and its server for the load test (the server side runs in its own process). */
import { startKmsServer, credentialStoreFor } from '../src/kms-server/server.js';
import { LocalKms } from '../src/local-kms/local-kms.js';

function rootKey(): Uint8Array {
  const hex = process.env.BENCH_ROOT_KEY;
  if (hex === undefined || !/^[0-9a-f]{64}$/.test(hex)) throw new Error('BENCH_ROOT_KEY must be 64 hex characters');
  return Buffer.from(hex, 'hex');
}

/** Opens the local KMS in `dir`, creates a root access key, and serves it on 127.0.0.1. */
export async function serveKms(dir: string) {
  const kms = LocalKms.open({ dataDir: dir, rootKey: rootKey() });
  const created = credentialStoreFor(kms).create({ principal: `arn:aws:iam::${kms.accountId}:root`, description: 'bench' });
  const server = await startKmsServer({ kms });
  return {
    url: server.url,
    credential: { accessKeyId: created.accessKeyId, secretAccessKey: created.secretAccessKey },
    close: async () => {
      await server.close();
      kms.close();
    },
  };
}

/** The same data directory opened in this process: the in-process baseline. */
export async function openInProcessKms(dir: string) {
  const kms = LocalKms.open({ dataDir: dir, rootKey: rootKey() });
  return { execute: (op: string, input: unknown) => kms.execute(op, input), close: async () => kms.close() };
}
