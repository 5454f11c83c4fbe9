import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { KMSClient } from '@aws-sdk/client-kms';
import { MOTO_SKIP } from './environment.js';

export { MOTO_SKIP };

/** A moto_server (a second KMS implementation nobody here wrote) on 127.0.0.1. */
export interface Moto {
  readonly endpoint: string;
  client(region?: string): KMSClient;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts moto_server on a free port and waits until it answers. Tests that call it skip
 * themselves with `describe.skipIf(MOTO_SKIP)` / `it.skipIf(MOTO_SKIP)` when moto is missing.
 */
export async function startMoto(): Promise<Moto> {
  if (MOTO_SKIP) throw new Error(MOTO_SKIP);
  const port = await freePort();
  const child: ChildProcess = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      await res.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error('moto_server did not start');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    endpoint,
    client: (region = 'us-east-1') => new KMSClient({
      region,
      endpoint,
      credentials: { accessKeyId: 'AKIAMOTOTEST', secretAccessKey: 'moto-test-secret' },
      requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000 },
    }),
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
