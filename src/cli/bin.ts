#!/usr/bin/env node
// The `sealbox` command (package.json "bin"). Node 22.1+ has a module compile cache
// (`module.enableCompileCache`): turned on here, before the CLI's modules load, it keeps V8's
// compiled code of the CLI and its dependencies on disk (in the OS temporary directory, or
// NODE_COMPILE_CACHE), so later starts skip most parsing and compiling. Node 20 has no such
// function and runs the same code without it (test/cli/bin.test.ts runs both).
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
await import('./main.js');
