import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Metafile } from 'esbuild';
import { build } from 'tsup';
import type { Options } from 'tsup';
import configs from '../../tsup.config.js';

/** A package whose code the build copies into dist/, as esbuild's metafile records it. */
export interface Bundled {
  name: string;
  version: string;
  dir: string;
}

/**
 * What `tsup` (tsup.config.ts, every build in it) copies into dist/ from node_modules, read from
 * the metafiles tsup itself writes (`metafile: true`): each package with an input file that
 * contributes bytes to an output. The builds run into a scratch directory, without type
 * declarations (they inline nothing), the CLI's post-processing (it adds no code) or the
 * notices plugin (what is checked here is what that plugin wrote into the real dist/).
 */
export async function bundledByBuild(): Promise<Bundled[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'sealbox-bundled-'));
  const dirs = new Set<string>();
  try {
    const list = (Array.isArray(configs) ? configs : [configs]) as Options[];
    for (const [i, config] of list.entries()) {
      const outDir = join(scratch, String(i));
      const esbuildPlugins = (config.esbuildPlugins ?? []).filter((p) => p.name !== 'sealbox-third-party-notices');
      await build({ ...config, config: false, outDir, dts: false, onSuccess: undefined, clean: false, metafile: true, silent: true, esbuildPlugins });
      for (const file of readdirSync(outDir).filter((f) => /^metafile-.*\.json$/.test(f))) {
        const meta = JSON.parse(readFileSync(join(outDir, file), 'utf8')) as Metafile;
        for (const { inputs } of Object.values(meta.outputs)) {
          for (const [input, { bytesInOutput }] of Object.entries(inputs)) {
            const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
            if (m && bytesInOutput > 0) dirs.add(resolve(m[1]!));
          }
        }
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return [...dirs].map((dir) => {
    const { name, version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string };
    return { name, version, dir };
  });
}
