// sealbox/rewrap: moving messages to new keys by rewriting their headers (docs/rewrap.md).
// Its own entry point, not part of `sealbox`: rewrap is an operator's tool, and the browser
// bundle's core (test/browser/size.test.ts) carries only what encrypting and decrypting need.
// Works wherever `sealbox` does (Node, and browsers through a bundler); the file and Node
// stream forms are in sealbox/node.
export { rewrap } from './rewrap.js';
export type { RewrapOptions, RewrapResult } from './rewrap.js';
export { rewrapStream } from '../stream/rewrap-stream.js';
export type { RewrapStream } from '../stream/rewrap-stream.js';
