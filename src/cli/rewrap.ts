import type { Command } from 'commander';
import type { Stats } from 'node:fs';
import { lstatSync, statSync } from 'node:fs';
import { MultiKeyring } from '../keyring/multi.js';
import type { Keyring } from '../keyring/keyring.js';
import { rewrapFile } from '../node/rewrap-file.js';
import type { RewrapFileOptions, RewrapFileResult } from '../node/rewrap-file.js';
import { lazyLocal } from './crypt.js';
import { checkOutputPath, outputTarget, refuseForeignLink } from './output-path.js';
import { filesProgress } from './io.js';
import { cleanUpOnSignal } from './interrupt.js';
import { displayText } from './display.js';
import { EXIT, FileError, UsageError, describeError, fileError } from './exit.js';
import { keyringsFromOptions, localDiscoveryKeyring, parsePairs } from './keyrings.js';
import type { GlobalOptions } from './local.js';

interface RewrapCliOptions {
  key?: string[];
  removeKey?: string[];
  unwrapKey?: string[];
  add?: boolean;
  output?: string;
  requireContext?: string[];
  verifyFrames?: boolean;
  endpointUrl?: string;
}

/** Files rewrapped at once: overlaps one file's fsyncs and key calls with the next file's work. */
const CONCURRENCY = 4;

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

async function run(files: string[], opts: RewrapCliOptions, globals: GlobalOptions): Promise<void> {
  // Usage errors first: nothing is read, the key store is not touched.
  if (!opts.key?.length) throw new UsageError('rewrap needs at least one --key to wrap the data key for');
  if (opts.add && opts.removeKey?.length) throw new UsageError('--add keeps every old wrapped key; --remove-key keeps all but those: give one of them');
  if (opts.output !== undefined && files.length !== 1) throw new UsageError('-o names the output of one file; with several files each is rewrapped in place');
  if (opts.output === '-') throw new UsageError('rewrap writes files: -o - (stdout) is not supported');
  const expected = parsePairs(opts.requireContext, '--require-context');
  // Each file once: two workers on one file (the same name twice, or two links to it) would
  // race for it, and rewrapping a file twice is not what naming it twice by mistake meant.
  const named = new Map<string, string>();
  for (const file of files) {
    let st: Stats;
    try {
      st = statSync(file);
    } catch (err) {
      throw fileError(err, file, 'read');
    }
    // Rewrapped through a link is the file it points to: not where another user's link says.
    const link = lstatSync(file);
    if (link.isSymbolicLink()) refuseForeignLink(link, file);
    if (!st.isFile()) throw new FileError(`cannot rewrap ${file}: not a regular file`, 'EISDIR');
    const first = named.get(`${st.dev}:${st.ino}`);
    if (first !== undefined) throw new UsageError(`${first} and ${file} are the same file: name each file once`);
    named.set(`${st.dev}:${st.ino}`, file);
  }

  // -o as encrypt's and decrypt's: a link to a file writes the file and keeps the link. A FIFO,
  // device or standard output cannot take a file renamed over it (as root, /dev/null would have
  // become a regular file).
  let output: string | undefined;
  if (opts.output !== undefined) {
    const target = outputTarget(opts.output);
    if (target.kind !== 'file') throw new UsageError(`rewrap writes files: -o ${opts.output} is not a regular file`);
    checkOutputPath(opts.output, target);
    output = target.path;
  }
  // Rewrap never creates a key store: a new one holds no key to unwrap with.
  const local = lazyLocal(globals, true);
  let interrupted = 0;
  // First Ctrl-C: start no new file, let the ones in progress finish (nothing half-done is left
  // behind). A second one, SIGTERM or SIGHUP: leave now, removing this run's temporary files
  // (copies); an in-place header write is journaled, and the next rewrap of the file finishes it.
  const dropHandlers = cleanUpOnSignal({
    firstInterrupt: () => {
      interrupted++;
      process.stderr.write('\nsealbox rewrap: interrupted; finishing the files in progress (Ctrl-C again to stop now)\n');
    },
  });
  try {
    const to = (await keyringsFromOptions(opts.key, opts, local.get, 'encrypt'))!;
    const removing = opts.removeKey?.length ? await keyringsFromOptions(opts.removeKey, opts, local.get, 'decrypt') : undefined;
    const unwrapping = opts.unwrapKey?.length ? await keyringsFromOptions(opts.unwrapKey, opts, local.get, 'decrypt') : undefined;
    // Unwrap with --unwrap-key, then the keys being removed; with neither, any key of the local KMS (as decrypt does).
    const candidates = [unwrapping, removing].filter((k): k is Keyring => k !== undefined);
    const keyring: Keyring = candidates.length === 0 ? localDiscoveryKeyring(await local.get()) : candidates.length === 1 ? candidates[0]! : new MultiKeyring({ children: candidates });
    const options: RewrapFileOptions = {
      keyring,
      to,
      mode: opts.add || removing ? 'add' : 'replace',
      ...(removing ? { remove: removing } : {}),
      ...(expected ? { expectedEncryptionContext: expected } : {}),
      ...(opts.verifyFrames ? { verifyFrames: true } : {}),
    };

    const progress = filesProgress('rewrap', files.length);
    let next = 0;
    let done = 0;
    let failed = 0;
    // Files finish in any order (several run at once): the exit code is that of the first
    // failing file in the order given, never of whichever failed first.
    const exitCodes: number[] = [];
    const report = (index: number, file: string, result: RewrapFileResult | undefined, err: unknown): void => {
      done++;
      if (err !== undefined) {
        failed++;
        const { line, code } = describeError(err);
        exitCodes[index] = code;
        if (globals.json) process.stdout.write(JSON.stringify({ file, ok: false, error: line, exitCode: code }) + '\n');
        else process.stderr.write(`${process.stderr.isTTY && files.length > 1 ? '\r\x1b[K' : ''}sealbox: ${displayText(file)}: ${displayText(line)}\n`);
      } else if (globals.json) {
        process.stdout.write(JSON.stringify({ file, ok: true, output: opts.output ?? file, method: result!.method, bytesWritten: result!.bytesWritten, encryptedDataKeys: result!.header.encryptedDataKeys.length }) + '\n');
      }
      progress.update(done, failed);
    };
    const worker = async (): Promise<void> => {
      while (next < files.length && interrupted === 0) {
        const index = next++;
        const file = files[index]!;
        try {
          report(index, file, await rewrapFile(file, output ?? file, options), undefined);
        } catch (err) {
          report(index, file, undefined, err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, files.length) }, worker));
    progress.end();
    let exit: number = exitCodes.find((code) => code !== undefined) ?? EXIT.OK;
    if (interrupted) exit = 130;
    else if (failed > 0 && files.length > 1 && !globals.json) process.stderr.write(`sealbox rewrap: ${failed} of ${files.length} files failed\n`);
    process.exitCode = exit;
  } finally {
    dropHandlers();
    local.close();
  }
}

/** `sealbox rewrap`: move messages to new keys without re-encrypting them. */
export function registerRewrap(program: Command, globals: () => GlobalOptions): void {
  program
    .command('rewrap')
    .description('Move messages to new keys without re-encrypting them: only the header is rewritten (docs/rewrap.md)')
    .argument('<files...>', 'message files; rewrapped in place unless -o is given (one file)')
    .option('-k, --key <key>', 'key to wrap the data key for (as for encrypt); repeat for several', collect)
    .option('--remove-key <key>', 'keep the other wrapped keys but drop this key\'s (it also unwraps); repeatable', collect)
    .option('--add', 'keep every existing wrapped key and add the new ones (default: replace them all)')
    .option('--unwrap-key <key>', 'key that opens the messages now (default: the --remove-key keys, else any key of the local KMS); repeatable', collect)
    .option('-o, --output <file>', 'output file for a single input (default: rewrite the input in place)')
    .option('-r, --require-context <k=v>', 'fail unless the message has this context pair (repeatable)', collect)
    .option('--verify-frames', 'also authenticate every frame (reads the whole message; default: header and structure only)')
    .option('--endpoint-url <url>', 'AWS KMS endpoint for kms: keys')
    .addHelpText('after', `
Examples:
  sealbox rewrap archive/*.sbx --key alias/app-2026
  sealbox rewrap report.sbx -o report-rotated.sbx --key file:new.key --unwrap-key file:old.key
  sealbox rewrap data.sbx --key file:escrow.key --add
  sealbox rewrap data.sbx --key alias/app-2026 --remove-key alias/app-2025

A rewrapped message is in suite 3: suite 1's frames, unchanged, under a header whose tag has a
fresh random nonce (a header salt), so old and new versions of a message side by side give
nothing away. Sealbox releases before suite 3 cannot read it (ERR_UNSUPPORTED_VERSION).
Signed messages cannot be rewrapped.

In place with a header of the same length (same kinds of keys), only the header is rewritten,
through a journal: a crash leaves the old or the new message, and the next rewrap of the file
finishes an interrupted one. Otherwise a new file is written and renamed over the old.
Exit codes as for decrypt (the first failing file's); the other files are still processed.`)
    .action((files: string[], opts: RewrapCliOptions) => run(files, opts, globals()));
}
