import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeInput, encodeOutput, operationModel } from '../../src/kms-server/codec.js';
import { thrownName } from '../helpers/errors.js';


describe('decodeInput', () => {
  it('turns base64 members into bytes and epoch seconds into Dates, nested ones too', () => {
    const input = decodeInput('ImportKeyMaterial', {
      KeyId: 'k',
      ImportToken: 'AAEC',
      EncryptedKeyMaterial: '',
      ValidTo: 1_800_000_000.5,
      ExpirationModel: 'KEY_MATERIAL_EXPIRES',
    });
    expect(input.ImportToken).toEqual(new Uint8Array([0, 1, 2]));
    expect(input.EncryptedKeyMaterial).toEqual(new Uint8Array(0));
    expect((input.ValidTo as Date).getTime()).toBe(1_800_000_000_500);
    const dec = decodeInput('Decrypt', { CiphertextBlob: 'AQ==', Recipient: { AttestationDocument: 'AgM=', KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' } });
    expect((dec.Recipient as { AttestationDocument: Uint8Array }).AttestationDocument).toEqual(new Uint8Array([2, 3]));
  });

  it('drops JSON nulls and passes unmodelled members on', () => {
    expect(decodeInput('Encrypt', { KeyId: 'k', Plaintext: null, Extra: 1 })).toEqual({ KeyId: 'k', Extra: 1 });
    expect(decodeInput('SealboxCustomOp', { A: 'x' })).toEqual({ A: 'x' });
  });

  it('round-trips any bytes through base64', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const wire = JSON.parse(encodeOutput('Encrypt', { CiphertextBlob: bytes })) as { CiphertextBlob: string };
        expect(decodeInput('Decrypt', { CiphertextBlob: wire.CiphertextBlob }).CiphertextBlob).toEqual(bytes);
      }),
    );
  });

  it('refuses wrong JSON types with SerializationException', () => {
    for (const body of [
      { CiphertextBlob: 'AQ=' },
      { CiphertextBlob: 'A Q==' },
      { CiphertextBlob: ['AQ=='] },
      { CiphertextBlob: 'AQ==', EncryptionContext: [] },
      { CiphertextBlob: 'AQ==', GrantTokens: [1] },
      { CiphertextBlob: 'AQ==', Recipient: 'x' },
      { CiphertextBlob: 'AQ==', DryRun: 0 },
    ]) {
      expect(thrownName(() => decodeInput('Decrypt', body))).toBe('SerializationException');
    }
    expect(thrownName(() => decodeInput('ImportKeyMaterial', { ValidTo: '2026-01-01' }))).toBe('SerializationException');
    expect(thrownName(() => decodeInput('GenerateRandom', { NumberOfBytes: '5' }))).toBe('SerializationException');
    expect(thrownName(() => decodeInput('Encrypt', []))).toBe('SerializationException');
  });
});

describe('encodeOutput', () => {
  it('writes Dates as epoch seconds, bytes as base64, drops undefined', () => {
    const text = encodeOutput('DescribeKey', { KeyMetadata: { KeyId: 'k', CreationDate: new Date(1500), Description: undefined } });
    expect(JSON.parse(text)).toEqual({ KeyMetadata: { KeyId: 'k', CreationDate: 1.5 } });
  });
  it('sends no body for Unit outputs', () => {
    expect(operationModel('CreateAlias')?.emptyOutput).toBe(true);
    expect(encodeOutput('CreateAlias', {})).toBe('');
    expect(encodeOutput('EnableKey', undefined)).toBe('');
    expect(encodeOutput('ListKeys', {})).toBe('{}');
  });
});
