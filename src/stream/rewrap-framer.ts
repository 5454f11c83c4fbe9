import type { MaybePromise } from '../crypto/aead.js';
import { ownView, readU32 } from '../crypto/bytes.js';
import { SealboxError, formatInvalid, limitExceeded } from '../errors.js';
import { FRAME_FINAL, FRAME_REGULAR } from '../format/frame.js';
import type { MessageHeader } from '../format/header.js';
import { readPreamble } from '../format/header.js';
import { MAX_FRAMES, PREAMBLE_BYTES, TAG_BYTES } from '../limits.js';
import type { RewrapOptions, RewrapPlan, RewrappedHeader } from '../message/rewrap-session.js';
import { planRewrap, rewrapHeader } from '../message/rewrap-session.js';
import type { Emit } from './encrypt-framer.js';

const enum Phase {
  Preamble,
  Header,
  FrameType,
  FinalLength,
  FrameBody,
  Done,
  Failed,
}

/**
 * Rewrap over a stream of chunks: a state machine. It collects the old header and its tag,
 * rewraps it (header in, header out: see message/rewrap-session.ts) and emits the new header;
 * then it passes the body through unchanged (views of the input chunks) while walking its frame
 * structure, so a body cut short fails with ERR_TRUNCATED at `finish` and bytes after the final
 * frame with ERR_TRAILING_DATA. Frame tags are not checked (`verifyFrames` is for one-shot and
 * files). Memory: the header only.
 */
export class RewrapFramer {
  readonly #plan: RewrapPlan;
  readonly #onHeader: ((header: MessageHeader) => void) | undefined;
  #phase = Phase.Preamble;
  #buffer: Uint8Array = new Uint8Array(PREAMBLE_BYTES);
  #filled = 0;
  #need = PREAMBLE_BYTES;
  #frameLength = 0;
  #frames = 0;
  #final = false;

  constructor(options: RewrapOptions, onHeader?: (header: MessageHeader) => void) {
    if (options?.verifyFrames) throw new TypeError('"verifyFrames" is not available on streams: decrypt the result to check its frames');
    this.#plan = planRewrap(options);
    this.#onHeader = onHeader;
  }

  /**
   * Consumes `chunk`; emits the new header once, then copies of the body's bytes (the caller may
   * reuse its chunk once this settles). A chunk in a SharedArrayBuffer is copied first: the
   * body emitted is the body walked, and not memory another thread may still write.
   */
  push(chunk: Uint8Array, emit: Emit): MaybePromise<void> {
    if (this.#phase === Phase.Failed) throw new SealboxError('ERR_STATE', 'The stream already failed');
    try {
      const r = this.#consume(ownView('chunk', chunk, true), 0, emit);
      return r instanceof Promise ? r.catch((err: unknown) => this.#fail(err)) : r;
    } catch (err) {
      return this.#fail(err);
    }
  }

  /** Declares the end of input. */
  finish(): void {
    if (this.#phase === Phase.Failed) throw new SealboxError('ERR_STATE', 'The stream already failed');
    if (this.#phase !== Phase.Done) {
      const header = this.#phase <= Phase.Header;
      this.#phase = Phase.Failed;
      throw new SealboxError('ERR_TRUNCATED', header ? 'The message ends inside its header' : 'The message ends before its final frame');
    }
  }

  /**
   * Stops the framer for good: its stream was destroyed, cancelled or aborted. A header being
   * rewrapped is not emitted when that ends. Later calls throw ERR_STATE.
   */
  abort(): void {
    if (this.#phase !== Phase.Done) {
      this.#phase = Phase.Failed;
      this.#buffer = new Uint8Array(0);
    }
  }

  #fail(err: unknown): never {
    this.#phase = Phase.Failed;
    this.#buffer = new Uint8Array(0);
    throw err;
  }

  #collect(chunk: Uint8Array, pos: number): number {
    const take = Math.min(this.#need - this.#filled, chunk.length - pos);
    this.#buffer.set(chunk.subarray(pos, pos + take), this.#filled);
    this.#filled += take;
    return pos + take;
  }

  #consume(chunk: Uint8Array, offset: number, emit: Emit): MaybePromise<void> {
    let pos = offset;
    // Body bytes from `start` are passed through as one view when the loop leaves the chunk.
    const start = this.#phase >= Phase.FrameType ? pos : -1;
    while (pos < chunk.length) {
      switch (this.#phase) {
        case Phase.Preamble: {
          pos = this.#collect(chunk, pos);
          const total = readPreamble(this.#buffer.subarray(0, this.#filled), this.#plan.decrypt.limits.maxHeaderBytes);
          if (total === undefined) break;
          const grown = new Uint8Array(total + TAG_BYTES);
          grown.set(this.#buffer);
          this.#buffer = grown;
          this.#need = grown.length;
          this.#phase = Phase.Header;
          break;
        }
        case Phase.Header: {
          pos = this.#collect(chunk, pos);
          if (this.#filled < this.#need) break;
          const all = this.#buffer;
          const resume = pos;
          const length = chunk.length;
          const go = (result: RewrappedHeader): MaybePromise<void> => {
            if (this.#phase === Phase.Failed) return undefined; // aborted meanwhile
            // A chunk detached or shrunk while the keyring was asked would read as ending here:
            // a truncation blamed on the message.
            if (chunk.length !== length) throw new TypeError('"chunk" was detached or shrunk while the header was rewrapped');
            this.#frameLength = result.header.frameLength;
            this.#buffer = new Uint8Array(4);
            this.#phase = Phase.FrameType;
            emit(result.headerBytes);
            this.#onHeader?.(result.header);
            return this.#consume(chunk, resume, emit);
          };
          const rewrapped = rewrapHeader(this.#plan, all.subarray(0, all.length - TAG_BYTES), all.subarray(all.length - TAG_BYTES));
          return rewrapped instanceof Promise ? rewrapped.then(go) : go(rewrapped);
        }
        case Phase.FrameType: {
          const type = chunk[pos++];
          if (this.#frames + 1 > MAX_FRAMES) throw limitExceeded('frames', this.#frames + 1, MAX_FRAMES);
          if (type === FRAME_REGULAR) {
            this.#final = false;
            this.#need = this.#frameLength + TAG_BYTES;
            this.#phase = Phase.FrameBody;
          } else if (type === FRAME_FINAL) {
            this.#filled = 0;
            this.#need = 4;
            this.#phase = Phase.FinalLength;
          } else {
            throw formatInvalid('unknown frame type');
          }
          break;
        }
        case Phase.FinalLength: {
          pos = this.#collect(chunk, pos);
          if (this.#filled < 4) break;
          const length = readU32(this.#buffer, 0);
          if (length >= this.#frameLength) throw formatInvalid('final frame length must be below the frame length');
          this.#final = true;
          this.#need = length + TAG_BYTES;
          this.#phase = Phase.FrameBody;
          break;
        }
        case Phase.FrameBody: {
          const take = Math.min(this.#need, chunk.length - pos);
          pos += take;
          this.#need -= take;
          if (this.#need === 0) {
            this.#frames++;
            this.#phase = this.#final ? Phase.Done : Phase.FrameType;
          }
          break;
        }
        case Phase.Done:
          throw new SealboxError('ERR_TRAILING_DATA', 'Bytes follow the final frame');
        default:
          throw new SealboxError('ERR_STATE', 'The stream already failed');
      }
    }
    // A copy, not a view of the caller's chunk: the caller may reuse or transfer its buffer once
    // the write has resolved (a BYOB read loop), while these bytes still wait in the readable
    // queue; a view would then change, or read as empty, and the rewrapped copy be corrupt.
    if (start >= 0 && start < chunk.length) emit(chunk.slice(start));
    return undefined;
  }
}
