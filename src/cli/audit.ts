import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { openLocalKms } from './local.js';
import type { GlobalOptions } from './local.js';
import { EXIT } from './exit.js';
import { positiveInteger } from './args.js';

/** `sealbox audit show | verify | export`. */
export function registerAudit(program: Command, globals: () => GlobalOptions): void {
  const audit = program.command('audit').description('The local KMS audit log')
    .addHelpText('after', '\nExamples:\n  sealbox audit show --limit 20\n  sealbox audit verify\n  sealbox audit export -o audit.jsonl');

  audit.command('show').option('--limit <n>', 'only the last n rows', '50').description('Show recent audit rows')
    .addHelpText('after', '\nExamples:\n  sealbox audit show --limit 20\n  sealbox --json audit show --limit 5')
    .action((opts: { limit: string }) => {
      const limit = positiveInteger(opts.limit, '--limit');
      const kms = openLocalKms(globals());
      try {
        const rows = kms.readAudit({ limit });
        if (globals().json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
        else for (const r of rows) process.stdout.write(`${r.seq}\t${new Date(r.time).toISOString()}\t${r.operation}\t${r.error ?? 'ok'}\t${r.keyId ?? '-'}\t${r.caller}\n`);
      } finally {
        kms.close();
      }
    });

  audit.command('verify').description('Check the hash chain; exit 2 and name the first bad row if anything was edited, deleted or reordered')
    .addHelpText('after', '\nExample:\n  sealbox audit verify && echo intact')
    .action(() => {
      const kms = openLocalKms(globals());
      try {
        const result = kms.verifyAudit();
        if (globals().json) process.stdout.write(JSON.stringify(result) + '\n');
        else if (result.ok) process.stdout.write(`audit log verified: ${result.rows} rows\n`);
        else process.stderr.write(`sealbox: audit log does not verify at row ${result.firstBadSeq}: ${result.reason} (ERR_AUDIT_TAMPERED)\n`);
        if (!result.ok) process.exitCode = EXIT.INTEGRITY;
      } finally {
        kms.close();
      }
    });

  audit.command('export').option('-o, --output <file>', 'write to a file instead of stdout').description('Export the log as JSON lines')
    .addHelpText('after', '\nExample:\n  sealbox audit export -o audit.jsonl')
    .action((opts: { output?: string }) => {
      const kms = openLocalKms(globals());
      try {
        const text = kms.exportAudit();
        if (opts.output) writeFileSync(opts.output, text, { mode: 0o600 });
        else process.stdout.write(text);
      } finally {
        kms.close();
      }
    });
}
