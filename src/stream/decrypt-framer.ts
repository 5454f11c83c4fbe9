import type { MaybePromise } from '../crypto/aead.js';
import { ownView, readU32 } from '../crypto/bytes.js';
import { SealboxError, formatInvalid, limitExceeded } from '../errors.js';
import { FRAME_FINAL, FRAME_REGULAR } from '../format/frame.js';
import type { MessageHeader } from '../format/header.js';
import { readPreamble } from '../format/header.js';
import { MAX_FRAMES, MAX_HEADER_BYTES, PREAMBLE_BYTES, TAG_BYTES } from '../limits.js';
import type { DecryptSession } from '../message/decrypt-session.js';
import { checkSignature } from '../message/decrypt-session.js';
import type { MessageVerifier } from '../crypto/signature.js';
import type { Emit } from './encrypt-framer.js';

/** How the framer turns header bytes into a session; the stream adapters bind these to a plan. */
export interface DecryptFramerHooks {
  /** Largest header body accepted (checked on the preamble, before the header is buffered). */
  readonly maxHeaderBytes?: number;
  /** Decodes and checks the complete header (preamble + body). Synchronous, no keys involved. */
  acceptHeader(headerBytes: Uint8Array): MessageHeader;
  /** Unwraps the data key, checks commitment and header tag. */
  begin(header: MessageHeader, headerBytes: Uint8Array, headerTag: Uint8Array): Promise<DecryptSession>;
  /** Told once the header is authenticated. */
  onHeader?(header: MessageHeader): void;
  /**
   * Chunks in shared memory are Sealbox's own (decryptFile's slots, which only its reads
   * write, and which its frame and hash threads only read): used where they are, not copied.
   * Copying them took every chunk out of the frame pool's slots (the pool then ran nothing on
   * its threads) and added a copy of the whole file to a signed decrypt. Internal; never set
   * for a caller's chunks.
   */
  readonly ownSharedChunks?: boolean;
  /**
   * The caller discards everything emitted unless the whole message verifies (decryptFile: a
   * temporary file renamed only then). A signed message's frames are then emitted as they open,
   * none held back for the signature (see {@link DecryptFramer}). Never set by a stream.
   */
  readonly outputDiscardedOnFailure?: boolean;
}

const enum Phase {
  Preamble,
  Header,
  FrameType,
  FinalLength,
  FrameBody,
  /** A signed message's final frame has verified; its plaintext waits for the signature. */
  Signature,
  Done,
  Failed,
}

/**
 * The decrypt side of the streaming framer: a pure state machine over arbitrary chunks.
 *
 * - The preamble is checked byte by byte as it arrives (magic, version), and the declared
 *   header length against the limit before the header is buffered.
 * - A frame's plaintext is emitted only after its tag verifies; nothing of a failing frame is.
 * - A signed message (SPEC §11): the last frame that has plaintext is withheld until the
 *   signature after it verifies, so a forged message never reaches its end: the final frame, or,
 *   when the final frame is empty (a plaintext of whole frames), the last regular frame. Every
 *   other frame is emitted once the frame after it has verified. A signature that fails drops
 *   what is withheld (zeroed) unreleased.
 * - Bytes after the final frame (or the signature) fail with ERR_TRAILING_DATA; `finish` before
 *   the final frame (or the signature) has verified fails with ERR_TRUNCATED.
 * - Memory: the header, one frame's ciphertext (only when a frame straddles input chunks; a
 *   frame inside one chunk is opened in place) and the frame being opened.
 *
 * After any error, and after {@link DecryptFramer.abort}, the framer refuses further input (ERR_STATE).
 */
export class DecryptFramer {
  readonly #hooks: DecryptFramerHooks;
  #phase = Phase.Preamble;
  /** Bytes collected for the current item (preamble, header + tag, final length, or a straddling frame). */
  #buffer: Uint8Array = new Uint8Array(PREAMBLE_BYTES);
  #filled = 0;
  #need = PREAMBLE_BYTES;
  #session: DecryptSession | undefined;
  #frameLength = 0;
  #frameBuffer: Uint8Array | undefined;
  #index = 0;
  #final = false;
  #signatureLength = 0;
  #verifier: MessageVerifier | undefined;
  /** A signed message's last frame with plaintext while its signature is awaited. */
  #withheld: Uint8Array | undefined;
  /** A signed message's last regular frame, emitted once the next frame has verified. */
  #held: Uint8Array | undefined;
  readonly #small = new Uint8Array(4);

  constructor(hooks: DecryptFramerHooks) {
    this.#hooks = hooks;
  }

  /** True once the final frame has verified. */
  get done(): boolean {
    return this.#phase === Phase.Done;
  }

  /**
   * Consumes `chunk`; emits plaintext of each frame that verifies. A chunk in a
   * SharedArrayBuffer is copied first: frames are opened in place, and another thread could
   * change one between its tag check and its decryption, or after the signature hashed it.
   */
  push(chunk: Uint8Array, emit: Emit): MaybePromise<void> {
    if (this.#phase === Phase.Failed) throw new SealboxError('ERR_STATE', 'The stream already failed');
    return this.#guard(() => {
      const view = this.#hooks.ownSharedChunks === true ? chunk : ownView('chunk', chunk, true);
      return this.#consume(view, view.length, 0, emit);
    });
  }

  /** Declares the end of input. */
  finish(): void {
    if (this.#phase === Phase.Failed) throw new SealboxError('ERR_STATE', 'The stream already failed');
    if (this.#phase !== Phase.Done) {
      const where = this.#phase <= Phase.Header ? 'inside its header' : 'before its final frame';
      this.#fail();
      throw new SealboxError('ERR_TRUNCATED', `The message ends ${where}`);
    }
  }

  /**
   * Stops the framer for good: its stream was destroyed, cancelled or aborted. A withheld final
   * frame is zeroed, and work under way (a keyring call, a frame being opened, a signature being
   * verified) emits nothing when it ends. Later calls throw ERR_STATE.
   */
  abort(): void {
    if (this.#phase !== Phase.Done) this.#fail();
  }

  #fail(): void {
    this.#phase = Phase.Failed;
    this.#withheld?.fill(0);
    this.#withheld = undefined;
    this.#held?.fill(0);
    this.#held = undefined;
    this.#frameBuffer = undefined;
    this.#buffer = new Uint8Array(0);
  }

  #guard(step: () => MaybePromise<void>): MaybePromise<void> {
    try {
      const r = step();
      if (r instanceof Promise) {
        return r.catch((err: unknown) => {
          this.#fail();
          throw err;
        });
      }
      return r;
    } catch (err) {
      this.#fail();
      throw err;
    }
  }

  /** Copies up to `#need - #filled` bytes from chunk into `#buffer`; returns the new position. */
  #collect(chunk: Uint8Array, pos: number): number {
    const take = Math.min(this.#need - this.#filled, chunk.length - pos);
    this.#buffer.set(chunk.subarray(pos, pos + take), this.#filled);
    this.#filled += take;
    return pos + take;
  }

  #consume(chunk: Uint8Array, length: number, offset: number, emit: Emit): MaybePromise<void> {
    // A chunk detached or shrunk while a keyring, a frame or the signature was awaited (only
    // another turn can do it) would read as ending here: the rest silently skipped, trailing
    // bytes unseen. Checked on entry and on each resume.
    if (chunk.length !== length) throw new TypeError('"chunk" was detached or shrunk while it was decrypted');
    let pos = offset;
    while (pos < chunk.length) {
      switch (this.#phase) {
        case Phase.Preamble: {
          pos = this.#collect(chunk, pos);
          // Checked on every prefix: a wrong magic or version fails at its first byte.
          const total = readPreamble(this.#buffer.subarray(0, this.#filled), this.#hooks.maxHeaderBytes ?? MAX_HEADER_BYTES);
          if (total === undefined) break;
          const header = new Uint8Array(total + TAG_BYTES);
          header.set(this.#buffer);
          this.#buffer = header;
          this.#need = header.length;
          this.#phase = Phase.Header;
          break;
        }
        case Phase.Header: {
          pos = this.#collect(chunk, pos);
          if (this.#filled < this.#need) break;
          const all = this.#buffer;
          const headerBytes = all.subarray(0, all.length - TAG_BYTES);
          const header = this.#hooks.acceptHeader(headerBytes);
          this.#frameLength = header.frameLength;
          this.#signatureLength = header.suite.signatureLength;
          const resume = pos;
          return this.#hooks.begin(header, headerBytes, all.subarray(all.length - TAG_BYTES)).then((session) => {
            if (this.#phase === Phase.Failed) return undefined; // aborted meanwhile
            this.#session = session;
            this.#verifier = session.verifier;
            this.#buffer = this.#small;
            this.#phase = Phase.FrameType;
            this.#hooks.onHeader?.(header);
            return this.#consume(chunk, length, resume, emit);
          });
        }
        case Phase.FrameType: {
          const type = chunk[pos++];
          // A signed message's signature covers every frame's encoding (SPEC §11.2).
          this.#verifier?.update(chunk.subarray(pos - 1, pos));
          if (this.#index + 1 > MAX_FRAMES) throw limitExceeded('frames', this.#index + 1, MAX_FRAMES);
          if (type === FRAME_REGULAR) {
            this.#startBody(false, this.#frameLength);
          } else if (type === FRAME_FINAL) {
            this.#phase = Phase.FinalLength;
            this.#filled = 0;
            this.#need = 4;
          } else {
            throw formatInvalid('unknown frame type');
          }
          break;
        }
        case Phase.FinalLength: {
          pos = this.#collect(chunk, pos);
          if (this.#filled < 4) break;
          this.#verifier?.update(this.#small);
          const length = readU32(this.#small, 0);
          if (length >= this.#frameLength) throw formatInvalid('final frame length must be below the frame length');
          this.#startBody(true, length);
          break;
        }
        case Phase.FrameBody: {
          let sealed: Uint8Array;
          if (this.#filled === 0 && chunk.length - pos >= this.#need) {
            // The whole frame is inside this chunk: open it in place.
            sealed = chunk.subarray(pos, pos + this.#need);
            pos += this.#need;
          } else {
            pos = this.#collect(chunk, pos);
            if (this.#filled < this.#need) break;
            sealed = this.#buffer.subarray(0, this.#need);
          }
          this.#verifier?.update(sealed);
          const opened = (this.#session as DecryptSession).openFrame(this.#index, this.#final, sealed);
          if (opened instanceof Promise) {
            const resume = pos;
            return opened.then((plaintext) => {
              if (this.#phase === Phase.Failed) {
                plaintext.fill(0); // aborted meanwhile: never released
                return undefined;
              }
              this.#frameDone(plaintext, emit);
              return this.#consume(chunk, length, resume, emit);
            });
          }
          this.#frameDone(opened, emit);
          break;
        }
        case Phase.Signature: {
          pos = this.#collect(chunk, pos);
          if (this.#filled < this.#need) break;
          // SPEC §8.1 stage 9: verified before any byte after it is looked at (rule 17).
          const resume = pos;
          return checkSignature(this.#verifier as MessageVerifier, this.#buffer).then(() => {
            if (this.#phase === Phase.Failed) return undefined; // aborted meanwhile (#fail zeroed the final frame)
            const plaintext = this.#withheld;
            this.#withheld = undefined;
            this.#phase = Phase.Done;
            if (plaintext !== undefined && plaintext.length > 0) emit(plaintext);
            return this.#consume(chunk, length, resume, emit);
          });
        }
        case Phase.Done:
          throw new SealboxError('ERR_TRAILING_DATA', 'Bytes follow the final frame');
        default:
          throw new SealboxError('ERR_STATE', 'The stream already failed');
      }
    }
    return undefined;
  }

  #startBody(final: boolean, length: number): void {
    this.#final = final;
    this.#need = length + TAG_BYTES;
    this.#filled = 0;
    // One buffer of F + 16 bytes serves every frame that straddles chunks.
    this.#buffer = this.#frameBuffer ??= new Uint8Array(this.#frameLength + TAG_BYTES);
    this.#phase = Phase.FrameBody;
  }

  #frameDone(plaintext: Uint8Array, emit: Emit): void {
    this.#index++;
    this.#filled = 0;
    if (this.#final && this.#signatureLength > 0) {
      // Withheld until the signature verifies, zeroed if it does not: the final frame, or when
      // it is empty the regular frame held before it (an insider choosing a plaintext of whole
      // frames would otherwise have every byte of a forgery released).
      const before = this.#held;
      this.#held = undefined;
      if (plaintext.length > 0) {
        if (before) emit(before);
        this.#withheld = plaintext;
      } else {
        this.#withheld = before;
      }
      this.#phase = Phase.Signature;
      this.#frameBuffer = undefined;
      this.#buffer = new Uint8Array(this.#signatureLength);
      this.#need = this.#signatureLength;
      return;
    }
    if (this.#final) {
      this.#phase = Phase.Done;
      this.#frameBuffer = undefined;
    } else {
      this.#phase = Phase.FrameType;
      this.#buffer = this.#small;
    }
    // An empty final frame has nothing to release.
    if (plaintext.length === 0) return;
    if (this.#signatureLength > 0 && this.#hooks.outputDiscardedOnFailure !== true) {
      // A signed message's regular frame waits for the next frame (see the class comment).
      const before = this.#held;
      this.#held = plaintext;
      if (before) emit(before);
      return;
    }
    emit(plaintext);
  }
}
