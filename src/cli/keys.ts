import type { Command } from 'commander';
import type { AliasListEntry, KeyMetadata } from '@aws-sdk/client-kms';
import type { LocalKms } from '../local-kms/index.js';
import { DEFAULT_ALIAS, openLocalKms } from './local.js';
import { UsageError } from './exit.js';
import { displayText } from './display.js';
import type { GlobalOptions } from './local.js';
import { kmsPublicKeyPem, parsePairs } from './keyrings.js';
import { SUPPORTED_KEY_SPECS } from '../local-kms/key-specs.js';
import { ALIAS_NAME_PATTERN, MAX_ALIAS_NAME_LENGTH, RESERVED_ALIAS_PREFIX } from '../local-kms/ops-aliases.js';
import { LocalKmsError } from '../local-kms/errors.js';
import { integerOption, oneOf } from './args.js';
import { checkOutputPath } from './output-path.js';
import { writeFileAtomicallySync } from '../node/atomic-write.js';

/** The key usages the local KMS knows. */
const KEY_USAGES = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC'] as const;

/**
 * Runs `fn` against the local KMS and prints its result (JSON with --json, else `text`, which
 * escapes each value from the key store with {@link displayText} itself: a line end in a
 * description or tag value is shown as `\x0a`, so it cannot start a line of its own, such as
 * a forged row of `keys list`). Every
 * command but `keys create` needs an existing key store (`existing`): one that names a key or
 * only reads finds none in a new store, so it says there is none instead of creating it.
 */
function withKms<A extends unknown[]>(globals: () => GlobalOptions, fn: (kms: LocalKms, ...args: A) => Promise<unknown>, text: (result: never) => string, existing = true) {
  return async (...args: A): Promise<void> => {
    const g = globals();
    const kms = openLocalKms(g, existing);
    try {
      const result = await fn(kms, ...args);
      process.stdout.write(g.json ? JSON.stringify(result ?? {}, null, 2) + '\n' : text(result as never));
    } finally {
      kms.close();
    }
  };
}

/** A value from the key store as one line of a terminal (display.ts). */
const show = (value: unknown): string => displayText(String(value ?? ''));

function describeText(m: KeyMetadata): string {
  return [
    `key id:       ${show(m.KeyId)}`,
    `arn:          ${show(m.Arn)}`,
    `state:        ${show(m.KeyState)}`,
    `spec/usage:   ${show(m.KeySpec)} / ${show(m.KeyUsage)}`,
    `origin:       ${show(m.Origin)}`,
    `created:      ${m.CreationDate?.toISOString()}`,
    ...(m.DeletionDate ? [`deletion:     ${m.DeletionDate.toISOString()}`] : []),
    `description:  ${show(m.Description)}`,
  ].join('\n') + '\n';
}

/** Columns padded to their widest cell (the last one is not padded), under a header line; cells escaped. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows.map((r) => r.map(show))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** Every alias (of one key, with `keyId`), page after page: ListAliases gives at most 100 at a time. */
async function allAliases(kms: LocalKms, keyId?: string): Promise<AliasListEntry[]> {
  const out: AliasListEntry[] = [];
  let marker: string | undefined;
  do {
    const page = await kms.listAliases({ Limit: 100, ...(keyId ? { KeyId: keyId } : {}), ...(marker ? { Marker: marker } : {}) });
    out.push(...(page.Aliases ?? []));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return out;
}

/** True when the CLI's default alias points at this key. */
async function isDefaultKey(kms: LocalKms, keyId: string): Promise<boolean> {
  return (await allAliases(kms, keyId)).some((a) => a.AliasName === DEFAULT_ALIAS);
}

const ok = (what: string) => (): string => `${what}\n`;

/** Management operations take key ids or ARNs only (as in AWS); the CLI also accepts aliases. */
async function keyIdOf(kms: LocalKms, key: string): Promise<string> {
  if (!key.startsWith('alias/') && !/^arn:[^:]+:kms:[^:]*:[^:]*:alias\//.test(key)) return key;
  return (await kms.describeKey({ KeyId: key })).KeyMetadata!.KeyId!;
}

/**
 * `--alias` of `keys create`, checked as CreateAlias checks it (ops-aliases.ts) but before
 * anything is created (not the key, not the key store): a usage error.
 */
function aliasOption(value: string): string {
  if (value.length > MAX_ALIAS_NAME_LENGTH || !ALIAS_NAME_PATTERN.test(value)) {
    throw new UsageError(`--alias must be alias/ then letters, digits and : / _ - (at most ${MAX_ALIAS_NAME_LENGTH} characters), got "${value}"`);
  }
  if (value.startsWith(RESERVED_ALIAS_PREFIX)) throw new UsageError(`--alias: names beginning with ${RESERVED_ALIAS_PREFIX} are reserved for AWS managed keys, got "${value}"`);
  return value;
}

/** Days before a key made for an alias that could then not be created is deleted (the least KMS allows). */
const ORPHAN_DELETION_DAYS = 7;

/**
 * `keys create`: the key, and its alias if asked. An alias that exists is refused before the
 * key is made (AlreadyExistsException), so a failed command leaves no key behind. If CreateAlias
 * still fails (another process took the name in between), the new key is scheduled for deletion
 * and the error names it, with how to keep it.
 */
export async function createKey(kms: Pick<LocalKms, 'createKey' | 'createAlias' | 'describeKey' | 'scheduleKeyDeletion'>, opts: { description?: string; spec?: string; usage?: string; alias?: string }): Promise<KeyMetadata | undefined> {
  if (opts.alias) {
    const existing = await kms.describeKey({ KeyId: opts.alias }).then(
      (r) => r.KeyMetadata,
      (err: unknown) => {
        if ((err as Error).name === 'NotFoundException') return undefined;
        throw err;
      },
    );
    if (existing) throw new LocalKmsError('AlreadyExistsException', `${opts.alias} already exists (it names ${existing.KeyId}); no key was created. Choose another name, or point it at a new key later with "sealbox keys alias set"`);
  }
  const { KeyMetadata } = await kms.createKey({
    ...(opts.description ? { Description: opts.description } : {}),
    ...(opts.spec ? { KeySpec: opts.spec as never } : {}),
    ...(opts.usage ? { KeyUsage: opts.usage as never } : {}),
  });
  if (!opts.alias) return KeyMetadata;
  const keyId = KeyMetadata!.KeyId!;
  try {
    await kms.createAlias({ AliasName: opts.alias, TargetKeyId: keyId });
  } catch (err) {
    const name = err instanceof LocalKmsError ? err.name : 'KMSInternalException';
    const reason = err instanceof Error ? err.message : String(err);
    try {
      await kms.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: ORPHAN_DELETION_DAYS });
    } catch {
      throw new LocalKmsError(name, `${reason}; the key created for it, ${keyId}, has no alias and could not be scheduled for deletion: delete it with "sealbox keys schedule-deletion ${keyId}"`);
    }
    throw new LocalKmsError(name, `${reason}; the key created for it, ${keyId}, was scheduled for deletion in ${ORPHAN_DELETION_DAYS} days ("sealbox keys cancel-deletion ${keyId}" keeps it)`);
  }
  return KeyMetadata;
}

/** `sealbox keys ...`: manage local KMS keys. */
export function registerKeys(program: Command, globals: () => GlobalOptions): void {
  const keys = program.command('keys').description('Manage keys of the local KMS')
    .addHelpText('after', '\nExamples:\n  sealbox keys create --alias alias/app --description "app data"\n  sealbox keys list\n  sealbox keys rotation on alias/app --period 90\n  sealbox keys schedule-deletion 1234abcd-... --days 7');

  keys.command('create').description('Create a key')
    .option('--description <text>', 'description')
    .option('--spec <spec>', `KeySpec: ${SUPPORTED_KEY_SPECS.join(', ')} (default SYMMETRIC_DEFAULT)`, (v: string) => oneOf(v, '--spec', SUPPORTED_KEY_SPECS))
    .option('--usage <usage>', `KeyUsage: ${KEY_USAGES.join(', ')}`, (v: string) => oneOf(v, '--usage', KEY_USAGES))
    .option('--alias <alias/name>', 'also create this alias (it must not exist yet)', aliasOption)
    .addHelpText('after', '\nExample:\n  sealbox keys create --alias alias/app --description "app data"')
    .action(withKms(globals, createKey, describeText, false));

  keys.command('list').description('List keys with their aliases and states')
    .addHelpText('after', '\nExample:\n  sealbox keys list --json')
    .action(withKms(globals, async (kms) => {
      const out: { KeyId: string; State: string; Aliases: string[]; Description: string }[] = [];
      const aliases = await allAliases(kms);
      let marker: string | undefined;
      do {
        const page = await kms.listKeys({ Limit: 100, ...(marker ? { Marker: marker } : {}) });
        for (const k of page.Keys ?? []) {
          const m = (await kms.describeKey({ KeyId: k.KeyId! })).KeyMetadata!;
          out.push({ KeyId: m.KeyId!, State: m.KeyState!, Aliases: aliases.filter((a) => a.TargetKeyId === m.KeyId).map((a) => a.AliasName!), Description: m.Description ?? '' });
        }
        marker = page.Truncated ? page.NextMarker : undefined;
      } while (marker);
      return out;
    }, (rows: { KeyId: string; State: string; Aliases: string[]; Description: string }[]) =>
      rows.length === 0 ? 'no keys\n' : table(['KEY ID', 'STATE', 'ALIASES', 'DESCRIPTION'], rows.map((r) => [r.KeyId, r.State, r.Aliases.join(',') || '-', r.Description]))));

  keys.command('describe').argument('<key>', 'key id, alias or ARN').description('Show a key')
    .addHelpText('after', '\nExamples:\n  sealbox keys describe alias/app\n  sealbox --json keys describe alias/app')
    .action(withKms(globals, async (kms, key: string) => (await kms.describeKey({ KeyId: key })).KeyMetadata, describeText));
  keys.command('public-key').argument('<key>', 'key id, alias or ARN of an asymmetric key').description('Print the public key (PEM) of an RSA, ECC or ML-DSA key')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .addHelpText('after', `
The PEM names the key's ARN on a line before it, so that others can encrypt to an RSA
ENCRYPT_DECRYPT key with --key kms-rsa:<file>, without any KMS access; you decrypt as usual.

Example:
  sealbox keys create --spec RSA_3072 --usage ENCRYPT_DECRYPT --alias alias/inbox
  sealbox keys public-key alias/inbox -o inbox.pub.pem`)
    .action(async (key: string, opts: { output?: string }) => {
      checkOutputPath(opts.output);
      const kms = openLocalKms(globals(), true);
      try {
        const out = (await kms.execute('GetPublicKey', { KeyId: key })) as { KeyId: string; PublicKey: Uint8Array };
        const pem = kmsPublicKeyPem(out.KeyId, out.PublicKey);
        // Whole or not at all (never a truncated key beside a good one), and on disk before exit;
        // readable by others (0644 under the usual umask), as a public key is made to be shared.
        if (opts.output && opts.output !== '-') writeFileAtomicallySync(opts.output, Buffer.from(pem), { mode: 0o644 });
        // --json: the GetPublicKey response, its DER public key in base64 as the AWS CLI prints it.
        else if (globals().json) process.stdout.write(JSON.stringify({ ...out, PublicKey: Buffer.from(out.PublicKey).toString('base64') }, null, 2) + '\n');
        else process.stdout.write(pem);
      } finally {
        kms.close();
      }
    });
  keys.command('enable').argument('<key>', 'key id, ARN or alias').description('Enable a key')
    .addHelpText('after', '\nExample:\n  sealbox keys enable alias/app')
    .action(withKms(globals, async (kms, key: string) => kms.enableKey({ KeyId: await keyIdOf(kms, key) }), ok('enabled')));
  keys.command('disable').argument('<key>', 'key id, ARN or alias').description('Disable a key (it can no longer encrypt or decrypt)')
    .addHelpText('after', '\nExample:\n  sealbox keys disable alias/app')
    .action(withKms(globals, async (kms, key: string) => kms.disableKey({ KeyId: await keyIdOf(kms, key) }), ok('disabled')));
  keys.command('rotate').argument('<key>', 'key id, ARN or alias').description('Rotate now: new material for new messages, old versions still decrypt')
    .addHelpText('after', '\nExample:\n  sealbox keys rotate alias/app')
    .action(withKms(globals, async (kms, key: string) => kms.rotateKeyOnDemand({ KeyId: await keyIdOf(kms, key) }), ok('rotated')));

  const rotation = keys.command('rotation').description('Automatic rotation')
    .addHelpText('after', '\nExamples:\n  sealbox keys rotation on alias/app --period 90\n  sealbox keys rotation status alias/app\n  sealbox keys rotation off alias/app');
  rotation.command('on').argument('<key>', 'key id, ARN or alias').option('--period <days>', 'rotation period in days (90-2560, default 365)', (v: string) => integerOption(v, '--period', 90, 2560))
    .description('Enable automatic rotation')
    .addHelpText('after', '\nExample:\n  sealbox keys rotation on alias/app --period 90')
    .action(withKms(globals, async (kms, key: string, opts: { period?: number }) => kms.enableKeyRotation({ KeyId: await keyIdOf(kms, key), ...(opts.period !== undefined ? { RotationPeriodInDays: opts.period } : {}) }), ok('rotation enabled')));
  rotation.command('off').argument('<key>', 'key id, ARN or alias').description('Disable automatic rotation')
    .addHelpText('after', '\nExample:\n  sealbox keys rotation off alias/app')
    .action(withKms(globals, async (kms, key: string) => kms.disableKeyRotation({ KeyId: await keyIdOf(kms, key) }), ok('rotation disabled')));
  rotation.command('status').argument('<key>', 'key id, ARN or alias').description('Show rotation status')
    .addHelpText('after', '\nExample:\n  sealbox keys rotation status alias/app')
    .action(withKms(globals, async (kms, key: string) => kms.getKeyRotationStatus({ KeyId: await keyIdOf(kms, key) }), (r: { KeyRotationEnabled?: boolean; NextRotationDate?: Date }) =>
      `rotation ${r.KeyRotationEnabled ? `on, next ${r.NextRotationDate?.toISOString()}` : 'off'}\n`));

  keys.command('schedule-deletion').argument('<key>', 'key id, ARN or alias').option('--days <n>', 'waiting period, 7-30 days (default 30)', (v: string) => integerOption(v, '--days', 7, 30))
    .description('Schedule deletion: the key is unusable now and deleted for good after the waiting period')
    .addHelpText('after', '\nExample:\n  sealbox keys schedule-deletion alias/old --days 7')
    .action(withKms(globals, async (kms, key: string, opts: { days?: number }) => {
      const KeyId = await keyIdOf(kms, key);
      const result = await kms.scheduleKeyDeletion({ KeyId, ...(opts.days !== undefined ? { PendingWindowInDays: opts.days } : {}) });
      if (await isDefaultKey(kms, KeyId)) {
        process.stderr.write(`sealbox: warning: this is the CLI's default key (${DEFAULT_ALIAS}): encrypt without --key fails from now on, and what it encrypted can no longer be decrypted after ${result.DeletionDate?.toISOString()}; "sealbox keys cancel-deletion ${DEFAULT_ALIAS}" undoes this\n`);
      }
      return result;
    }, (r: { DeletionDate?: Date }) => `deletion scheduled for ${r.DeletionDate?.toISOString()}\n`));
  keys.command('cancel-deletion').argument('<key>', 'key id, ARN or alias').description('Cancel a scheduled deletion (the key stays disabled)')
    .addHelpText('after', '\nExamples:\n  sealbox keys cancel-deletion 1234abcd-12ab-34cd-56ef-1234567890ab\n  sealbox keys enable 1234abcd-12ab-34cd-56ef-1234567890ab')
    .action(withKms(globals, async (kms, key: string) => kms.cancelKeyDeletion({ KeyId: await keyIdOf(kms, key) }), ok('deletion cancelled; the key is disabled')));

  const alias = keys.command('alias').description('Aliases')
    .addHelpText('after', '\nExamples:\n  sealbox keys alias set alias/app 1234abcd-12ab-34cd-56ef-1234567890ab\n  sealbox keys alias list\n  sealbox keys alias rm alias/app');
  alias.command('set').argument('<alias>', 'alias/name').argument('<key>', 'key id, ARN or alias').description('Point an alias at a key (creating it if needed)')
    .addHelpText('after', '\nExample:\n  sealbox keys alias set alias/app 1234abcd-12ab-34cd-56ef-1234567890ab')
    .action(withKms(globals, async (kms, name: string, key: string) => {
      const exists = (await allAliases(kms)).some((a) => a.AliasName === name);
      const target = await keyIdOf(kms, key);
      return exists ? kms.updateAlias({ AliasName: name, TargetKeyId: target }) : kms.createAlias({ AliasName: name, TargetKeyId: target });
    }, ok('alias set')));
  alias.command('rm').argument('<alias>', 'alias/name').description('Delete an alias')
    .addHelpText('after', '\nExample:\n  sealbox keys alias rm alias/app')
    .action(withKms(globals, (kms, name: string) => kms.deleteAlias({ AliasName: name }), ok('alias removed')));
  alias.command('list').description('List aliases')
    .addHelpText('after', '\nExample:\n  sealbox keys alias list --json')
    .action(withKms(globals, async (kms) => allAliases(kms),
      (rows: { AliasName?: string; TargetKeyId?: string }[]) => (rows.length === 0 ? 'no aliases\n' : table(['ALIAS', 'KEY ID'], rows.map((a) => [a.AliasName ?? '', a.TargetKeyId ?? '-'])))));

  keys.command('tag').argument('<key>', 'key id, ARN or alias').argument('[pairs...]', 'tags as key=value (none: list the tags)')
    .option('--remove <tagKey>', 'remove a tag (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .description('Tag a key, remove tags, or list them')
    .addHelpText('after', '\nExamples:\n  sealbox keys tag alias/app team=payments env=prod\n  sealbox keys tag alias/app --remove env\n  sealbox keys tag alias/app')
    .action(withKms(globals, async (kms, key: string, pairs: string[], opts: { remove?: string[] }) => {
      const KeyId = await keyIdOf(kms, key);
      const tags = parsePairs(pairs, 'tag');
      if (tags) await kms.tagResource({ KeyId, Tags: Object.entries(tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })) });
      if (opts.remove) {
        const present = new Set(((await kms.listResourceTags({ KeyId })).Tags ?? []).map((t) => t.TagKey));
        const absent = opts.remove.filter((k) => !present.has(k));
        if (absent.length) throw new UsageError(`the key has no tag ${absent.join(', ')}`);
        await kms.untagResource({ KeyId, TagKeys: opts.remove });
        // Say what went: with no tags left the listing below would be empty.
        if (!globals().json) for (const k of opts.remove) process.stderr.write(`sealbox: removed tag ${show(k)}\n`);
      }
      return (await kms.listResourceTags({ KeyId })).Tags ?? [];
    }, (rows: { TagKey?: string; TagValue?: string }[]) => (rows.length === 0 ? 'no tags\n' : rows.map((t) => `${show(t.TagKey)}=${show(t.TagValue)}\n`).join(''))));
}
