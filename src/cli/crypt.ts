import type { Command } from 'commander';
import { encryptFile, decryptFile } from '../node/files.js';
import { createDecryptStream, createEncryptStream } from '../node/streams.js';
import type { Keyring } from '../keyring/keyring.js';
import type { LocalKms } from '../local-kms/index.js';
import { LOCAL_ACCOUNT, NoKeyStoreError, localKmsLeftOpen } from './local-names.js';
import type { GlobalOptions } from './local-names.js';
import { keyringsFromOptions, localDiscoveryKeyring, parsePairs } from './keyrings.js';
import { positiveInteger } from './args.js';
import { cleanUpOnSignal } from './interrupt.js';
import { DEFAULT_MAX_FRAME_LENGTH } from '../limits.js';
import { filesProgress, progressFor, runPipeline, wantsProgress } from './io.js';
import { inputError, openInput, readsTerminal, terminalArmor } from './input.js';
import { checkOutputPath, outputTarget } from './output-path.js';
import { rememberingEdks } from './edk-names.js';
import { displayText } from './display.js';
import { SealboxError } from '../errors.js';
import { SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../crypto/suites.js';
import { EXIT, FileError, UsageError, describeError, fileError } from './exit.js';
import { closeSync, constants, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { encrypt } from '../encrypt.js';
import { decrypt } from '../decrypt.js';
import { nodeAtomicWriteFs, writeBytesAtomically } from '../node/atomic-write.js';
import type { DecryptOptions, EncryptOptions } from '../message/prologue.js';

interface CryptOptions {
  key?: string[];
  context?: string[];
  requireContext?: string[];
  output?: string;
  endpointUrl?: string;
  frameLength?: string;
  armor?: boolean;
  outputDir?: string;
  force?: boolean;
  sign?: boolean;
  requireSigned?: boolean;
  threads?: string;
}

/** True when the file starts like an armored message ('-'; a binary one starts "SBX"). */
function looksArmored(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const first = Buffer.alloc(1);
    return readSync(fd, first, 0, 1, 0) === 1 && first[0] === 0x2d;
  } finally {
    closeSync(fd);
  }
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * Opens the local KMS only if a command needs it, once. Its module (SQLite, the local KMS) is
 * loaded then too: commands with raw, RSA, pq: or kms: keys never load it.
 */
export function lazyLocal(globals: GlobalOptions, existing: boolean): { get: () => Promise<LocalKms>; close: () => void } {
  let kms: LocalKms | undefined;
  return {
    get: async () => (kms ??= (await import('./local.js')).openLocalKms(globals, existing)),
    close: () => {
      // Only audit rows written: leave it open for main.ts to end the process without a
      // checkpoint (local-names.ts). Anything else (a key created, a rotation that fell due)
      // is closed and checkpointed now, before the command reports success.
      if (kms?.onlyAuditRowsWritten) localKmsLeftOpen.value = true;
      else kms?.close();
    },
  };
}

type Direction = 'encrypt' | 'decrypt';

/** What the options say, checked before any side effect: a typo must not create the key store. */
function parseCryptOptions(opts: CryptOptions, direction: Direction): { context?: Record<string, string>; expected?: Record<string, string>; frameLength?: number; threads?: number } {
  // Frames stay within what decrypt accepts by default, so the CLI never writes a message it
  // refuses to read.
  const context = direction === 'encrypt' ? parsePairs(opts.context, '--context') : undefined;
  const expected = direction === 'decrypt' ? parsePairs(opts.requireContext, '--require-context') : undefined;
  const frameLength = opts.frameLength === undefined ? undefined : positiveInteger(opts.frameLength, '--frame-length', DEFAULT_MAX_FRAME_LENGTH);
  const threads = opts.threads === undefined ? undefined : positiveInteger(opts.threads, '--threads', MAX_THREADS);
  const keySpecs = opts.key ?? [];
  if (opts.endpointUrl !== undefined && !keySpecs.some((k) => k.startsWith('kms:') || k.startsWith('kms-rsa:'))) {
    throw new UsageError('--endpoint-url applies to kms: and kms-rsa: keys only; the local KMS and key files need no endpoint');
  }
  return { ...(context ? { context } : {}), ...(expected ? { expected } : {}), ...(frameLength !== undefined ? { frameLength } : {}), ...(threads !== undefined ? { threads } : {}) };
}

/**
 * The keyring of a command: its --key options, else the local KMS's default key (encrypt) or
 * any key of the local KMS (decrypt). Decrypt opens the key store only when the message's
 * header has arrived: in `sealbox encrypt | sealbox decrypt` on a new machine, encrypt creates
 * the store while decrypt waits for its input. Without a key store, decrypt still gets a
 * keyring that matches nothing, so the message's header can say which key it needs
 * (`noStore()` then returns the error).
 */
async function setUpKeyring(opts: CryptOptions, direction: Direction, local: ReturnType<typeof lazyLocal>, many = false): Promise<{ keyring: Keyring; noStore: () => NoKeyStoreError | undefined }> {
  const keyring = await keyringsFromOptions(opts.key ?? [], opts, local.get, direction);
  if (keyring) return { keyring, noStore: () => undefined };
  if (direction === 'encrypt') {
    const kms = await local.get();
    // Many files: the data keys asked for together come from one transaction (batch-client.ts).
    const client = many ? (await import('./batch-client.js')).batchingLocalClient(kms) : kms;
    // The default key by its alias: one GenerateDataKey a message, the key made on first use.
    return { keyring: (await import('./local.js')).defaultKeyring(kms, client), noStore: () => undefined };
  }
  let noStore: NoKeyStoreError | undefined;
  let discovery: Promise<Keyring | null> | undefined;
  const opened = (): Promise<Keyring | null> =>
    (discovery ??= local.get().then(localDiscoveryKeyring, (err: unknown) => {
      // No key store: a message for this machine's local KMS says "no store" (explained()).
      if (!(err instanceof NoKeyStoreError)) throw err;
      noStore = err;
      return null;
    }));
  return {
    keyring: {
      wrapKey: () => Promise.reject(new SealboxError('ERR_KEYRING', 'discovery keyrings do not encrypt')),
      unwrapKey: async (request) => (await opened())?.unwrapKey(request) ?? null,
    },
    noStore: () => noStore,
  };
}

/** Largest --threads (as encryptFile's `concurrency`). */
const MAX_THREADS = 64;

/** File options with --threads as `concurrency` (file to file only; pipes use the calling thread). */
function withThreads<T extends object>(options: T, parsed: { threads?: number }): T & { concurrency?: number } {
  return parsed.threads === undefined ? options : { ...options, concurrency: parsed.threads };
}

/** The encrypt options of a command. */
function encryptOptions(keyring: Keyring, opts: CryptOptions, parsed: ReturnType<typeof parseCryptOptions>): EncryptOptions {
  return {
    keyring,
    ...(parsed.context ? { encryptionContext: parsed.context } : {}),
    ...(parsed.frameLength !== undefined ? { frameLength: parsed.frameLength } : {}),
    ...(opts.sign ? { suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } : {}),
  };
}

/** The decrypt options of a command, with a keyring that remembers the EDKs it was shown. */
function decryptOptions(keyring: Keyring, opts: CryptOptions, parsed: ReturnType<typeof parseCryptOptions>): { options: DecryptOptions; remembered: ReturnType<typeof rememberingEdks> } {
  const remembered = rememberingEdks(keyring);
  return {
    remembered,
    options: {
      keyring: remembered.keyring,
      ...(parsed.expected ? { expectedEncryptionContext: parsed.expected } : {}),
      ...(opts.requireSigned ? { signaturePolicy: 'require-signed' as const } : {}),
    },
  };
}

/**
 * The error to report for a failed file: when no key even matched (a raw or RSA key file
 * message, another store's key), one that says which keys would, as inspect shows them.
 */
function explained(err: unknown, file: string | undefined, remembered: ReturnType<typeof rememberingEdks> | undefined, noStore: NoKeyStoreError | undefined): unknown {
  const needed = remembered?.needed();
  if (noStore && err instanceof SealboxError && err.code === 'ERR_NO_MATCHING_KEY' && remembered?.namesAccount(LOCAL_ACCOUNT)) return noStore;
  if (err instanceof SealboxError && err.code === 'ERR_NO_MATCHING_KEY' && err.errors.length === 0 && needed) {
    return new SealboxError('ERR_NO_MATCHING_KEY', `No key given can unwrap the data key: the message needs ${needed}`);
  }
  return inputError(err, file);
}

/**
 * `-o` naming the input itself (by another spelling, a link, or stdin redirected from it): the
 * output would replace the file being read, so `encrypt notes.txt -o notes.txt --key
 * rsa:bob.pub.pem` left only what Bob can open. A usage error before anything is read, as
 * --output-dir refuses an output that is one of its inputs (rage refuses it too).
 */
function refuseInputAsOutput(file: string | undefined, output: string, given: string): void {
  let input;
  let out;
  try {
    input = file === undefined || file === '-' ? fstatSync(0) : statSync(file);
    out = statSync(output);
  } catch {
    return; // no output yet (or no input: openInput says so)
  }
  if (input.isFile() && input.dev === out.dev && input.ino === out.ino) {
    throw new UsageError(`-o ${given} is the input: the output would replace it; write it to another file`);
  }
}

async function run(file: string | undefined, opts: CryptOptions, globals: GlobalOptions, direction: Direction): Promise<void> {
  const target = outputTarget(opts.output);
  if (direction === 'encrypt' && !opts.armor && target.kind === 'stdout' && process.stdout.isTTY) {
    // Binary ciphertext on a terminal is unreadable and can garble it (as age refuses, too).
    throw new UsageError('refusing to write binary ciphertext to a terminal: use -o FILE, redirect stdout, or --armor');
  }
  const parsed = parseCryptOptions(opts, direction);
  checkOutputPath(opts.output, target);
  if (target.kind === 'file') refuseInputAsOutput(file, target.path, opts.output!);
  // Decrypt takes an armored message pasted at a terminal; encrypt has nothing to read there.
  const { stream, size, regularFile } = direction === 'decrypt' && readsTerminal(file) ? await terminalArmor() : openInput(file, 'refuse');
  // Decrypt never creates a key store: a new one could not hold the key.
  const local = lazyLocal(globals, direction === 'decrypt');
  let dropHandlers: (() => void) | undefined;
  let remembered: ReturnType<typeof rememberingEdks> | undefined;
  let noStore: (() => NoKeyStoreError | undefined) | undefined;
  try {
    const setUp = await setUpKeyring(opts, direction, local);
    noStore = setUp.noStore;
    // A FIFO or device named by -o is written as stdout is (output-path.ts).
    const toFile = target.kind === 'file';
    if (toFile) dropHandlers = cleanUpOnSignal();
    // File to file without a progress bar or armor: the fast path (positional reads, atomic rename).
    // Only a regular file can be read at positions (not a pipe such as /dev/stdin).
    const armored = direction === 'encrypt' ? Boolean(opts.armor) : regularFile && looksArmored(file!);
    const direct = regularFile && toFile && !armored && !wantsProgress(size);
    if (direct) stream.destroy();
    const progress = direct ? undefined : await progressFor(size);
    // Armor is loaded only when used.
    const armor = !direct && (opts.armor || direction === 'decrypt') ? await import('./armor.js') : undefined;
    if (direction === 'encrypt') {
      const options = encryptOptions(setUp.keyring, opts, parsed);
      if (direct) await encryptFile(file!, target.path, withThreads(options, parsed));
      else await runPipeline(stream, [...(progress ? [progress] : []), createEncryptStream(options), ...(opts.armor ? [armor!.createArmorStream()] : [])], target);
    } else {
      const decrypting = decryptOptions(setUp.keyring, opts, parsed);
      remembered = decrypting.remembered;
      if (direct) await decryptFile(file!, target.path, withThreads(decrypting.options, parsed));
      // Armor or binary: the dearmor stage passes binary input straight through.
      else await runPipeline(stream, [...(progress ? [progress] : []), armor!.createDearmorStream(), createDecryptStream(decrypting.options)], target);
    }
  } catch (err) {
    throw explained(err, file, remembered, noStore?.());
  } finally {
    dropHandlers?.();
    local.close();
  }
}

/**
 * With --output-dir, files are taken in groups of up to GROUP_FILES files (or GROUP_BYTES of
 * input) by each of MANY_WORKERS workers. A small file's reads, crypto and writes are
 * synchronous calls on the main thread and only its fsync waits on libuv's thread pool, so a
 * group's fsyncs overlap each other and the next group's work; a group's key calls are made at
 * once, which lets the local KMS answer them in one transaction.
 */
const MANY_WORKERS = 4;
const GROUP_FILES = 16;
const GROUP_BYTES = 4 * 1024 * 1024;
/** libuv's thread pool size with --output-dir: fsyncs of small files in flight at once. */
const FSYNC_THREADS = 16;

/** Inputs up to this size are read whole with --output-dir (a group's inputs and outputs, at most about 2 x (GROUP_BYTES + SMALL_FILE_BYTES) a worker, in memory at once). */
const SMALL_FILE_BYTES = 1024 * 1024;

/**
 * An input of --output-dir: its bytes when it is a regular file of at most SMALL_FILE_BYTES (one
 * open, fstat, read and close), else only its size (it is streamed). A directory or other
 * non-regular file is refused (EISDIR).
 */
function readSmallInput(file: string): { bytes: Uint8Array } | { size: number } {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO (or a device) for reading otherwise waits for a writer, and
    // the whole run would hang there with no file done. No effect on a regular file's reads.
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw fileError(err, file, 'read');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FileError(`cannot read ${file}: not a regular file`, 'EISDIR');
    if (st.size > SMALL_FILE_BYTES) return { size: st.size };
    const bytes = Buffer.allocUnsafe(st.size);
    let got = 0;
    for (let n; got < bytes.length && (n = readSync(fd, bytes, got, bytes.length - got, null)) > 0; ) got += n;
    return { bytes: bytes.subarray(0, got) };
  } catch (err) {
    throw err instanceof FileError ? err : fileError(err, file, 'read');
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `bytes` to `output` as -o writes a file (a temporary file, fsynced, renamed), except
 * that the directory is synced once for all files, by runMany, before it reports success.
 */
async function writeWhole(output: string, bytes: Uint8Array): Promise<{ bytesWritten: number }> {
  try {
    await writeBytesAtomically(output, bytes, { syncDir: false });
  } catch (err) {
    throw fileError(err, output, 'write');
  }
  return { bytesWritten: bytes.length };
}

/** The suffix encrypt adds to each file name with --output-dir, and decrypt takes away. */
export const SEALED_SUFFIX = '.sbx';

/**
 * The output path of each input with --output-dir: `X` -> `DIR/X.sbx` (encrypt), `X.sbx` ->
 * `DIR/X` (decrypt), by the input's base name. Usage errors, before anything is read: a
 * decrypt input whose name does not end in .sbx, two inputs with the same output (a/x and
 * b/x), an output that is one of the inputs.
 */
export function outputPaths(files: readonly string[], dir: string, direction: Direction): string[] {
  const outputs = files.map((file) => {
    const name = basename(file);
    if (direction === 'encrypt') return join(dir, name + SEALED_SUFFIX);
    if (!name.endsWith(SEALED_SUFFIX) || name.length === SEALED_SUFFIX.length) {
      throw new UsageError(`decrypt --output-dir names each output after its input without ${SEALED_SUFFIX}: ${file} does not end in ${SEALED_SUFFIX} (decrypt it alone with -o FILE)`);
    }
    return join(dir, name.slice(0, -SEALED_SUFFIX.length));
  });
  const seen = new Map<string, string>();
  const inputs = new Set(files.map((f) => resolve(f)));
  outputs.forEach((out, i) => {
    const key = resolve(out);
    const other = seen.get(key);
    if (other !== undefined) throw new UsageError(`${other} and ${files[i]} would both be written to ${out}: give files with different names, or run them with different --output-dir`);
    if (inputs.has(key)) throw new UsageError(`${out} is one of the inputs: it cannot also be an output`);
    seen.set(key, files[i]!);
  });
  return outputs;
}

/**
 * `sealbox encrypt|decrypt FILE... --output-dir DIR`: one key set-up for all files, each file
 * written as -o writes one (all or nothing, through a temporary file), a progress line across
 * files on a terminal, a JSON line per file with --json. A file that fails is reported and the
 * others are still done; the exit code is the first failing file's, in the order given.
 * Existing outputs are refused (EEXIST, exit 1) unless --force.
 */
async function runMany(files: string[], opts: CryptOptions, globals: GlobalOptions, direction: Direction): Promise<void> {
  const dir = opts.outputDir!;
  if (files.length === 0) throw new UsageError('--output-dir needs input files');
  if (opts.output !== undefined) throw new UsageError('-o names the output of one input; with --output-dir each input gets its own file');
  if (files.includes('-')) throw new UsageError('stdin ("-") cannot be one of the inputs of --output-dir');
  if (opts.armor) throw new UsageError('--armor writes one message as text; with --output-dir give files, or encrypt each with -o');
  const parsed = parseCryptOptions(opts, direction);
  const outputs = outputPaths(files, dir, direction);
  // The directory as -o checks a file's: it exists, is a directory, can be written.
  checkOutputPath(join(dir, outputs.length ? basename(outputs[0]!) : 'x'));
  // More fsyncs in flight than libuv's default 4 threads: the file system commits concurrent
  // fsyncs together. Read by libuv when the pool starts, at the first fsync below (nothing
  // before it uses the pool); a value the user set is kept.
  process.env.UV_THREADPOOL_SIZE ??= String(FSYNC_THREADS);
  const local = lazyLocal(globals, direction === 'decrypt');
  let interrupted = 0;
  // First Ctrl-C: start no new file, let the ones in progress finish (each is all or nothing
  // anyway). A second one, SIGTERM or SIGHUP: remove this run's temporary files and leave now.
  const dropHandlers = cleanUpOnSignal({
    firstInterrupt: () => {
      interrupted++;
      process.stderr.write(`\nsealbox ${direction}: interrupted; finishing the files in progress (Ctrl-C again to stop now)\n`);
    },
  });
  try {
    const { keyring, noStore } = await setUpKeyring(opts, direction, local, true);
    const progress = filesProgress(direction, files.length);
    const exitCodes: number[] = [];
    let next = 0;
    let done = 0;
    let failed = 0;
    /** Checks a file's output and reads the file when it is small (synchronous calls). */
    const prepare = (file: string, output: string): ReturnType<typeof readSmallInput> => {
      if (!opts.force && existsSync(output)) throw new FileError(`cannot write ${output}: it exists; add --force to replace it`, 'EEXIST');
      return readSmallInput(file);
    };
    // The same for every file (decrypt's are made per file: each remembers its own EDKs).
    const sealing = direction === 'encrypt' ? encryptOptions(keyring, opts, parsed) : undefined;
    const one = async (file: string, output: string, input: ReturnType<typeof readSmallInput>): Promise<{ bytesWritten: number }> => {
      // Small files in one read, one call and one write: fewer system calls and promises per
      // file than the streaming path, which matters when there are thousands of them.
      const small = 'bytes' in input ? input.bytes : undefined;
      if (sealing) {
        if (!small) return encryptFile(file, output, withThreads(sealing, parsed));
        const { ciphertext } = await encrypt(small, sealing);
        return writeWhole(output, ciphertext);
      }
      const { options, remembered } = decryptOptions(keyring, opts, parsed);
      try {
        // One-shot decrypt returns only once the whole message (and its signature) verified.
        if (small && small[0] !== 0x2d) return await writeWhole(output, (await decrypt(small, options)).plaintext);
        if (!looksArmored(file)) return await decryptFile(file, output, withThreads(options, parsed));
        const armor = await import('./armor.js');
        await runPipeline(openInput(file, 'refuse').stream, [armor.createDearmorStream(), createDecryptStream(options)], { kind: 'file', path: output });
        return { bytesWritten: statSync(output).size };
      } catch (err) {
        throw explained(err, file, remembered, noStore());
      }
    };
    const report = (index: number, result: { bytesWritten: number } | undefined, err: unknown): void => {
      done++;
      const file = files[index]!;
      if (err !== undefined) {
        failed++;
        const { line, code } = describeError(err);
        exitCodes[index] = code;
        if (globals.json) process.stdout.write(JSON.stringify({ file, ok: false, error: line, exitCode: code }) + '\n');
        else process.stderr.write(`${progress.active ? '\r\x1b[K' : ''}sealbox: ${displayText(file)}: ${displayText(line)}\n`);
      } else if (globals.json) {
        process.stdout.write(JSON.stringify({ file, ok: true, output: outputs[index], bytesWritten: result!.bytesWritten }) + '\n');
      }
      progress.update(done, failed);
    };
    const worker = async (): Promise<void> => {
      while (next < files.length && interrupted === 0) {
        // A group of files at once: read synchronously, their key calls made together (one
        // local KMS transaction for all of them, batch-client.ts), their fsyncs overlapping on
        // the thread pool. A large file (streamed) ends its group, so at most MANY_WORKERS
        // stream at once.
        const group: { index: number; input: ReturnType<typeof readSmallInput> }[] = [];
        let bytes = 0;
        while (next < files.length && group.length < GROUP_FILES && bytes < GROUP_BYTES) {
          const index = next++;
          try {
            const input = prepare(files[index]!, outputs[index]!);
            group.push({ index, input });
            if (!('bytes' in input)) break;
            bytes += input.bytes.length;
          } catch (err) {
            report(index, undefined, err);
          }
        }
        await Promise.all(group.map(({ index, input }) => one(files[index]!, outputs[index]!, input).then((r) => report(index, r, undefined), (err: unknown) => report(index, undefined, err))));
      }
    };
    await Promise.all(Array.from({ length: Math.min(MANY_WORKERS, files.length) }, worker));
    progress.end();
    let exit: number = exitCodes.find((code) => code !== undefined) ?? EXIT.OK;
    // Small files were renamed into place without syncing the directory each time: one fsync
    // of it now makes every rename durable before the command reports success (docs/cli.md).
    if (done > failed) {
      try {
        await nodeAtomicWriteFs.syncDir(dir);
      } catch (err) {
        const { line, code } = describeError(fileError(err, dir, 'sync'));
        process.stderr.write(`sealbox: ${displayText(line)}; the files written may not survive a power cut\n`);
        if (exit === EXIT.OK) exit = code;
      }
    }
    if (interrupted) exit = 130;
    else if (failed > 0 && files.length > 1 && !globals.json) process.stderr.write(`sealbox ${direction}: ${failed} of ${files.length} files failed\n`);
    process.exitCode = exit;
  } finally {
    dropHandlers();
    local.close();
  }
}

/** One input (or stdin) as before, or several with --output-dir. */
function dispatch(files: string[], opts: CryptOptions, globals: GlobalOptions, direction: Direction): Promise<void> {
  if (opts.outputDir !== undefined) return runMany(files, opts, globals, direction);
  if (files.length > 1) {
    const example = direction === 'encrypt' ? `each X becomes DIR/X${SEALED_SUFFIX}` : `each X${SEALED_SUFFIX} becomes DIR/X`;
    throw new UsageError(`several inputs need --output-dir DIR (${example})`);
  }
  if (opts.force) throw new UsageError('--force applies to --output-dir; -o always replaces its file');
  return run(files[0], opts, globals, direction);
}

/** `sealbox encrypt` and `sealbox decrypt`. */
export function registerCrypt(program: Command, globals: () => GlobalOptions): void {
  program
    .command('encrypt')
    .description('Encrypt a file or stdin (default key: the local KMS key alias/sealbox-default)')
    .argument('[files...]', 'input file (default: stdin); several with --output-dir')
    .option('-o, --output <file>', 'output file (default: stdout); written only if encryption succeeds')
    .option('-d, --output-dir <dir>', `write each input X to DIR/X${SEALED_SUFFIX} (several inputs, one key set-up)`)
    .option('-f, --force', 'with --output-dir: replace existing output files (default: refuse them)')
    .option('-k, --key <key>', 'local key id/alias/ARN, kms:<AWS key ARN>, kms-rsa:<public key file or ARN>, file:<raw key file>, rsa:<RSA key file> or pq:<X-Wing public key or key file>; repeat for several', collect)
    .option('-c, --context <k=v>', 'encryption context pair (repeatable)', collect)
    .option('--endpoint-url <url>', 'AWS KMS endpoint for kms: keys')
    .option('--frame-length <bytes>', 'plaintext bytes per frame, 1-4194304 (default 65536)')
    .option('-a, --armor', 'write the message as text (base64 between BEGIN/END SEALBOX MESSAGE lines)')
    .option('--threads <n>', 'file to file: threads that seal or open frames, 1-64 (default 1; see docs/streaming.md)')
    .option('--sign', 'sign the message (suite 2, ECDSA P-384): recipients who can decrypt it cannot forge it')
    .addHelpText('after', `
Examples:
  echo hello | sealbox encrypt > hello.sbx
  sealbox encrypt report.pdf -o report.pdf.sbx --context purpose=backup
  sealbox encrypt data.csv -o data.sbx --key alias/app --key file:escrow.key
  sealbox encrypt notes.txt -o notes.sbx --key rsa:alice.pub.pem --key rsa:bob.pub.pem
  sealbox encrypt notes.txt -o notes.sbx --key pq:carol.pub --key alias/app
  sealbox encrypt release.tar -o release.tar.sbx --sign --key rsa:alice.pub.pem --key rsa:bob.pub.pem
  echo "the code is 1234" | sealbox encrypt --armor --key kms-rsa:inbox.pub.pem
  sealbox encrypt in.bin -o out.sbx --key kms:arn:aws:kms:us-east-1:111122223333:key/1234abcd-...
  sealbox encrypt logs/*.txt --output-dir sealed --key file:team.key

With --output-dir, a file that fails is reported and the others are still encrypted; the exit
code is the first failing file's. Existing outputs are refused unless --force.`)
    .action((files: string[], opts: CryptOptions) => dispatch(files, opts, globals(), 'encrypt'));

  program
    .command('decrypt')
    .description('Decrypt a file or stdin; with -o, nothing is written unless the whole message verifies')
    .argument('[files...]', 'input file (default: stdin); several with --output-dir')
    .option('-o, --output <file>', 'output file (default: stdout)')
    .option('-d, --output-dir <dir>', `write each input X${SEALED_SUFFIX} to DIR/X (several inputs, one key set-up)`)
    .option('-f, --force', 'with --output-dir: replace existing output files (default: refuse them)')
    .option('-k, --key <key>', 'key to try (as for encrypt; default: any key of the local KMS)', collect)
    .option('-r, --require-context <k=v>', 'fail unless the message has this context pair (repeatable)', collect)
    .option('--threads <n>', 'file to file: threads that open frames, 1-64 (default 1; see docs/streaming.md)')
    .option('--require-signed', 'fail unless the message is signed (encrypt --sign), before any key is used')
    .option('--endpoint-url <url>', 'AWS KMS endpoint for kms: keys')
    .addHelpText('after', `
Examples:
  sealbox decrypt hello.sbx
  sealbox decrypt report.pdf.sbx -o report.pdf --require-context purpose=backup
  sealbox decrypt data.sbx -o data.csv --key file:escrow.key
  sealbox decrypt notes.sbx --key rsa:alice.pem
  sealbox decrypt notes.sbx --key pq:carol.key
  sealbox decrypt release.tar.sbx -o release.tar --require-signed --key rsa:bob.pem
  sealbox decrypt sealed/*.sbx --output-dir plain --key file:team.key

Exit codes: 0 ok, 1 usage, 2 not authentic / context mismatch, 3 key service or no matching key.
Plaintext written to stdout before a failure belongs to an incomplete message; use -o to get all or nothing.`)
    .action((files: string[], opts: CryptOptions) => dispatch(files, opts, globals(), 'decrypt'));
}
