import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { SealboxError } from '../errors.js';

/**
 * ASCII armor for the CLI (`sealbox encrypt --armor`): the binary message as base64 in lines
 * of 64 characters between two marker lines, like PEM, so that it survives email, chat and
 * terminals. `decrypt` and `inspect` recognise it by its first line and read either form.
 */
export const ARMOR_BEGIN = '-----BEGIN SEALBOX MESSAGE-----';
export const ARMOR_END = '-----END SEALBOX MESSAGE-----';

/** Bytes per armor line: 48 bytes are 64 base64 characters. */
const LINE_BYTES = 48;

/** Longest line the reader takes (a CR before its LF counted), however the input is cut into chunks. */
const MAX_LINE = 1024 * 1024;

/** Encodes its input into armor. */
export function createArmorStream(): Transform {
  let carry = Buffer.alloc(0);
  let started = false;
  const begin = (push: (chunk: Buffer) => void): void => {
    if (!started) push(Buffer.from(`${ARMOR_BEGIN}\n`));
    started = true;
  };
  const lines = (bytes: Buffer): Buffer => {
    let text = '';
    for (let i = 0; i < bytes.length; i += LINE_BYTES) text += `${bytes.subarray(i, i + LINE_BYTES).toString('base64')}\n`;
    return Buffer.from(text);
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      begin((b) => this.push(b));
      const all = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const whole = all.length - (all.length % LINE_BYTES);
      if (whole > 0) this.push(lines(all.subarray(0, whole)));
      carry = Buffer.from(all.subarray(whole));
      callback();
    },
    flush(callback: TransformCallback) {
      begin((b) => this.push(b));
      if (carry.length) this.push(lines(carry));
      this.push(Buffer.from(`${ARMOR_END}\n`));
      callback();
    },
  });
}

const enum Mode {
  Detect,
  Binary,
  Header,
  Body,
  Footer,
}

function armorError(what: string): SealboxError {
  return new SealboxError('ERR_FORMAT_INVALID', `Armored message: ${what}`);
}

/**
 * Passes a binary message through unchanged and decodes an armored one, strictly: the BEGIN
 * line, lines of base64 (padding only at the very end), the END line, then only white space.
 * Anything else fails with ERR_FORMAT_INVALID; input that ends before the END line with
 * ERR_TRUNCATED. Which form it is follows from the first byte ('-' cannot start a binary
 * message, whose magic is "SBX").
 */
export function createDearmorStream(): Transform {
  let mode = Mode.Detect;
  // The current line's text so far, as the chunks brought it: joined once, when its line ends.
  // (One string grown by each chunk was copied whole each time it was searched: a line of 1 MiB
  // in small chunks cost time quadratic in its length.)
  let pending: string[] = [];
  let pendingLength = 0;
  let quad = ''; // base64 characters not yet decoded (fewer than 4)
  let padded = false;

  const decodeLine = (line: string, push: (b: Buffer) => void): void => {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(line)) throw armorError('a line is not base64');
    if (padded && line.length > 0) throw armorError('base64 continues after its padding');
    if (line.endsWith('=')) padded = true;
    const all = quad + line;
    const whole = all.length - (all.length % 4);
    if (whole > 0) push(Buffer.from(all.slice(0, whole), 'base64'));
    quad = all.slice(whole);
  };

  const takeLine = (raw: string, push: (b: Buffer) => void): void => {
    // Checked on every whole line too, not only on a line still pending at a chunk's end: a
    // long line inside one chunk passed, the same line cut by a chunk boundary failed.
    if (raw.length > MAX_LINE) throw armorError('a line is longer than 1 MiB');
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (mode === Mode.Header) {
      if (line !== ARMOR_BEGIN) throw armorError(`the first line must be ${ARMOR_BEGIN}`);
      mode = Mode.Body;
    } else if (mode === Mode.Body) {
      if (line === ARMOR_END) {
        if (quad.length !== 0) throw armorError('the base64 text has a length that is not a multiple of 4');
        mode = Mode.Footer;
      } else {
        decodeLine(line, push);
      }
    } else if (line.trim() !== '') {
      throw new SealboxError('ERR_TRAILING_DATA', `Armored message: text follows ${ARMOR_END}`);
    }
  };

  /** Takes every line that `text` ends, and keeps the rest for the next chunk. */
  const consume = (text: string, push: (b: Buffer) => void): void => {
    let from = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
      const tail = text.slice(from, nl);
      const line = pending.length > 0 ? pending.join('') + tail : tail;
      pending = [];
      pendingLength = 0;
      from = nl + 1;
      takeLine(line, push);
    }
    if (from < text.length) {
      pending.push(text.slice(from));
      pendingLength += text.length - from;
    }
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        if (mode === Mode.Detect && chunk.length > 0) mode = chunk[0] === 0x2d /* '-' */ ? Mode.Header : Mode.Binary;
        if (mode === Mode.Binary) {
          callback(null, chunk);
          return;
        }
        // Armor is ASCII: latin1 keeps every byte one character, so a non-ASCII byte fails the checks.
        consume(chunk.toString('latin1'), (b) => this.push(b));
        if (mode === Mode.Header && pendingLength > ARMOR_BEGIN.length + 2) throw armorError(`the first line must be ${ARMOR_BEGIN}`);
        if (pendingLength > MAX_LINE) throw armorError('a line is longer than 1 MiB');
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        if (mode !== Mode.Detect && mode !== Mode.Binary && pendingLength > 0) {
          const last = pending.join('');
          pending = [];
          pendingLength = 0;
          takeLine(last, (b) => this.push(b));
        }
        if (mode === Mode.Header || mode === Mode.Body) throw new SealboxError('ERR_TRUNCATED', `Armored message: it ends before ${ARMOR_END}`);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
  });
}
