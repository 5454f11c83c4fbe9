import type { KmsClientLike } from '../keyring/kms-client-supplier.js';
import type { LocalKms } from '../local-kms/index.js';

interface Pending {
  operation: string;
  input: unknown;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/**
 * A client of the local KMS for `--output-dir`, where every file asks for its own data key: the
 * calls made during one turn of the event loop run in one SQLite transaction
 * (`LocalKms.executeBatch`) instead of one each. Each call is still its own operation: its own
 * fresh data key, its own checks and its own audit row; no key is shared or reused between
 * files. A call's result arrives once the transaction has committed.
 */
export function batchingLocalClient(kms: LocalKms): KmsClientLike {
  let pending: Pending[] = [];
  const flush = (): void => {
    const batch = pending;
    pending = [];
    kms.executeBatch(batch).then(
      (results) => results.forEach((r, i) => (r.status === 'fulfilled' ? batch[i]!.resolve(r.value) : batch[i]!.reject(r.reason))),
      (err: unknown) => batch.forEach((p) => p.reject(err)),
    );
  };
  return {
    send: (command) => kms.send(command as Parameters<LocalKms['send']>[0]),
    execute: (operation, input) =>
      new Promise((resolve, reject) => {
        // The first call of a turn schedules the flush after the turn's other calls.
        if (pending.length === 0) setImmediate(flush);
        pending.push({ operation, input, resolve, reject });
      }),
  };
}
