/**
 * Strings that are not well-formed UTF-16 (a lone surrogate, which a JSON `\ud800` escape can
 * carry) are refused in every input, up front: SQLite stores such a string as U+FFFD, so a
 * policy, tag or description would come back changed, and a Deny on such a value would stop
 * applying once stored.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalKms } from '../../src/local-kms/index.js';
import { errorName, freshKms } from './helpers.js';

let kms: LocalKms;
let cleanup: () => void;
beforeEach(() => ({ kms, cleanup } = freshKms()));
afterEach(() => cleanup());

const LONE = ['\ud800', '\udfff', 'a\ud83db', '\ude00\ud83d'];
const ROOT = 'arn:aws:iam::111122223333:root';

function policyWith(condition: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' },
      { Effect: 'Deny', Principal: '*', Action: 'kms:Encrypt', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:tenant': condition } } },
    ],
  });
}

describe('lone surrogates', () => {
  it('in a key policy, as the character or as a JSON escape, are ValidationException and change nothing', async () => {
    const id = (await kms.createKey({})).KeyMetadata!.KeyId!;
    const before = (await kms.getKeyPolicy({ KeyId: id })).Policy;
    for (const s of LONE) {
      const raw = policyWith(s); // JSON.stringify escapes a lone surrogate: "\ud800" in the text
      expect(raw.isWellFormed()).toBe(true);
      const literal = raw.replace(/\\u(d[89a-f][0-9a-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
      expect(literal.isWellFormed()).toBe(false);
      for (const Policy of [raw, literal]) {
        expect(await errorName(kms.putKeyPolicy({ KeyId: id, Policy }))).toBe('ValidationException');
        expect(await errorName(kms.createKey({ Policy }))).toBe('ValidationException');
        expect(await errorName(kms.putPrincipalPolicy({ Principal: 'arn:aws:iam::111122223333:user/u', PolicyName: 'p', PolicyDocument: Policy }))).toBe('ValidationException');
      }
    }
    expect((await kms.getKeyPolicy({ KeyId: id })).Policy).toBe(before);
    expect((await kms.listKeys({})).Keys).toHaveLength(1);
    // A key policy's text holds Latin-1 only (AWS: Policy's pattern), so an astral character (a
    // surrogate pair) is written as JSON escapes; such a policy is kept exactly as sent, and
    // means the character. Written as the character itself it is ValidationException, as in AWS.
    expect(await errorName(kms.putKeyPolicy({ KeyId: id, Policy: policyWith('\ud83d\ude00') }))).toBe('ValidationException');
    const astral = policyWith('\ud83d\ude00').replace('\ud83d\ude00', '\\ud83d\\ude00');
    expect(astral).toContain('\\ud83d\\ude00');
    await kms.putKeyPolicy({ KeyId: id, Policy: astral });
    expect((await kms.getKeyPolicy({ KeyId: id })).Policy).toBe(astral);
    expect(await errorName(kms.encrypt({ KeyId: id, Plaintext: new Uint8Array([1]), EncryptionContext: { tenant: '\ud83d\ude00' } }))).toBe('AccessDeniedException');
  });

  it('in an encryption context key or value are ValidationException', async () => {
    const id = (await kms.createKey({})).KeyMetadata!.KeyId!;
    const { CiphertextBlob } = await kms.encrypt({ KeyId: id, Plaintext: new Uint8Array([1]), EncryptionContext: { tenant: 'a' } });
    for (const s of LONE) {
      for (const EncryptionContext of [{ tenant: s }, { [s]: 'a' }]) {
        expect(await errorName(kms.encrypt({ KeyId: id, Plaintext: new Uint8Array([1]), EncryptionContext }))).toBe('ValidationException');
        expect(await errorName(kms.decrypt({ CiphertextBlob, EncryptionContext }))).toBe('ValidationException');
        expect(await errorName(kms.generateDataKey({ KeyId: id, KeySpec: 'AES_256', EncryptionContext }))).toBe('ValidationException');
        expect(await errorName(kms.createGrant({ KeyId: id, GranteePrincipal: ROOT, Operations: ['Decrypt'], Constraints: { EncryptionContextEquals: EncryptionContext } }))).toBe('ValidationException');
      }
    }
  });

  it('in a tag key or value, a description, an alias, a key id or a grant token are ValidationException and change nothing', async () => {
    for (const s of LONE) {
      expect(await errorName(kms.createKey({ Tags: [{ TagKey: 'team', TagValue: s }] }))).toBe('ValidationException');
      expect(await errorName(kms.createKey({ Tags: [{ TagKey: s, TagValue: 'x' }] }))).toBe('ValidationException');
      expect(await errorName(kms.createKey({ Description: `key ${s}` }))).toBe('ValidationException');
    }
    expect((await kms.listKeys({})).Keys).toEqual([]);
    const id = (await kms.createKey({ Description: 'before', Tags: [{ TagKey: 'team', TagValue: 'a' }] })).KeyMetadata!.KeyId!;
    for (const s of LONE) {
      expect(await errorName(kms.tagResource({ KeyId: id, Tags: [{ TagKey: 'team', TagValue: s }] }))).toBe('ValidationException');
      expect(await errorName(kms.untagResource({ KeyId: id, TagKeys: [s] }))).toBe('ValidationException');
      expect(await errorName(kms.updateKeyDescription({ KeyId: id, Description: s }))).toBe('ValidationException');
      expect(await errorName(kms.createAlias({ AliasName: `alias/${s}`, TargetKeyId: id }))).toBe('ValidationException');
      expect(await errorName(kms.describeKey({ KeyId: `${id}${s}` }))).toBe('ValidationException');
      expect(await errorName(kms.encrypt({ KeyId: id, Plaintext: new Uint8Array([1]), GrantTokens: [s] }))).toBe('ValidationException');
    }
    expect((await kms.describeKey({ KeyId: id })).KeyMetadata!.Description).toBe('before');
    expect((await kms.listResourceTags({ KeyId: id })).Tags).toEqual([{ TagKey: 'team', TagValue: 'a' }]);
    // Surrogate pairs are well-formed: stored and read back as sent.
    await kms.tagResource({ KeyId: id, Tags: [{ TagKey: 'team', TagValue: '\ud83d\ude00' }] });
    await kms.updateKeyDescription({ KeyId: id, Description: 'key \ud83d\ude00' });
    expect((await kms.listResourceTags({ KeyId: id })).Tags).toEqual([{ TagKey: 'team', TagValue: '\ud83d\ude00' }]);
    expect((await kms.describeKey({ KeyId: id })).KeyMetadata!.Description).toBe('key \ud83d\ude00');
  });
});
