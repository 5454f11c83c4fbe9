import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import * as sealbox from '../../src/index.js';
import { encryptWithMessageId } from '../../src/encrypt.js';
import { loadVectorKeys, loadVectors } from '../helpers/vectors.js';
import { loadWycheproof } from '../helpers/wycheproof.js';
import { forgeFrame } from '../helpers/forge.js';
import { buildBrowserBundle, buildPageScript } from './build.js';
import { BROWSER_SKIP, INDEX_HTML, launchChromium } from './chromium.js';
import type { Suites } from './page/suites.js';
import type { Asset, TestServer } from './server.js';
import { serve } from './server.js';
import { CROSS, crossKeyring, fixedMessage, fromBase64, outcome, pattern, sortedJson, toBase64, vectorOutcomes } from './shared.js';

// Issue 7: the `.` entry, as the minified browser bundle, tested in real headless Chromium.
// Each describe block runs one in-page suite (test/browser/page/suites.ts) and checks its
// results here, often against the same computation done in Node on src/.

let server: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let fallbackContext: BrowserContext;
let fallback: Page;
let strict: Page;
const cspViolations: string[] = [];

const STRICT_CSP = "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'";

/** Calls suite `name` in `target` with JSON arguments. */
async function run<K extends keyof Suites>(target: Page, name: K, ...args: Parameters<Suites[K]>): Promise<Awaited<ReturnType<Suites[K]>>> {
  return target.evaluate(
    ({ name, args }) => (globalThis as unknown as { sealboxSuites: Record<string, (...a: unknown[]) => unknown> }).sealboxSuites[name]!(...args),
    { name, args: args as unknown[] },
  ) as Promise<Awaited<ReturnType<Suites[K]>>>;
}

/**
 * {@link run}, but started from a page task (setTimeout) rather than inside the DevTools
 * evaluation, which Chromium exempts from a page's CSP eval restrictions.
 */
async function runDetached<K extends keyof Suites>(target: Page, name: K, ...args: Parameters<Suites[K]>): Promise<Awaited<ReturnType<Suites[K]>>> {
  await target.evaluate(
    ({ name, args }) => {
      const g = globalThis as unknown as { sealboxSuites: Record<string, (...a: unknown[]) => Promise<unknown>>; detached?: Promise<unknown> };
      g.detached = new Promise((resolve, reject) => setTimeout(() => Promise.resolve(g.sealboxSuites[name]!(...args)).then(resolve, reject), 0));
    },
    { name, args: args as unknown[] },
  );
  return target.evaluate(() => (globalThis as unknown as { detached: Promise<unknown> }).detached) as Promise<Awaited<ReturnType<Suites[K]>>>;
}

/** A context whose pages can reach nothing but the test server. */
async function isolatedContext(): Promise<BrowserContext> {
  const ctx = await browser.newContext();
  await ctx.route((url) => url.origin !== server.origin, (route) => route.abort());
  return ctx;
}

async function openSuites(ctx: BrowserContext, path = '/'): Promise<Page> {
  const p = await ctx.newPage();
  const errors: string[] = [];
  p.on('pageerror', (err) => errors.push(err.message));
  p.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  await p.goto(`${server.origin}${path}`);
  await p.waitForFunction(() => 'sealboxSuites' in globalThis, undefined, { timeout: 20_000 }).catch((err: unknown) => {
    throw new Error(`suites did not load: ${errors.join('; ') || String(err)}`);
  });
  return p;
}

beforeAll(async () => {
  const [bundle, suites, worker] = await Promise.all([
    buildBrowserBundle(),
    buildPageScript('test/browser/page/suites.ts'),
    buildPageScript('test/browser/page/worker.ts'),
  ]);
  const assets = new Map<string, Asset>([
    ['/', { type: 'text/html; charset=utf-8', body: INDEX_HTML }],
    // The same page under a strict Content Security Policy: no eval, no inline script, no wasm.
    ['/strict.html', { type: 'text/html; charset=utf-8', body: INDEX_HTML, headers: { 'content-security-policy': STRICT_CSP } }],
    ...[...bundle.files].map(([path, body]) => [path, { type: 'text/javascript', body }] as const),
    ['/suites.js', { type: 'text/javascript', body: suites }],
    ['/worker.js', { type: 'text/javascript', body: worker }],
  ]);
  server = await serve(assets);
  browser = await launchChromium();
  context = await isolatedContext();
  page = await openSuites(context);
  // The forced fallback: crypto.subtle hidden before any script runs, as in an insecure context.
  fallbackContext = await isolatedContext();
  await fallbackContext.addInitScript(() => {
    Object.defineProperty(Crypto.prototype, 'subtle', { get: () => undefined, configurable: true });
  });
  fallback = await openSuites(fallbackContext);
  strict = await openSuites(context, '/strict.html');
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe.skipIf(BROWSER_SKIP)('the page', () => {
  it('is a secure context without Node globals, and Sealbox picks WebCrypto', async () => {
    expect(await run(page, 'info')).toEqual({ backend: 'webcrypto', subtle: true, secureContext: true, hasBuffer: false, hasProcess: false, evalAllowed: true });
  });

  it('the bundle works unchanged in a module Web Worker (one-shot and streams)', async () => {
    expect(await run(page, 'worker')).toBe('ok webcrypto');
  });

  it('round-trips the size grid, a few MiB, offset views and every backend pair', async () => {
    const { checked, failures } = await run(page, 'roundTrips');
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(25);
  });

  it('rejects every bit flip, truncation and appended byte with a code', async () => {
    const samples = await run(page, 'tamper');
    expect(samples).toHaveLength(3);
    for (const s of samples) {
      expect(s.untouched).toBe('PLAINTEXT');
      expect(Object.keys(s.flips)).not.toContain('PLAINTEXT');
      for (const code of Object.keys(s.flips)) expect(code).toMatch(/^ERR_[A-Z_]+$/);
      expect(s.flips.ERR_DECRYPTION_FAILED).toBeGreaterThan(0);
      for (const code of Object.keys(s.truncations)) expect(code).toMatch(/^ERR_(TRUNCATED|FORMAT_INVALID)$/);
      expect(s.appended).toBe('ERR_TRAILING_DATA');
    }
  });

  it('Web Streams: size grid x write sizes byte-identical to one-shot, both directions, failure codes', async () => {
    const { checked, failures } = await run(page, 'webStreams');
    expect(failures).toEqual([]);
    expect(checked).toBe(2 * 7 * 6 + 4);
  });

  it('every key Sealbox imports into WebCrypto is non-extractable (AES wrapping and content keys, HKDF input, RSA keys)', async () => {
    const seen = await run(page, 'importedKeys');
    for (const kind of ['AES-GCM:raw', 'HKDF:raw', 'RSA-OAEP:spki', 'RSA-OAEP:pkcs8']) expect(seen.some((k) => k.startsWith(kind))).toBe(true);
    expect(seen.filter((k) => !k.endsWith(':false'))).toEqual([]);
  });

  it('inputs in a resizable ArrayBuffer work on every entry point; a chunk detached after it was written errors the encrypt stream', async () => {
    // Chromium's WebCrypto throws a TypeError for a view of a resizable buffer (node:crypto and
    // Node's WebCrypto take it); a detached chunk read as empty wrote a valid, shorter message.
    const { byobLoop, ...rest } = await run(page, 'awkwardBuffers');
    expect(rest).toEqual({
      encrypt: 'ok',
      decrypt: 'ok',
      encryptStream: 'ok',
      decryptStream: 'ok',
      decryptRange: 'ok',
      wrappingKey: 'ok',
      detachedChunk: 'foreign:TypeError',
      proxyChunk: 'foreign:TypeError',
    });
    // Timing decides which; before the fix it wrote a valid message of the first reads only.
    expect(['ok', 'foreign:TypeError']).toContain(byobLoop);
  });

  it('passes Wycheproof AES-GCM (128/256-bit keys, 96-bit IV, 128-bit tag) on WebCrypto and noble', async () => {
    const file = loadWycheproof<{ keySize: number; ivSize: number; tagSize: number; tests: Parameters<Suites['wycheproofAesGcm']>[0] }>('aes_gcm_test.json');
    const cases = file.testGroups.filter((g) => (g.keySize === 128 || g.keySize === 256) && g.ivSize === 96 && g.tagSize === 128).flatMap((g) => g.tests);
    expect(cases.length).toBe(133);
    for (const backend of ['webcrypto', 'noble'] as const) expect(await run(page, 'wycheproofAesGcm', cases, backend)).toEqual({ checked: 133, failures: [] });
  });

  it('readHeader and decryptRange over bytes, a Blob stream and a Blob-backed reader', async () => {
    expect(await run(page, 'rangeAndHeader')).toEqual({ checked: 2 + 12 + 1, failures: [] });
  });

  it('decrypts the frozen vectors to the same results as Node', async () => {
    const vectors = loadVectors();
    const keys = loadVectorKeys();
    const inNode = await vectorOutcomes(sealbox, vectors, keys);
    const inPage = await run(page, 'vectors', vectors, keys);
    expect(inPage).toEqual(inNode);
    // And Node's results are the ones each vector names.
    for (const v of vectors) {
      const got = inNode[v.name]!;
      if (v.expect === 'success') expect(got).toBe(`plaintext:${v.plaintext}:${sortedJson(v.encryptionContext ?? {})}`);
      // A decrypt option out of its range (rule 29) is a RangeError, not a SealboxError.
      else expect(got, v.name).toBe(v.expect === 'RangeError' ? 'foreign:RangeError' : v.expect);
    }
  });
});

describe.skipIf(BROWSER_SKIP)('cross-runtime', () => {
  it('a message made in Node decrypts in the page', async () => {
    const { ciphertext } = await sealbox.encrypt(pattern(CROSS.size, 5), { keyring: crossKeyring(sealbox), frameLength: CROSS.frameLength, encryptionContext: CROSS.encryptionContext });
    expect(await run(page, 'crossDecrypt', toBase64(ciphertext))).toBe('match');
    expect(await run(fallback, 'crossDecrypt', toBase64(ciphertext))).toBe('match');
  });

  it('a message made in the page (WebCrypto and forced noble) decrypts in Node', async () => {
    const expected = `plaintext:${toBase64(pattern(CROSS.size, 5))}:${sortedJson(CROSS.encryptionContext)}`;
    for (const target of [page, fallback]) {
      const ciphertext = fromBase64(await run(target, 'crossEncrypt'));
      expect(await outcome(sealbox, () => sealbox.decrypt(ciphertext, { keyring: crossKeyring(sealbox), expectedEncryptionContext: CROSS.encryptionContext }))).toBe(expected);
    }
  });

  it('signed suite: a message signed in Node verifies in the page (WebCrypto and noble AES pages), one-shot and streamed; a changed signature is refused there', async () => {
    const suite = sealbox.SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384;
    const { ciphertext } = await sealbox.encrypt(pattern(CROSS.size, 5), { keyring: crossKeyring(sealbox), frameLength: CROSS.frameLength, encryptionContext: CROSS.encryptionContext, suite });
    expect((await sealbox.readHeader(ciphertext)).suite).toBe(suite);
    const context = (await sealbox.decrypt(ciphertext, { keyring: crossKeyring(sealbox) })).encryptionContext;
    expect(Object.keys(context)).toContain('sealbox:ecdsa-p384-public-key');
    for (const target of [page, fallback]) {
      const got = await run(target, 'signedDecrypt', toBase64(ciphertext));
      // The same plaintext and context (with the signing key Node put there) as in Node.
      expect(got.oneShot).toBe(`match:${sortedJson(context)}`);
      expect(got.stream).toBe('match');
      // The lowest bit of s flipped: still canonical, no longer valid.
      expect(got.forged).toBe('ERR_DECRYPTION_FAILED');
      expect(got.forgedStream).toBe('ERR_DECRYPTION_FAILED');
    }
  });

  it('signed suite: a message signed in the page verifies in Node, and the page fetched the signature code only when it signed', async () => {
    const fresh = await openSuites(context);
    try {
      const chunk = (scripts: string[]): string[] => scripts.filter((s) => /^\/signature-noble-[\w-]+\.min\.js$/.test(s));
      expect(chunk(await run(fresh, 'scripts'))).toEqual([]);
      const ciphertext = fromBase64(await run(fresh, 'signedEncrypt'));
      expect(chunk(await run(fresh, 'scripts'))).toHaveLength(1);
      expect((await sealbox.readHeader(ciphertext)).suite).toBe(sealbox.SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384);
      const options = { keyring: crossKeyring(sealbox), expectedEncryptionContext: CROSS.encryptionContext, signaturePolicy: 'require-signed' as const };
      const { plaintext, encryptionContext } = await sealbox.decrypt(ciphertext, options);
      expect(Buffer.from(plaintext).equals(Buffer.from(pattern(CROSS.size, 5)))).toBe(true);
      expect(encryptionContext).toMatchObject(CROSS.encryptionContext);
      expect(encryptionContext['sealbox:ecdsa-p384-public-key']).toMatch(/^[A-Za-z0-9+/]{66}==$/);
      const forged = ciphertext.slice();
      forged[forged.length - 1]! ^= 1;
      expect(await outcome(sealbox, () => sealbox.decrypt(forged, options))).toBe('ERR_DECRYPTION_FAILED');
      // Signed through the page's encryptStream: verifies in Node too.
      const streamed = fromBase64(await run(fresh, 'signedEncryptStream'));
      const fromStream = await sealbox.decrypt(streamed, options);
      expect(fromStream.header.suite.signed).toBe(true);
      expect(Buffer.from(fromStream.plaintext).equals(Buffer.from(pattern(CROSS.size, 5)))).toBe(true);
      expect(fromStream.encryptionContext).toMatchObject(CROSS.encryptionContext);
      const forgedStream = streamed.slice();
      forgedStream[forgedStream.length - 1]! ^= 1;
      expect(await outcome(sealbox, () => sealbox.decrypt(forgedStream, options))).toBe('ERR_DECRYPTION_FAILED');
    } finally {
      await fresh.close();
    }
  });

  it('signed suite: the page\'s decryptStream withholds the last frame with plaintext until the signature verifies, as Node\'s does (WebCrypto and noble pages)', async () => {
    const suite = sealbox.SUITE_AES256_GCM_HKDF_SHA512_COMMIT_ECDSA_P384;
    const keyring = crossKeyring(sealbox);
    const F = 64;
    const signed = async (plaintext: Uint8Array): Promise<Uint8Array> => (await sealbox.encrypt(plaintext, { keyring, frameLength: F, suite })).ciphertext;
    const partial = pattern(150, 2); // a final frame of 22 bytes
    const whole = pattern(128, 5); // whole frames: the final frame is empty
    const partialMessage = await signed(partial);
    const wholeMessage = await signed(whole);
    const forgedFrame = pattern(64, 99);
    // [message, what may be released, code]: an insider's frames (every tag valid) and cut signatures.
    const expected: Array<[Uint8Array, Uint8Array, string]> = [
      [partialMessage, partial, 'OK'],
      [wholeMessage, whole, 'OK'],
      [await forgeFrame(partialMessage, keyring, 0, forgedFrame), Uint8Array.of(...forgedFrame, ...partial.subarray(64, 128)), 'ERR_DECRYPTION_FAILED'],
      [await forgeFrame(wholeMessage, keyring, 0, forgedFrame), forgedFrame, 'ERR_DECRYPTION_FAILED'],
      [await forgeFrame(wholeMessage, keyring, 1, forgedFrame), whole.subarray(0, 64), 'ERR_DECRYPTION_FAILED'],
      [await forgeFrame(await signed(pattern(64, 6)), keyring, 0, forgedFrame), new Uint8Array(0), 'ERR_DECRYPTION_FAILED'],
      [partialMessage.subarray(0, partialMessage.length - 10), partial.subarray(0, 128), 'ERR_TRUNCATED'],
      [wholeMessage.subarray(0, wholeMessage.length - 96), whole.subarray(0, 64), 'ERR_TRUNCATED'],
    ];
    const cases = expected.flatMap(([message]) => [7, 1000].map((chunk) => ({ b64: toBase64(message), chunk })));
    const want = expected.flatMap(([, released, code]) => [7, 1000].map(() => ({ released: toBase64(released), code })));
    for (const target of [page, fallback]) expect(await run(target, 'signedRelease', cases)).toEqual(want);
  });

  it('RSA keyring: Node encrypts to a public key, the page decrypts with the PEM private key, and the reverse', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const { ciphertext } = await sealbox.encrypt(pattern(3000, 11), {
      keyring: new sealbox.RawRsaKeyring({ namespace: 'cross', name: 'rsa', publicKey: publicPem }),
      encryptionContext: { side: 'node' },
    });
    expect(await run(page, 'rsaDecrypt', toBase64(ciphertext), privatePem)).toBe('match');
    const fromPage = fromBase64(await run(page, 'rsaEncrypt', publicPem));
    const mine = new sealbox.RawRsaKeyring({ namespace: 'cross', name: 'rsa', privateKey: privatePem });
    expect(await outcome(sealbox, () => sealbox.decrypt(fromPage, { keyring: mine }))).toBe(`plaintext:${toBase64(pattern(3000, 12))}:${sortedJson({ side: 'page' })}`);
  });

  it('WebCrypto, noble (in the page) and node:crypto write identical bytes for the same inputs and randomness', async () => {
    const inNode = await fixedMessage(encryptWithMessageId, sealbox.RawAesKeyring, 'node');
    expect(await fixedMessage(encryptWithMessageId, sealbox.RawAesKeyring, 'noble')).toBe(inNode);
    expect(await run(page, 'fixedMessage', 'webcrypto')).toBe(inNode);
    expect(await run(page, 'fixedMessage', 'noble')).toBe(inNode);
    expect(await run(fallback, 'fixedMessage', null)).toBe(inNode);
  });
});

describe.skipIf(BROWSER_SKIP)('X-Wing keyring (issue 15)', () => {
  it('loads its code only when used; a message encrypted in Chromium decrypts in Node and the reverse', async () => {
    const fresh = await openSuites(context);
    try {
      expect((await run(fresh, 'scripts')).filter((p) => p.includes('xwing'))).toEqual([]);
      const nodeKeys = await sealbox.generateXWingKeyPair();
      // Chromium -> Node
      const fromPage = fromBase64(await run(fresh, 'xwingEncrypt', nodeKeys.publicKey));
      expect((await run(fresh, 'scripts')).some((p) => p.includes('xwing-impl'))).toBe(true);
      const opened = await sealbox.decrypt(fromPage, { keyring: new sealbox.XWingKeyring({ privateKey: nodeKeys.privateKey }) });
      expect(Buffer.from(opened.plaintext).equals(Buffer.from(pattern(3000, 13)))).toBe(true);
      expect(opened.encryptionContext).toEqual({ side: 'page' });
      // Node -> Chromium, to a key made in the page
      const pageKeys = await run(fresh, 'xwingKeyPair');
      expect(pageKeys.derived).toBe(pageKeys.publicKey);
      expect(pageKeys.typo).toBe('ERR_KEYRING');
      expect(await sealbox.xwingPublicKey(pageKeys.privateKey)).toBe(pageKeys.publicKey);
      const { ciphertext } = await sealbox.encrypt(pattern(3000, 14), { keyring: new sealbox.XWingKeyring({ publicKey: pageKeys.publicKey }), encryptionContext: { side: 'node' } });
      expect(await run(fresh, 'xwingDecrypt', pageKeys.privateKey, toBase64(ciphertext))).toBe('match');
      // The other key does not open it: a code, not a crash.
      expect(await run(fresh, 'xwingDecrypt', nodeKeys.privateKey, toBase64(ciphertext))).toBe('ERR_NO_MATCHING_KEY');
    } finally {
      await fresh.close();
    }
  });

  it('works under the strict CSP (pure JS, no eval, no wasm)', async () => {
    const keys = await sealbox.generateXWingKeyPair();
    const b64 = await runDetached(strict, 'xwingEncrypt', keys.publicKey);
    const opened = await sealbox.decrypt(fromBase64(b64), { keyring: new sealbox.XWingKeyring({ privateKey: keys.privateKey }) });
    expect(Buffer.from(opened.plaintext).equals(Buffer.from(pattern(3000, 13)))).toBe(true);
  });
});

describe.skipIf(BROWSER_SKIP)('under a strict Content Security Policy (no unsafe-eval)', () => {
  it('round-trips, streams and decrypts the frozen vectors as Node does', async () => {
    // The page runs with eval refused, and Sealbox never needs it.
    expect(await run(strict, 'info')).toMatchObject({ backend: 'webcrypto', evalAllowed: false });
    expect((await runDetached(strict, 'roundTrips')).failures).toEqual([]);
    expect((await runDetached(strict, 'webStreams')).failures).toEqual([]);
    expect(await runDetached(strict, 'worker')).toBe('ok webcrypto');
    const vectors = loadVectors();
    const keys = loadVectorKeys();
    expect(await runDetached(strict, 'vectors', vectors, keys)).toEqual(await vectorOutcomes(sealbox, vectors, keys));
    for (const v of cspViolations) expect(v).toMatch(/unsafe-eval/);
  });
});

describe.skipIf(BROWSER_SKIP)('caching materials manager in the page', () => {
  it('caches decrypt materials by header (cache key hashed on WebCrypto, or noble without it)', async () => {
    for (const target of [page, fallback]) {
      const { stats, plaintextOk } = await run(target, 'cachingDecrypt');
      expect(plaintextOk).toBe(true);
      // Three decrypts of one message: one miss, two hits; another context: another miss.
      expect(stats).toMatchObject({ hits: 2, misses: 2, size: 2 });
    }
  });
});

describe.skipIf(BROWSER_SKIP)('forced fallback (no crypto.subtle)', () => {
  it('picks noble', async () => {
    expect(await run(fallback, 'info')).toMatchObject({ backend: 'noble', subtle: false });
  });

  it('still round-trips the size grid', async () => {
    const { checked, failures } = await run(fallback, 'roundTrips');
    // The webcrypto pairs cannot run without crypto.subtle: exactly those fail, with an Error.
    expect(failures.filter((f) => !f.includes('webcrypto'))).toEqual([]);
    expect(failures.filter((f) => f.includes('webcrypto'))).toHaveLength(3);
    expect(checked).toBeGreaterThan(25);
  });
});
