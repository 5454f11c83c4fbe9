import { beforeAll, expect, it } from 'vitest';
import { ensureBuilt } from './build.js';
import { sealbox, tmp } from './run.js';
import { LocalKms } from '../../src/local-kms/index.js';

beforeAll(() => ensureBuilt(), 120_000);

// ListAliases answers 100 aliases at most a page: the commands must read every page.
it('keys list, keys alias list and keys alias set see every alias, not the first 100', async () => {
  const home = tmp('keys-aliases');
  const kms = LocalKms.open({ dataDir: home, accountId: '111122223333' });
  let a: string;
  let b: string;
  let c: string;
  try {
    // 50 aliases a key at most (as AWS): three keys with 50 each, then one after them.
    for (const k of [0, 1, 2]) {
      const id = (await kms.createKey({})).KeyMetadata!.KeyId!;
      for (let i = 0; i < 50; i++) await kms.createAlias({ AliasName: `alias/a-${k}-${String(i).padStart(2, '0')}`, TargetKeyId: id });
    }
    a = (await kms.describeKey({ KeyId: 'alias/a-2-49' })).KeyMetadata!.KeyId!;
    b = (await kms.createKey({})).KeyMetadata!.KeyId!;
    await kms.createAlias({ AliasName: 'alias/z-b', TargetKeyId: b });
    c = (await kms.createKey({})).KeyMetadata!.KeyId!;
  } finally {
    kms.close();
  }
  const aliases = JSON.parse(sealbox(home, ['--json', 'keys', 'alias', 'list']).stdout.toString()) as { AliasName: string }[];
  expect(aliases.map((x) => x.AliasName)).toHaveLength(151);
  expect(aliases.map((x) => x.AliasName)).toContain('alias/z-b');
  const keys = JSON.parse(sealbox(home, ['--json', 'keys', 'list']).stdout.toString()) as { KeyId: string; Aliases: string[] }[];
  expect(keys.find((k) => k.KeyId === a)!.Aliases).toHaveLength(50);
  expect(keys.find((k) => k.KeyId === b)!.Aliases).toEqual(['alias/z-b']);
  // An alias past the first page exists: `set` moves it (UpdateAlias), it does not try to create it.
  const set = sealbox(home, ['keys', 'alias', 'set', 'alias/z-b', c]);
  expect(set.stderr).toBe('');
  expect(set.code).toBe(0);
  expect((JSON.parse(sealbox(home, ['--json', 'keys', 'describe', 'alias/z-b']).stdout.toString()) as { KeyId: string }).KeyId).toBe(c);
}, 60_000);
