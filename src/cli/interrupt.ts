import { removeTemporaryFiles } from '../node/atomic-write.js';

/** Exit status of a process ended by a signal, as shells report it (128 + signal number). */
const SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/**
 * While a command writes files through temporary files (`-o FILE`, `--output-dir`, `rewrap`),
 * Ctrl-C, SIGTERM or SIGHUP must not leave a partial temporary file behind (for decrypt, one
 * holding unverified plaintext): "a failed run leaves nothing" includes an interrupted one. On
 * a signal, the temporary files this process created and has not yet renamed
 * (`.<name>.<12 hex>.sealbox-tmp`, tracked by src/node/atomic-write.ts; never another
 * process's) are removed, then the process exits with 128 + the signal number. A temporary
 * file still being opened (on libuv's thread pool) is waited for first: otherwise it could
 * appear after the handler looked, and stay.
 *
 * `firstInterrupt`: commands over many files (`--output-dir`, `rewrap`) let the files in
 * progress finish on the first Ctrl-C; it is called then instead, and only a second Ctrl-C
 * removes and exits. SIGTERM and SIGHUP always do at once. Returns a function that removes the
 * handlers once the command is done. `exit` and `events` (where the signals come from): for tests.
 */
export function cleanUpOnSignal(
  {
    firstInterrupt,
    exit = (status: number) => process.exit(status),
    events = process,
  }: { firstInterrupt?: () => void; exit?: (status: number) => void; events?: Pick<NodeJS.EventEmitter, 'on' | 'off'> } = {},
): () => void {
  let interrupts = 0;
  let leaving = false;
  const handlers = Object.entries(SIGNALS).map(([signal, status]) => {
    const handler = (): void => {
      if (signal === 'SIGINT' && firstInterrupt && ++interrupts === 1) {
        firstInterrupt();
        return;
      }
      // Listening still (not `once`): a further signal while the files are being removed must
      // not fall back to the default action, which would end the process before they are gone.
      if (leaving) return;
      leaving = true;
      void removeTemporaryFiles().then(() => exit(status));
    };
    events.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) events.off(signal, handler);
  };
}
