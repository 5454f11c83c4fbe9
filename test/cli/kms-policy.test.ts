import { beforeAll, describe, expect, it } from 'vitest';
import { closeSync, existsSync, ftruncateSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt } from './build.js';
import { sealbox, tmp } from './run.js';

beforeAll(() => ensureBuilt(), 120_000);

const PRINCIPAL = 'arn:aws:iam::111122223333:user/ci';
const put = (home: string, file: string, input?: Buffer | string) => sealbox(home, ['kms', 'policy', 'put', '--principal', PRINCIPAL, '--name', 'p', '--file', file], input);

describe('sealbox kms policy put --file: input that is no policy document', () => {
  it('a file that is not UTF-8 is a usage error, not a document stored with U+FFFD for its bytes', () => {
    const dir = tmp('policy-utf8');
    const home = join(dir, 'home');
    const file = join(dir, 'latin1.json');
    writeFileSync(file, Buffer.concat([Buffer.from('{"Statement":[{"Sid":"caf'), Buffer.from([0xe9]), Buffer.from('","Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}')]));
    for (const r of [put(home, file), put(home, '-', Buffer.from([0x7b, 0xff, 0x7d]))]) {
      expect(r.stderr).toMatch(/^sealbox: --file: .* is not UTF-8 text \(ERR_USAGE\)\n$/);
      expect(r.code).toBe(1);
    }
    // Refused before the key store was opened: nothing stored, nothing created.
    expect(existsSync(home)).toBe(false);
    // The same document in UTF-8 is taken as it is.
    writeFileSync(file, '{"Statement":[{"Sid":"café","Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}');
    expect(put(home, file).code).toBe(0);
    expect(JSON.parse(sealbox(home, ['kms', 'policy', 'get', '--principal', PRINCIPAL, '--name', 'p']).stdout.toString()).Statement[0].Sid).toBe('café');
  });

  it('a huge file is refused after reading no more than a document can be, naming the file', () => {
    const dir = tmp('policy-huge');
    const home = join(dir, 'home');
    // 3 GiB, sparse: it costs no disk, and no reader should try to hold it.
    const huge = join(dir, 'huge.json');
    const fd = openSync(huge, 'w');
    ftruncateSync(fd, 3 * 1024 ** 3);
    closeSync(fd);
    const big = join(dir, 'big.json');
    writeFileSync(big, `{"Statement":[]}${' '.repeat(200_000)}`);
    for (const [file, input] of [[huge], [big], ['-', Buffer.alloc(200_000, 0x20)]] as const) {
      const r = put(home, file, input);
      expect(r.stderr).toBe(`sealbox: --file: ${file === '-' ? 'standard input' : file} is larger than a policy document can be (32,768 characters) (ERR_USAGE)\n`);
      expect(r.code).toBe(1);
    }
    expect(existsSync(home)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a directory or a missing file is one line naming it (exit 1)', () => {
    const dir = tmp('policy-dir');
    const home = join(dir, 'home');
    const isDir = put(home, dir);
    expect(isDir.stderr).toBe(`sealbox: cannot read ${dir}: it is a directory (EISDIR)\n`);
    expect(isDir.code).toBe(1);
    const missing = put(home, join(dir, 'none.json'));
    expect(missing.stderr).toBe(`sealbox: cannot read ${join(dir, 'none.json')}: no such file or directory (ENOENT)\n`);
    expect(missing.code).toBe(1);
    expect(existsSync(home)).toBe(false);
  });
});
