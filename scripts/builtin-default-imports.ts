import type { Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';

/** Dependencies bundled into the CLI whose default imports of Node built-ins are rewritten (below). */
const FILES = /[\\/]node_modules[\\/]env-paths[\\/]index\.js$/;

/**
 * The CLI build's (tsup.config.ts, dist/cli/main.cjs) rewrite of `import os from 'node:os'` in
 * bundled ES module dependencies into `const os = require('node:os')`: the same object, since
 * a built-in's default export is its module.exports. esbuild compiles a default or namespace
 * import into CommonJS output as a copy of the module with a getter per property (`__toESM`),
 * made when the importing module loads: env-paths' three (node:path, node:os, node:process,
 * about 80 properties) cost every local KMS command about 0.2 ms and 60 KB of young-generation
 * allocation (a GC sooner). A file whose imports no longer match gets a build warning, not
 * a failure: only that saving is lost.
 */
export const builtinDefaultImports: Plugin = {
  name: 'sealbox-builtin-default-imports',
  setup(build) {
    build.onLoad({ filter: FILES }, (args) => {
      let count = 0;
      const contents = readFileSync(args.path, 'utf8').replace(/^import (\w+) from '(node:[a-z_/]+)';$/gm, (_, name: string, id: string) => {
        count++;
        return `const ${name} = require('${id}');`;
      });
      return {
        contents,
        loader: 'js',
        warnings: count === 0 ? [{ text: `${args.path}: no default import of a node: built-in to rewrite (scripts/builtin-default-imports.ts)` }] : [],
      };
    });
  },
};
