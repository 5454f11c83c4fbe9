import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'scratch/', 'test/vectors/**/*.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'Export names explicitly (no export *).' }],
    },
  },
  {
    // Public .d.ts must not need @types/better-sqlite3 (a devDependency): src names the
    // database through src/local-kms/sqlite.ts; only the store opens better-sqlite3 itself.
    files: ['src/**'],
    ignores: ['src/local-kms/store.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'better-sqlite3', message: 'Use SqliteDatabase from src/local-kms/sqlite.ts (public types must not need @types/better-sqlite3).' }] }],
    },
  },
  {
    files: ['bench/**', 'test/**', 'scripts/**'],
    languageOptions: {
      globals: {
        process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setImmediate: 'readonly', performance: 'readonly', URL: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly',
        crypto: 'readonly', globalThis: 'readonly', fetch: 'readonly', window: 'readonly', document: 'readonly',
      },
    },
  },
);
