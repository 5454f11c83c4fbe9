import type { Plugin } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';

/**
 * The browser bundle's file swap: a source file `X.ts` with a sibling `X.browser.ts` is built
 * from the sibling. Node-only code (node:crypto backends) thereby stays out of the bundle pages
 * download instead of being shipped and found absent at run time. Used by tsup.config.ts (the
 * dist/browser entry) and test/browser/build.ts, so the tests measure what ships.
 */
export const browserStubs: Plugin = {
  name: 'sealbox-browser-stubs',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, (args) => {
      if (args.path.endsWith('.browser.ts')) return undefined;
      const stub = args.path.replace(/\.ts$/, '.browser.ts');
      if (!existsSync(stub)) return undefined;
      return { contents: readFileSync(stub, 'utf8'), loader: 'ts', resolveDir: args.path.replace(/[\\/][^\\/]+$/, '') };
    });
  },
};
