/**
 * AWS KMS behaviours seen through `@aws-sdk/client-kms` against the local endpoint, each as the
 * AWS KMS API Reference documents it, and each once different locally. The exception class and
 * HTTP status are what the SDK (and the AWS CLI, from `__type`) reports.
 */
import {
  CreateKeyCommand,
  InvalidMarkerException,
  ListAliasesCommand,
  ListKeyPoliciesCommand,
  ListKeyRotationsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  RotateKeyOnDemandCommand,
  TagResourceCommand,
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
