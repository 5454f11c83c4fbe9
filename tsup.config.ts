import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { defineConfig } from 'tsup';
import { browserStubs } from './scripts/browser-stubs.js';
import { builtinDefaultImports } from './scripts/builtin-default-imports.js';
import { thirdPartyNotices } from './scripts/third-party-notices.js';

// dist/THIRD_PARTY_NOTICES.md: every package whose code the three builds below copy into dist/,
// with its version and licence text, written from esbuild's record of each build's inputs once
// all three have ended (MIT and the like require the notice to travel with copies).
// test/package/pack.test.ts checks it against a build of its own.
const notices = thirdPartyNotices('dist/THIRD_PARTY_NOTICES.md', ['library', 'cli', 'browser']);

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      'node/index': 'src/node/index.ts',
      'local-kms/index': 'src/local-kms/index.ts',
      'kms-server/index': 'src/kms-server/index.ts',
      'rewrap/index': 'src/rewrap/index.ts',
    },
    format: ['esm'],
    target: 'node20',
    platform: 'neutral',
    dts: { entry: { index: 'src/index.ts', 'node/index': 'src/node/index.ts', 'local-kms/index': 'src/local-kms/index.ts', 'kms-server/index': 'src/kms-server/index.ts', 'rewrap/index': 'src/rewrap/index.ts' } },
    // No source maps in the package: the output is readable ESM, and maps (with the sources
    // inlined) would triple the tarball.
    sourcemap: false,
    // Keep the browser bundle, built in parallel by the second entry.
    clean: ['!browser/**', '!cli/**'],
    splitting: true,
    // esbuild's own tree shaking only: tsup's extra rollup pass printed "Generated an empty
    // chunk" on every build.
    treeshake: false,
    external: [/^node:/, 'better-sqlite3', /^@aws-sdk\//, /^@smithy\//, 'env-paths'],
    esbuildPlugins: [notices.plugin('library')],
  },
  {
    // dist/cli/main.cjs: the `sealbox` command as ONE CommonJS file (docs/performance.md, CLI
    // start-up). Each module file costs every start a resolution, a read and (for ES modules)
    // a link step, and Node 20 loads CommonJS faster than ES modules. What a command does not
    // always need (the local KMS and SQLite, the post-quantum arithmetic, the progress bar,
    // armor, the KMS server, the AWS SDK) is reached through dynamic imports, which esbuild
    // turns into lazily run parts of the same file: loaded from disk once, run only when
    // used. The dependencies every command needs (commander, env-paths) are inlined,
    // and so is better-sqlite3's JavaScript (about 15 small files, whose resolution alone took
    // 15-20 ms of every local KMS command; its native addon is loaded by path, store.ts, so the
    // `bindings` package that searches for it is left out; package.json pins better-sqlite3 to
    // the exact version bundled here, so the addon a user's install builds is the same release as
    // this JavaScript: test/package/bundled.test.ts);
    // the others (native addons, the AWS SDK, @noble's and @scure's arithmetic and encodings,
    // cli-progress) stay the package's own dependencies, required when first used (Node
    // 20.19+ and 22.12+ require ES modules too; bin.ts checks), so that compiling this file at start-up stays cheap.
    // bin.cjs (package.json "bin") keeps compiled code on disk, then runs main.cjs.
    entry: { main: 'src/cli/main.ts', bin: 'src/cli/bin.ts' },
    outDir: 'dist/cli',
    format: ['cjs'],
    target: 'node20',
    platform: 'node',
    sourcemap: false,
    clean: true,
    splitting: false,
    treeshake: false,
    noExternal: [/^(?!bindings$|cli-progress$|@aws-sdk\/|@smithy\/|@noble\/|@scure\/)/],
    external: ['bindings', 'cli-progress', /^@aws-sdk\//, /^@smithy\//, /^@noble\//, /^@scure\//],
    // import() of the dependencies left out becomes require() (Node 20.19+ and 22.12+ require ES
    // modules too): no ES module loader at start-up, and compile-cache.ts need not provide one.
    esbuildOptions(options) {
      options.supported = { ...options.supported, 'dynamic-import': false };
      // Minified (identifiers too): a third of the size to ship, read and parse. Error names
      // are explicit `name` fields, never class names, so they stay.
      options.minify = true;
    },
    // dist/cli/bin.js, the bin's name before 0.1 moved it to bin.cjs, stays as a one-line
    // forwarder: `npx sealbox` in a clone links the bin once into npm's npx cache (keyed by the
    // clone's path) and never relinks it, so a clone that ran `npx sealbox` before the rename
    // kept a link to bin.js and failed with "sealbox: not found" after it. Never rename a bin
    // again without leaving such a file. test/cli/bin.test.ts runs it.
    async onSuccess() {
      // node:child_process (which commander requires at load, for executable subcommands the
      // CLI has none of), node:worker_threads (the frame pool's, for large files) and
      // node:fs/promises (file handles, for file inputs and outputs: a pipe's command never
      // uses it, and it loads readline and fs watchers with it, 1-3 ms here) are
      // loaded when first used, not at every start: 2.4 and 1.6 ms of each command here, a few
      // percent of \`node -e 0\` (docs/performance.md, CLI). All are only used through their
      // properties (cs.spawn, Worker, open), which __sealboxLazy (the banner) forwards. Node's
      // built-ins are external to esbuild before any plugin sees them, hence the text. A new
      // use of either must go through a property too (test/cli/startup.test.ts checks the
      // raw-key encrypt loads neither). So is @noble/curves' modular arithmetic, which the
      // signed suite's signer imports (crypto/presign-node.ts) and every command would otherwise
      // load at start (an ES module, required: 6-7 ms of CPU a command here) though only signing
      // uses it (`invert`, a property too).
      const mainFile = 'dist/cli/main.cjs';
      let code = readFileSync(mainFile, 'utf8');
      for (const id of ['child_process', 'worker_threads', 'fs/promises']) code = code.split(`require("${id}")`).join(`__sealboxLazy("node:${id}")`);
      for (const id of ['@noble/curves/abstract/modular.js']) code = code.split(`require("${id}")`).join(`__sealboxLazy("${id}")`);
      writeFileSync(mainFile, code);
      const legacy = 'dist/cli/bin.js';
      writeFileSync(legacy, "#!/usr/bin/env node\n// The `sealbox` command's former path: runs bin.cjs (tsup.config.ts).\nimport './bin.cjs';\n");
      chmodSync(legacy, 0o755);
    },
    // import.meta.url (createRequire of optional parts) in CommonJS terms.
    define: { 'import.meta.url': '__sealboxModuleUrl' },
    // Default imports of Node built-ins in bundled dependencies as plain require()s.
    esbuildPlugins: [builtinDefaultImports, notices.plugin('cli')],
    banner: {
      js: [
        "const __sealboxModuleUrl = require('node:url').pathToFileURL(__filename).href;",
        // A module loaded on first use (onSuccess below).
        'const __sealboxLazy = (id) => { let m; const load = () => (m ??= require(id)); return new Proxy({}, { get: (_, k) => load()[k], has: (_, k) => k in load(), ownKeys: () => Reflect.ownKeys(load()), getOwnPropertyDescriptor: (_, k) => { const d = Object.getOwnPropertyDescriptor(load(), k); return d && { ...d, configurable: true }; } }); };',
      ].join('\n'),
    },
  },
  {
    // dist/browser/sealbox.min.js: the `.` entry as a self-contained ES module for pages and
    // workers without a bundler (<script type="module">, import maps), plus lazily loaded
    // chunks beside it (serve the whole directory). Everything is inlined
    // except @aws-sdk/* (the KMS keyring's client, which applications bundle themselves), so
    // the size budget in test/browser/size.test.ts measures the core. Same options as
    // test/browser/build.ts.
    entry: { sealbox: 'src/index.ts' },
    outDir: 'dist/browser',
    outExtension: () => ({ js: '.min.js' }),
    format: ['esm'],
    target: 'es2022',
    platform: 'browser',
    minify: true,
    sourcemap: false,
    clean: true,
    // Code-split: the @noble/ciphers fallback (a dynamic import) becomes a chunk that only
    // pages without WebCrypto fetch.
    splitting: true,
    treeshake: false,
    noExternal: [/^(?!@aws-sdk\/)/],
    external: [/^@aws-sdk\//],
    // Node-only files (X.ts with an X.browser.ts beside it) are built from their browser stand-ins.
    esbuildPlugins: [browserStubs, notices.plugin('browser')],
  },
]);
