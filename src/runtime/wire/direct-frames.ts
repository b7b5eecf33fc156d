/**
 * The message bodies zrpc writes and reads without @msgpack/msgpack: the few shapes
 * most calls carry, for which setting the library's encoder or decoder up costs more
 * than the value itself.
 * - one-byte values: small integers, nil, booleans (most replies);
 * - byte strings (msgpack bin), as one value or in an array;
 * - arrays of up to 15 of these: argument lists such as `add(1, 2)` or `put(id, bytes)`.
 *
 * Each is written exactly as the library writes it, and read exactly as it reads it,
 * limits included; any other value or frame is left to the library (packer tests compare
 * both byte for byte). The caller still asks whether a translator takes a value.
 */
import { largeBuffer, lend, SMALL_FRAME_BYTES } from './frame-memory.js';

const NOT_ONE_BYTE_CODE = -1;

/** The byte msgpack writes a one-byte value as (-0 as 0, `undefined` as nil), or NOT_ONE_BYTE_CODE. */
function oneByteCode(value: unknown): number {
  if (typeof value === 'number') return Number.isInteger(value) && value >= -32 && value <= 127 ? value & 0xff : NOT_ONE_BYTE_CODE;
  if (value === null || value === undefined) return 0xc0;
  if (typeof value === 'boolean') return value ? 0xc3 : 0xc2;
  return NOT_ONE_BYTE_CODE;
}

/*
 * The frames of the one-byte values, by that byte: made once and shared, as nothing
 * writes to a frame once it is made, and zeromq.js copies one this small when it sends it.
 */
const ONE_BYTE_FRAMES: Buffer[] = [];
for (const code of [...Array(0x80).keys(), ...Array.from({ length: 32 }, (_, i) => 0xe0 + i), 0xc0, 0xc2, 0xc3]) {
  ONE_BYTE_FRAMES[code] = Buffer.from([code]);
}
/** The frame of nil: also the body of the server's acknowledgement of a cancel. */
export const NIL_FRAME = ONE_BYTE_FRAMES[0xc0]!;

/**
 * A value msgpack writes as bin. Other typed arrays are left to the library, and so are
 * a Proxy of one (`isView` is false for it) and one of 4 GiB or more, which it refuses.
 */
function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && ArrayBuffer.isView(value) && value.byteLength < 2 ** 32;
}

/** Bytes of a bin's header: its type byte and its length, in the narrowest form. */
function binHeaderSize(length: number): number {
  return length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
}

/** Writes a bin (header, then the bytes) at `at`; returns where it ends. */
function writeBin(frame: Uint8Array, at: number, bytes: Uint8Array): number {
  const length = bytes.byteLength;
  if (length < 0x100) {
    frame[at++] = 0xc4;
    frame[at++] = length;
  } else if (length < 0x10000) {
    frame[at++] = 0xc5;
    frame[at++] = length >>> 8;
    frame[at++] = length & 0xff;
  } else {
    frame[at++] = 0xc6;
    frame[at++] = length >>> 24;
    frame[at++] = (length >>> 16) & 0xff;
    frame[at++] = (length >>> 8) & 0xff;
    frame[at++] = length & 0xff;
  }
  frame.set(bytes, at);
  return at + length;
}

/**
 * A frame of its own, of exactly `size` bytes: a small one from Node's pool, a large one
 * lent from frame-memory.ts, as the encoder's frames are.
 */
function frameOf(size: number): Uint8Array {
  if (size <= SMALL_FRAME_BYTES) return Buffer.allocUnsafe(size);
  const frame = new Uint8Array(largeBuffer(size), 0, size);
  lend(frame);
  return frame;
}

const ARRAY_ITERATOR = Array.prototype[Symbol.iterator];

/** The items of the array being written, read once each (an item behind a getter may change). */
const itemCodes = new Int16Array(15);
const itemBytes: Array<Uint8Array | undefined> = new Array(15).fill(undefined);
const BIN_ITEM = 0x100;

/**
 * The frame of `value` when it is one of the shapes above, else `undefined`. A new
 * frame each time, except for one-byte values, whose frames are shared. Bytes are
 * copied: what the app still holds may change after it is sent. `isPlain` says that no
 * translator takes an object.
 */
export function directFrame(value: unknown, isPlain: (object: object) => boolean): Uint8Array | undefined {
  const code = oneByteCode(value);
  if (code !== NOT_ONE_BYTE_CODE) return ONE_BYTE_FRAMES[code];
  if (isBytes(value)) {
    if (!isPlain(value)) return undefined;
    const length = value.byteLength;
    const frame = frameOf(binHeaderSize(length) + length);
    writeBin(frame, 0, value);
    return frame;
  }
  // The encoder writes what an array's iterator yields: one of its own is left to it.
  if (!Array.isArray(value) || value[Symbol.iterator] !== ARRAY_ITERATOR) return undefined;
  // Read once: a Proxy's length may change between two reads, and the scratch lists hold 15.
  const count = value.length;
  return count <= 15 ? arrayFrame(value, count, isPlain) : undefined;
}

/** An array of one-byte values and plain byte strings, each item read once; else `undefined`. */
function arrayFrame(items: readonly unknown[], count: number, isPlain: (object: object) => boolean): Uint8Array | undefined {
  let size = 1;
  let i = 0;
  try {
    for (; i < count; i++) {
      const item = items[i];
      const code = oneByteCode(item);
      if (code !== NOT_ONE_BYTE_CODE) {
        itemCodes[i] = code;
        size += 1;
      } else if (isBytes(item) && isPlain(item)) {
        itemCodes[i] = BIN_ITEM;
        itemBytes[i] = item;
        size += binHeaderSize(item.byteLength) + item.byteLength;
      } else break;
    }
    // Asked last, as the library's encoder asks first: most arrays are refused above, and
    // cheaper so. The array's own translator still wins over its items'.
    if (i !== count || !isPlain(items)) return undefined;
    const frame = frameOf(size);
    frame[0] = 0x90 + count;
    let at = 1;
    for (let j = 0; j < count; j++) {
      const code = itemCodes[j]!;
      if (code === BIN_ITEM) at = writeBin(frame, at, itemBytes[j]!);
      else frame[at++] = code;
    }
    return frame;
  } finally {
    // Let go of every item held, written or not, and whatever threw (a getter, a detached
    // view): the scratch list must not keep an application's buffer alive. Slot i too:
    // its item may be stored when its byteLength throws.
    for (let j = 0; j <= i && j < count; j++) itemBytes[j] = undefined;
  }
}

/** What `directValue` returns for a frame it leaves to the library. */
export const NOT_DIRECT: unique symbol = Symbol('not a direct frame');

/** The decoder's limits that bear on these shapes (see `DecodeLimits`). */
export interface DirectLimits {
  readonly maxBinLength: number;
  readonly maxArrayLength: number;
  readonly maxItems: number;
  readonly maxDepth: number;
}

/**
 * The value of a frame of one of the shapes above, as the library would read it (a bin
 * is a view of `bytes`, as the library's is), or NOT_DIRECT for anything else: another
 * shape, a malformed frame, or one past a limit, whose error is the library's to give.
 */
export function directValue(bytes: Uint8Array, limits: DirectLimits): unknown {
  const length = bytes.byteLength;
  if (length === 0) return NOT_DIRECT;
  const head = bytes[0]!;
  if (length === 1) return oneByte(head);
  if (head >= 0xc4 && head <= 0xc6) return binEnd(bytes, 0, limits.maxBinLength) === length ? bytes.subarray(binStart, length) : NOT_DIRECT;
  const count = head - 0x90;
  if (count < 0 || count > 15 || count > limits.maxArrayLength || count > limits.maxItems || limits.maxDepth < 1) return NOT_DIRECT;
  const items: unknown[] = [];
  let at = 1;
  for (let i = 0; i < count; i++) {
    if (at >= length) return NOT_DIRECT;
    const b = bytes[at]!;
    if (b >= 0xc4 && b <= 0xc6) {
      at = binEnd(bytes, at, limits.maxBinLength);
      if (at < 0) return NOT_DIRECT;
      items.push(bytes.subarray(binStart, at));
      continue;
    }
    const value = oneByte(b);
    if (value === NOT_DIRECT) return NOT_DIRECT;
    items.push(value);
    at++;
  }
  return at === length ? items : NOT_DIRECT;
}

/** Where the bytes of the bin `binEnd` read last start: a number, so reading one allocates nothing. */
let binStart = 0;

/**
 * Where the bin whose header is at `at` ends (its bytes start at `binStart`), or -1 when
 * it runs past the frame or past `maxBinLength`.
 */
function binEnd(bytes: Uint8Array, at: number, maxBinLength: number): number {
  const type = bytes[at]!;
  const headerSize = type === 0xc4 ? 2 : type === 0xc5 ? 3 : 5;
  if (at + headerSize > bytes.byteLength) return -1;
  const length =
    type === 0xc4 ? bytes[at + 1]!
    : type === 0xc5 ? (bytes[at + 1]! << 8) | bytes[at + 2]!
    : ((bytes[at + 1]! << 24) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 8) | bytes[at + 4]!) >>> 0;
  const start = at + headerSize;
  if (length > maxBinLength || start + length > bytes.byteLength) return -1;
  binStart = start;
  return start + length;
}

/** The value of a one-byte msgpack encoding, or NOT_DIRECT. */
function oneByte(b: number): unknown {
  if (b <= 0x7f) return b;
  if (b >= 0xe0) return b - 0x100;
  if (b === 0xc0) return null;
  if (b === 0xc2 || b === 0xc3) return b === 0xc3;
  return NOT_DIRECT;
}
