/**
 * `sealbox keys ...` commands that name an existing key (enable, disable, rotate, rotation on|off,
 * schedule-deletion, cancel-deletion, tag, alias set|rm) on a machine without a key store say so
 * (ERR_NO_KEY_STORE, exit 3) and create nothing, as the read-only ones do (docs/cli.md). Before,
 * a typo such as `keys disable alias/x` created an empty store and then reported the alias missing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './build.js';
import { sealbox, tmp } from './run.js';

beforeAll(() => ensureBuilt(), 120_000);

describe('keys commands without a key store', () => {
  it.each([
    ['keys', 'enable', 'alias/x'],
    ['keys', 'disable', 'alias/x'],
    ['keys', 'rotate', 'alias/x'],
    ['keys', 'rotation', 'on', 'alias/x'],
    ['keys', 'rotation', 'off', 'alias/x'],
    ['keys', 'schedule-deletion', 'alias/x'],
    ['keys', 'cancel-deletion', 'alias/x'],
    ['keys', 'tag', 'alias/x', 'a=b'],
    ['keys', 'alias', 'set', 'alias/a', 'alias/x'],
    ['keys', 'alias', 'rm', 'alias/a'],
  ])('%s %s %s: exit 3, ERR_NO_KEY_STORE, nothing created', (...args) => {
    const home = join(tmp('keys-no-store'), 'home');
    const r = sealbox(home, args);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/there is no local key store/);
    expect(existsSync(home)).toBe(false);
  });
});
