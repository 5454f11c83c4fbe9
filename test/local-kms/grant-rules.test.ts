import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constraintsAllow, constraintsAtLeastAsStrict, grantCovers, validateGrantTerms, type GrantConstraints } from '../../src/local-kms/grant-rules.js';
import { thrownName } from '../helpers/errors.js';

const ALICE = 'arn:aws:iam::111122223333:user/alice';
const req = (action: string, encryptionContext?: Record<string, string>, principal = ALICE) => ({
  principal,
  accountId: '111122223333',
  action,
  ...(encryptionContext ? { encryptionContext } : {}),
});


describe('constraintsAllow', () => {
  it('EncryptionContextEquals needs the exact context', () => {
    const c = { EncryptionContextEquals: { tenant: 'a' } };
    expect(constraintsAllow(c, { tenant: 'a' })).toBe(true);
    expect(constraintsAllow(c, { tenant: 'a', x: 'y' })).toBe(false);
    expect(constraintsAllow(c, { tenant: 'b' })).toBe(false);
    expect(constraintsAllow(c, undefined)).toBe(false);
  });

  it('EncryptionContextSubset needs the pairs and allows more', () => {
    const c = { EncryptionContextSubset: { tenant: 'a' } };
    expect(constraintsAllow(c, { tenant: 'a', x: 'y' })).toBe(true);
    expect(constraintsAllow(c, { tenant: 'A' })).toBe(false);
    expect(constraintsAllow(c, {})).toBe(false);
  });

  // AWS KMS API Reference, GrantConstraints: "in a grant constraint, the key in each key-value
  // pair is not case sensitive, but the value is case sensitive". Keys were compared exactly,
  // so a grant AWS honours was refused locally.
  it('constraint keys match context keys ignoring case; values match exactly', () => {
    const subset = { EncryptionContextSubset: { Tenant: 'acme' } };
    expect(constraintsAllow(subset, { tenant: 'acme', x: 'y' })).toBe(true);
    expect(constraintsAllow(subset, { TENANT: 'acme' })).toBe(true);
    expect(constraintsAllow(subset, { tenant: 'Acme' })).toBe(false);
    const equals = { EncryptionContextEquals: { Tenant: 'acme', app: 'x' } };
    expect(constraintsAllow(equals, { tenant: 'acme', APP: 'x' })).toBe(true);
    expect(constraintsAllow(equals, { tenant: 'acme', APP: 'X' })).toBe(false);
    expect(constraintsAllow(equals, { tenant: 'acme', other: 'x' })).toBe(false);
    expect(constraintsAllow(equals, { tenant: 'acme', app: 'x', more: 'y' })).toBe(false);
  });

  it('context keys differing only in case: an exact key decides, else every variant must match', () => {
    const c = { EncryptionContextSubset: { tenant: 'acme' } };
    expect(constraintsAllow(c, { tenant: 'acme', Tenant: 'evil' })).toBe(true); // the exact key, as before
    expect(constraintsAllow(c, { Tenant: 'acme', TENANT: 'evil' })).toBe(false);
    expect(constraintsAllow(c, { Tenant: 'acme', TENANT: 'acme' })).toBe(true);
    // Equals: as many keys as the constraint, each of them one of its keys.
    expect(constraintsAllow({ EncryptionContextEquals: { tenant: 'acme' } }, { Tenant: 'acme', TENANT: 'acme' })).toBe(false);
    // Equals whose keys differ only in case (CreateGrant takes them): both name one context key,
    // so a context of as many keys with another key besides is not the constraint's.
    const twice = { EncryptionContextEquals: { tenant: 'acme', Tenant: 'acme' } };
    expect(constraintsAllow(twice, { tenant: 'acme', other: 'x' })).toBe(false);
    expect(constraintsAllow(twice, { tenant: 'acme', TENANT: 'acme' })).toBe(true);
  });

  it('a context satisfies Subset of any of its own subsets, and Equals of itself only', () => {
    const ctx = fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 5 });
    fc.assert(
      fc.property(ctx, fc.nat(), (context, seed) => {
        const keys = Object.keys(context).filter((_, i) => (seed >> i) & 1);
        const subset = Object.fromEntries(keys.map((k) => [k, context[k]!]));
        expect(constraintsAllow({ EncryptionContextSubset: subset }, context)).toBe(true);
        expect(constraintsAllow({ EncryptionContextEquals: subset }, context)).toBe(keys.length === Object.keys(context).length);
      }),
    );
  });
});

describe('constraintsAllow against a model of GrantConstraints', () => {
  // Where no two keys differ only in case (then there is no ambiguity): a Subset pair holds when
  // some context key equal to it ignoring case has its value exactly; Equals when, besides,
  // the context has no other key. Keys drawn from a few letters in both cases, `__proto__` and
  // `constructor` among them, so that case variants and prototype names meet often.
  const key = fc.constantFrom('a', 'A', 'b', 'B', 'ab', 'aB', 'Ab', '__proto__', '__PROTO__', 'constructor', 'é', 'É', 'ß', 'SS');
  const value = fc.constantFrom('x', 'X', '', 'y');
  const map = fc.array(fc.tuple(key, value), { maxLength: 5 }).map((pairs) => {
    const seen = new Set<string>();
    return Object.fromEntries(pairs.filter(([k]) => !seen.has(k.toLowerCase()) && seen.add(k.toLowerCase())));
  });
  const holds = (constraint: Record<string, string>, ctx: Record<string, string>): boolean =>
    Object.entries(constraint).every(([k, v]) => Object.entries(ctx).some(([ck, cv]) => ck.toLowerCase() === k.toLowerCase() && cv === v));

  it('Subset and Equals agree with the model for every pair of maps without case-duplicate keys', () => {
    fc.assert(
      fc.property(map, map, (constraint, ctx) => {
        expect(constraintsAllow({ EncryptionContextSubset: constraint }, ctx)).toBe(holds(constraint, ctx));
        const equal = holds(constraint, ctx) && Object.keys(ctx).every((ck) => Object.keys(constraint).some((k) => k.toLowerCase() === ck.toLowerCase()));
        expect(constraintsAllow({ EncryptionContextEquals: constraint }, ctx)).toBe(equal);
        expect(constraintsAllow({ EncryptionContextEquals: constraint, EncryptionContextSubset: constraint }, ctx)).toBe(equal);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('constraintsAtLeastAsStrict', () => {
  // AWS KMS Developer Guide, "Creating grants", "Granting CreateGrant permission": a child grant
  // may add pairs to the parent's EncryptionContextSubset, or make it an EncryptionContextEquals,
  // never remove a pair or go from Equals back to Subset.
  it('allows added Subset pairs and Subset to Equals; refuses dropped pairs, other values, Equals to Subset', () => {
    const sub = (m: Record<string, string>): GrantConstraints => ({ EncryptionContextSubset: m });
    const eq = (m: Record<string, string>): GrantConstraints => ({ EncryptionContextEquals: m });
    expect(constraintsAtLeastAsStrict(undefined, undefined)).toBe(true);
    expect(constraintsAtLeastAsStrict(sub({ a: '1' }), undefined)).toBe(true);
    expect(constraintsAtLeastAsStrict(sub({ a: '1' }), sub({ a: '1' }))).toBe(true);
    expect(constraintsAtLeastAsStrict(sub({ b: '2', a: '1' }), sub({ a: '1' }))).toBe(true);
    expect(constraintsAtLeastAsStrict(eq({ a: '1' }), sub({ a: '1' }))).toBe(true);
    expect(constraintsAtLeastAsStrict(eq({ a: '1', b: '2' }), sub({ a: '1' }))).toBe(true);
    expect(constraintsAtLeastAsStrict(eq({ b: '2', a: '1' }), eq({ a: '1', b: '2' }))).toBe(true);
    expect(constraintsAtLeastAsStrict(undefined, sub({ a: '1' }))).toBe(false);
    expect(constraintsAtLeastAsStrict(sub({}), sub({ a: '1' }))).toBe(false);
    expect(constraintsAtLeastAsStrict(sub({ b: '2' }), sub({ a: '1', b: '2' }))).toBe(false);
    expect(constraintsAtLeastAsStrict(sub({ a: '2' }), sub({ a: '1' }))).toBe(false);
    expect(constraintsAtLeastAsStrict(sub({ a: '1' }), eq({ a: '1' }))).toBe(false);
    expect(constraintsAtLeastAsStrict(eq({ a: '1', b: '2' }), eq({ a: '1' }))).toBe(false);
    expect(constraintsAtLeastAsStrict(eq({}), eq({ a: '1' }))).toBe(false);
    expect(constraintsAtLeastAsStrict(undefined, eq({}))).toBe(false);
    // Key spelling counts: { A } tests a request differently from { a } when both are present.
    expect(constraintsAtLeastAsStrict(sub({ A: '1' }), sub({ a: '1' }))).toBe(false);
  });

  // Soundness: whatever the child allows, the parent allows, for every request context, case
  // variants and prototype names included. A wrong "stricter" would let a grantee pass on more.
  it('never lets a child allow a context its parent refuses', () => {
    const key = fc.constantFrom('a', 'A', 'b', 'B', '__proto__', 'constructor');
    const value = fc.constantFrom('x', 'X', 'y');
    const map = fc.array(fc.tuple(key, value), { maxLength: 3 }).map((pairs) => Object.fromEntries(pairs));
    const constraints = fc.record({ EncryptionContextEquals: map, EncryptionContextSubset: map }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.option(constraints, { nil: undefined }), fc.option(constraints, { nil: undefined }), fc.array(map, { minLength: 20, maxLength: 20 }), (child, parent, contexts) => {
        if (!constraintsAtLeastAsStrict(child, parent)) return;
        // Contexts the child is built to allow, with another pair or with case variants of its
        // keys holding another value, and random ones.
        const own = [child?.EncryptionContextEquals, child?.EncryptionContextSubset].filter((m) => m !== undefined);
        const swapped = (k: string): string => [...k].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
        const variants = own.map((m) => ({ ...Object.fromEntries(Object.keys(m).map((k) => [swapped(k), 'y'])), ...m }));
        for (const ctx of [...own, ...own.map((m) => ({ ...m, b: 'y' })), ...variants, ...contexts]) {
          if (constraintsAllow(child, ctx)) expect([child, parent, ctx, constraintsAllow(parent, ctx)]).toEqual([child, parent, ctx, true]);
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('grantCovers', () => {
  const grant = { granteePrincipal: ALICE, operations: ['Decrypt', 'GenerateDataKey'], constraints: { EncryptionContextSubset: { tenant: 'a' } } };
  it('covers the grantee, the operations and the context it names, nothing else', () => {
    expect(grantCovers(grant, req('kms:Decrypt', { tenant: 'a' }))).toBe(true);
    expect(grantCovers(grant, req('kms:Encrypt', { tenant: 'a' }))).toBe(false);
    expect(grantCovers(grant, req('kms:Decrypt', { tenant: 'b' }))).toBe(false);
    expect(grantCovers(grant, req('kms:Decrypt', { tenant: 'a' }, 'arn:aws:iam::111122223333:user/bob'))).toBe(false);
  });
  it('a grant to the account root covers its principals', () => {
    const g = { granteePrincipal: 'arn:aws:iam::111122223333:root', operations: ['Encrypt'], constraints: undefined };
    expect(grantCovers(g, req('kms:Encrypt'))).toBe(true);
  });
});

describe('validateGrantTerms', () => {
  it('accepts valid terms', () => {
    expect(thrownName(() => validateGrantTerms(['Encrypt', 'Decrypt'], { EncryptionContextEquals: { a: 'b' } }))).toBe('none');
    expect(thrownName(() => validateGrantTerms(['Sign', 'DescribeKey'], undefined))).toBe('none');
    // AWS KMS API Reference, CreateGrant, Constraints: "Grants with grant constraints can include
    // the DescribeKey and RetireGrant operations, but the constraint doesn't apply to these
    // operations." DescribeKey was refused there before.
    expect(thrownName(() => validateGrantTerms(['Decrypt', 'DescribeKey', 'RetireGrant'], { EncryptionContextSubset: { a: 'b' } }))).toBe('none');
  });
  it.each([
    ['no operations', [], undefined],
    ['unknown operation', ['Fly'], undefined],
    ['repeated operation', ['Encrypt', 'Encrypt'], undefined],
    ['constraint on Sign', ['Sign'], { EncryptionContextSubset: { a: 'b' } }],
    ['constraint on GetPublicKey', ['Decrypt', 'GetPublicKey'], { EncryptionContextEquals: {} }],
    ['unknown constraint', ['Decrypt'], { SomethingElse: {} }],
    ['non-string value', ['Decrypt'], { EncryptionContextSubset: { a: 1 } }],
  ])('refuses %s with ValidationException', (_n, ops, constraints) => {
    expect(thrownName(() => validateGrantTerms(ops, constraints))).toBe('ValidationException');
  });
});
