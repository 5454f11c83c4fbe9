import type { Command } from 'commander';
import { encryptFile, decryptFile } from '../node/files.js';
import { createDecryptStream, createEncryptStream } from '../node/streams.js';
import { KmsKeyring } from '../keyring/kms.js';
import type { Keyring } from '../keyring/keyring.js';
import type { LocalKms } from '../local-kms/index.js';
import { LOCAL_ACCOUNT, NoKeyStoreError } from './local-names.js';
import type { GlobalOptions } from './local-names.js';
import { keyringsFromOptions, localDiscoveryKeyring, parsePairs } from './keyrings.js';
import { positiveInteger } from './args.js';
import { cleanUpOnSignal } from './interrupt.js';
import { DEFAULT_MAX_FRAME_LENGTH } from '../limits.js';
import { progressFor, runPipeline, wantsProgress } from './io.js';
import { inputError, openInput, readsTerminal, terminalArmor } from './input.js';
import { checkOutputPath } from './output-path.js';
import { rememberingEdks } from './edk-names.js';
import { SealboxError } from '../errors.js';
import { SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } from '../crypto/suites.js';
import { UsageError } from './exit.js';
import { closeSync, openSync, readSync } from 'node:fs';

interface CryptOptions {
  key?: string[];
  context?: string[];
  requireContext?: string[];
  output?: string;
  endpointUrl?: string;
  frameLength?: string;
  armor?: boolean;
  sign?: boolean;
  requireSigned?: boolean;
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
    close: () => kms?.close(),
  };
}

async function run(file: string | undefined, opts: CryptOptions, globals: GlobalOptions, direction: 'encrypt' | 'decrypt'): Promise<void> {
  if (direction === 'encrypt' && !opts.armor && (opts.output === undefined || opts.output === '-') && process.stdout.isTTY) {
    // Binary ciphertext on a terminal is unreadable and can garble it (as age refuses, too).
    throw new UsageError('refusing to write binary ciphertext to a terminal: use -o FILE, redirect stdout, or --armor');
  }
  // Usage errors before any side effect: a typo must not create the key store. Frames stay
  // within what decrypt accepts by default, so the CLI never writes a message it refuses to read.
  const context = direction === 'encrypt' ? parsePairs(opts.context, '--context') : undefined;
  const expected = direction === 'decrypt' ? parsePairs(opts.requireContext, '--require-context') : undefined;
  const frameLength = opts.frameLength === undefined ? undefined : positiveInteger(opts.frameLength, '--frame-length', DEFAULT_MAX_FRAME_LENGTH);
  const keySpecs = opts.key ?? [];
  if (opts.endpointUrl !== undefined && !keySpecs.some((k) => k.startsWith('kms:') || k.startsWith('kms-rsa:'))) {
    throw new UsageError('--endpoint-url applies to kms: and kms-rsa: keys only; the local KMS and key files need no endpoint');
  }
  checkOutputPath(opts.output);
  // Decrypt takes an armored message pasted at a terminal; encrypt has nothing to read there.
  const { stream, size, regularFile } = direction === 'decrypt' && readsTerminal(file) ? await terminalArmor() : openInput(file, 'refuse');
  // Decrypt never creates a key store: a new one could not hold the key.
  const local = lazyLocal(globals, direction === 'decrypt');
  let dropHandlers: (() => void) | undefined;
  let remembered: ReturnType<typeof rememberingEdks> | undefined;
  let noStore: NoKeyStoreError | undefined;
  try {
    let keyring: Keyring | undefined = await keyringsFromOptions(opts.key ?? [], opts, local.get, direction);
    if (!keyring && direction === 'encrypt') {
      const kms = await local.get();
      // One DescribeKey (one audit row) finds the key or makes it.
      const arn = await (await import('./local.js')).ensureDefaultKey(kms);
      keyring = new KmsKeyring({ generatorKeyId: arn, client: kms });
    } else if (!keyring) {
      try {
        keyring = localDiscoveryKeyring(await local.get());
      } catch (err) {
        // No key store: still read the header, to say which key the message needs (a raw or
        // RSA key file's, another KMS's); a message for this machine's local KMS says "no store".
        if (!(err instanceof NoKeyStoreError)) throw err;
        noStore = err;
        keyring = { wrapKey: () => Promise.reject(err), unwrapKey: () => Promise.resolve(null) };
      }
    }
    const toFile = opts.output !== undefined && opts.output !== '-';
    if (toFile) dropHandlers = cleanUpOnSignal(opts.output!);
    // File to file without a progress bar or armor: the fast path (positional reads, atomic rename).
    // Only a regular file can be read at positions (not a pipe such as /dev/stdin).
    const armored = direction === 'encrypt' ? Boolean(opts.armor) : regularFile && looksArmored(file!);
    const direct = regularFile && toFile && !armored && !wantsProgress(size);
    if (direct) stream.destroy();
    const progress = direct ? undefined : await progressFor(size);
    // Armor is loaded only when used.
    const armor = !direct && (opts.armor || direction === 'decrypt') ? await import('./armor.js') : undefined;
    if (direction === 'encrypt') {
      const options = {
        keyring,
        ...(context ? { encryptionContext: context } : {}),
        ...(frameLength !== undefined ? { frameLength } : {}),
        ...(opts.sign ? { suite: SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 } : {}),
      };
      if (direct) await encryptFile(file!, opts.output!, options);
      else await runPipeline(stream, [...(progress ? [progress] : []), createEncryptStream(options), ...(opts.armor ? [armor!.createArmorStream()] : [])], opts.output);
    } else {
      remembered = rememberingEdks(keyring);
      const options = {
        keyring: remembered.keyring,
        ...(expected ? { expectedEncryptionContext: expected } : {}),
        ...(opts.requireSigned ? { signaturePolicy: 'require-signed' as const } : {}),
      };
      if (direct) await decryptFile(file!, opts.output!, options);
      // Armor or binary: the dearmor stage passes binary input straight through.
      else await runPipeline(stream, [...(progress ? [progress] : []), armor!.createDearmorStream(), createDecryptStream(options)], opts.output);
    }
  } catch (err) {
    // No key even matched (a raw or RSA key file message, another store's key): say which
    // keys would, as inspect shows them.
    const needed = remembered?.needed();
    if (noStore && err instanceof SealboxError && err.code === 'ERR_NO_MATCHING_KEY' && remembered?.namesAccount(LOCAL_ACCOUNT)) throw noStore;
    if (err instanceof SealboxError && err.code === 'ERR_NO_MATCHING_KEY' && err.errors.length === 0 && needed) {
      throw new SealboxError('ERR_NO_MATCHING_KEY', `No key given can unwrap the data key: the message needs ${needed}`);
    }
    throw inputError(err, file);
  } finally {
    dropHandlers?.();
    local.close();
  }
}

/** `sealbox encrypt` and `sealbox decrypt`. */
export function registerCrypt(program: Command, globals: () => GlobalOptions): void {
  program
    .command('encrypt')
    .description('Encrypt a file or stdin (default key: the local KMS key alias/sealbox-default)')
    .argument('[file]', 'input file (default: stdin)')
    .option('-o, --output <file>', 'output file (default: stdout); written only if encryption succeeds')
    .option('-k, --key <key>', 'local key id/alias/ARN, kms:<AWS key ARN>, kms-rsa:<public key file or ARN>, file:<raw key file>, rsa:<RSA key file> or pq:<X-Wing public key or key file>; repeat for several', collect)
    .option('-c, --context <k=v>', 'encryption context pair (repeatable)', collect)
    .option('--endpoint-url <url>', 'AWS KMS endpoint for kms: keys')
    .option('--frame-length <bytes>', 'plaintext bytes per frame, 1-4194304 (default 65536)')
    .option('-a, --armor', 'write the message as text (base64 between BEGIN/END SEALBOX MESSAGE lines)')
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
  sealbox encrypt in.bin -o out.sbx --key kms:arn:aws:kms:us-east-1:111122223333:key/1234abcd-...`)
    .action((file: string | undefined, opts: CryptOptions) => run(file, opts, globals(), 'encrypt'));

  program
    .command('decrypt')
    .description('Decrypt a file or stdin; with -o, nothing is written unless the whole message verifies')
    .argument('[file]', 'input file (default: stdin)')
    .option('-o, --output <file>', 'output file (default: stdout)')
    .option('-k, --key <key>', 'key to try (as for encrypt; default: any key of the local KMS)', collect)
    .option('-r, --require-context <k=v>', 'fail unless the message has this context pair (repeatable)', collect)
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

Exit codes: 0 ok, 1 usage, 2 not authentic / context mismatch, 3 key service or no matching key.
Plaintext written to stdout before a failure belongs to an incomplete message; use -o to get all or nothing.`)
    .action((file: string | undefined, opts: CryptOptions) => run(file, opts, globals(), 'decrypt'));
}
