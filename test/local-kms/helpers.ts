import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalKms } from '../../src/local-kms/index.js';
import type { LocalKmsOptions } from '../../src/local-kms/index.js';
import type { Caller } from '../../src/local-kms/operation.js';

/** A clock tests can move. */
export class TestClock {
  time = Date.UTC(2026, 0, 1);
  now = (): Date => new Date(this.time);
  advanceDays(days: number): void {
    this.time += days * 24 * 60 * 60 * 1000;
  }
}

export const ROOT_KEY = new Uint8Array(32).fill(9);

/** A fresh local KMS in a temporary directory, with a movable clock. */
export function freshKms(options: LocalKmsOptions = {}): { kms: LocalKms; clock: TestClock; dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-kms-'));
  const clock = new TestClock();
  const kms = LocalKms.open({ dataDir: dir, rootKey: ROOT_KEY, clock: clock.now, ...options });
  return { kms, clock, dir, cleanup: () => { kms.close(); rmSync(dir, { recursive: true, force: true }); } };
}

/** The AWS exception name a promise rejects with. */
export async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).name;
  }
  return 'no error';
}

/** The AWS exception name of an operation run on `kms` as `caller`, or 'ok' when it succeeds. */
export async function outcomeAs(kms: LocalKms, caller: Caller, operation: string, input: Record<string, unknown>): Promise<string> {
  return errorName(kms.execute(operation, input, caller)).then((name) => (name === 'no error' ? 'ok' : name));
}
