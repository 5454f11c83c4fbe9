import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundledByBuild } from './bundled.js';
import type { Bundled } from './bundled.js';

// The CLI (dist/cli/main.cjs) carries better-sqlite3's JavaScript as installed at build time,
// while its native addon is the one the user's install builds (src/local-kms/store.ts loads it
// by path). With `"better-sqlite3": "^12.11.1"` an install could resolve 12.12, whose addon the
// bundled 12.11.1 JavaScript then drives. A bundled package with a native part must therefore be
// declared at exactly the version that was bundled.

interface Manifest { version: string; gypfile?: boolean; dependencies?: Record<string, string>; devDependencies?: Record<string, string> }
const ROOT = process.cwd();
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Manifest> };

let bundled: Bundled[] = [];
beforeAll(async () => {
  bundled = await bundledByBuild();
}, 120_000);

/** A package with a native addon that npm builds or unpacks at install (node-gyp's marks). */
const native = (b: Bundled): boolean => existsSync(join(b.dir, 'binding.gyp')) || (JSON.parse(readFileSync(join(b.dir, 'package.json'), 'utf8')) as Manifest).gypfile === true;

describe('dependencies bundled into dist/', () => {
  it('the build copies better-sqlite3 (a native package), commander and @noble/curves into dist/ (so the checks below see something)', () => {
    const names = bundled.map((b) => b.name);
    expect(names).toEqual(expect.arrayContaining(['better-sqlite3', 'commander', '@noble/curves']));
    expect(bundled.filter(native).map((b) => b.name)).toContain('better-sqlite3');
  });

  it('a bundled package with a native addon is a dependency pinned to the bundled version, in package.json and in the lock', () => {
    for (const b of bundled.filter(native)) {
      expect(pkg.dependencies?.[b.name], `${b.name} in package.json dependencies`).toBe(b.version);
      expect(lock.packages['']!.dependencies?.[b.name], `${b.name} in package-lock.json`).toBe(b.version);
      expect(lock.packages[`node_modules/${b.name}`]?.version, `${b.name} locked`).toBe(b.version);
    }
  });

  it('env-paths, which picks the default data directory both inside the CLI bundle and for LocalKms.open(), is pinned to the bundled version (both must name the same directory)', () => {
    const envPaths = bundled.find((b) => b.name === 'env-paths');
    expect(envPaths, 'env-paths bundled into the CLI').toBeDefined();
    expect(pkg.dependencies?.['env-paths']).toBe(envPaths!.version);
    expect(lock.packages['']!.dependencies?.['env-paths']).toBe(envPaths!.version);
  });
});

/** Every file of dist/ that runs (.js, .cjs), with the packages it imports or requires. */
function importedByDist(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.c?js$/.test(entry.name)) {
        const text = readFileSync(path, 'utf8');
        for (const m of text.matchAll(/(?:\bfrom\s*|\brequire\(|\bimport\()\s*["']((?:@[\w.-]+\/)?[\w.-]+)(?:\/[^"']*)?["']/g)) names.add(m[1]!);
      }
    }
  };
  walk(join(ROOT, 'dist'));
  return names;
}

describe('runtime dependencies', () => {
  it('every package in "dependencies" is imported by some file of dist/ (one only bundled, such as commander, is a devDependency: users do not install it)', () => {
    const imported = importedByDist();
    expect(imported.size, 'dist/ was read').toBeGreaterThan(5);
    const unused = Object.keys(pkg.dependencies ?? {}).filter((name) => !imported.has(name));
    expect(unused).toEqual([]);
    expect(pkg.devDependencies?.commander, 'commander is bundled into the CLI, so a devDependency').toBeDefined();
  });
});
