import { defineConfig } from 'tsup';
import { browserStubs } from './scripts/browser-stubs.js';

// One ESM build for Node entry points (with .d.ts) and the CLI, plus a minified browser bundle.
export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      'node/index': 'src/node/index.ts',
      'local-kms/index': 'src/local-kms/index.ts',
      'kms-server/index': 'src/kms-server/index.ts',
      'rewrap/index': 'src/rewrap/index.ts',
      'cli/main': 'src/cli/main.ts',
      'cli/bin': 'src/cli/bin.ts',
    },
    format: ['esm'],
    target: 'node20',
    platform: 'neutral',
    dts: { entry: { index: 'src/index.ts', 'node/index': 'src/node/index.ts', 'local-kms/index': 'src/local-kms/index.ts', 'kms-server/index': 'src/kms-server/index.ts', 'rewrap/index': 'src/rewrap/index.ts' } },
    // No source maps in the package: the output is readable ESM, and maps (with the sources
    // inlined) would triple the tarball.
    sourcemap: false,
    // Keep the browser bundle, built in parallel by the second entry.
    clean: ['!browser/**'],
    splitting: true,
    // esbuild's own tree shaking only: tsup's extra rollup pass printed "Generated an empty
    // chunk" on every build.
    treeshake: false,
    external: [/^node:/, 'better-sqlite3', /^@aws-sdk\//, /^@smithy\//, 'env-paths'],
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
    esbuildPlugins: [browserStubs],
  },
]);
