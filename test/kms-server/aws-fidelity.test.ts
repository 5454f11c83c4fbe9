/**
 * AWS KMS behaviours seen through `@aws-sdk/client-kms` against the local endpoint, each as the
 * AWS KMS API Reference documents it, and each once different locally. The exception class and
 * HTTP status are what the SDK (and the AWS CLI, from `__type`) reports.
 */
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  EncryptCommand,
  InvalidMarkerException,
  KMSServiceException,
  ListAliasesCommand,
  ListKeyPoliciesCommand,
  ListKeyRotationsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  GetKeyPolicyCommand,
  RotateKeyOnDemandCommand,
  SignCommand,
  TagResourceCommand,
  UntagResourceCommand,
  VerifyCommand,
  paginateListKeyRotations,
  paginateListResourceTags,
} from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { failure, useServedKms } from './served-kms.js';

const served = useServedKms();

async function newKey(): Promise<string> {
  return (await served.root.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
}

describe('pagination (API Reference: Limit, Marker, NextMarker, Truncated; InvalidMarkerException)', () => {
  // ListKeys, ListAliases, ListResourceTags, ListKeyRotations and ListKeyPolicies each list
  // InvalidMarkerException: "the marker that specifies where pagination should next begin is not
  // valid". A marker the service did not issue was read as a position (an empty or whole list).
  it.each([
    ['ListKeys', () => new ListKeysCommand({ Marker: 'junk' })],
    ['ListAliases', () => new ListAliasesCommand({ Marker: 'junk' })],
    ['ListResourceTags', (k: string) => new ListResourceTagsCommand({ KeyId: k, Marker: 'junk' })],
    ['ListKeyRotations', (k: string) => new ListKeyRotationsCommand({ KeyId: k, Marker: 'junk' })],
    ['ListKeyPolicies', (k: string) => new ListKeyPoliciesCommand({ KeyId: k, Marker: 'junk' })],
  ] as const)('%s with a marker it did not issue is InvalidMarkerException (400)', async (_name, command) => {
    const key = await newKey();
    const err = await failure(served.root.send(command(key) as never));
    expect(err).toBeInstanceOf(InvalidMarkerException);
    expect((err as InvalidMarkerException).$metadata.httpStatusCode).toBe(400);
  });

  it('ListKeys still pages with the markers it issues', async () => {
    await newKey();
    await newKey();
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await served.root.send(new ListKeysCommand({ Limit: 1, ...(marker ? { Marker: marker } : {}) }));
      expect(page.Keys!.length).toBeLessThanOrEqual(1);
      seen.push(...page.Keys!.map((k) => k.KeyId!));
      marker = page.Truncated ? page.NextMarker : undefined;
    } while (marker);
    const all = (await served.root.send(new ListKeysCommand({ Limit: 1000 }))).Keys!.map((k) => k.KeyId!);
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(seen.length);
  });

  // ListResourceTags, Limit: "When this value is present, KMS does not return more than the
  // specified number of items ... must be between 1 and 50, inclusive. If you do not include a
  // value, it defaults to 50." Every tag came back, Truncated false, whatever the Limit.
  it('ListResourceTags honours Limit, and its markers page through every tag once (the SDK paginator)', async () => {
    const key = await newKey();
    const tags = ['b', 'a', 'é', 'c d', 'e'].map((k, i) => ({ TagKey: k, TagValue: String(i) }));
    await served.root.send(new TagResourceCommand({ KeyId: key, Tags: tags }));
    const first = await served.root.send(new ListResourceTagsCommand({ KeyId: key, Limit: 2 }));
    expect(first.Tags!.map((t) => t.TagKey)).toEqual(['a', 'b']);
    expect(first.Truncated).toBe(true);
    expect(first.NextMarker).toBeTypeOf('string');
    const pages: string[][] = [];
    for await (const page of paginateListResourceTags({ client: served.root, pageSize: 2 }, { KeyId: key })) pages.push(page.Tags!.map((t) => t.TagKey!));
    expect(pages).toEqual([['a', 'b'], ['c d', 'e'], ['é']]);
    const whole = await served.root.send(new ListResourceTagsCommand({ KeyId: key }));
    expect(whole.Tags!.length).toBe(5);
    expect(whole.Truncated).toBe(false);
    expect(whole.NextMarker).toBeUndefined();
  });

  it('ListKeyRotations honours Limit and pages with its markers', async () => {
    const key = await newKey();
    for (let i = 0; i < 3; i++) await served.root.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const first = await served.root.send(new ListKeyRotationsCommand({ KeyId: key, Limit: 2 }));
    expect(first.Rotations!.length).toBe(2);
    expect(first.Truncated).toBe(true);
    const pages: number[] = [];
    for await (const page of paginateListKeyRotations({ client: served.root, pageSize: 2 }, { KeyId: key })) pages.push(page.Rotations!.length);
    expect(pages).toEqual([2, 1]);
    const whole = await served.root.send(new ListKeyRotationsCommand({ KeyId: key }));
    expect(whole.Rotations!.length).toBe(3);
    expect(whole.Truncated).toBe(false);
  });
});

/** A ValidationException (400) as the SDK reports it: a KMSServiceException with that name. */
async function validationError(p: Promise<unknown>): Promise<void> {
  const err = await failure(p);
  expect(err).toBeInstanceOf(KMSServiceException);
  expect(err.name).toBe('ValidationException');
  expect((err as KMSServiceException).$metadata.httpStatusCode).toBe(400);
}

describe('member constraints of the API Reference are ValidationException', () => {
  // GrantTokens: "Array Members: Minimum number of 0 items. Maximum number of 10 items. Length
  // Constraints: Minimum length of 1. Maximum length of 8192." An empty or overlong token was
  // read as a token (InvalidGrantTokenException).
  it.each([['empty', ''], ['of 8,193 characters', 'x'.repeat(8193)]])('a grant token %s is ValidationException', async (_label, token) => {
    const key = await newKey();
    await validationError(served.root.send(new DescribeKeyCommand({ KeyId: key, GrantTokens: [token] })));
    await validationError(served.root.send(new EncryptCommand({ KeyId: key, Plaintext: new Uint8Array(1), GrantTokens: [token] })));
  });

  // UntagResource, TagKeys: "Length Constraints: Minimum length of 1. Maximum length of 128." An
  // empty or overlong tag key was accepted and removed nothing.
  it.each([['empty', ''], ['of 129 characters', 'k'.repeat(129)]])('UntagResource with a tag key %s is ValidationException', async (_label, tagKey) => {
    const key = await newKey();
    await validationError(served.root.send(new UntagResourceCommand({ KeyId: key, TagKeys: [tagKey] })));
  });

  // Sign and Verify, SigningAlgorithm: "Valid Values: RSASSA_PSS_SHA_256 | ..." A value outside
  // the enum was InvalidKeyUsageException, as if it were a real algorithm the key lacks; one the
  // key lacks still is.
  it('a SigningAlgorithm that is no AWS value is ValidationException; one the key lacks stays InvalidKeyUsageException', async () => {
    const key = (await served.root.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    const message = new Uint8Array([1, 2, 3]);
    await validationError(served.root.send(new SignCommand({ KeyId: key, Message: message, SigningAlgorithm: 'ECDSA_SHA_1024' as never })));
    await validationError(
      served.root.send(new VerifyCommand({ KeyId: key, Message: message, Signature: new Uint8Array(64), SigningAlgorithm: 'ecdsa_sha_256' as never })),
    );
    const lacking = await failure(served.root.send(new SignCommand({ KeyId: key, Message: message, SigningAlgorithm: 'RSASSA_PSS_SHA_256' })));
    expect(lacking.name).toBe('InvalidKeyUsageException');
    const signed = await served.root.send(new SignCommand({ KeyId: key, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
    expect(signed.SigningAlgorithm).toBe('ECDSA_SHA_256');
  });
});

describe('key policy text (API Reference, Policy: "Pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+")', () => {
  const policy = (sid: string) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: sid, Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${served.kms.accountId}:root` }, Action: 'kms:*', Resource: '*' }],
    });

  // "A key policy document can include only the following characters: printable ASCII ...,
  // printable characters in the Basic Latin and Latin-1 Supplement character set, the tab,
  // line feed, and carriage return special characters" (Developer Guide, "Key policy format").
  // A policy with other characters was stored, and AWS refuses it.
  it.each([['€ (U+20AC)', 'Euro €'], ['CJK', '鍵'], ['an emoji', 'key 🔑']])(
    'CreateKey and PutKeyPolicy refuse a policy holding %s with ValidationException and change nothing',
    async (_label, sid) => {
      const before = (await served.root.send(new ListKeysCommand({ Limit: 1000 }))).Keys!.length;
      await validationError(served.root.send(new CreateKeyCommand({ Policy: policy(sid) })));
      expect((await served.root.send(new ListKeysCommand({ Limit: 1000 }))).Keys!.length).toBe(before);
      const key = await newKey();
      const original = (await served.root.send(new GetKeyPolicyCommand({ KeyId: key }))).Policy;
      await validationError(served.root.send(new PutKeyPolicyCommand({ KeyId: key, Policy: policy(sid) })));
      expect((await served.root.send(new GetKeyPolicyCommand({ KeyId: key }))).Policy).toBe(original);
    },
  );

  it('Latin-1 text, tabs and newlines, and any character written as a JSON escape, are accepted', async () => {
    const key = await newKey();
    const text = policy('Schlüssel für Zoë').replace('{', '{\n\t').replace('}', '\r\n}');
    await served.root.send(new PutKeyPolicyCommand({ KeyId: key, Policy: text }));
    expect((await served.root.send(new GetKeyPolicyCommand({ KeyId: key }))).Policy).toBe(text);
    // The policy text holds the six ASCII characters \u20ac; the Sid it means holds the euro sign.
    const escaped = policy('Euro €').replace('€', '\\u20ac');
    expect(JSON.parse(escaped).Statement[0].Sid).toBe('Euro €');
    await served.root.send(new PutKeyPolicyCommand({ KeyId: key, Policy: escaped }));
    expect((await served.root.send(new CreateKeyCommand({ Policy: escaped }))).KeyMetadata!.KeyState).toBe('Enabled');
  });
});
