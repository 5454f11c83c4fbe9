/**
 * IAM wildcard matching without regular expressions: agrees with a plain dynamic-programming
 * reference on random patterns and values, and costs comparisons linear in the value for the
 * patterns that made the old backtracking RegExp take polynomial time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileWildcard } from '../../src/local-kms/wildcard.js';
import { evaluateKeyPolicy, parseKeyPolicy } from '../../src/local-kms/policy.js';

/** The textbook O(n*m) table: does pattern[0..i) match value[0..j)? Code points, like IAM characters. */
function reference(pattern: string, value: string): boolean {
  const p = Array.from(pattern);
  const v = Array.from(value);
  let row = Array<boolean>(v.length + 1).fill(false);
  row[0] = true;
  for (const c of p) {
    const next = Array<boolean>(v.length + 1).fill(false);
    if (c === '*') {
      let any = false;
      for (let j = 0; j <= v.length; j++) next[j] = any ||= row[j]!;
    } else {
      for (let j = 1; j <= v.length; j++) next[j] = row[j - 1]! && (c === '?' || c === v[j - 1]);
    }
    row = next;
  }
  return row[v.length]!;
}

const alphabet = (chars: string[]) => fc.array(fc.constantFrom(...chars), { maxLength: 14 }).map((a) => a.join(''));

describe('compileWildcard', () => {
  it('treats regular-expression characters literally', () => {
    expect(compileWildcard('a.b').test('axb')).toBe(false);
    expect(compileWildcard('a.b').test('a.b')).toBe(true);
    expect(compileWildcard('(x)*').test('(x)yz')).toBe(true);
    expect(compileWildcard('[ab]+$').test('a')).toBe(false);
    expect(compileWildcard('[ab]+$').test('[ab]+$')).toBe(true);
  });

  it('named cases: empty, stars only, ?, anchors, astral characters, case folding', () => {
    const cases: [string, string, boolean][] = [
      ['', '', true],
      ['', 'a', false],
      ['*', '', true],
      ['***', 'abc', true],
      ['?', '', false],
      ['?', '😀', true], // one character, two UTF-16 code units
      ['a*', 'ba', false],
      ['*a', 'ab', false],
      ['a*a', 'a', false],
      ['a*a', 'aa', true],
      ['*ab*ab*', 'xabyab', true],
      ['*ab*ab*', 'xaby', false],
      ['tenant-??', 'tenant-42', true],
      ['tenant-??', 'tenant-4', false],
    ];
    for (const [pattern, value, expected] of cases) expect([pattern, value, compileWildcard(pattern).test(value)]).toEqual([pattern, value, expected]);
    expect(compileWildcard('kms:Generate*', true).test('KMS:generateDataKey')).toBe(true);
    expect(compileWildcard('kms:Generate*').test('kms:generateDataKey')).toBe(false);
  });

  it('agrees with the dynamic-programming reference on random patterns and values', () => {
    fc.assert(
      fc.property(alphabet(['a', 'b', '*', '?', '😀']), alphabet(['a', 'b', '*', '?', '😀']), (pattern, value) => {
        expect(compileWildcard(pattern).test(value)).toBe(reference(pattern, value));
      }),
      { numRuns: 5000 },
    );
  });

  it('costs comparisons linear in the value for many-star patterns (no backtracking)', () => {
    // ^.*a.*a...a.*b$ against a run of a's: a backtracking RegExp tries every split, O(n^stars).
    const stars = 40;
    const pattern = `${'*a'.repeat(stars)}*b`;
    for (const n of [3_000, 30_000, 100_000]) {
      const counter = { steps: 0 };
      expect(compileWildcard(pattern).test('a'.repeat(n), counter)).toBe(false);
      // At most (value + segments) x longest segment (1 here): linear, whatever the star count.
      expect(counter.steps).toBeLessThanOrEqual(n + stars + 2);
    }
    // The bound in general: (n + segments) x longest segment.
    const long = `*${'ab?'.repeat(50)}*x`;
    const counter = { steps: 0 };
    compileWildcard(long).test('ab'.repeat(50_000), counter);
    expect(counter.steps).toBeLessThanOrEqual((100_000 + 3) * 150);
  });
});

describe('key policy StringLike against a hostile encryption-context value', () => {
  it('a 3 KB+ value under a many-star pattern is decided at once (the old RegExp did not finish)', () => {
    const policy = parseKeyPolicy(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' },
          {
            Effect: 'Deny',
            Principal: '*',
            Action: 'kms:*',
            Resource: '*',
            Condition: { StringLike: { 'kms:EncryptionContext:path': `${'*a'.repeat(20)}*b` } },
          },
        ],
      }),
    );
    const request = (path: string) => ({
      principal: 'arn:aws:iam::111122223333:user/alice',
      accountId: '111122223333',
      action: 'kms:Decrypt',
      keyArn: 'arn:aws:kms:us-east-1:111122223333:key/k',
      encryptionContext: { path },
    });
    expect(evaluateKeyPolicy(policy, request('a'.repeat(3_500)))).toBe('allow');
    expect(evaluateKeyPolicy(policy, request(`${'a'.repeat(3_500)}b`))).toBe('deny');
  });
});
