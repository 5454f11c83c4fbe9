import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundledPackages, noticesText } from '../../scripts/third-party-notices.js';

// scripts/third-party-notices.ts, the writer of dist/THIRD_PARTY_NOTICES.md, on made-up
// packages; test/package/pack.test.ts checks the file the real build writes.

const scratch = mkdtempSync(join(tmpdir(), 'sealbox-notices-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function fakePackage(name: string, files: Record<string, string>): string {
  const dir = join(scratch, 'node_modules', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.2.3', license: 'MIT' }));
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

describe('third-party notices', () => {
  it('reads the packages that contribute bytes to an output from a metafile, and only those', () => {
    fakePackage('kept', { LICENSE: 'x' });
    fakePackage('@scope/dropped', { LICENSE: 'x' });
    const metafile = {
      inputs: {},
      outputs: {
        'dist/cli/main.cjs': { bytes: 1, imports: [], exports: [], inputs: { 'node_modules/kept/lib/a.js': { bytesInOutput: 10 }, 'node_modules/@scope/dropped/index.js': { bytesInOutput: 0 }, 'src/cli/main.ts': { bytesInOutput: 5 } } },
      },
    };
    expect(bundledPackages(metafile, scratch)).toEqual([{ name: 'kept', version: '1.2.3', dir: join(scratch, 'node_modules', 'kept'), outputs: ['dist/cli/main.cjs'] }]);
  });

  it('gives each package its licence and NOTICE texts as written, fenced past any backticks in them', () => {
    const dir = fakePackage('apache-thing', { 'LICENSE.txt': 'Apache License\n```\nVersion 2.0\n', NOTICE: 'Copyright 2020 Someone\n', 'README.md': 'not a licence' });
    const text = noticesText([{ name: 'apache-thing', version: '1.2.3', dir, outputs: ['dist/browser/a.min.js'] }]);
    expect(text).toContain('## apache-thing 1.2.3\n');
    expect(text).toContain('License: MIT. Bundled into: `dist/browser/a.min.js`.');
    expect(text).toContain('LICENSE.txt:\n\n````text\nApache License\n```\nVersion 2.0\n````');
    expect(text).toContain('NOTICE:\n\n```text\nCopyright 2020 Someone\n```');
    expect(text).not.toContain('not a licence');
  });

  it('refuses a bundled package without a licence file (the build fails rather than ship it unnoticed)', () => {
    const dir = fakePackage('unlicensed', { 'index.js': '' });
    expect(() => noticesText([{ name: 'unlicensed', version: '1.2.3', dir, outputs: ['dist/cli/main.cjs'] }])).toThrow(/unlicensed@1\.2\.3 is bundled into dist\/cli\/main\.cjs but has no LICENSE file/);
  });
});
