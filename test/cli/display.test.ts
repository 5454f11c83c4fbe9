import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rawKeyFixture, sealbox } from './run.js';
import { displayText } from '../../src/cli/display.js';
import Database from 'better-sqlite3';
import { encrypt } from '../../src/encrypt.js';
import { RawAesKeyring } from '../../src/keyring/raw-aes.js';

// Header text (context, wrapped-key names) is not authenticated: a crafted message must not be
// able to drive the terminal of whoever runs `inspect` or `decrypt` on it (docs/cli.md, "inspect").

const { dir, home, K } = rawKeyFixture('display');

/** Anything a terminal would act on rather than show. */
// eslint-disable-next-line no-control-regex -- looking for control characters is the point.
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

const FAKE = 'x\r\x1b[3Asigned:         yes (ECDSA P-384; decrypt verifies the signature)\x1b[3B';

describe('header text on a terminal', () => {
  it('displayText escapes C0, DEL, C1, bidi controls and the backslash itself, and nothing else', () => {
    expect(displayText('a\x1b[2J\r\n\t\x00\x7f\u009b\u202eb')).toBe('a\\x1b[2J\\x0d\\x0a\\x09\\x00\\x7f\\x9b\\u{202e}b');
    // A backslash in the text cannot pass for an escape: "\x1b" typed literally stays distinct.
    expect(displayText('\\x1b')).toBe('\\\\x1b');
    expect(displayText('\x1b')).not.toBe(displayText('\\x1b'));
    expect(displayText('dept=finance, café 日本 ✓')).toBe('dept=finance, café 日本 ✓');
  });

  it('inspect shows context control characters escaped, one line per field; --json keeps the exact value', () => {
    const enc = sealbox(home, ['encrypt', '--key', K, '--context', `note=${FAKE}`, '--context', 'rtl=\u202eevil'], 'hi\n');
    expect(enc.code, enc.stderr).toBe(0);
    const r = sealbox(home, ['inspect'], enc.stdout);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout.toString();
    expect(out).not.toMatch(CONTROL);
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(8);
    expect(lines.filter((l) => l.startsWith('signed:'))).toEqual(['signed:         no']);
    expect(lines[5]).toBe('context:        rtl=\\u{202e}evil, note="x\\x0d\\x1b[3Asigned:         yes (ECDSA P-384; decrypt verifies the signature)\\x1b[3B"');
    const json = sealbox(home, ['--json', 'inspect'], enc.stdout);
    expect((JSON.parse(json.stdout.toString()) as { encryptionContext: Record<string, string> }).encryptionContext).toEqual({ note: FAKE, rtl: '\u202eevil' });
  });

  it('a wrapped key named with control characters: inspect and the "needs ..." error of decrypt escape it; --json lines keep it', async () => {
    const name = 'k\x1b]0;pwned\x07\x1b[2J';
    const keyring = new RawAesKeyring({ namespace: 'raw-key-file', name, wrappingKey: randomBytes(32) });
    const { ciphertext } = await encrypt(new TextEncoder().encode('hi'), { keyring });
    const msg = join(dir, 'named.sbx');
    writeFileSync(msg, ciphertext);

    const inspect = sealbox(home, ['inspect', msg]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout.toString()).not.toMatch(CONTROL);
    expect(inspect.stdout.toString()).toContain('  - raw-key-file: k\\x1b]0;pwned\\x07\\x1b[2J\n');

    const dec = sealbox(home, ['decrypt', msg, '--key', K]);
    expect(dec.code).toBe(3);
    expect(dec.stderr).not.toMatch(CONTROL);
    expect(dec.stderr).toBe('sealbox: No key given can unwrap the data key: the message needs the raw AES key file with fingerprint k\\x1b]0;pwned\\x07\\x1b[2J (--key file:FILE) (ERR_NO_MATCHING_KEY)\n');

    // Many files: the per-file line on stderr is escaped, the JSON line exact.
    const out = join(dir, 'plain');
    mkdirSync(out, { recursive: true });
    const many = sealbox(home, ['decrypt', msg, '-d', out, '--key', K]);
    expect(many.code).toBe(3);
    expect(many.stderr).not.toMatch(CONTROL);
    expect(many.stderr).toContain('fingerprint k\\x1b]0;pwned\\x07\\x1b[2J (--key file:FILE)');
    const json = sealbox(home, ['--json', 'decrypt', msg, '-d', out, '--key', K]);
    expect((JSON.parse(json.stdout.toString()) as { error: string }).error).toContain(`fingerprint ${name} (--key file:FILE)`);
  });
});

describe('the context line cannot be misread', () => {
  it('a key or value with a comma, =, a quote, a space or nothing is quoted, so it never looks like more pairs', () => {
    const enc = sealbox(home, ['encrypt', '--key', K, '--context', 'note=a, signer=alice', '--context', 'q=say "hi"', '--context', 'plain=v1'], 'hi\n');
    expect(enc.code, enc.stderr).toBe(0);
    const line = sealbox(home, ['inspect'], enc.stdout).stdout.toString().split('\n').find((l) => l.startsWith('context:'));
    // In the header's (canonical) order: shorter keys first.
    expect(line).toBe('context:        q="say \\"hi\\"", note="a, signer=alice", plain=v1');
  });
});

describe('key store text on a terminal', () => {
  it('keys describe, keys list and kms credentials list escape what other principals can set (descriptions)', () => {
    // A description a kms serve client could have set with UpdateKeyDescription or CreateKey.
    const created = sealbox(home, ['--json', 'keys', 'create', '--description', FAKE]);
    expect(created.code, created.stderr).toBe(0);
    const keyId = (JSON.parse(created.stdout.toString()) as { KeyId: string }).KeyId;
    for (const args of [['keys', 'describe', keyId], ['keys', 'list']]) {
      const r = sealbox(home, args);
      expect(r.code, r.stderr).toBe(0);
      const out = r.stdout.toString();
      expect(out, args.join(' ')).not.toMatch(CONTROL);
      expect(out, args.join(' ')).toContain('x\\x0d\\x1b[3Asigned:');
    }
    const json = sealbox(home, ['--json', 'keys', 'describe', keyId]);
    expect((JSON.parse(json.stdout.toString()) as { Description: string }).Description).toBe(FAKE);
    const cred = sealbox(home, ['kms', 'credentials', 'create', '--principal', 'arn:aws:iam::111122223333:user/app', '--description', FAKE]);
    expect(cred.code, cred.stderr).toBe(0);
    const list = sealbox(home, ['kms', 'credentials', 'list']).stdout.toString();
    expect(list).not.toMatch(CONTROL);
    expect(list).toContain('x\\x0d\\x1b[3Asigned:');
  });
});

describe('a line end in a key store value', () => {
  // A description or tag value a kms serve client set (CreateKey, UpdateKeyDescription,
  // TagResource): one line per row or field, never a row that is not there.
  const FORGED_ROW = 'ffffffff-0000-0000-0000-000000000000  Enabled  alias/sealbox-default  CLI default key';

  it('keys list, keys describe and keys tag show it as \\x0a, so it cannot add a row or a field', () => {
    const created = sealbox(home, ['--json', 'keys', 'create', '--alias', 'alias/forge', '--description', `app\n${FORGED_ROW}`]);
    expect(created.code, created.stderr).toBe(0);
    const list = sealbox(home, ['keys', 'list']).stdout.toString();
    expect(list).not.toContain(`\n${FORGED_ROW}`);
    expect(list.split('\n').filter((l) => l.includes('alias/forge'))).toEqual([expect.stringContaining(`app\\x0a${FORGED_ROW}`)]);
    const describe = sealbox(home, ['keys', 'describe', 'alias/forge']).stdout.toString();
    expect(describe.trimEnd().split('\n')).toHaveLength(7);
    expect(describe).toContain(`description:  app\\x0a${FORGED_ROW}\n`);
    const tagged = sealbox(home, ['keys', 'tag', 'alias/forge', 'team=pay\nenv=prod']);
    expect(tagged.code, tagged.stderr).toBe(0);
    expect(tagged.stdout.toString()).toBe('team=pay\\x0aenv=prod\n');
    const json = sealbox(home, ['--json', 'keys', 'tag', 'alias/forge']);
    expect(JSON.parse(json.stdout.toString())).toEqual([{ TagKey: 'team', TagValue: 'pay\nenv=prod' }]);
  });

  it('audit show escapes every column of a row, even one a writer of the database edited', () => {
    const h = join(dir, 'audit-home');
    expect(sealbox(h, ['random', '4']).code).toBe(0);
    const db = new Database(join(h, 'kms.sqlite'));
    db.prepare('UPDATE audit SET operation = ?, error = ? WHERE seq = 1').run('Decrypt\x1b[2J', 'x\n2\t2026-01-01T00:00:00.000Z\tGenerateRandom\tok');
    db.close();
    const shown = sealbox(h, ['audit', 'show']).stdout.toString();
    expect(shown.replace(/\t/g, ' ')).not.toMatch(CONTROL); // tabs separate the columns
    expect(shown.trimEnd().split('\n')).toHaveLength(1);
    expect(shown).toContain('\tDecrypt\\x1b[2J\tx\\x0a2\\x092026-01-01T00:00:00.000Z\\x09GenerateRandom\\x09ok\t');
  });
});
