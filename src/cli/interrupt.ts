import { readdirSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { temporaryFilesSettled } from '../node/atomic-write.js';

/** Exit status of a process ended by a signal, as shells report it (128 + signal number). */
const SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/**
 * While `-o FILE` is being written, Ctrl-C (or SIGTERM/SIGHUP) must not leave the partial
 * temporary file behind: "a failed run leaves nothing" includes an interrupted one. The
 * temporary files (`.<name>.<12 hex>.sealbox-tmp`, written by io.ts and node/files.ts) that did
 * not exist when the command started are removed, then the process exits with 128 + signal.
 * A temporary file still being opened (on libuv's thread pool) is waited for first: otherwise
 * it could appear after the handler looked, and stay. Returns a function that removes the
 * handlers once the output is in place. `exit` and `events` (where the signals come from): for tests.
 */
export function cleanUpOnSignal(
  output: string,
  { exit = (status: number) => process.exit(status), events = process }: { exit?: (status: number) => void; events?: Pick<NodeJS.EventEmitter, 'once' | 'off'> } = {},
): () => void {
  const dir = dirname(output);
  const prefix = `.${basename(output)}.`;
  const ours = /^[0-9a-f]{12}\.sealbox-tmp$/;
  const list = (): string[] => {
    try {
      return readdirSync(dir).filter((n) => n.startsWith(prefix) && ours.test(n.slice(prefix.length)));
    } catch {
      return [];
    }
  };
  // Another process's temporary file for the same output is not ours to remove.
  const before = new Set(list());
  const handlers = Object.entries(SIGNALS).map(([signal, status]) => {
    const handler = (): void => {
      void temporaryFilesSettled().then(() => {
        for (const name of list()) {
          if (before.has(name)) continue;
          try {
            unlinkSync(join(dir, name));
          } catch {
            // Already renamed or removed: nothing left to clean.
          }
        }
        exit(status);
      });
    };
    events.once(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) events.off(signal, handler);
  };
}
