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

const main = join(__dirname, 'main.cjs');
const enableCompileCache = (module as { enableCompileCache?: () => unknown }).enableCompileCache;
if (enableCompileCache) {
  enableCompileCache();
  module.createRequire(__filename)(main);
} else {
  // One cache entry per kind of command line: an entry holds what the command that wrote it compiled.
  requireWithCompileCache(main, process.env, startupProfile(process.argv.slice(2)));
}
