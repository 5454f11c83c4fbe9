#!/usr/bin/env node
// The `sealbox` command (package.json "bin"), a CommonJS file: an ES module entry would start
// Node's ES module loader, which costs every command more than a small encrypt's own work.
// The CLI itself is dist/cli/main.cjs, one file (tsup.config.ts). Its compiled code is kept
// on disk between runs: by Node's module compile cache (`module.enableCompileCache`, Node
// 22.1+, in the OS temporary directory or NODE_COMPILE_CACHE) or, on Node 20, which has none,
// by compile-cache.ts. test/cli/bin.test.ts runs both.
import module from 'node:module';
import { join } from 'node:path';
import { requireWithCompileCache, startupProfile } from './compile-cache.js';

// main.cjs require()s ES-module dependencies (@noble/*, @scure/base; tsup.config.ts), which Node
// does by default from 20.19 and 22.12 on (package.json "engines", docs/decisions/0001-node-versions.md).
// Without it (Node 22.0-22.11, or --no-experimental-require-module) a command failed half-way
// with a require() error naming a dependency file; say so before anything runs.
if ((process.features as { require_module?: boolean }).require_module !== true) {
  process.stderr.write(`sealbox: Node.js ${process.version} cannot require() ES modules, which sealbox needs: use Node.js 20.19 or later 20.x, or 22.12 or later (ERR_REQUIRE_ESM)\n`);
  process.exit(1);
}

const main = join(__dirname, 'main.cjs');
const enableCompileCache = (module as { enableCompileCache?: () => unknown }).enableCompileCache;
if (enableCompileCache) {
  enableCompileCache();
  module.createRequire(__filename)(main);
} else {
  // One cache entry per kind of command line: an entry holds what the command that wrote it compiled.
  requireWithCompileCache(main, process.env, startupProfile(process.argv.slice(2)));
}
