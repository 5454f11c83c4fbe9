import { closeSync, fchmodSync, openSync, rmSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SealboxError } from '../errors.js';
import type { Keyring } from '../keyring/keyring.js';
import { XWingKeyring, generateXWingKeyPair, xwingPublicKey } from '../keyring/xwing.js';
import { XWING_PUBLIC_PREFIX, XWING_SECRET_PREFIX, xwingKeyKind } from '../keyring/xwing-text.js';
import type { GlobalOptions } from './local.js';
import { UsageError, fileError } from './exit.js';
import { checkOutputPath } from './output-path.js';
import { readSmallFile } from './input.js';

// `sealbox keygen --pq` / `keygen -y` and `--key pq:...`: X-Wing (post-quantum hybrid) keys as
// text files, after age-keygen. docs/cli.md, "Post-quantum keys".

/** A usage error naming where the key came from, for key text that does not decode. */
function keyTextError(err: unknown, where: string): Error {
  if (err instanceof SealboxError || err instanceof TypeError || err instanceof RangeError) return new UsageError(`${where}: ${err.message}`);
  return err as Error;
}

function readText(path: string): string {
  const bytes = readSmallFile(path, 'key file', undefined, true);
  try {
    return bytes.toString('utf8');
  } finally {
    bytes.fill(0);
  }
}

/**
 * `pq:<public key text or key file>`: encrypt to an X-Wing public key (the `sealbox-xwing1...`
 * text itself, or a file holding it or a private key); decrypt with a private key file.
 */
export async function pqKeyring(spec: string, direction: 'encrypt' | 'decrypt'): Promise<Keyring> {
  // A private key as text is not a file name: refused without repeating it (the message would
  // otherwise quote it, "cannot read key file SEALBOX-XWING-SECRET-KEY-1...", into logs).
  if (spec.trim().toLowerCase().startsWith(`${XWING_SECRET_PREFIX}1`)) {
    throw new UsageError('pq: takes a private key only as a file (text on the command line is seen in the process list and shell history): put it in a file only you can read and give pq:FILE');
  }
  const inline = spec.trim().toLowerCase().startsWith(`${XWING_PUBLIC_PREFIX}1`);
  const where = inline ? 'pq: public key' : `key file ${spec}`;
  const text = inline ? spec : readText(spec);
  const kind = xwingKeyKind(text);
  if (!kind) throw new UsageError(`${where} holds no X-Wing key (sealbox-xwing1... or SEALBOX-XWING-SECRET-KEY-1...); make one with "sealbox keygen --pq -o FILE"`);
  if (direction === 'decrypt' && kind === 'public') throw new UsageError(`${where} holds a public key: decrypting needs the private key file`);
  try {
    return await new XWingKeyring(kind === 'public' ? { publicKey: text } : { privateKey: text }).ready();
  } catch (err) {
    throw keyTextError(err, where);
  }
}

/**
 * Writes a new file readable by its owner only; refuses to replace an existing one. A write
 * that fails part way (a full disk) removes the file it created: no partial key is left.
 */
function writeSecretFile(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${path} exists: sealbox keygen does not overwrite key files`);
    throw fileError(err, path, 'write');
  }
  try {
    fchmodSync(fd, 0o600); // whatever the umask
    writeFileSync(fd, text); // all of it (writeSync may write part)
    closeSync(fd);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed, or closing failed: the file is removed all the same
    }
    // Ours: created above with O_EXCL.
    rmSync(path, { force: true });
    throw fileError(err, path, 'write');
  }
}

/** `sealbox keygen`. */
export function registerKeygen(program: Command, globals: () => GlobalOptions): void {
  program
    .command('keygen')
    .description('Make a post-quantum (X-Wing: ML-KEM-768 + X25519) key pair, or print a private key\'s public key')
    .option('--pq', 'an X-Wing key pair (the only kind keygen makes)')
    .option('-o, --output <file>', 'write the private key to FILE (created 0600; never overwritten); default: stdout')
    .option('-y, --public <file>', 'print the public key of the private key in FILE ("-" for stdin), as age-keygen -y')
    .addHelpText('after', `
Examples:
  sealbox keygen --pq -o me.key            # prints the public key on stderr
  sealbox keygen -y me.key > me.pub        # the public key, to give to senders
  sealbox encrypt notes.txt -o notes.sbx --key pq:me.pub
  sealbox decrypt notes.sbx --key pq:me.key`)
    .action(async (opts: { pq?: boolean; output?: string; public?: string }) => {
      const json = globals().json === true;
      if (opts.public !== undefined) {
        if (opts.pq || opts.output) throw new UsageError('keygen -y takes only the private key file');
        const where = opts.public === '-' ? 'standard input' : `key file ${opts.public}`;
        const text = readText(opts.public);
        if (xwingKeyKind(text) !== 'private') throw new UsageError(`${where} holds no X-Wing private key (SEALBOX-XWING-SECRET-KEY-1...)`);
        let publicKey: string;
        try {
          publicKey = await xwingPublicKey(text);
        } catch (err) {
          throw keyTextError(err, where);
        }
        process.stdout.write(json ? JSON.stringify({ publicKey }) + '\n' : publicKey + '\n');
        return;
      }
      if (!opts.pq) throw new UsageError('keygen makes post-quantum X-Wing keys: add --pq (sealbox keygen --pq -o me.key)');
      // As every command with -o: a directory or a missing parent is refused first, naming the path.
      checkOutputPath(opts.output);
      const { publicKey, privateKey } = await generateXWingKeyPair();
      const file = `# created: ${new Date().toISOString()}\n# public key: ${publicKey}\n${privateKey}\n`;
      if (opts.output && opts.output !== '-') {
        writeSecretFile(opts.output, file);
        process.stderr.write(json ? '' : `Public key: ${publicKey}\n`);
        if (json) process.stdout.write(JSON.stringify({ publicKey, file: opts.output }) + '\n');
      } else if (json) {
        // --json to stdout: the two keys as JSON (as -o prints {publicKey, file}), not the key file's text.
        process.stdout.write(JSON.stringify({ publicKey, privateKey }) + '\n');
      } else {
        process.stdout.write(file);
      }
    });
}
