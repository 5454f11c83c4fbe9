import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

// The example of docs/keyrings.md, "ML-DSA signing keys (local KMS)", run as written (against
// src/, with its own key store), so that it cannot drift from what the local KMS does. Each
// `console.log(...); // X` line must print X (the comment's first word).

const HEADING = '## ML-DSA signing keys (local KMS)';

function example(): { code: string; expected: string[] } {
  const doc = readFileSync(new URL('../../docs/keyrings.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf(HEADING));
  expect(doc.indexOf(HEADING)).toBeGreaterThan(0);
  const start = section.indexOf('```ts\n') + '```ts\n'.length;
  const code = section.slice(start, section.indexOf('\n```', start));
  const expected = [...code.matchAll(/^console\.log\(.*\); \/\/ (\S+)/gm)].map((m) => m[1]!);
  return { code, expected };
}

describe('docs/keyrings.md ML-DSA example', () => {
  it('runs and prints what its comments say', async () => {
    const { code, expected } = example();
    expect(expected).toEqual(['3309', 'true', 'true', 'true']);
    const home = mkdtempSync(join(tmpdir(), 'sealbox-mldsa-docs-'));
    try {
      // Bundled beside node_modules, so that its other imports resolve as a user's would.
      const outfile = join(process.cwd(), 'node_modules', '.cache', 'sealbox', `ml-dsa-docs-${process.pid}.mjs`);
      await build({
        stdin: { contents: code, loader: 'ts', resolveDir: process.cwd() },
        bundle: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'silent', outfile,
        alias: { 'sealbox/local-kms': './src/local-kms/index.ts' },
      });
      const run = spawnSync(process.execPath, [outfile], { env: { ...process.env, SEALBOX_HOME: home }, encoding: 'utf8', timeout: 60_000 });
      rmSync(outfile, { force: true });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.stdout.trim().split('\n')).toEqual(expected);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 90_000);
});
