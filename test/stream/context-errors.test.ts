/**
 * What docs/streaming.md says of bad options, held as the streams behave: an encryption context
 * that breaks the format's rules throws a SealboxError when the stream is made (as a wrong type
 * throws a TypeError), it does not wait to error the stream. (The docs said it errored the
 * stream; a reviewer's caller following them missed the throw.)
 */
import { describe, expect, it } from 'vitest';
import { encryptStream } from '../../src/stream/encrypt-stream.js';
import { createEncryptStream } from '../../src/node/streams.js';
import { testKeyring } from '../helpers/keys.js';

const keyring = testKeyring('ctx-errors', 8);
const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return (err as { code?: string }).code ?? (err as Error).name;
  }
  return undefined;
};

describe('a bad encryption context, when the stream is made', () => {
  it.each([
    ['a reserved sealbox: key', { 'sealbox:x': 'y' }, 'ERR_ENCRYPTION_CONTEXT_INVALID'],
    ['a lone surrogate', { note: 'a\ud800' }, 'ERR_ENCRYPTION_CONTEXT_INVALID'],
    ['beyond the context limit', { big: 'x'.repeat(70_000) }, 'ERR_LIMIT_EXCEEDED'],
  ] as const)('%s: a SealboxError thrown at once, by the Web and the Node stream', (_what, encryptionContext, expected) => {
    expect(code(() => encryptStream({ keyring, encryptionContext }))).toBe(expected);
    expect(code(() => createEncryptStream({ keyring, encryptionContext }))).toBe(expected);
  });
});
