import { expect, it } from 'vitest';
import { startupProfile } from '../../src/cli/compile-cache.js';

// The Node 20 compile cache keeps one entry per kind of command line (src/cli/compile-cache.ts):
// the command and the kinds of its --key options.
it.each([
  [[], 'none-default'],
  [['--help'], 'none-default'],
  [['encrypt'], 'encrypt-default'],
  [['--home', 'encrypt', 'decrypt'], 'decrypt-default'],
  [['--json', 'encrypt', '-o', 'x.sbx', 'in.txt'], 'encrypt-default'],
  [['encrypt', '--key', 'file:raw.key'], 'encrypt-file'],
  [['encrypt', '--key=raw:raw.key'], 'encrypt-raw'],
  [['encrypt', '-kpq:me.pub'], 'encrypt-pq'],
  [['decrypt', '-k', 'alias/app', '-k', 'kms:arn:aws:kms:us-east-1:1:key/x', '-k', 'alias/b'], 'decrypt-kms+local'],
  [['encrypt', '--key', 'kms-rsa:pub.pem', '--key', 'rsa:k.pem'], 'encrypt-kms-rsa+rsa'],
  [['encrypt', '--key', 'mystery:thing'], 'encrypt-local'],
  [['encrypt', '--', '--key', 'file:x'], 'encrypt-default'],
  [['../../etc/passwd'], 'other-default'],
  [['KEYS', 'list'], 'other-default'],
  [['keys', 'list'], 'keys-default'],
])('%j -> %s', (args, profile) => {
  expect(startupProfile(args)).toBe(profile);
});

it('names a file: letters, digits, + and - only, whatever the arguments', () => {
  for (const args of [['a/b'], ['encrypt', '--key', '../x:y'], ['x'.repeat(300)], ['encrypt', '-k']]) {
    expect(startupProfile(args)).toMatch(/^[a-z0-9+-]{1,80}$/);
  }
});
