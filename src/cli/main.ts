import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { describeError, EXIT } from './exit.js';
import { displayText } from './display.js';
import { registerCrypt } from './crypt.js';
import { registerInspect } from './inspect.js';
import { registerRewrap } from './rewrap.js';
import { localKmsLeftOpen } from './local-names.js';
import { removeTemporaryFiles } from '../node/atomic-write.js';
import type { GlobalOptions } from './local-names.js';

// The AWS SDK warns on every run under Node 20 that its 2027 releases will need Node 22; the
// CLI keeps stderr for its own one-line messages (docs/cli.md mentions the Node support plan).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Commander's error text as one line: "error: unknown command 'x'\n(Did you mean y?)" → "unknown command 'x' (did you mean y?)". */
function usageLine(text: string): string {
  return text.replace(/^error: /, '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ').replace(/\(Did you mean/g, '(did you mean');
}

const program = new Command();
program
  .name('sealbox')
  .description('Client-side envelope encryption. Keys live in the bundled local KMS (no set-up), AWS KMS, or raw key files.')
  .option('--home <dir>', 'local KMS data directory (default: $SEALBOX_HOME or the platform data directory)')
  .option('--json', 'machine-readable output for non-streaming commands')
  // dist/cli/main.js → the package's own package.json (shipped with every install).
  .version((createRequire(import.meta.url)('../../package.json') as { version: string }).version, '-V, --version', 'print the version')
  // Usage errors are one line in the same shape as every other error, the code at the end
  // (commander's suggestion, "Did you mean encrypt?", joins the line; the full help would bury
  // what was wrong).
  .configureOutput({ outputError: (str, write) => write(`sealbox: ${usageLine(str)}; add --help for usage (ERR_USAGE)\n`) })
  .exitOverride()
  .addHelpText('after', `
Examples:
  echo hello | sealbox encrypt | sealbox decrypt
  sealbox encrypt report.pdf -o report.pdf.sbx --context purpose=backup
  sealbox inspect report.pdf.sbx
  sealbox keys list

Exit codes: 0 ok, 1 usage, 2 not authentic / integrity failure, 3 key service failure.`);

type Register = (program: Command, globals: () => GlobalOptions) => void;

/**
 * The commands, in help order. Start-up is most of a small command's time (docs/performance.md,
 * CLI start-up), so what a command line does not name is not loaded: encrypt, decrypt,
 * inspect and rewrap are part of this module (they load the local KMS, the AWS SDK or the
 * post-quantum code only for keys that need them); the commands that are all about the local
 * KMS, and keygen, are modules of their own, loaded when named (or for help).
 */
const COMMANDS: Readonly<Record<string, () => Promise<Register>>> = {
  encrypt: () => Promise.resolve(registerCrypt),
  decrypt: () => Promise.resolve(registerCrypt),
  inspect: () => Promise.resolve(registerInspect),
  keys: async () => (await import('./keys.js')).registerKeys,
  audit: async () => (await import('./audit.js')).registerAudit,
  random: async () => (await import('./random.js')).registerRandom,
  kms: async () => (await import('./kms.js')).registerKms,
  rewrap: () => Promise.resolve(registerRewrap),
  keygen: async () => (await import('./pq.js')).registerKeygen,
};

/** Global options that take a value: their value is not the command's name. */
const VALUE_OPTIONS = new Set(['--home']);

/**
 * The command a command line names (the first argument that is neither a global option nor
 * its value), when it is one of ours; undefined for `--help`, `help`, a typo or none, which
 * need every command registered (the help lists them, a typo gets a suggestion).
 */
function namedCommand(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return undefined;
    if (VALUE_OPTIONS.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    return Object.prototype.hasOwnProperty.call(COMMANDS, arg) ? arg : undefined;
  }
  return undefined;
}

/** Registers what the command line needs, then runs it. */
async function main(): Promise<void> {
  // The reader of stdout went away (`sealbox decrypt big.sbx | head -c 10`): stop at once, as a
  // process killed by SIGPIPE would, with its status (128 + 13), never 0: the rest of the message
  // was neither verified nor delivered. Silent, as for any program in a pipeline. The temporary
  // files of outputs not yet renamed into place (`--json ... --output-dir DIR | head`: for
  // decrypt, plaintext) are removed first, as on Ctrl-C (interrupt.ts): exiting at once left them.
  let leaving = false;
  const brokenPipe = (): void => {
    process.exitCode = EXIT.BROKEN_PIPE;
    if (leaving) return;
    leaving = true;
    void removeTemporaryFiles().then(() => process.exit(EXIT.BROKEN_PIPE));
  };
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') brokenPipe();
  });

  // A last resort: whatever escapes (an 'error' event nobody listens to) is still one line and an
  // exit status, never a stack trace. The known paths handle their errors themselves.
  // Outputs not yet renamed into place (for decrypt: plaintext) are removed before the exit, as
  // on a closed stdout and on Ctrl-C; exiting at once left their temporary files behind. At most
  // 2 s: an exit is what a fault needs most.
  const fail = (err: unknown): void => {
    const { line, code } = describeError(err);
    process.stderr.write(`sealbox: ${displayText(line)}\n`);
    process.exitCode = code;
    if (leaving) return;
    leaving = true;
    const exit = (): never => process.exit(code);
    setTimeout(exit, 2000);
    void removeTemporaryFiles().then(exit, exit);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const named = namedCommand(process.argv.slice(2));
  const registers = await Promise.all(named ? [COMMANDS[named]!()] : Object.values(COMMANDS).map((load) => load()));
  for (const register of new Set(registers)) register(program, globals);

  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    } else if ((err as NodeJS.ErrnoException)?.code === 'EPIPE') {
      brokenPipe();
    } else {
      const { line, code } = describeError(err);
      process.stderr.write(`sealbox: ${displayText(line)}\n`);
      process.exitCode = code;
    }
  }
  // The local KMS was left open (it wrote audit rows only): end here, once stdout has been
  // flushed, so that better-sqlite3 does not close and checkpoint the database at exit.
  if (localKmsLeftOpen.value && !leaving) process.stdout.write('', () => process.exit());
}

// No top-level await: the CLI is built as one CommonJS file (tsup.config.ts), which loads
// faster than ES modules and loads what it does not always need only when used.
void main();
