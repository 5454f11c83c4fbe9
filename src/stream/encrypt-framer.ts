import type { MaybePromise } from '../crypto/aead.js';
import { ownView } from '../crypto/bytes.js';
import { SealboxError } from '../errors.js';
import type { EncryptSession } from '../message/encrypt-session.js';

/** Receives output bytes in order. The framer never holds on to what it emitted. */
export type Emit = (bytes: Uint8Array) => void;

/**
 * The encrypt side of the streaming framer: a pure state machine, no I/O and no platform
 * stream type, shared by the Web Streams, the Node Transform and the file helpers.
 *
 * Frames are filled eagerly (SPEC §6): as soon as F plaintext bytes are known they form a
 * regular frame, because a full frame can never be the final one; `finish` seals the rest
 * (0 to F-1 bytes) as the final frame. So the output is byte-identical to one-shot encrypt
 * whatever the write sizes, and memory is one frame of plaintext plus the frame being sealed.
 *
 * Results are MaybePromise: with `node:crypto` every call completes synchronously.
 */
export class EncryptFramer {
  readonly #session: EncryptSession;
  readonly #frameLength: number;
  #buffer: Uint8Array | undefined;
  #filled = 0;
  #index = 0;
  #headerSent = false;
  #done = false;
  #aborted = false;

  readonly #parts: boolean;

  /**
   * @param options.parts emit each frame as several arrays (prefix, ciphertext, tag) instead of
   * one, saving a copy per frame: for writers that gather, like `FileHandle.writev`.
   */
  constructor(session: EncryptSession, options: { parts?: boolean } = {}) {
    this.#session = session;
    this.#parts = options.parts ?? false;
    this.#frameLength = session.header.frameLength;
  }

  /**
   * Consumes `chunk` (which the caller must not change until the result settles). It is read
   * through its own memory and its length taken once, as one-shot `encrypt` reads its
   * plaintext: a chunk detached (transferred) or shrunk before or while it is sealed is a
   * TypeError, never a valid message without its bytes (a detached view reads as empty).
   */
  push(chunk: Uint8Array, emit: Emit): MaybePromise<void> {
    if (this.#done) throw new SealboxError('ERR_STATE', 'The stream was already finished');
    const view = ownView('chunk', chunk, false);
    this.#sendHeader(emit);
    return this.#consume(view, view.length, 0, emit);
  }

  /** Seals the final frame (and, for a signed suite, emits the signature). After this the framer accepts nothing more. */
  finish(emit: Emit): MaybePromise<void> {
    if (this.#done) throw new SealboxError('ERR_STATE', 'The stream was already finished');
    this.#sendHeader(emit);
    this.#done = true;
    const rest = this.#buffer ? this.#buffer.subarray(0, this.#filled) : new Uint8Array(0);
    const sealed = this.#seal(this.#index, true, rest);
    const after = (frame: Uint8Array[]): MaybePromise<void> => {
      this.#buffer?.fill(0);
      this.#buffer = undefined;
      for (const part of frame) this.#out(part, emit);
      // A signed suite: the signature over everything emitted follows the final frame.
      return this.#session.signer?.sign().then(emit);
    };
    return sealed instanceof Promise ? sealed.then(after) : after(sealed);
  }

  /**
   * Stops the framer for good: its stream was destroyed. The plaintext it holds (a partly filled
   * frame) is zeroed, a chunk being sealed is not read further when its frame is done, and later
   * calls throw ERR_STATE.
   */
  abort(): void {
    this.#done = true;
    this.#aborted = true;
    this.#buffer?.fill(0);
    this.#buffer = undefined;
    this.#filled = 0;
  }

  #seal(index: number, final: boolean, plaintext: Uint8Array): MaybePromise<Uint8Array[]> {
    if (this.#parts) return this.#session.sealFrameParts(index, final, plaintext);
    const sealed = this.#session.sealFrameEncoded(index, final, plaintext);
    return sealed instanceof Promise ? sealed.then((frame) => [frame]) : [sealed];
  }

  #sendHeader(emit: Emit): void {
    if (this.#headerSent) return;
    this.#headerSent = true;
    this.#out(this.#session.headerBytes, emit);
  }

  /** Emits `bytes`, which a signed suite's signature covers (SPEC §11.2). */
  #out(bytes: Uint8Array, emit: Emit): void {
    this.#session.signer?.update(bytes);
    emit(bytes);
  }

  /** Loops synchronously while the backend answers synchronously; resumes after a promise otherwise. */
  #consume(chunk: Uint8Array, length: number, offset: number, emit: Emit): MaybePromise<void> {
    // Only another turn can detach or shrink the chunk: checked on entry and on each resume.
    if (chunk.length !== length) throw new TypeError('"chunk" was detached or shrunk while it was encrypted');
    const F = this.#frameLength;
    let pos = offset;
    while (pos < chunk.length) {
      let plaintext: Uint8Array;
      if (this.#filled === 0 && chunk.length - pos >= F) {
        // A whole frame inside the chunk: seal it in place, no copy.
        plaintext = chunk.subarray(pos, pos + F);
        pos += F;
      } else {
        const buffer = (this.#buffer ??= new Uint8Array(F));
        const take = Math.min(F - this.#filled, chunk.length - pos);
        buffer.set(chunk.subarray(pos, pos + take), this.#filled);
        this.#filled += take;
        pos += take;
        if (this.#filled < F) break;
        plaintext = buffer;
        this.#filled = 0;
      }
      const sealed = this.#seal(this.#index++, false, plaintext);
      if (sealed instanceof Promise) {
        const resume = pos;
        return sealed.then((frame) => {
          if (this.#aborted) return undefined;
          for (const part of frame) this.#out(part, emit);
          return this.#consume(chunk, length, resume, emit);
        });
      }
      for (const part of sealed) this.#out(part, emit);
    }
    return undefined;
  }
}
