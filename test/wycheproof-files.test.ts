import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WYCHEPROOF_DIR, loadWycheproof } from './helpers/wycheproof.js';

// The Wycheproof files live in the repository, unmodified: each one is listed in the folder's
// README with its upstream git blob id, and is read by the tests the README names.

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Row { file: string; blob: string; tests: number | undefined; readers: string[] }

function manifest(): Row[] {
  const readme = readFileSync(join(WYCHEPROOF_DIR, 'README.md'), 'utf8');
  const rows: Row[] = [];
  for (const line of readme.split('\n')) {
    const m = /^\| `([^`]+)` \| `([0-9a-f]{40})` \|([^|]*)\|[^|]*\|[^|]*\|([^|]*)\|$/.exec(line);
    if (!m) continue;
    const tests = m[3]!.trim();
    rows.push({ file: m[1]!, blob: m[2]!, tests: tests ? Number(tests) : undefined, readers: m[4]!.split(',').map((s) => s.trim()).filter(Boolean) });
  }
  return rows;
}

/** `git hash-object`: SHA-1 over "blob <length>\0" and the bytes. */
function gitBlobId(bytes: Buffer): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

describe('test/vectors/wycheproof', () => {
  const rows = manifest();

  it('lists the license and at least the files the tests read', () => {
    expect(rows.map((r) => r.file)).toContain('LICENSE');
    expect(rows.length).toBeGreaterThanOrEqual(8);
  });

  it('holds exactly the listed files (plus its README)', () => {
    const present = readdirSync(WYCHEPROOF_DIR).filter((f) => f !== 'README.md').sort();
    expect(present).toEqual(rows.map((r) => r.file).sort());
  });

  it.each(rows.map((r) => [r.file, r] as const))('%s is byte-identical to upstream, and read by the tests named', (file, row) => {
    const bytes = readFileSync(join(WYCHEPROOF_DIR, file));
    expect(gitBlobId(bytes)).toBe(row.blob);
    if (file === 'LICENSE') return expect(bytes.toString('utf8')).toMatch(/Apache License\s+Version 2\.0/);
    const data = loadWycheproof<{ tests: unknown[] }>(file);
    const count = data.testGroups.reduce((n, g) => n + g.tests.length, 0);
    expect(count).toBe(data.numberOfTests);
    expect(count).toBe(row.tests);
    expect(row.readers.length).toBeGreaterThan(0);
    for (const reader of row.readers) {
      expect(existsSync(join(ROOT, reader)), reader).toBe(true);
      expect(readFileSync(join(ROOT, reader), 'utf8'), `${reader} reads ${file}`).toContain(`'${file}'`);
    }
  });

  it('a missing file fails loudly (no silent pass)', () => {
    expect(() => loadWycheproof('no_such_test.json')).toThrow(/missing from test\/vectors\/wycheproof/);
  });
});
