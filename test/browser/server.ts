import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A file the test server returns. */
export interface Asset {
  readonly type: string;
  readonly body: Uint8Array | string;
  /** Extra response headers (e.g. a Content-Security-Policy). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A static server on 127.0.0.1 (a secure context, so the page has crypto.subtle). */
export interface TestServer {
  readonly origin: string;
  close(): Promise<void>;
}

/** Serves `assets` by exact path on 127.0.0.1 and a free port; anything else is 404. */
export async function serve(assets: ReadonlyMap<string, Asset>): Promise<TestServer> {
  const server = createServer((req, res) => {
    const asset = assets.get(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    if (!asset || req.method !== 'GET') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { ...asset.headers, 'content-type': asset.type, 'cache-control': 'no-store' }).end(asset.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
