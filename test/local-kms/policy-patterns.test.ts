import { describe, expect, it, vi } from 'vitest';
import * as wildcard from '../../src/local-kms/wildcard.js';
import { evaluateKeyPolicy, parseKeyPolicy } from '../../src/local-kms/policy.js';
import { valueMatches } from '../../src/local-kms/conditions.js';

// Counts the patterns compiled; matching is unchanged.
vi.mock('../../src/local-kms/wildcard.js', async (original) => {
  const actual = await original<typeof import('../../src/local-kms/wildcard.js')>();
  return { ...actual, compileWildcard: vi.fn(actual.compileWildcard) };
});

const account = '111122223333';
const keyArn = `arn:aws:kms:us-east-1:${account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

describe('policy condition patterns', () => {
  it('are compiled once, not once for every value of the request they are compared with', () => {
    // A caller chooses the context: 1,000 keys, each compared with every StringLike pattern of
    // every statement. Compiling each pattern for each key took 10 x 20 x 1,000 compilations,
    // about 200 ms a request, for a 4 KiB policy and an 8 KiB context.
    const patterns = Array.from({ length: 20 }, (_, i) => `*app${i}*x*y*`);
    const deny = { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { 'ForAnyValue:StringLike': { 'kms:EncryptionContextKeys': patterns } } };
    const allow = { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' };
    const policy = parseKeyPolicy(JSON.stringify({ Version: '2012-10-17', Statement: [...Array.from({ length: 10 }, () => deny), allow] }));
    const context = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, 'v']));
    const request = { principal: `arn:aws:iam::${account}:user/alice`, accountId: account, action: 'kms:Decrypt', keyArn, encryptionContext: context };
    const compile = vi.mocked(wildcard.compileWildcard);
    compile.mockClear();
    expect(evaluateKeyPolicy(policy, request)).toBe('allow');
    expect(evaluateKeyPolicy(policy, request)).toBe('allow');
    // Twenty patterns, at most once each (a pattern already compiled by another test: not again).
    expect(compile.mock.calls.length).toBeLessThanOrEqual(20);
    // The same answers: one key matching one pattern is denied, by any statement.
    expect(evaluateKeyPolicy(policy, { ...request, encryptionContext: { ...context, 'my-app7-x-y': 'v' } })).toBe('deny');
    expect(evaluateKeyPolicy(policy, { ...request, encryptionContext: { 'app7-x': 'v' } })).toBe('allow');
  });

  it('ArnLike compiles each part of a pattern once', () => {
    const policy = parseKeyPolicy(
      JSON.stringify({
        Statement: [
          { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:user/team-*' } } },
        ],
      }),
    );
    const compile = vi.mocked(wildcard.compileWildcard);
    const ask = (name: string) => evaluateKeyPolicy(policy, { principal: `arn:aws:iam::${account}:user/${name}`, accountId: account, action: 'kms:Decrypt', keyArn });
    expect(ask('team-a')).toBe('allow');
    compile.mockClear();
    for (let i = 0; i < 50; i++) expect(ask(`team-${i}`)).toBe('allow');
    expect(ask('other')).toBe('implicitDeny');
    expect(compile.mock.calls.length).toBe(0);
  });

  it('a cached pattern is found by its exact text: patterns differing only in case stay case sensitive', () => {
    // StringLike and ArnLike are case sensitive (IAM): a pattern compiled before must not stand in
    // for one that differs from it only in letter case.
    expect(valueMatches('StringLike', 'acme-1', 'acme-*')).toBe(true);
    expect(valueMatches('StringLike', 'acme-1', 'ACME-*')).toBe(false);
    expect(valueMatches('StringLike', 'ACME-1', 'ACME-*')).toBe(true);
    expect(valueMatches('StringLike', 'ACME-1', 'acme-*')).toBe(false);
    expect(valueMatches('ArnLike', 'arn:aws:iam::111122223333:role/ops-1', 'arn:aws:iam::*:role/ops-*')).toBe(true);
    expect(valueMatches('ArnLike', 'arn:aws:iam::111122223333:role/ops-1', 'arn:aws:iam::*:role/Ops-*')).toBe(false);
    expect(valueMatches('ArnLike', 'arn:aws:iam::111122223333:role/Ops-1', 'arn:aws:iam::*:role/Ops-*')).toBe(true);
  });

  it('the cache is bounded: after 4,096 other patterns, the first is compiled again', () => {
    // Policies come and go over a server's life; their patterns must not accumulate for ever.
    const compile = vi.mocked(wildcard.compileWildcard);
    expect(valueMatches('StringLike', 'first-x', 'first-pattern-*')).toBe(false);
    compile.mockClear();
    expect(valueMatches('StringLike', 'first-pattern-x', 'first-pattern-*')).toBe(true);
    expect(compile).not.toHaveBeenCalled();
    for (let i = 0; i < 4096; i++) valueMatches('StringLike', 'v', `other-${i}-*`);
    compile.mockClear();
    expect(valueMatches('StringLike', 'first-pattern-x', 'first-pattern-*')).toBe(true);
    expect(compile).toHaveBeenCalledTimes(1);
  });
});
