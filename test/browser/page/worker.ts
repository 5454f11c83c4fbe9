// Runs in a module Web Worker (no DOM, no window): the bundle must work there unchanged.
import { decrypt, decryptStream, encrypt, encryptStream, getAeadBackend, RawAesKeyring } from '../../../src/index.js';
import { equalBytes, pattern } from '../shared.js';

async function selfTest(): Promise<string> {
  const keyring = new RawAesKeyring({ namespace: 'worker', name: 'k', wrappingKey: pattern(32, 5) });
  const plaintext = pattern(300_000, 8);
  const { ciphertext } = await encrypt(plaintext, { keyring, encryptionContext: { in: 'worker' } });
  const back = await decrypt(ciphertext, { keyring, expectedEncryptionContext: { in: 'worker' } });
  if (!equalBytes(back.plaintext, plaintext)) return 'one-shot round trip differs';
  const streamed = new Blob([plaintext as Uint8Array<ArrayBuffer>]).stream().pipeThrough(encryptStream({ keyring, frameLength: 4096 })).pipeThrough(decryptStream({ keyring }));
  const out = new Uint8Array(await new Response(streamed).arrayBuffer());
  if (!equalBytes(out, plaintext)) return 'stream round trip differs';
  return `ok ${getAeadBackend().name}`;
}

selfTest().then(
  (result) => postMessage(result),
  (err: unknown) => postMessage(`error ${(err as Error)?.name} ${(err as { code?: string })?.code ?? ''}`),
);
