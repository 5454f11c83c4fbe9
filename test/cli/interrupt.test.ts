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
    cleanUpOnSignal({ events: signals, exit: (status) => (exits.push(status), exited.open()) });
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

  it('only temporary files this process made are removed: another process\'s for the same output stay, made before or during the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealbox-interrupt-'));
    dirs.push(dir);
    const output = join(dir, 'out.sbx');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, '.out.sbx.0123456789ab.sealbox-tmp'), 'another process, before');
    const signals = new EventEmitter();
    const exited = gate();
    const exits: number[] = [];
    cleanUpOnSignal({ events: signals, exit: (status) => (exits.push(status), exited.open()) });
    writeFileSync(join(dir, '.out.sbx.0123456789ac.sealbox-tmp'), 'another process, during');
    const bodyEnds = gate();
    const started = gate();
    const writing = writeFileAtomically(output, async () => {
      started.open();
      await bodyEnds.opened;
      throw new Error('stopped');
    });
    await started.opened;
    expect(readdirSync(dir)).toHaveLength(3);
    signals.emit('SIGTERM');
    await exited.opened;
    expect(exits).toEqual([143]);
    expect(readdirSync(dir).sort()).toEqual(['.out.sbx.0123456789ab.sealbox-tmp', '.out.sbx.0123456789ac.sealbox-tmp']);
    bodyEnds.open();
    await expect(writing).rejects.toThrow('stopped');
  });

  it('with firstInterrupt: the first Ctrl-C only calls it; a second one removes and exits 130, as SIGHUP does at once (129)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealbox-interrupt-'));
    dirs.push(dir);
    const signals = new EventEmitter();
    const exits: number[] = [];
    let first = 0;
    const exited = gate();
    cleanUpOnSignal({ events: signals, firstInterrupt: () => first++, exit: (status) => (exits.push(status), exited.open()) });
    const bodyEnds = gate();
    const started = gate();
    const writing = writeFileAtomically(join(dir, 'a'), async () => {
      started.open();
      await bodyEnds.opened;
    });
    await started.opened;
    signals.emit('SIGINT');
    expect(first).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(exits).toEqual([]);
    expect(readdirSync(dir)).toHaveLength(1);
    signals.emit('SIGINT');
    signals.emit('SIGINT');
    await exited.opened;
    expect(first).toBe(1);
    expect(exits).toEqual([130]);
    expect(readdirSync(dir)).toEqual([]);
    bodyEnds.open();
    await expect(writing).rejects.toThrow();

    const hup = new EventEmitter();
    const hupExits: number[] = [];
    const hupExited = gate();
    cleanUpOnSignal({ events: hup, firstInterrupt: () => first++, exit: (status) => (hupExits.push(status), hupExited.open()) });
    hup.emit('SIGHUP');
    await hupExited.opened;
    expect(hupExits).toEqual([129]);
    expect(first).toBe(1);
  });
});
