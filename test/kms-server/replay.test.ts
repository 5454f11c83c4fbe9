/**
 * A listener who captured one signed request tries to replay it, within the 5-minute clock-skew
 * window, as another operation with the same body (DescribeKey -> DisableKey takes the same
 * `{"KeyId"}`). The signature must cover X-Amz-Target, whatever the client chose to sign.
 */
import { CreateKeyCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { useServedKms } from './served-kms.js';
import { postRaw, signHeaders } from './signing.js';

const served = useServedKms();

async function keyState(keyId: string): Promise<string | undefined> {
  return (await served.root.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState;
}

describe('replaying a captured request as another operation', () => {
  it('refuses a DescribeKey signed over host;x-amz-date only, and its replay as DisableKey; the key stays enabled', async () => {
    const { kms, root } = served;
    const keyId = (await root.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const body = JSON.stringify({ KeyId: keyId });
    const captured = await signHeaders(kms.url, 'TrentService.DescribeKey', body, kms.rootCredential, kms.region, {
      unsigned: ['content-type', 'x-amz-target'],
    });
    expect(captured.authorization).toContain('SignedHeaders=host;x-amz-date,');
    const original = await postRaw(kms.url, captured, body);
    expect(original.status).toBe(400);
    expect(original.json?.__type).toBe('InvalidSignatureException');
    for (const target of ['TrentService.DisableKey', 'TrentService.ScheduleKeyDeletion']) {
      const replay = await postRaw(kms.url, { ...captured, 'x-amz-target': target }, body);
      expect(replay.status).toBe(400);
      expect(replay.json?.__type).toBe('InvalidSignatureException');
    }
    expect(await keyState(keyId)).toBe('Enabled');
  });

  it('refuses a fully signed DescribeKey replayed as DisableKey', async () => {
    const { kms, root } = served;
    const keyId = (await root.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const body = JSON.stringify({ KeyId: keyId });
    const captured = await signHeaders(kms.url, 'TrentService.DescribeKey', body, kms.rootCredential, kms.region);
    const original = await postRaw(kms.url, captured, body);
    expect(original.status).toBe(200);
    const replay = await postRaw(kms.url, { ...captured, 'x-amz-target': 'TrentService.DisableKey' }, body);
    expect(replay.json?.__type).toBe('InvalidSignatureException');
    expect(await keyState(keyId)).toBe('Enabled');
  });

  it('refuses an unsigned session token and an unsigned content type over HTTP', async () => {
    const { kms } = served;
    const body = '{}';
    const withToken = await signHeaders(kms.url, 'TrentService.ListKeys', body, kms.rootCredential, kms.region, { unsigned: [] });
    expect((await postRaw(kms.url, withToken, body)).status).toBe(200);
    const token = await postRaw(kms.url, { ...withToken, 'x-amz-security-token': 'tok' }, body);
    expect(token.json?.__type).toBe('InvalidSignatureException');
    const noType = await signHeaders(kms.url, 'TrentService.ListKeys', body, kms.rootCredential, kms.region, { unsigned: ['content-type'] });
    expect((await postRaw(kms.url, noType, body)).json?.__type).toBe('InvalidSignatureException');
  });
});
