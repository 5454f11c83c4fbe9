import type { Command } from 'commander';
import { createReadStream } from 'node:fs';
import { readHeader } from '../stream/read-header.js';
import { fromUtf8 } from '../crypto/bytes.js';
import type { GlobalOptions } from './local.js';

/** `sealbox inspect`: the header only, without any key. */
export function registerInspect(program: Command, globals: () => GlobalOptions): void {
  program
    .command('inspect')
    .description('Show a message header (version, suite, context, wrapped keys, frame length) without decrypting')
    .argument('[file]', 'message file (default: stdin)')
    .addHelpText('after', '\nExamples:\n  sealbox inspect report.pdf.sbx\n  sealbox inspect report.pdf.sbx --json')
    .action(async (file: string | undefined) => {
      const source = file === undefined || file === '-' ? process.stdin : createReadStream(file);
      const header = await readHeader(source as unknown as AsyncIterable<Uint8Array>);
      if (typeof (source as { destroy?: () => void }).destroy === 'function') (source as { destroy: () => void }).destroy();
      const info = {
        version: header.version,
        suite: header.suite.name,
        messageId: Buffer.from(header.messageId).toString('hex'),
        frameLength: header.frameLength,
        encryptionContext: header.encryptionContext,
        encryptedDataKeys: header.encryptedDataKeys.map((edk) => {
          let key: string;
          try {
            key = fromUtf8(edk.providerInfo);
          } catch {
            key = Buffer.from(edk.providerInfo).toString('hex');
          }
          // Raw keyrings append a 12-byte IV to the key name: show the name only.
          if (edk.providerId !== 'aws-kms' && edk.providerInfo.length > 12) {
            try {
              key = fromUtf8(edk.providerInfo.subarray(0, edk.providerInfo.length - 12));
            } catch {
              /* not a raw keyring name: keep what we have */
            }
          }
          return { provider: edk.providerId, key };
        }),
      };
      if (globals().json) {
        process.stdout.write(JSON.stringify(info, null, 2) + '\n');
        return;
      }
      const lines = [
        `version:        ${info.version}`,
        `suite:          ${info.suite}`,
        `message id:     ${info.messageId}`,
        `frame length:   ${info.frameLength}`,
        `context:        ${Object.keys(info.encryptionContext).length === 0 ? '(none)' : Object.entries(info.encryptionContext).map(([k, v]) => `${k}=${v}`).join(', ')}`,
        `wrapped keys:   ${info.encryptedDataKeys.length}`,
        ...info.encryptedDataKeys.map((e) => `  - ${e.provider}: ${e.key}`),
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
