import { defineConfig } from 'tsup';

// One ESM build for Node entry points (with .d.ts) and the CLI.
export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      'node/index': 'src/node/index.ts',
      'local-kms/index': 'src/local-kms/index.ts',
      'cli/main': 'src/cli/main.ts',
    },
    format: ['esm'],
    target: 'node20',
    platform: 'neutral',
    dts: { entry: { index: 'src/index.ts', 'node/index': 'src/node/index.ts', 'local-kms/index': 'src/local-kms/index.ts' } },
    sourcemap: true,
    clean: true,
    splitting: true,
    treeshake: true,
    external: [/^node:/, 'better-sqlite3', '@aws-sdk/client-kms', 'env-paths'],
  },
]);
