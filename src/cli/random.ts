import type { Command } from 'commander';
import { openLocalKms } from './local.js';
import type { GlobalOptions } from './local.js';
import { UsageError } from './exit.js';

/** `sealbox random N`: random bytes from the local KMS (GenerateRandom, audited). */
export function registerRandom(program: Command, globals: () => GlobalOptions): void {
  program.command('random').argument('<bytes>', 'how many bytes, 1-1024')
    .option('--encoding <enc>', 'hex, base64 or raw', 'hex')
    .description('Print random bytes (local KMS GenerateRandom)')
    .addHelpText('after', '\nExamples:\n  sealbox random 32\n  sealbox random 32 --encoding raw > key.bin')
    .action(async (bytes: string, opts: { encoding: string }) => {
      const n = Number(bytes);
      if (!Number.isInteger(n) || n < 1 || n > 1024) throw new UsageError('random expects a number of bytes from 1 to 1024');
      if (!['hex', 'base64', 'raw'].includes(opts.encoding)) throw new UsageError('--encoding must be hex, base64 or raw');
      // Raw bytes on a terminal are unreadable and can garble it (as encrypt refuses, too).
      if (opts.encoding === 'raw' && !globals().json && process.stdout.isTTY) throw new UsageError('refusing to write raw bytes to a terminal: redirect stdout (> key.bin) or use --encoding hex or base64');
      const kms = openLocalKms(globals());
      try {
        const { Plaintext } = await kms.generateRandom({ NumberOfBytes: n });
        const buf = Buffer.from(Plaintext!);
        // JSON in the encoding asked for (raw bytes cannot be a JSON string: hex).
        if (globals().json) process.stdout.write(JSON.stringify(opts.encoding === 'base64' ? { bytes: n, base64: buf.toString('base64') } : { bytes: n, hex: buf.toString('hex') }) + '\n');
        else process.stdout.write(opts.encoding === 'raw' ? buf : buf.toString(opts.encoding as 'hex' | 'base64') + '\n');
      } finally {
        kms.close();
      }
    });
}
