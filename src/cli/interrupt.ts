import { readdirSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Exit status of a process ended by a signal, as shells report it (128 + signal number). */
const SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/**
 * While `-o FILE` is being written, Ctrl-C (or SIGTERM/SIGHUP) must not leave the partial
 * temporary file behind: "a failed run leaves nothing" includes an interrupted one. The
 * temporary files (`.<name>.<12 hex>.sealbox-tmp`, written by io.ts and node/files.ts) that did
 * not exist when the command started are removed, then the process exits with 128 + signal.
 * Returns a function that removes the handlers once the output is in place.
 */
export function cleanUpOnSignal(output: string): () => void {
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
      for (const name of list()) {
        if (before.has(name)) continue;
        try {
          unlinkSync(join(dir, name));
        } catch {
          // Already renamed or removed: nothing left to clean.
        }
      }
      process.exit(status);
    };
    process.once(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
