import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './build.js';
import { sealbox, tmp } from './run.js';
import { LocalKms } from '../../src/local-kms/index.js';

// `sealbox keys create --alias X` (docs/cli.md, "keys"): a bad or taken alias fails before the
// key is made, and a key made for an alias that then could not be created is not left silently.

const dir = tmp('keys-create');
beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keyIds = (home: string): string[] => (JSON.parse(sealbox(home, ['--json', 'keys', 'list']).stdout.toString()) as { KeyId: string }[]).map((k) => k.KeyId);

describe('keys create --alias', () => {
  it('a malformed or reserved alias is a usage error before anything is created, the key store included', () => {
    const home = join(dir, 'bad');
    for (const alias of ['bad name', 'app', 'alias/', `alias/${'x'.repeat(251)}`, 'alias/aws/mine']) {
      const r = sealbox(home, ['keys', 'create', '--alias', alias]);
      expect(r.code, alias).toBe(1);
      expect(r.stderr, alias).toMatch(/^sealbox: --alias.*\(ERR_USAGE\)\n$/);
      expect(existsSync(home), alias).toBe(false);
    }
  });

  it('an alias that exists is refused before the key is made: no key without an alias is left', () => {
    const home = join(dir, 'taken');
    const first = sealbox(home, ['keys', 'create', '--alias', 'alias/app']);
    expect(first.code, first.stderr).toBe(0);
    const before = keyIds(home);
    const again = sealbox(home, ['keys', 'create', '--alias', 'alias/app', '--description', 'second']);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/^sealbox: alias\/app already exists \(it names [0-9a-f-]{36}\); no key was created\..*\(AlreadyExistsException\)\n$/);
    expect(keyIds(home)).toEqual(before);
    // A reserved alias on an existing store: refused too, and no key made.
    expect(sealbox(home, ['keys', 'create', '--alias', 'alias/aws/x']).code).toBe(1);
    expect(keyIds(home)).toEqual(before);
  });

  it('CreateAlias failing after the key was made (another process took the name): the key is scheduled for deletion and named', async () => {
    const { createKey } = await import('../../src/cli/keys.js');
    const kms = LocalKms.open({ dataDir: join(dir, 'race'), rootKey: new Uint8Array(32).fill(3) });
    try {
      const other = (await kms.createKey({})).KeyMetadata!.KeyId!;
      // The alias is free when checked, and taken by "another process" just before CreateAlias.
      const racing = {
        createKey: kms.createKey.bind(kms),
        describeKey: kms.describeKey.bind(kms),
        scheduleKeyDeletion: kms.scheduleKeyDeletion.bind(kms),
        createAlias: async (input: { AliasName: string; TargetKeyId: string }) => {
          await kms.createAlias({ AliasName: input.AliasName, TargetKeyId: other });
          return kms.createAlias(input);
        },
      };
      const err = await createKey(racing as never, { alias: 'alias/raced' }).then(() => undefined, (e: unknown) => e as Error);
      expect(err?.name).toBe('AlreadyExistsException');
      const made = /the key created for it, ([0-9a-f-]{36}), was scheduled for deletion in 7 days \("sealbox keys cancel-deletion \1" keeps it\)$/.exec(err!.message);
      expect(made, err?.message).not.toBeNull();
      expect((await kms.describeKey({ KeyId: made![1]! })).KeyMetadata!.KeyState).toBe('PendingDeletion');
      expect((await kms.describeKey({ KeyId: other })).KeyMetadata!.KeyState).toBe('Enabled');

      // And if it cannot even be scheduled for deletion, the error says which key is left.
      const stuck = { ...racing, createAlias: () => Promise.reject(new Error('disk full')), scheduleKeyDeletion: () => Promise.reject(new Error('disk full')) };
      const left = await createKey(stuck as never, { alias: 'alias/stuck' }).then(() => undefined, (e: unknown) => e as Error);
      expect(left?.message).toMatch(/^disk full; the key created for it, ([0-9a-f-]{36}), has no alias and could not be scheduled for deletion: delete it with "sealbox keys schedule-deletion \1"$/);
    } finally {
      kms.close();
    }
  });
});
