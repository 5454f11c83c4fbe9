import type { Command } from 'commander';
import { pipeline } from 'node:stream';
import { readHeader } from '../stream/read-header.js';
import { describeEdk } from './edk-names.js';
import { displayText } from './display.js';
import { createDearmorStream } from './armor.js';
import type { GlobalOptions } from './local.js';
import { inputError, openInput, readsTerminal, terminalArmor } from './input.js';

/** `sealbox inspect`: the header only, without any key. */
export function registerInspect(program: Command, globals: () => GlobalOptions): void {
  program
    .command('inspect')
    .description('Show a message header (version, suite, signed or not, context, wrapped keys, frame length) without decrypting')
    .argument('[file]', 'message file (default: stdin)')
    .addHelpText('after', '\nExamples:\n  sealbox inspect report.pdf.sbx\n  sealbox inspect report.pdf.sbx --json')
    .action(async (file: string | undefined) => {
      const { stream: source } = readsTerminal(file) ? await terminalArmor() : openInput(file, 'refuse');
      // Armored or binary alike (the dearmor stage passes binary through). pipeline() carries a
      // read error of the source (EIO, a directory) into the iteration instead of an unhandled event.
      const dearmored = pipeline(source, createDearmorStream(), () => undefined);
      let header;
      try {
        header = await readHeader(dearmored as unknown as AsyncIterable<Uint8Array>);
      } catch (err) {
        throw inputError(err, file);
      } finally {
        dearmored.destroy();
        if (source !== process.stdin) source.destroy();
      }
      const info = {
        version: header.version,
        suite: header.suite.name,
        signed: header.suite.signed,
        messageId: Buffer.from(header.messageId).toString('hex'),
        frameLength: header.frameLength,
        encryptionContext: header.encryptionContext,
        encryptedDataKeys: header.encryptedDataKeys.map(describeEdk),
      };
      if (globals().json) {
        process.stdout.write(JSON.stringify(info, null, 2) + '\n');
        return;
      }
      // Header text is not authenticated: shown with its control characters escaped (display.ts).
      const lines = [
        `version:        ${info.version}`,
        `suite:          ${info.suite}`,
        `signed:         ${info.signed ? 'yes (ECDSA P-384; decrypt verifies the signature)' : 'no'}`,
        `message id:     ${info.messageId}`,
        `frame length:   ${info.frameLength}`,
        `context:        ${Object.keys(info.encryptionContext).length === 0 ? '(none)' : Object.entries(info.encryptionContext).map(([k, v]) => `${contextText(k)}=${contextText(v)}`).join(', ')}`,
        `wrapped keys:   ${info.encryptedDataKeys.length}`,
        ...info.encryptedDataKeys.map((e) => `  - ${displayText(e.provider)}: ${displayText(e.key)}`),
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}

/**
 * A context key or value on the `context:` line: as it is when that cannot be misread, else in
 * double quotes (an inner quote as `\"`), so that `a, b=c` in a value never looks like a second
 * pair. Escaped by displayText either way (its backslashes doubled, so `\"` is unambiguous).
 */
function contextText(text: string): string {
  const shown = displayText(text);
  return text !== '' && !/[\s,="]/.test(text) ? shown : `"${shown.replace(/"/g, '\\"')}"`;
}
