import { createHash } from 'node:crypto';
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import vm from 'node:vm';

/**
 * Runs the CommonJS file `file` as `require(file)` would, keeping V8's compiled code of it on
 * disk between runs: Node 22.1+ does this itself (`module.enableCompileCache`, which bin.ts
 * turns on); on Node 20 this is the stand-in, for the one large file the CLI is
 * (dist/cli/main.cjs). Compiling it is about a fifth of a small command's time without a cache.
 *
 * The cache lives in a directory of the user's own, `<os tmpdir>/sealbox-compile-cache-<uid>`,
 * created with mode 0700; it is used only if it is a directory owned by this user that no one
 * else can write, and each entry is a file that only this user can write: V8 checks that a
 * cache entry matches the source it is given, but trusting an entry another user could have
 * written would run their code. An entry is named by a hash of Node's version, the platform,
 * the file's path and its contents, so a new build or a new Node never reads a stale one. The
 * path is in it because Node 20's V8 keeps the file name of the run that compiled an entry:
 * another install of the same build (another project, a global one) read the entry and its
 * stack traces named the first install's main.cjs, and so did everything that locates files
 * from them (`bindings`, better-sqlite3's search for its addon, looked in the other install). Any failure
 * (no such directory possible, a read-only disk, an entry V8 rejects) falls back to compiling
 * as usual: the cache only ever saves time. NODE_DISABLE_COMPILE_CACHE=1 turns it off, as it
 * does Node's own.
 *
 * The entry is written when the process exits (after the command ran, so it holds the
 * functions this command compiled too), to a temporary file renamed into place. V8 compiles a
 * function when it first runs, and an entry holds only the functions the run that wrote it
 * ran: with one entry for all commands, whichever command ran first after an install decided
 * what every other command found compiled, and a local KMS encrypt after a raw-key one
 * compiled the local KMS, SQLite's JavaScript and the KMS keyring on every start (4-5 ms here,
 * docs/cli.md). So each kind of command line (`profile`, {@link startupProfile}) has an entry
 * of its own.
 *
 * Entries of other builds would pile up (one set per Sealbox or Node version and install, some
 * 400 KiB each): whenever an entry is written, the directory's entries of other builds, and temporary
 * files left by a writer that died, are deleted once a day has passed since they were written.
 * A build still in use beside this one (two projects' installs) loses its entries at most once
 * a day, and writes them again at its next start.
 */
export function requireWithCompileCache(file: string, env: NodeJS.ProcessEnv = process.env, profile = 'any'): unknown {
  // A #! line is a comment only at the very start of a script, not inside the module wrapper.
  const source = readFileSync(file, 'utf8').replace(/^#!.*/, '');
  const dir = env.NODE_DISABLE_COMPILE_CACHE ? undefined : privateCacheDir(env);
  const key = createHash('sha256').update(`${process.version}\0${process.platform}\0${process.arch}\0${file}\0`).update(source).digest('hex').slice(0, 32);
  const entry = dir && join(dir, `${key}-${profile}.v8`);
  const cachedData = entry ? readOwnFile(entry) : undefined;
  // The file must not use import(): a vm.Script has no ES module loader on Node 20 (the CLI's
  // build turns import() into require(), tsup.config.ts).
  const script = new vm.Script(Module.wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
  if (entry && (!cachedData || script.cachedDataRejected)) {
    process.once('exit', () => {
      if (writeEntry(entry, script)) pruneStale(dir, key);
    });
  }
  const mod = new Module(file) as Module & { filename: string; paths: string[]; loaded: boolean };
  mod.filename = file;
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(file));
  const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
  run.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
  mod.loaded = true;
  return mod.exports;
}

/** The key sources that pick a code path of their own (keyrings.ts); any other --key is a local KMS key. */
const KEY_KINDS = new Set(['file', 'raw', 'rsa', 'pq', 'kms', 'kms-rsa']);

/**
 * What a command line runs, as far as compiled code goes: its command and the kinds of its
 * --key options (`encrypt-default` for the local KMS default key, `encrypt-file`,
 * `decrypt-file+kms`, `keys-default`, `none-default` for help), in letters, digits, `+` and `-`
 * only, since it names a file. A rough guess is harmless: it only decides which cache entry a
 * command reads and writes.
 */
export function startupProfile(args: readonly string[]): string {
  let command: string | undefined;
  const kinds = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    let key: string | undefined;
    if (arg === '-k' || arg === '--key') key = args[++i];
    else if (arg.startsWith('--key=')) key = arg.slice('--key='.length);
    else if (/^-k[^-]/.test(arg)) key = arg.slice(2);
    else if (arg === '--home') i++;
    else if (!arg.startsWith('-')) command ??= arg;
    if (key === undefined) continue;
    const kind = /^([a-z-]+):/.exec(key)?.[1];
    kinds.add(kind !== undefined && KEY_KINDS.has(kind) ? kind : 'local');
  }
  const name = command === undefined ? 'none' : /^[a-z][a-z0-9-]{0,19}$/.test(command) ? command : 'other';
  return `${name}-${[...kinds].sort().join('+') || 'default'}`;
}

/** The cache directory when it is safe to use (ours, not writable by others); undefined otherwise. */
function privateCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined; // Windows: no owner check possible; no cache.
  const dir = join(env.SEALBOX_COMPILE_CACHE_DIR ?? tmpdir(), `sealbox-compile-cache-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
  }
  try {
    // Not through a symbolic link: someone else can plant /tmp/sealbox-compile-cache-<uid> as a
    // link to a directory of this user's (it then passes every check below), and the cache would
    // write, and prune, in a directory of their choosing.
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (!st?.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

/** An entry's bytes when the file is ours and not writable by others; undefined otherwise. */
function readOwnFile(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.getuid?.() || (st.mode & 0o022) !== 0) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** How long an entry of another build, or a temporary file, is kept after it was written. */
const STALE_MS = 24 * 60 * 60 * 1000;
/** An entry's name: the build's key, the profile (none before profiles), the temporary suffix. */
const ENTRY_NAME = /^([0-9a-f]{32})(?:-[a-z0-9+-]{1,80})?\.v8(\.\d+\.tmp)?$/;

/**
 * Deletes, from the cache directory, files named as entries that are not of the build `key` (or
 * are temporary files) and were written more than {@link STALE_MS} ago. Anything else in the
 * directory, and anything that cannot be deleted, is left alone.
 */
function pruneStale(dir: string, key: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const writtenBefore = Date.now() - STALE_MS;
  for (const name of names) {
    const parts = ENTRY_NAME.exec(name);
    if (!parts || (parts[1] === key && parts[2] === undefined)) continue;
    const path = join(dir, name);
    try {
      const st = lstatSync(path);
      if (st.isFile() && st.mtimeMs < writtenBefore) unlinkSync(path);
    } catch {
      // Gone already, or not ours to delete.
    }
  }
}

/** Writes the entry through a temporary file; true when it is in place. */
function writeEntry(entry: string, script: vm.Script): boolean {
  const tmp = `${entry}.${process.pid}.tmp`;
  try {
    const data = script.createCachedData();
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, entry);
    return true;
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // Never created.
    }
    return false;
  }
}
