import type { Metafile, Plugin } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** A package whose code a build put into its output files. */
export interface BundledPackage {
  name: string;
  version: string;
  /** The package's directory (absolute). */
  dir: string;
  /** The output files (relative to the working directory) holding some of its code. */
  outputs: string[];
}

/** One licence file's name: LICENSE, LICENCE, COPYING, with or without an extension (any case). */
const LICENSE_FILE = /^(licen[cs]e|copying)([.-].*)?$/i;
/** Apache-2.0 §4(d): a NOTICE file travels with copies too. */
const NOTICE_FILE = /^notice([.-].*)?$/i;

/** The package directory of an input path: up to the name after its last `node_modules/`. */
function packageDir(input: string): string | undefined {
  const m = /^(.*node_modules[\\/](?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(input);
  return m?.[1];
}

/**
 * The packages whose code is in a build's outputs, from esbuild's metafile: every input under
 * `node_modules/` that contributes bytes to some output file (an input esbuild loaded and then
 * dropped entirely, bytesInOutput 0, ships nothing). `cwd` is the build's working directory,
 * which the metafile's paths are relative to.
 */
export function bundledPackages(metafile: Metafile, cwd = process.cwd()): BundledPackage[] {
  const byDir = new Map<string, Set<string>>();
  for (const [output, { inputs }] of Object.entries(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(inputs)) {
      const dir = packageDir(input);
      if (dir === undefined || bytesInOutput === 0) continue;
      const abs = resolve(cwd, dir);
      if (!byDir.has(abs)) byDir.set(abs, new Set());
      byDir.get(abs)!.add(relative(cwd, resolve(cwd, output)).split('\\').join('/'));
    }
  }
  return [...byDir].map(([dir, outputs]) => {
    const { name, version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string };
    return { name, version, dir, outputs: [...outputs].sort() };
  });
}

/** A fence longer than any run of backticks in `text`, so the text shows as written. */
function fenced(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}text\n${text.replace(/\s+$/, '')}\n${fence}`;
}

/**
 * The notices file's text: one section per package (name and version, its `license` field, the
 * output files holding its code) with the full text of its own licence file(s) and NOTICE
 * file, if any. A bundled package without a licence file is an error: its notice cannot be
 * given, so the build must not ship it silently.
 */
export function noticesText(packages: BundledPackage[]): string {
  const merged = new Map<string, BundledPackage>();
  for (const p of packages) {
    const key = `${p.name}@${p.version}`;
    const seen = merged.get(key);
    merged.set(key, seen ? { ...seen, outputs: [...new Set([...seen.outputs, ...p.outputs])].sort() } : p);
  }
  const sorted = [...merged.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : 1));
  const sections = sorted.map((p) => {
    const manifest = JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8')) as { license?: string };
    const files = readdirSync(p.dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort();
    const licenses = files.filter((f) => LICENSE_FILE.test(f));
    if (licenses.length === 0) throw new Error(`third-party notices: ${p.name}@${p.version} is bundled into ${p.outputs.join(', ')} but has no LICENSE file in ${p.dir} (scripts/third-party-notices.ts)`);
    const texts = [...licenses, ...files.filter((f) => NOTICE_FILE.test(f))].map((f) => `${f}:\n\n${fenced(readFileSync(join(p.dir, f), 'utf8'))}`);
    return [
      `## ${p.name} ${p.version}`,
      '',
      `License: ${manifest.license ?? 'see below'}. Bundled into: ${p.outputs.map((o) => `\`${o}\``).join(', ')}.`,
      '',
      ...texts.flatMap((t) => [t, '']),
    ].join('\n');
  });
  return [
    '# Third-party notices',
    '',
    'Sealbox is licensed under the Apache License 2.0 (the package\'s `LICENSE`). Some files in',
    '`dist/` also contain code of the third-party packages below, copied in by the build (the',
    '`sealbox` command in `dist/cli/` and the self-contained browser bundle in `dist/browser/`).',
    'Each is listed with its version, the files holding its code and its own licence text. The',
    'build writes this file from the bundler\'s record of its inputs (scripts/third-party-notices.ts).',
    '',
    sections.length === 0 ? 'No third-party code is bundled.\n' : sections.join('\n'),
  ].join('\n');
}

/**
 * The notices of several builds run together (tsup.config.ts's list): `plugin(name)` goes into
 * each build's esbuildPlugins; once every named build has ended without errors, `file` is
 * written from all of their metafiles (and rewritten whenever one of them builds again).
 */
export function thirdPartyNotices(file: string, builds: string[]): { plugin: (build: string) => Plugin } {
  const results = new Map<string, BundledPackage[]>();
  return {
    plugin: (build) => ({
      name: 'sealbox-third-party-notices',
      setup(b) {
        if (!builds.includes(build)) throw new Error(`third-party notices: unknown build ${build}`);
        b.onEnd((result) => {
          if (result.errors.length > 0) return;
          if (!result.metafile) throw new Error('third-party notices: the build has no metafile (tsup always asks esbuild for one)');
          results.set(build, bundledPackages(result.metafile, b.initialOptions.absWorkingDir ?? process.cwd()));
          if (builds.every((name) => results.has(name))) {
            mkdirSync(dirname(file), { recursive: true });
            writeFileSync(file, noticesText([...results.values()].flat()));
          }
        });
      },
    }),
  };
}
