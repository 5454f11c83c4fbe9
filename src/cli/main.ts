#!/usr/bin/env node
console.error("sealbox: not built yet");
process.exitCode = 1;
