import type { Command } from 'commander';
import { openLocalKms } from './local.js';
import type { GlobalOptions } from './local.js';
import type { LocalKms } from '../local-kms/local-kms.js';
import { EXIT, UsageError } from './exit.js';
import { positiveInteger } from './args.js';
import { writeFileAtomicallySync } from '../node/atomic-write.js';
import { checkOutputPath } from './output-path.js';
import { displayText } from './display.js';

/** `sealbox audit show | verify | head | upgrade | export`. */
export function registerAudit(program: Command, globals: () => GlobalOptions): void {
  // Every audit command reads an existing key store (none is created) and closes it, whatever happens.
  const withStore = (fn: (kms: LocalKms) => void): void => {
    const kms = openLocalKms(globals(), true);
    try {
      fn(kms);
    } finally {
      kms.close();
    }
  };
  const audit = program.command('audit').description('The local KMS audit log')
    .addHelpText('after', '\nExamples:\n  sealbox audit show --limit 20\n  sealbox audit verify\n  sealbox audit head\n  sealbox audit export -o audit.jsonl');

  audit.command('show').option('--limit <n>', 'only the last n rows', '50').description('Show recent audit rows')
    .addHelpText('after', '\nExamples:\n  sealbox audit show --limit 20\n  sealbox --json audit show --limit 5')
    .action((opts: { limit: string }) => {
      const limit = positiveInteger(opts.limit, '--limit');
      withStore((kms) => {
        const rows = kms.readAudit({ limit });
        if (globals().json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
        else for (const r of rows) process.stdout.write(`${r.seq}\t${new Date(r.time).toISOString()}\t${displayText(r.operation)}\t${displayText(r.error ?? 'ok')}\t${displayText(r.keyId ?? '-')}\t${displayText(r.caller)}\n`);
      });
    });

  audit.command('verify').option('--anchor <head>', 'also require the log to contain this head (printed earlier by `sealbox audit head`)')
    .description('Check the MAC chain; exit 2 and name the first bad row if anything was edited, inserted, deleted or reordered')
    .addHelpText('after', '\nExamples:\n  sealbox audit verify && echo intact\n  sealbox audit verify --anchor "$(cat ~/audit-head.txt)"')
    .action((opts: { anchor?: string }) => {
      // Checked before the key store is opened (a usage error creates nothing).
      if (opts.anchor !== undefined && !/^[1-9]\d{0,14}:[0-9a-f]{64}$/.test(opts.anchor)) {
        throw new UsageError('--anchor expects a head as printed by `sealbox audit head` (<seq>:<64 hex digits>)');
      }
      withStore((kms) => {
        const result = kms.verifyAudit({ anchor: opts.anchor });
        if (globals().json) process.stdout.write(JSON.stringify(result) + '\n');
        else if (result.ok) process.stdout.write(`audit log verified: ${result.rows} rows\n`);
        else process.stderr.write(`sealbox: audit log does not verify at row ${result.firstBadSeq}: ${result.reason} (ERR_AUDIT_TAMPERED)\n`);
        if (!result.ok) process.exitCode = EXIT.INTEGRITY;
      });
    });

  audit.command('head').description('Print the head of the audit log (<seq>:<MAC>) to keep elsewhere; `audit verify --anchor` checks against it')
    .addHelpText('after', '\nExample:\n  sealbox audit head >> ~/audit-heads.txt   # somewhere the key store\'s writers cannot reach')
    .action(() => {
      withStore((kms) => {
        const head = kms.auditHead();
        if (globals().json) process.stdout.write(JSON.stringify({ head: head ?? null }) + '\n');
        else if (head !== undefined) process.stdout.write(head + '\n');
        else process.stderr.write('sealbox: the audit log is empty\n');
      });
    });

  audit.command('upgrade').description('Key the audit log of a store written before Sealbox keyed its chain (run once, after upgrading)')
    .addHelpText('after', '\nChecks the old unkeyed chain, then rewrites it as MACs under the root key. It vouches for the\nold rows as they are now: run it on a store nobody else could write.\n\nExample:\n  sealbox audit upgrade && sealbox audit verify')
    .action(() => {
      withStore((kms) => {
        const { verification, upgraded } = kms.upgradeAudit();
        if (globals().json) process.stdout.write(JSON.stringify({ ...verification, upgraded }) + '\n');
        else if (!verification.ok) process.stderr.write(`sealbox: not upgraded: the old audit log does not verify at row ${verification.firstBadSeq}: ${verification.reason} (ERR_AUDIT_TAMPERED)\n`);
        else process.stdout.write(upgraded ? `audit log keyed: ${upgraded} old rows upgraded, ${verification.rows} rows verified\n` : `audit log already keyed: ${verification.rows} rows verified\n`);
        if (!verification.ok) process.exitCode = EXIT.INTEGRITY;
      });
    });

  audit.command('export').option('-o, --output <file>', 'write to a file instead of stdout').description('Export the log as JSON lines')
    .addHelpText('after', '\nExample:\n  sealbox audit export -o audit.jsonl')
    .action((opts: { output?: string }) => {
      checkOutputPath(opts.output);
      withStore((kms) => {
        const text = kms.exportAudit();
        // Whole or not at all, and on disk before the command says it is done.
        if (opts.output) writeFileAtomicallySync(opts.output, Buffer.from(text));
        else process.stdout.write(text);
      });
    });
}
