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

describe('keys named like Object.prototype members', () => {
  const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '__defineGetter__'];

  it('keeps every map key, __proto__ included, as an own member (JSON.parse gives them so)', () => {
    for (const name of NAMES) {
      const body = JSON.parse(`{"CiphertextBlob":"AQ==","EncryptionContext":{${JSON.stringify(name)}:"v","a":"b"}}`) as unknown;
      const ctx = decodeInput('Decrypt', body).EncryptionContext as Record<string, string>;
      expect(Object.hasOwn(ctx, name)).toBe(true);
      expect(ctx[name]).toBe('v');
      expect(Object.keys(ctx).sort()).toEqual([name, 'a'].sort());
    }
  });

  it('keeps grant-constraint maps nested in structures', () => {
    const body = JSON.parse('{"KeyId":"k","GranteePrincipal":"p","Operations":["Encrypt"],"Constraints":{"EncryptionContextSubset":{"__proto__":"g"}}}') as unknown;
    const constraints = decodeInput('CreateGrant', body).Constraints as { EncryptionContextSubset: Record<string, string> };
    expect(Object.hasOwn(constraints.EncryptionContextSubset, '__proto__')).toBe(true);
    expect(constraints.EncryptionContextSubset.__proto__).toBe('g');
  });

  it('never lets a structure member named __proto__ lend members by inheritance', () => {
    const input = decodeInput('Encrypt', JSON.parse('{"__proto__":{"KeyId":"alias/evil"},"Plaintext":"AQ=="}') as unknown);
    expect(input.KeyId).toBeUndefined();
    expect(Object.hasOwn(input, '__proto__')).toBe(true);
  });

  it('writes any map key back out, for every key name', () => {
    fc.assert(
      fc.property(fc.constantFrom(...NAMES, 'a', ''), fc.string(), (name, value) => {
        const map = JSON.parse(`{${JSON.stringify(name)}:${JSON.stringify(value)}}`) as Record<string, string>;
        const text = encodeOutput('ListGrants', { Grants: [{ Constraints: { EncryptionContextEquals: map } }] });
        const back = JSON.parse(text) as { Grants: [{ Constraints: { EncryptionContextEquals: Record<string, string> } }] };
        const out = back.Grants[0].Constraints.EncryptionContextEquals;
        expect(Object.hasOwn(out, name)).toBe(true);
        expect(out[name]).toBe(value);
      }),
    );
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
