/**
 * The Ctrl-C clean-up of `-o FILE` (src/cli/interrupt.ts) against the one moment the end-to-end
 * test (progress.test.ts) hits only under load: the signal arrives while the temporary file is
 * still being opened on libuv's thread pool, so the file appears after the handler has looked.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUpOnSignal } from '../../src/cli/interrupt.js';
import { nodeAtomicWriteFs, writeFileAtomically } from '../../src/node/atomic-write.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A promise and the function that resolves it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('Ctrl-C while -o FILE is written', () => {
  it('a temporary file still being opened when the signal comes is removed too, then the process exits 130', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealbox-interrupt-'));
    dirs.push(dir);
    const output = join(dir, 'out.sbx');
    const signals = new EventEmitter();
    const exits: number[] = [];
    const exited = gate();
    cleanUpOnSignal(output, { events: signals, exit: (status) => (exits.push(status), exited.open()) });
    // An open that completes (and creates the file) only after the signal, as one in flight on
    // libuv's thread pool can; and a body that fails once told to.
    const slowOpen = gate();
    const created = gate();
    const bodyEnds = gate();
    const open = async (...args: Parameters<typeof nodeAtomicWriteFs.open>) => {
      await slowOpen.opened;
      const handle = await nodeAtomicWriteFs.open(...args);
      created.open();
      return handle;
    };
    const fs = { ...nodeAtomicWriteFs, open };
    const writing = writeFileAtomically(output, async () => {
      await bodyEnds.opened;
      throw new Error('stopped');
    }, fs);
    signals.emit('SIGINT');
    slowOpen.open();
    await exited.opened;
    await created.opened;
    expect(exits).toEqual([130]);
    // What a real exit would leave: the body has not failed yet, so nothing else removed it.
    expect(readdirSync(dir)).toEqual([]);
    bodyEnds.open();
    await expect(writing).rejects.toThrow('stopped');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('temporary files that existed before the command are not removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealbox-interrupt-'));
    dirs.push(dir);
    const output = join(dir, 'out.sbx');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, '.out.sbx.0123456789ab.sealbox-tmp'), 'another process');
    const signals = new EventEmitter();
    const exited = gate();
    const exits: number[] = [];
    cleanUpOnSignal(output, { events: signals, exit: (status) => (exits.push(status), exited.open()) });
    writeFileSync(join(dir, '.out.sbx.ba9876543210.sealbox-tmp'), 'ours');
    signals.emit('SIGTERM');
    await exited.opened;
    expect(exits).toEqual([143]);
    expect(readdirSync(dir)).toEqual(['.out.sbx.0123456789ab.sealbox-tmp']);
  });
});
