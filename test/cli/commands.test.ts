import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt } from './build.js';
import { CLI_COMMAND, HAS_SCRIPT, cliEnv, onTerminal, q, sealbox, tmp } from './run.js';

beforeAll(() => ensureBuilt(), 120_000);

describe('small things a new user meets', () => {
  it('--version and -V print the package version', () => {
    const { version } = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const r = sealbox(tmp('version'), [flag]);
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toBe(`${version}\n`);
    }
  });

  it('decrypt and the read-only commands on a machine without a key store say so (exit 3) and create nothing', () => {
    const enc = sealbox(tmp('nostore-src'), ['encrypt'], 'x');
    const home = join(tmp('nostore'), 'home');
    for (const [args, input] of [
      [['decrypt'], enc.stdout],
      [['decrypt', '--key', 'alias/app'], enc.stdout],
      [['keys', 'list'], undefined],
      [['keys', 'describe', 'alias/app'], undefined],
      [['keys', 'alias', 'list'], undefined],
      [['keys', 'rotation', 'status', 'alias/app'], undefined],
      [['keys', 'public-key', 'alias/app'], undefined],
      [['audit', 'show'], undefined],
      [['audit', 'verify'], undefined],
      [['audit', 'export'], undefined],
      [['kms', 'credentials', 'list'], undefined],
    ] as const) {
      const r = sealbox(home, [...args], input);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr, args.join(' ')).toMatch(/^sealbox: [^\n]*\(ERR_NO_KEY_STORE\)\n$/);
      expect(r.stderr).toContain(home);
    }
    expect(existsSync(home)).toBe(false);
  });

  it('keys list and alias list: aligned columns under a header, and --json after the command', () => {
    const home = tmp('columns');
    expect(sealbox(home, ['keys', 'create', '--alias', 'alias/a', '--description', 'first']).code).toBe(0);
    expect(sealbox(home, ['keys', 'create', '--alias', 'alias/a-much-longer-name']).code).toBe(0);
    expect(sealbox(home, ['keys', 'create', '--description', 'no alias']).code).toBe(0);
    for (const [args, columns] of [[['keys', 'list'], ['KEY ID', 'STATE', 'ALIASES', 'DESCRIPTION']], [['keys', 'alias', 'list'], ['ALIAS', 'KEY ID']]] as const) {
      const lines = sealbox(home, [...args]).stdout.toString().trimEnd().split('\n');
      expect(lines.length).toBeGreaterThanOrEqual(3);
      // Each column after the first starts at the same offset on every line.
      for (const name of columns.slice(1)) {
        const at = lines[0]!.indexOf(name);
        expect(at, name).toBeGreaterThan(0);
        // (An empty last cell leaves the line shorter.)
        for (const line of lines.slice(1).filter((l) => l.length > at)) {
          expect(line[at - 1], `${name} in "${line}"`).toBe(' ');
          expect(line[at], `${name} in "${line}"`).not.toBe(' ');
        }
      }
      const json = JSON.parse(sealbox(home, [...args, '--json']).stdout.toString());
      expect(json.length).toBe(lines.length - 1);
    }
  });

  it('keys tag --remove confirms what it removed, and refuses a tag the key does not have', () => {
    const home = tmp('tags');
    expect(sealbox(home, ['keys', 'create', '--alias', 'alias/t']).code).toBe(0);
    expect(sealbox(home, ['keys', 'tag', 'alias/t', 'env=dev']).stdout.toString()).toBe('env=dev\n');
    const removed = sealbox(home, ['keys', 'tag', 'alias/t', '--remove', 'env']);
    expect(removed.code).toBe(0);
    expect(removed.stderr).toBe('sealbox: removed tag env\n');
    expect(removed.stdout.toString()).toBe('no tags\n');
    const absent = sealbox(home, ['keys', 'tag', 'alias/t', '--remove', 'env']);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(/\(ERR_USAGE\)\n$/);
  });

  it('scheduling deletion of the default key warns; of another key it does not', () => {
    const home = tmp('delete-default');
    expect(sealbox(home, ['encrypt'], 'x').code).toBe(0);
    expect(sealbox(home, ['keys', 'create', '--alias', 'alias/other']).code).toBe(0);
    const other = sealbox(home, ['keys', 'schedule-deletion', 'alias/other', '--days', '7']);
    expect(other.code).toBe(0);
    expect(other.stderr).toBe('');
    const dflt = sealbox(home, ['keys', 'schedule-deletion', 'alias/sealbox-default', '--days', '7']);
    expect(dflt.code).toBe(0);
    expect(dflt.stderr).toMatch(/^sealbox: warning: .*alias\/sealbox-default.*cancel-deletion/);
  });

  it('keys public-key --json prints the GetPublicKey response (the DER key in base64, as the AWS CLI does), not PEM', () => {
    const home = tmp('public-key-json');
    expect(sealbox(home, ['keys', 'create', '--spec', 'RSA_2048', '--usage', 'ENCRYPT_DECRYPT', '--alias', 'alias/inbox']).code).toBe(0);
    const pem = sealbox(home, ['keys', 'public-key', 'alias/inbox']).stdout.toString();
    const arn = pem.split('\n')[0]!.slice('KMS key: '.length);
    for (const args of [['--json', 'keys', 'public-key', 'alias/inbox'], ['keys', 'public-key', 'alias/inbox', '--json']]) {
      const r = sealbox(home, args);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.toString()) as Record<string, unknown>;
      expect(out).toMatchObject({ KeyId: arn, KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
      expect(createPublicKey({ key: Buffer.from(out.PublicKey as string, 'base64'), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' })).toBe(pem.slice(pem.indexOf('-----BEGIN')));
    }
  });

  it('random --json follows --encoding: base64 gives a "base64" field, hex (the default) and raw a "hex" field', () => {
    const home = tmp('random-json');
    const field = (...extra: string[]): Record<string, unknown> => JSON.parse(sealbox(home, ['--json', 'random', '12', ...extra]).stdout.toString()) as Record<string, unknown>;
    expect(Object.keys(field('--encoding', 'base64'))).toEqual(['bytes', 'base64']);
    expect(Buffer.from(field('--encoding', 'base64').base64 as string, 'base64')).toHaveLength(12);
    for (const extra of [[], ['--encoding', 'hex'], ['--encoding', 'raw']]) expect(field(...extra).hex, extra.join(' ')).toMatch(/^[0-9a-f]{24}$/);
  });

  it('stdout closed early (| head -c 10): decrypt and encrypt exit 141, not 0, and print nothing', () => {
    const home = tmp('epipe');
    const dir = tmp('epipe-data');
    const big = join(dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(8 * 1024 * 1024, 9));
    expect(sealbox(home, ['encrypt', big, '-o', join(dir, 'big.sbx')]).code).toBe(0);
    for (const command of [`decrypt ${q(join(dir, 'big.sbx'))}`, `encrypt ${q(big)}`]) {
      const r = spawnSync('bash', ['-c', `${CLI_COMMAND} ${command} 2>err.txt | head -c 10 > /dev/null; echo "\${PIPESTATUS[0]}"`], { cwd: dir, env: cliEnv(home) });
      expect(r.stdout.toString(), command).toBe('141\n');
      expect(readFileSync(join(dir, 'err.txt'), 'utf8')).toBe('');
    }
  });

  it.skipIf(!HAS_SCRIPT)('random --encoding raw refuses a terminal (exit 1, nothing created), and writes to a redirect', async () => {
    const home = join(tmp('random-raw'), 'home');
    const tty = await onTerminal(`${CLI_COMMAND} random 16 --encoding raw`, { env: cliEnv(home), eof: true });
    expect(tty.code).toBe(1);
    expect(tty.screen).toMatch(/^sealbox: refusing to write raw bytes to a terminal[^\n]*\(ERR_USAGE\)\r?\n$/);
    expect(existsSync(home)).toBe(false);
    const dir = tmp('random-raw-out');
    const redirected = await onTerminal(`${CLI_COMMAND} random 16 --encoding raw > ${q(join(dir, 'key.bin'))}`, { env: cliEnv(home), eof: true });
    expect(redirected.code).toBe(0);
    expect(readFileSync(join(dir, 'key.bin')).length).toBe(16);
  });
});
