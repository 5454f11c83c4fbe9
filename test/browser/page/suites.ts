// The in-page test suites, run by test/browser/chromium.test.ts in headless Chromium. The
// public API comes from the minified bundle (test/browser/build.ts rewrites the import); the
// only internal used is encryptWithMessageId, to fix the message id for byte comparisons.
import * as api from '../../../src/index.js';
import type { AeadBackendName } from '../../../src/index.js';
import type { DecryptionMaterialsRequest, EncryptionMaterials, EncryptionMaterialsRequest, MaterialsManager } from '../../../src/index.js';
import { encryptWithMessageId } from '../../../src/encrypt.js';
import { createEncryptionStream } from '../../../src/stream/encrypt-stream.js';
import { CROSS, crossKeyring, equalBytes, fixedMessage, fromBase64, hexToBytes, outcome, pattern, sizeGrid, sortedJson, tamperSummary, toBase64, vectorOutcomes } from '../shared.js';
import type { VectorFile } from '../shared.js';
import { readableOf, through } from '../../helpers/web-streams.js';

const keyring = new api.RawAesKeyring({ namespace: 'page', name: 'k', wrappingKey: pattern(32, 7) });

/** Same data key and EDKs for every encrypt: with a fixed message id, messages are then byte-identical. */
class FixedMaterials implements MaterialsManager {
  readonly #inner = new api.DefaultMaterialsManager(keyring);
  #materials: Promise<EncryptionMaterials> | undefined;
  async getEncryptionMaterials(request: EncryptionMaterialsRequest): Promise<EncryptionMaterials> {
    const materials = await (this.#materials ??= this.#inner.getEncryptionMaterials(request));
    // A copy per message: Sealbox zeroes the data key it is handed once it has derived from it.
    return { ...materials, dataKey: materials.dataKey.slice() };
  }
  getDecryptionMaterials(request: DecryptionMaterialsRequest) {
    return this.#inner.getDecryptionMaterials(request);
  }
}
const MESSAGE_ID = new Uint8Array(32).fill(0x5a);

/** Everything a stream put out for `bytes` written in chunks of `size`, or undefined when it failed. */
async function streamPlaintext(ts: TransformStream<Uint8Array, Uint8Array>, bytes: Uint8Array, size: number): Promise<Uint8Array | undefined> {
  try {
    return await through(ts, bytes, size);
  } catch {
    return undefined;
  }
}

/** The error code a stream failed with, or 'ok'. */
async function streamOutcome(ts: TransformStream<Uint8Array, Uint8Array>, bytes: Uint8Array, size: number): Promise<string> {
  try {
    await through(ts, bytes, size);
    return 'ok';
  } catch (err) {
    return err instanceof api.SealboxError ? err.code : `foreign:${(err as Error)?.name}`;
  }
}

// Probed when the module loads: calls made through the DevTools protocol may eval under any CSP.
const EVAL_ALLOWED_AT_LOAD = ((): boolean => {
  try {
    new Function('');
    return true;
  } catch {
    return false;
  }
})();

const suites = {
  info() {
    return {
      backend: api.getAeadBackend().name,
      subtle: typeof globalThis.crypto?.subtle !== 'undefined',
      secureContext: globalThis.isSecureContext,
      hasBuffer: 'Buffer' in globalThis,
      hasProcess: 'process' in globalThis,
      evalAllowed: EVAL_ALLOWED_AT_LOAD,
    };
  },

  /** Round trips over the size grid, a few MiB, offset views, and every in-page backend pair. */
  async roundTrips(): Promise<{ checked: number; failures: string[] }> {
    const failures: string[] = [];
    let checked = 0;
    const check = async (label: string, plaintext: Uint8Array, frameLength: number | undefined, enc?: AeadBackendName, dec?: AeadBackendName): Promise<void> => {
      checked++;
      try {
        const { ciphertext, header } = await api.encrypt(plaintext, { keyring, ...(frameLength ? { frameLength } : {}), ...(enc ? { backend: enc } : {}) });
        if (frameLength && header.frameLength !== frameLength) failures.push(`${label}: frame length ${header.frameLength}`);
        const result = await api.decrypt(ciphertext, { keyring, ...(dec ? { backend: dec } : {}) });
        if (!equalBytes(result.plaintext, plaintext)) failures.push(`${label}: plaintext differs`);
      } catch (err) {
        failures.push(`${label}: ${(err as Error).name} ${(err as { code?: string }).code ?? ''}`);
      }
    };
    for (const { frameLength, size } of sizeGrid()) await check(`F=${frameLength} n=${size}`, pattern(size, size + 3), frameLength);
    await check('3 MiB + 123, default frames', pattern(3 * 1024 * 1024 + 123), undefined);
    // Views with a non-zero offset, in and out.
    const backing = pattern(5000);
    await check('subarray input', backing.subarray(77, 4077), 512);
    const { ciphertext } = await api.encrypt(backing, { keyring, frameLength: 512 });
    const shifted = new Uint8Array(ciphertext.length + 13);
    shifted.set(ciphertext, 13);
    checked++;
    if (!equalBytes((await api.decrypt(shifted.subarray(13), { keyring })).plaintext, backing)) failures.push('subarray ciphertext');
    for (const enc of ['webcrypto', 'noble'] as const) {
      for (const dec of ['webcrypto', 'noble'] as const) await check(`${enc} -> ${dec}`, pattern(3000), 1000, enc, dec);
    }
    return { checked, failures };
  },

  /** The three samples of test/tamper.test.ts: every bit flip, every truncation, an appended byte. */
  async tamper() {
    const multi = new api.MultiKeyring({ generator: keyring, children: [new api.RawAesKeyring({ namespace: 'page', name: 'b', wrappingKey: pattern(32, 2) })] });
    const samples = [
      (await api.encrypt(new Uint8Array(0), { keyring: multi, frameLength: 64 })).ciphertext,
      (await api.encrypt(pattern(40), { keyring: multi, frameLength: 64 })).ciphertext,
      (await api.encrypt(pattern(150), { keyring: multi, frameLength: 64, encryptionContext: { tenant: 'acme', purpose: 'test' } })).ciphertext,
    ];
    const out = [];
    for (const s of samples) out.push(await tamperSummary(api, multi, s));
    return out;
  },

  /**
   * Web Streams in Chromium's own implementation: the size grid x write-chunk grid, streamed
   * encrypt byte-identical to one-shot, the bundle's decryptStream back to the plaintext, the
   * bundle's encryptStream through one-shot decrypt, and truncated / appended / flipped streams.
   */
  async webStreams(): Promise<{ checked: number; failures: string[] }> {
    const failures: string[] = [];
    let checked = 0;
    const MiB = 1024 * 1024;
    for (const F of [64, 1000]) {
      const sizes = [0, 1, F - 1, F, F + 1, 2 * F + 1, 37 * F + 11];
      for (const n of sizes) {
        const materialsManager = new FixedMaterials();
        const plaintext = pattern(n, n + 1);
        const { ciphertext } = await encryptWithMessageId(plaintext, { materialsManager, frameLength: F }, MESSAGE_ID);
        for (const w of [1, 7, F - 1, F, F + 1, MiB]) {
          checked++;
          const label = `F=${F} n=${n} writes=${w}`;
          const streamed = await through(createEncryptionStream({ materialsManager, frameLength: F }, MESSAGE_ID), plaintext, w);
          if (!equalBytes(streamed, ciphertext)) failures.push(`${label}: encryptStream bytes differ from one-shot`);
          const dec = api.decryptStream({ keyring });
          if (!equalBytes(await through(dec, ciphertext, w), plaintext)) failures.push(`${label}: decryptStream`);
          if ((await dec.header).frameLength !== F) failures.push(`${label}: header`);
          const enc = api.encryptStream({ keyring, frameLength: F, encryptionContext: { w: String(w) } });
          const result = await api.decrypt(await through(enc, plaintext, w), { keyring, expectedEncryptionContext: { w: String(w) } });
          if (!equalBytes(result.plaintext, plaintext)) failures.push(`${label}: encryptStream -> decrypt`);
        }
      }
    }
    // Failures: a stream cut short, a byte appended, a bit flipped in a frame.
    const { ciphertext } = await api.encrypt(pattern(5000), { keyring, frameLength: 1000 });
    const codes = {
      truncated: await streamOutcome(api.decryptStream({ keyring }), ciphertext.subarray(0, ciphertext.length - 30), 777),
      finalFrameMissing: await streamOutcome(api.decryptStream({ keyring }), ciphertext.subarray(0, ciphertext.length - 21), 1000),
      appended: await streamOutcome(api.decryptStream({ keyring }), Uint8Array.of(...ciphertext, 0), 777),
      flipped: await streamOutcome(api.decryptStream({ keyring }), ciphertext.map((b, i) => (i === ciphertext.length - 100 ? b ^ 1 : b)), 777),
    };
    const expected = { truncated: 'ERR_TRUNCATED', finalFrameMissing: 'ERR_TRUNCATED', appended: 'ERR_TRAILING_DATA', flipped: 'ERR_DECRYPTION_FAILED' };
    for (const [k, v] of Object.entries(expected)) {
      checked++;
      if (codes[k as keyof typeof codes] !== v) failures.push(`${k}: ${codes[k as keyof typeof codes]}, expected ${v}`);
    }
    return { checked, failures };
  },

  /**
   * Every key Sealbox imports into WebCrypto (wrapping keys, HKDF input, content keys, RSA keys
   * from DER) over one-shot, streamed, signed, cached and RSA paths: "ALG:format:extractable".
   */
  async importedKeys(): Promise<string[]> {
    const seen: string[] = [];
    const proto = SubtleCrypto.prototype as unknown as { importKey: (...a: unknown[]) => Promise<CryptoKey> };
    const original = proto.importKey;
    proto.importKey = function (this: SubtleCrypto, ...a: unknown[]) {
      const alg = a[2] as string | { name: string };
      seen.push(`${typeof alg === 'string' ? alg : alg.name}:${String(a[0])}:${String(a[3])}`);
      return original.apply(this, a);
    };
    try {
      const aes = new api.RawAesKeyring({ namespace: 'page', name: 'x', wrappingKey: pattern(32, 8) });
      const { ciphertext } = await api.encrypt(pattern(100), { keyring: aes, suite: api.SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384 });
      await api.decrypt(ciphertext, { keyring: aes });
      await through(api.decryptStream({ keyring: aes }), ciphertext, 64);
      await through(api.encryptStream({ keyring: aes }), pattern(100), 64);
      await api.decrypt(ciphertext, { materialsManager: new api.CachingMaterialsManager({ keyring: aes, capacity: 2, maxAgeMs: 1000 }) });
      const pair = await crypto.subtle.generateKey({ name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['encrypt', 'decrypt']);
      const rsa = new api.RawRsaKeyring({
        namespace: 'page',
        name: 'rsa',
        publicKey: new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey)),
        privateKey: new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey)),
      });
      await api.decrypt((await api.encrypt(pattern(10), { keyring: rsa })).ciphertext, { keyring: rsa });
    } finally {
      proto.importKey = original;
    }
    return seen;
  },

  /**
   * Inputs in a resizable ArrayBuffer (which Chromium's WebCrypto refuses, and node:crypto,
   * noble and Node's WebCrypto take) through every entry point; and an encryptStream chunk
   * detached (transferred) after it was written. Returns each outcome: 'ok' or what it threw.
   */
  async awkwardBuffers(): Promise<Record<string, string>> {
    const F = 1024;
    const plaintext = pattern(5 * F + 7, 31);
    const { ciphertext } = await api.encrypt(plaintext, { keyring, frameLength: F });
    const resizable = (bytes: Uint8Array): Uint8Array => {
      const buffer = new ArrayBuffer(bytes.length, { maxByteLength: 2 * bytes.length + 1 });
      const view = new Uint8Array(buffer);
      view.set(bytes);
      return view;
    };
    const failed = (err: unknown): string => (err instanceof api.SealboxError ? err.code : `foreign:${(err as Error)?.name}`);
    const attempt = async (f: () => Promise<boolean>): Promise<string> => {
      try {
        return (await f()) ? 'ok' : 'wrong output';
      } catch (err) {
        return failed(err);
      }
    };
    const readAll = async (readable: ReadableStream<Uint8Array>): Promise<Uint8Array> => {
      const parts: Uint8Array[] = [];
      const reader = readable.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
      const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
      return all;
    };
    const collectFrom = (ts: TransformStream<Uint8Array, Uint8Array>, input: Uint8Array): Promise<Uint8Array> => {
      const writer = ts.writable.getWriter();
      void writer.write(input).catch(() => undefined);
      void writer.close().catch(() => undefined);
      return readAll(ts.readable);
    };
    const out: Record<string, string> = {
      encrypt: await attempt(async () => equalBytes((await api.decrypt((await api.encrypt(resizable(plaintext), { keyring, frameLength: F })).ciphertext, { keyring })).plaintext, plaintext)),
      decrypt: await attempt(async () => equalBytes((await api.decrypt(resizable(ciphertext), { keyring })).plaintext, plaintext)),
      encryptStream: await attempt(async () => equalBytes((await api.decrypt(await collectFrom(api.encryptStream({ keyring, frameLength: F }), resizable(plaintext)), { keyring })).plaintext, plaintext)),
      decryptStream: await attempt(async () => equalBytes(await collectFrom(api.decryptStream({ keyring }), resizable(ciphertext)), plaintext)),
      decryptRange: await attempt(async () => equalBytes((await api.decryptRange(resizable(ciphertext), { keyring, start: 100, end: 3000 })).plaintext, plaintext.subarray(100, 3000))),
      wrappingKey: await attempt(async () => {
        const k = new api.RawAesKeyring({ namespace: 'page', name: 'k', wrappingKey: resizable(pattern(32, 7)) });
        return equalBytes((await api.decrypt(ciphertext, { keyring: k })).plaintext, plaintext);
      }),
    };
    // A chunk transferred away while it waits for its turn: the stream errors, it does not
    // write a valid message without those bytes.
    out.detachedChunk = await attempt(async () => {
      const enc = api.encryptStream({ keyring, frameLength: F });
      const writer = enc.writable.getWriter();
      const chunk = plaintext.slice();
      const written = writer.write(chunk);
      (chunk.buffer as ArrayBuffer & { transfer(): ArrayBuffer }).transfer();
      void written.catch(() => undefined);
      void writer.close().catch(() => undefined);
      return (await api.decrypt(await readAll(enc.readable), { keyring })).plaintext.length === plaintext.length;
    });
    // A Proxy of a Uint8Array passes `instanceof`: it fails both sides of the stream with a
    // TypeError (the queue once asked it its byteLength, which threw, and the reader waited).
    out.proxyChunk = await attempt(() =>
      Promise.race([
        collectFrom(api.decryptStream({ keyring }), new Proxy(ciphertext, {})).then((b) => equalBytes(b, plaintext)),
        new Promise<boolean>((_, reject) => setTimeout(() => reject(new Error('hangs')), 2000)),
      ]),
    );
    // The same through a BYOB reader of a Blob that reads into the buffer of the chunk it just
    // wrote, without awaiting the write (each read detaches that buffer): the stream either kept
    // up or fails; it never writes a message that decrypts to less.
    const data = pattern(1 << 20, 32);
    out.byobLoop = await attempt(async () => {
      const enc = api.encryptStream({ keyring });
      const collected = readAll(enc.readable);
      collected.catch(() => undefined);
      const writer = enc.writable.getWriter();
      const byob = new Blob([data as Uint8Array<ArrayBuffer>]).stream().getReader({ mode: 'byob' });
      let buffer = new ArrayBuffer(100_000);
      for (let r = await byob.read(new Uint8Array(buffer)); !r.done; r = await byob.read(new Uint8Array(buffer))) {
        void writer.write(r.value).catch(() => undefined);
        buffer = r.value.buffer;
      }
      await writer.close();
      return equalBytes((await api.decrypt(await collected, { keyring })).plaintext, data);
    });
    return out;
  },

  /** Wycheproof AES-GCM (the SDK profile) on the bundle's in-page backends; returns failing tcIds. */
  async wycheproofAesGcm(cases: Array<{ tcId: number; key: string; iv: string; aad: string; msg: string; ct: string; tag: string; result: string }>, backend: AeadBackendName) {
    const failures: string[] = [];
    const aead = api.getAeadBackend(backend);
    for (const t of cases) {
      const key = await aead.importKey(hexToBytes(t.key));
      const iv = hexToBytes(t.iv);
      const aad = hexToBytes(t.aad);
      const sealed = hexToBytes(t.ct + t.tag);
      try {
        if (t.result === 'valid') {
          if (!equalBytes(await key.seal(iv, aad, hexToBytes(t.msg)), sealed)) failures.push(`${t.tcId}: seal`);
          if (!equalBytes(await key.open(iv, aad, sealed), hexToBytes(t.msg))) failures.push(`${t.tcId}: open`);
        } else {
          await key.open(iv, aad, sealed);
          failures.push(`${t.tcId}: invalid case opened`);
        }
      } catch (err) {
        if (t.result === 'valid' || !(err instanceof api.SealboxError && err.code === 'ERR_DECRYPTION_FAILED')) failures.push(`${t.tcId}: ${(err as Error).name}`);
      }
    }
    return { checked: cases.length, failures };
  },

  /**
   * readHeader from bytes and from a Blob stream; decryptRange over bytes and over a Blob (how a
   * page reads a user's File) matching slices of the plaintext; a tampered frame in range fails.
   */
  async rangeAndHeader(): Promise<{ checked: number; failures: string[] }> {
    const failures: string[] = [];
    let checked = 0;
    const plaintext = pattern(300_003, 21);
    const { ciphertext } = await api.encrypt(plaintext, { keyring, frameLength: 4096, encryptionContext: { file: 'a.bin' } });
    const blob = new Blob([ciphertext as Uint8Array<ArrayBuffer>]);
    for (const source of [ciphertext, blob.stream()]) {
      checked++;
      const header = await api.readHeader(source);
      if (header.frameLength !== 4096 || header.encryptionContext.file !== 'a.bin') failures.push('readHeader');
    }
    const fromBlob = { size: blob.size, read: async (offset: number, length: number) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()) };
    for (const [start, end] of [[0, 1], [4095, 4097], [100_000, 200_000], [299_000, 300_003], [300_003, 300_003], [0, 300_003]] as const) {
      for (const source of [ciphertext, fromBlob]) {
        checked++;
        const r = await api.decryptRange(source, { keyring, start, end, expectedEncryptionContext: { file: 'a.bin' } });
        if (!equalBytes(r.plaintext, plaintext.subarray(start, end)) || r.plaintextLength !== plaintext.length) failures.push(`range ${start}-${end}`);
      }
    }
    checked++;
    const tampered = ciphertext.slice();
    tampered[ciphertext.length - 3 * 4113]! ^= 1; // inside a regular frame near the end
    const code = await api.decryptRange(tampered, { keyring, start: 290_000, end: 300_000 }).then(
      () => 'PLAINTEXT',
      (err: unknown) => (err instanceof api.SealboxError ? err.code : 'foreign'),
    );
    if (code !== 'ERR_DECRYPTION_FAILED') failures.push(`tampered range: ${code}`);
    return { checked, failures };
  },

  /** The bundle in a module Web Worker: one-shot and stream round trips; returns its report. */
  worker(): Promise<string> {
    return new Promise((resolve) => {
      const w = new Worker('/worker.js', { type: 'module' });
      w.onmessage = (e) => {
        resolve(String(e.data));
        w.terminate();
      };
      w.onerror = (e) => resolve(`worker error ${e.message}`);
    });
  },

  vectors(vectors: VectorFile[], keys: Parameters<typeof vectorOutcomes>[2]) {
    return vectorOutcomes(api, vectors, keys);
  },

  /** The fixed message with a named backend (or the page's default). */
  fixedMessage(backend: AeadBackendName | null) {
    return fixedMessage(encryptWithMessageId, api.RawAesKeyring, backend ?? undefined);
  },

  /** The caching manager in the page: its decrypt cache key is hashed on WebCrypto (or noble). */
  async cachingDecrypt(): Promise<{ stats: api.CachingMaterialsManagerStats; plaintextOk: boolean }> {
    const cmm = new api.CachingMaterialsManager({ keyring, capacity: 10, maxAgeMs: 60_000 });
    const plaintext = pattern(3000, 9);
    const { ciphertext } = await api.encrypt(plaintext, { keyring, encryptionContext: { page: 'caching' } });
    let plaintextOk = true;
    for (let i = 0; i < 3; i++) {
      const out = await api.decrypt(ciphertext, { materialsManager: cmm });
      plaintextOk &&= equalBytes(out.plaintext, plaintext);
    }
    const other = await api.encrypt(plaintext, { keyring, encryptionContext: { page: 'other' } });
    await api.decrypt(other.ciphertext, { materialsManager: cmm });
    return { stats: cmm.stats, plaintextOk };
  },

  /** Cross-runtime: encrypt the agreed plaintext here for Node to decrypt. */
  async crossEncrypt(): Promise<string> {
    const { ciphertext } = await api.encrypt(pattern(CROSS.size, 5), { keyring: crossKeyring(api), frameLength: CROSS.frameLength, encryptionContext: CROSS.encryptionContext });
    return toBase64(ciphertext);
  },

  /** Cross-runtime: decrypt a message Node made; true when it gives the agreed plaintext and context. */
  /** RSA keyring in the page: decrypts `b64` with the PEM private key; returns 'match' or the outcome. */
  async rsaDecrypt(b64: string, privatePem: string): Promise<string> {
    const keyring = new api.RawRsaKeyring({ namespace: 'cross', name: 'rsa', privateKey: privatePem });
    const result = await outcome(api, () => api.decrypt(fromBase64(b64), { keyring }));
    return result === `plaintext:${toBase64(pattern(3000, 11))}:${sortedJson({ side: 'node' })}` ? 'match' : result.slice(0, 80);
  },

  /** RSA keyring in the page: encrypts pattern(3000, 12) to the PEM public key. */
  async rsaEncrypt(publicPem: string): Promise<string> {
    const keyring = new api.RawRsaKeyring({ namespace: 'cross', name: 'rsa', publicKey: publicPem });
    const { ciphertext } = await api.encrypt(pattern(3000, 12), { keyring, encryptionContext: { side: 'page' } });
    return toBase64(ciphertext);
  },

  /** X-Wing keyring in the page: encrypts pattern(3000, 13) to the public key text. */
  async xwingEncrypt(publicKey: string): Promise<string> {
    const keyring = new api.XWingKeyring({ publicKey });
    const { ciphertext } = await api.encrypt(pattern(3000, 13), { keyring, encryptionContext: { side: 'page' } });
    return toBase64(ciphertext);
  },

  /** X-Wing keyring in the page: decrypts what Node encrypted (pattern(3000, 14), context side=node). */
  async xwingDecrypt(privateKey: string, b64: string): Promise<string> {
    const keyring = new api.XWingKeyring({ privateKey });
    const result = await outcome(api, () => api.decrypt(fromBase64(b64), { keyring }));
    return result === `plaintext:${toBase64(pattern(3000, 14))}:${sortedJson({ side: 'node' })}` ? 'match' : result.slice(0, 80);
  },

  /** A key pair made in the page, and a mistyped copy of its public key refused with a code. */
  async xwingKeyPair(): Promise<{ publicKey: string; privateKey: string; derived: string; typo: string }> {
    const { publicKey, privateKey } = await api.generateXWingKeyPair();
    const typo = publicKey.slice(0, 20) + (publicKey[20] === 'q' ? 'p' : 'q') + publicKey.slice(21);
    let refused = 'accepted';
    try {
      await new api.XWingKeyring({ publicKey: typo }).ready();
    } catch (err) {
      refused = err instanceof api.SealboxError ? err.code : `foreign:${(err as Error)?.name}`;
    }
    return { publicKey, privateKey, derived: await api.xwingPublicKey(privateKey), typo: refused };
  },

  /** The scripts this page has fetched so far (to see what loads lazily). */
  scripts(): string[] {
    return performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname);
  },

  /** Signed suite: encrypts the agreed plaintext here with suite 2 (signed in the page), for Node. */
  async signedEncrypt(): Promise<string> {
    const { ciphertext } = await api.encrypt(pattern(CROSS.size, 5), {
      keyring: crossKeyring(api),
      frameLength: CROSS.frameLength,
      encryptionContext: CROSS.encryptionContext,
      suite: api.SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384,
    });
    return toBase64(ciphertext);
  },

  /** Signed suite: the agreed plaintext through the bundle's encryptStream with suite 2, in writes of 10,000 bytes, for Node. */
  async signedEncryptStream(): Promise<string> {
    const enc = api.encryptStream({
      keyring: crossKeyring(api),
      frameLength: CROSS.frameLength,
      encryptionContext: CROSS.encryptionContext,
      suite: api.SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384,
    });
    return toBase64(await through(enc, pattern(CROSS.size, 5), 10_000));
  },

  /**
   * Signed suite: decrypts a message Node signed, one-shot and through a Web stream, requiring a
   * signature; then the same message with the last byte of its signature changed.
   */
  async signedDecrypt(b64: string): Promise<{ oneShot: string; stream: string; forged: string; forgedStream: string }> {
    const bytes = fromBase64(b64);
    const options = { keyring: crossKeyring(api), expectedEncryptionContext: CROSS.encryptionContext, signaturePolicy: 'require-signed' as const };
    let oneShot: string;
    try {
      const { plaintext, encryptionContext } = await api.decrypt(bytes, options);
      oneShot = equalBytes(plaintext, pattern(CROSS.size, 5)) ? `match:${sortedJson(encryptionContext)}` : 'mismatch';
    } catch (err) {
      oneShot = err instanceof api.SealboxError ? err.code : `foreign:${(err as Error)?.name}`;
    }
    const forgedBytes = bytes.slice();
    forgedBytes[forgedBytes.length - 1]! ^= 1;
    const forged = await outcome(api, () => api.decrypt(forgedBytes, options));
    const plaintext = await streamPlaintext(api.decryptStream(options), bytes, 65536);
    const forgedStream = await streamOutcome(api.decryptStream(options), forgedBytes, 65536);
    return { oneShot, stream: plaintext !== undefined && equalBytes(plaintext, pattern(CROSS.size, 5)) ? 'match' : 'mismatch', forged, forgedStream };
  },

  /**
   * Signed suite through the bundle's decryptStream: for each message (base64) and write size,
   * what the stream released before it ended (base64) and how it ended ('OK' or the code).
   */
  async signedRelease(cases: Array<{ b64: string; chunk: number }>): Promise<Array<{ released: string; code: string }>> {
    const out: Array<{ released: string; code: string }> = [];
    for (const { b64, chunk } of cases) {
      const parts: number[] = [];
      const reader = readableOf(fromBase64(b64), chunk).pipeThrough(api.decryptStream({ keyring: crossKeyring(api) })).getReader();
      let code = 'OK';
      try {
        for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(...r.value);
      } catch (err) {
        code = err instanceof api.SealboxError ? err.code : `foreign:${(err as Error)?.name}`;
      }
      out.push({ released: toBase64(Uint8Array.from(parts)), code });
    }
    return out;
  },

  async crossDecrypt(b64: string): Promise<string> {
    const result = await outcome(api, () => api.decrypt(fromBase64(b64), { keyring: crossKeyring(api), expectedEncryptionContext: CROSS.encryptionContext }));
    const expected = `plaintext:${toBase64(pattern(CROSS.size, 5))}:${sortedJson(CROSS.encryptionContext)}`;
    return result === expected ? 'match' : result.slice(0, 80);
  },
};

(globalThis as unknown as { sealboxSuites: typeof suites }).sealboxSuites = suites;
export type Suites = typeof suites;
