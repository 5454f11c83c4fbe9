import { LocalKms, defaultDataDir } from '../local-kms/index.js';
import { LocalKmsError } from '../local-kms/errors.js';
import { DATABASE_FILE } from '../local-kms/store.js';
import { KmsKeyring } from '../keyring/kms.js';
import type { Keyring } from '../keyring/keyring.js';
import type { KmsClientLike } from '../keyring/kms-client-supplier.js';
import { SealboxError } from '../errors.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ALIAS, LOCAL_ACCOUNT, NoKeyStoreError } from './local-names.js';
import type { GlobalOptions } from './local-names.js';

export { DEFAULT_ALIAS, LOCAL_ACCOUNT, NoKeyStoreError };
export type { GlobalOptions };

/** Stores this process created: they have no default key yet. */
const newStores = new WeakSet<LocalKms>();

/**
 * Opens the local KMS of `--home` / SEALBOX_HOME / the platform data dir. With `existing`
 * (decrypt and the commands that only read), a missing key store is an error that says where
 * the CLI looked, instead of a new, empty store that cannot hold the key anyway.
 */
export function openLocalKms(options: GlobalOptions, existing = false): LocalKms {
  const dataDir = options.home ?? defaultDataDir();
  const present = existsSync(join(dataDir, DATABASE_FILE));
  if (existing && !present) {
    throw new NoKeyStoreError(`there is no local key store in ${dataDir} (nothing was encrypted with the local KMS here); give --home or SEALBOX_HOME if it is elsewhere`);
  }
  const kms = LocalKms.open({ dataDir, accountId: LOCAL_ACCOUNT });
  if (!present) newStores.add(kms);
  // A command that writes only audit rows ends without a checkpoint (crypt.ts, lazyLocal) while
  // the write-ahead log is short; past 256 KiB it closes, which checkpoints the log and deletes
  // it (LocalKms.onlyAuditRowsWritten): each new process reads the whole log when it opens the
  // database.
  return kms;
}

/**
 * Makes sure the default key exists, creating it (and, through LocalKms.open, the data
 * directory and root key) on first use, and saying so on stderr once. Returns its key ARN.
 */
export async function ensureDefaultKey(kms: LocalKms): Promise<string> {
  try {
    return (await kms.describeKey({ KeyId: DEFAULT_ALIAS })).KeyMetadata!.Arn!;
  } catch (err) {
    if (!(err instanceof LocalKmsError && err.name === 'NotFoundException')) throw err;
  }
  const fresh = ((await kms.listKeys({ Limit: 1 })).Keys ?? []).length === 0;
  const { KeyMetadata } = await kms.createKey({ Description: 'Sealbox CLI default key' });
  try {
    await kms.createAlias({ AliasName: DEFAULT_ALIAS, TargetKeyId: KeyMetadata!.KeyId! });
  } catch (err) {
    // Another process created it a moment ago: use theirs, retire ours.
    if (err instanceof LocalKmsError && err.name === 'AlreadyExistsException') {
      await kms.scheduleKeyDeletion({ KeyId: KeyMetadata!.KeyId!, PendingWindowInDays: 7 });
      return (await kms.describeKey({ KeyId: DEFAULT_ALIAS })).KeyMetadata!.Arn!;
    }
    throw err;
  }
  process.stderr.write(
    fresh
      ? `sealbox: created the local key store in ${kms.dataDir} with default key ${DEFAULT_ALIAS}\n`
      : `sealbox: created the default key ${DEFAULT_ALIAS} in the local key store at ${kms.dataDir}\n`,
  );
  return KeyMetadata!.Arn!;
}

/** Whether a keyring's failure is the local KMS saying that the key asked for does not exist. */
function notFound(err: unknown): boolean {
  const cause = err instanceof SealboxError ? err.cause : err;
  return cause instanceof LocalKmsError && cause.name === 'NotFoundException';
}

/**
 * The keyring of `encrypt` without --key: the default key, named by its alias ARN in the
 * GenerateDataKey call itself, so a message costs one KMS operation (one audit row) and no
 * DescribeKey first. The EDK names the key ARN the local KMS answers with (an alias ARN admits
 * only keys of its own account and region, kms-call.ts). When the alias does not exist yet,
 * the key is made (ensureDefaultKey, once for all the command's messages) and the call is made
 * again with its ARN; in a store this command has just created, it is made first, so a new
 * store's log does not start with a failed GenerateDataKey. `client` is the local KMS or a
 * batching client of it (batch-client.ts).
 */
export function defaultKeyring(kms: LocalKms, client: KmsClientLike): Keyring {
  const byAlias = new KmsKeyring({ generatorKeyId: `arn:aws:kms:${kms.region}:${kms.accountId}:${DEFAULT_ALIAS}`, client });
  const fresh = newStores.has(kms);
  let created: Promise<Keyring> | undefined;
  return {
    async wrapKey(request) {
      if (created === undefined && !fresh) {
        try {
          return await byAlias.wrapKey(request);
        } catch (err) {
          if (!notFound(err)) throw err;
        }
      }
      created ??= ensureDefaultKey(kms).then((arn) => new KmsKeyring({ generatorKeyId: arn, client }));
      return (await created).wrapKey(request);
    },
    unwrapKey: () => Promise.reject(new SealboxError('ERR_KEYRING', 'the default key keyring only encrypts')),
  };
}
