/**
 * msgpack as aiozmq.rpc speaks it: @msgpack/msgpack with a table of ext-type translators.
 *
 * Beyond the library's defaults, three things make values survive a trip to Python:
 * - 64-bit integers decode to `number` when exact, else to `bigint`; `bigint` encodes
 *   as a 64-bit integer.
 * - A map with any non-string key (Python's `{1: 'a'}` or `{(1, 2): 'a'}`) decodes to a
 *   `Map`, and a `Map` encodes as a msgpack map with its keys as they are.
 * - Ext codes with no translator decode to `ExtData`, which re-encodes to the same bytes.
 * - A property whose value is `undefined` is left out of its map, as JSON does.
 */
import { DecodeError, Decoder, Encoder, ExtData, type DecoderOptions, type ExtensionCodecType } from '@msgpack/msgpack';
import { EncodeError } from '../errors/errors.js';
import { directFrame, directValue, NOT_DIRECT, type DirectLimits } from './direct-frames.js';
import { largeBuffer, lend, SMALL_FRAME_BYTES } from './frame-memory.js';

/** A value class and how it becomes bytes inside an ext type, and back. */
export type Translator<T = any> = readonly [
  cls: abstract new (...args: any[]) => T,
  pack: (value: T) => Uint8Array,
  unpack: (data: Uint8Array) => T,
];

/** Ext codes 0..127 to translators; encoding looks up the exact class, then scans codes in ascending order. */
export type TranslationTable =
  | Readonly<Record<number, Translator>>
  | ReadonlyMap<number, Translator>;

/**
 * Caps on what one decoded message may declare, so one message cannot take the heap.
 * Past one, decoding fails with a `DecodeError` that names it, and the server answers
 * `ProtocolError`. Defaults: `DEFAULT_DECODE_LIMITS`.
 */
export interface DecodeLimits {
  /** UTF-8 bytes in one string. */
  maxStrLength?: number;
  /** Bytes in one binary value. */
  maxBinLength?: number;
  /** Items in one array. */
  maxArrayLength?: number;
  /** Entries in one map. */
  maxMapLength?: number;
  /** Bytes in one ext value (the date/time pickles are under 120). */
  maxExtLength?: number;
  /** Arrays and maps nested in one another. */
  maxDepth?: number;
  /**
   * Values in one message: the items of every array and map in it, added up. An empty
   * array or map costs about 64 bytes of heap for its one byte of msgpack, so this, not
   * the message size, is what bounds the memory of a message made of them.
   */
  maxItems?: number;
}

export const DEFAULT_DECODE_LIMITS: Readonly<Required<DecodeLimits>> = {
  maxStrLength: 64 * 2 ** 20,
  maxBinLength: 256 * 2 ** 20,
  maxArrayLength: 4 * 2 ** 20,
  maxMapLength: 2 ** 20,
  maxExtLength: 16 * 2 ** 20,
  maxDepth: 200,
  maxItems: 4 * 2 ** 20,
};

export { ExtData };

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/*
 * The library's decoder reads 64-bit ints either all as bigint or all as (lossy) number.
 * We want number-when-exact, so two of its read methods are replaced on a subclass; the
 * names are checked at load time and the dependency is pinned.
 */
class WireDecoder extends Decoder {
  /** Set per instance: nesting deeper than this is refused. */
  maxDepth = DEFAULT_DECODE_LIMITS.maxDepth;
  maxItems = DEFAULT_DECODE_LIMITS.maxItems;
  /** Items declared so far in this decode (reset by `Packer.decode`). */
  items = 0;
  /**
   * Items still owed, at each nesting level, by the containers around it once it
   * closes: `owed[d]` for the container opened at depth d. See `pushState`.
   */
  owed: number[] = [0];
  readonly options: DecoderOptions<undefined>;

  constructor(options: DecoderOptions<undefined>) {
    super(options);
    this.options = options;
  }

  /**
   * Drops the library's hold on its last input: it keeps the frame (and, after a throw,
   * what it had read of it) until its next decode, and frames read directly
   * (direct-frames.ts), most of them, start none. Not while a decode is under way (an
   * ext unpacker re-entering `Packer.decode` ran a clone, and this one is still reading).
   */
  letGo(): void {
    const self = this as unknown as DecoderInternals;
    if (self.entered) return;
    self.reinitializeState();
    self.setBuffer(EMPTY_FRAME);
  }
}
const EMPTY_FRAME = new Uint8Array(0);
/* The library clones a decoder that an ext unpacker re-enters; the clone must be ours. */
(WireDecoder.prototype as unknown as { clone(): WireDecoder }).clone = function (this: WireDecoder) {
  const clone = new WireDecoder(this.options);
  clone.maxDepth = this.maxDepth;
  clone.maxItems = this.maxItems;
  return clone;
};
interface StackState {
  type: 'array' | 'map_key' | 'map_value' | undefined;
  size: number;
  position: number;
  readCount: number;
}
interface DecoderInternals {
  readU64(): number | bigint;
  readI64(): number | bigint;
  readU64AsBigInt(): bigint;
  readI64AsBigInt(): bigint;
  pushArrayState(size: number): void;
  pushMapState(size: number): void;
  stack: { length: number; top(): StackState | undefined };
  view: DataView;
  pos: number;
  maxDepth: number;
  maxItems: number;
  items: number;
  owed: number[];
  entered: boolean;
  reinitializeState(): void;
  setBuffer(buffer: Uint8Array): void;
}
const decoderProto = WireDecoder.prototype as unknown as DecoderInternals;
requireMethods(decoderProto, ['clone', 'readU64AsBigInt', 'readI64AsBigInt', 'readU64', 'readI64', 'pushArrayState', 'pushMapState', 'reinitializeState', 'setBuffer']);
/*
 * The library allocates an array or map as soon as its header declares a size, so 15
 * bytes could ask for millions of slots, and a few hundred nested headers for billions.
 * Every declared item needs at least one byte of the message (a map entry two), and no
 * byte serves two items, so before a container is opened we check that the items it
 * declares, plus those still owed by the containers around it, fit in the bytes left.
 * Whatever the message, the slots allocated in one decode then never exceed its length.
 * The owed count of the enclosing containers is fixed while a child is open, so it is
 * kept per depth and costs O(1) per container. The depth itself is bounded too, which
 * the library does not do.
 */
function pushState(this: DecoderInternals, push: (size: number) => void, size: number, perItem: number, kind: string): void {
  const depth = this.stack.length;
  if (depth >= this.maxDepth) throw new DecodeError(`Max depth exceeded: arrays and maps nested more than ${this.maxDepth} deep`);
  let owed = 0;
  if (depth > 0) {
    const parent = this.stack.top()!;
    // Items of the parent after the one being opened now (this container).
    const after =
      parent.type === 'array' ? parent.size - parent.position - 1
      : parent.type === 'map_key' ? 2 * (parent.size - parent.readCount) - 1
      : 2 * (parent.size - parent.readCount - 1);
    owed = this.owed[depth - 1]! + after;
  }
  const left = this.view.byteLength - this.pos;
  if (size * perItem + owed > left) {
    throw new DecodeError(`${kind} declares ${size} ${perItem === 1 ? 'items' : 'entries'}, more than the ${left} bytes left in the message can hold`);
  }
  this.items += size * perItem;
  if (this.items > this.maxItems) {
    throw new DecodeError(`Max items exceeded: the message holds more than ${this.maxItems} values (decodeLimits.maxItems)`);
  }
  this.owed[depth] = owed;
  push.call(this, size);
}
const pushArray = decoderProto.pushArrayState;
const pushMap = decoderProto.pushMapState;
decoderProto.pushArrayState = function (this: DecoderInternals, size: number) {
  pushState.call(this, pushArray, size, 1, 'an array');
};
decoderProto.pushMapState = function (this: DecoderInternals, size: number) {
  pushState.call(this, pushMap, size, 2, 'a map');
};
decoderProto.readU64 = function (this: DecoderInternals) {
  const value = this.readU64AsBigInt();
  return value <= MAX_SAFE ? Number(value) : value;
};
decoderProto.readI64 = function (this: DecoderInternals) {
  const value = this.readI64AsBigInt();
  return value <= MAX_SAFE && value >= MIN_SAFE ? Number(value) : value;
};

/* The library's encoder writes a Map as an empty object; this one writes its entries. */
class WireEncoder extends Encoder {}
interface EncoderInternals {
  encodeObject(object: unknown, depth: number): void;
  doEncode(object: unknown, depth: number): void;
  writeU8(value: number): void;
  writeU16(value: number): void;
  writeU32(value: number): void;
}
const encoderProto = WireEncoder.prototype as unknown as EncoderInternals;
requireMethods(encoderProto, ['encodeObject', 'doEncode', 'writeU8', 'writeU16', 'writeU32']);
const encodeObject = encoderProto.encodeObject;
encoderProto.encodeObject = function (this: EncoderInternals, object: unknown, depth: number) {
  if (!(object instanceof Map)) return encodeObject.call(this, object, depth);
  const size = object.size;
  if (size < 16) this.writeU8(0x80 + size);
  else if (size < 0x10000) (this.writeU8(0xde), this.writeU16(size));
  else (this.writeU8(0xdf), this.writeU32(size));
  for (const [key, value] of object) {
    this.doEncode(key, depth + 1);
    this.doEncode(value, depth + 1);
  }
};

/** The encoder's buffer fields (pinned version), swapped out by `Packer.encode` for large messages. */
interface EncoderBuffer {
  bytes: Uint8Array;
  view: DataView;
}
const SLACK = 1024;

function requireMethods(proto: object, names: readonly string[]): void {
  for (const name of names) {
    if (typeof (proto as Record<string, unknown>)[name] !== 'function') {
      throw new Error(`zrpc: @msgpack/msgpack has no method ${name}; install the version zrpc pins`);
    }
  }
}

/**
 * Translators chosen as aiozmq chooses them: the object's exact class first, then the
 * first code in ascending order whose class it is an instance of (so with `B extends A`
 * under codes 1 and 2, a `B` travels as 2). Unknown classes are refused rather than
 * sent as an empty map (a `Date` or `Set` would otherwise vanish silently).
 */
class TranslatorCodec implements ExtensionCodecType<undefined> {
  readonly #codes: number[];
  readonly #classes: Array<abstract new (...args: any[]) => unknown>;
  readonly #packers: Array<(value: any) => Uint8Array>;
  /** Index of the translator whose class has exactly this prototype. */
  readonly #exact = new Map<object, number>();
  /**
   * The translator for objects of each prototype met (NONE for none), when the prototype
   * chain alone decides: every array, buffer and object sent asks, and the date/time
   * classes are six \`instanceof\` walks. A chain changed after its first use is not seen.
   */
  readonly #byPrototype = new WeakMap<object, number>();
  /** No class decides \`instanceof\` by itself (\`Symbol.hasInstance\`) or lacks a prototype (bound). */
  readonly #byChain: boolean;
  readonly #unpackers = new Map<number, (data: Uint8Array) => unknown>();

  constructor(table: ReadonlyMap<number, Translator>) {
    const entries = [...table].sort(([a], [b]) => a - b);
    this.#codes = entries.map(([code]) => code);
    this.#classes = entries.map(([, [cls]]) => cls);
    this.#packers = entries.map(([, [, pack]]) => pack);
    for (const [code, [, , unpack]] of entries) this.#unpackers.set(code, unpack);
    // The lowest code wins when one class is registered twice, as in the scan.
    for (let i = entries.length - 1; i >= 0; i--) this.#exact.set(this.#classes[i]!.prototype as object, i);
    const ordinary = Function.prototype[Symbol.hasInstance];
    this.#byChain = this.#classes.every((cls) => cls[Symbol.hasInstance] === ordinary && typeof cls.prototype === 'object' && cls.prototype !== null);
  }

  #translatorFor(object: object, prototype: object | null): number {
    if (!this.#byChain) return this.#scan(object, prototype);
    const key = prototype ?? NULL_PROTOTYPE;
    let index = this.#byPrototype.get(key);
    if (index === undefined) this.#byPrototype.set(key, (index = this.#scan(object, prototype)));
    return index;
  }

  /** aiozmq's rule: the exact class first, then the first code whose class the object is an instance of. */
  #scan(object: object, prototype: object | null): number {
    const classes = this.#classes;
    for (let i = 0; i < classes.length; i++) {
      if (object instanceof classes[i]!) return this.#exact.get(prototype as object) ?? i;
    }
    return NONE;
  }

  /** Whether no translator takes `object`: the encoder writes it as msgpack's own type. */
  isPlain(object: object): boolean {
    return this.#translatorFor(object, Object.getPrototypeOf(object) as object | null) === NONE;
  }

  tryToEncode(object: unknown): ExtData | null {
    // Only objects reach here from the encoder; a primitive is an instance of no class.
    if ((typeof object !== 'object' && typeof object !== 'function') || object === null) return null;
    const prototype = Object.getPrototypeOf(object) as object | null;
    let index = this.#translatorFor(object, prototype);
    if (index === NONE) {
      if (object instanceof ExtData) return object;
      if (Array.isArray(object) || ArrayBuffer.isView(object) || object instanceof Map) return null;
      if (prototype === Object.prototype || prototype === null) return null;
      // Before refusing a cached answer, a fresh look: the chain may have gained a
      // translated class since (a mixin applied at run time).
      if (this.#byChain) {
        index = this.#scan(object, prototype);
        if (index !== NONE) this.#byPrototype.set(prototype, index);
      }
    }
    if (index !== NONE) return new ExtData(this.#codes[index]!, this.#packers[index]!(object));
    const name = (object as { constructor?: { name?: string } }).constructor?.name ?? typeof object;
    throw new EncodeError(
      `cannot encode an instance of ${name}: register a translator for it in translationTable, or send a plain object`,
    );
  }

  decode(data: Uint8Array, type: number): unknown {
    const unpack = this.#unpackers.get(type);
    // Opaque ext data is kept, so it must not alias the receive buffer.
    return unpack ? unpack(data) : new ExtData(type, data.slice());
  }
}

const NONE = -1;
/** The key of null-prototype objects in a WeakMap, which takes objects only. */
const NULL_PROTOTYPE = {};

/** A map key stands in for a non-string key while decoding; see `Packer.decode`. */
const KEY_TOKEN = '\u0000zrpc-key:';

/** Encodes and decodes message bodies with one translation table. */
export class Packer {
  readonly #encoder: Encoder;
  readonly #codec: TranslatorCodec;
  readonly #decoder: WireDecoder;
  readonly #limits: DirectLimits;
  readonly #isPlain = (object: object): boolean => this.#codec.isPlain(object);
  /** Non-string keys met in the current decode, by token index. */
  #keys: unknown[] = [];
  /**
   * Decodes so far that produced a `Map`: callers compare it before and after a decode
   * to learn, at no cost per value, whether a value may hold one.
   */
  mapDecodes = 0;

  constructor(table: TranslationTable = {}, limits: DecodeLimits = {}) {
    const codec = (this.#codec = new TranslatorCodec(toMap(table)));
    const { maxDepth, maxItems, ...lengths } = { ...DEFAULT_DECODE_LIMITS, ...limits };
    this.#limits = { maxBinLength: lengths.maxBinLength, maxArrayLength: lengths.maxArrayLength, maxItems, maxDepth };
    // ignoreUndefined: `{ note: undefined }` is an absent optional property, not a null one.
    this.#encoder = new WireEncoder({ extensionCodec: codec, useBigInt64: true, ignoreUndefined: true });
    const decoder = new WireDecoder({
      extensionCodec: codec,
      ...lengths,
      mapKeyConverter: (key) => {
        if (typeof key === 'string' && !key.startsWith(KEY_TOKEN)) return key;
        this.#keys.push(key);
        return KEY_TOKEN + (this.#keys.length - 1);
      },
    });
    decoder.maxDepth = maxDepth;
    decoder.maxItems = maxItems;
    this.#decoder = decoder;
  }

  /**
   * A buffer of its own: safe to hand to zeromq.js, which may send it without copying.
   * Small ones share Node's buffer pool (`Buffer.allocUnsafe`). Always a copy: what the
   * app still holds may change after it is sent, and zeromq.js sends from this memory.
   */
  encode(value: unknown): Uint8Array {
    return this.#encode(value);
  }

  /**
   * @internal `encode` for a frame zrpc sends and drops: once the frame is unreachable,
   * its memory may serve a later frame (frame-memory.ts). Never for a value an
   * application may keep, or make views of.
   */
  encodeFrame(value: unknown): Uint8Array {
    const direct = directFrame(value, this.#isPlain);
    if (direct !== undefined) return direct;
    // A large message's buffer is its own (#encode gave the encoder another); a small
    // one's is Node's shared pool, which lend() leaves alone.
    const bytes = this.#encode(value);
    lend(bytes);
    return bytes;
  }

  #encode(value: unknown): Uint8Array {
    const bytes = this.#encoder.encodeSharedRef(value);
    // Small messages are copied out, into Node's shared pool: a fresh ArrayBuffer each (what
    // slice() makes) costs more than the copy.
    if (bytes.byteLength <= SMALL_FRAME_BYTES) {
      const copy = Buffer.allocUnsafe(bytes.byteLength);
      copy.set(bytes);
      return copy;
    }
    // A large one keeps the encoder's buffer, which zeromq.js may send without copying;
    // the encoder gets a fresh one, not zero-filled: a copy and a fill of 64 KiB cost
    // more than the rest of a call. (A re-entrant encode used a clone's buffer: nothing to swap.)
    const encoder = this.#encoder as unknown as EncoderBuffer;
    if (bytes.buffer === encoder.bytes.buffer) {
      // Sized for another message like this one, not the doubled capacity the encoder
      // grew to: each message holds its buffer until ZeroMQ sends it, and the bytes
      // allocated drive the garbage collector.
      const fresh = largeBuffer(bytes.byteLength + SLACK);
      encoder.bytes = new Uint8Array(fresh);
      encoder.view = new DataView(fresh);
    }
    return bytes;
  }

  /** Decodes one value; throws `DecodeError` (from @msgpack/msgpack) on malformed input. */
  decode(bytes: Uint8Array): unknown {
    // Most replies and many argument lists are read without setting the decoder up.
    const direct = directValue(bytes, this.#limits);
    if (direct !== NOT_DIRECT) return direct;
    const outer = this.#keys;
    this.#keys = [];
    try {
      this.#decoder.items = 0;
      const value = this.#decoder.decode(bytes);
      if (this.#keys.length === 0) return value;
      this.mapDecodes++;
      return restoreKeys(value, this.#keys);
    } finally {
      this.#keys = outer;
      // A small frame held costs little; a large one is let go of (one DataView the less).
      if (bytes.byteLength > SMALL_FRAME_BYTES) this.#decoder.letGo();
    }
  }
}

function toMap(table: TranslationTable): ReadonlyMap<number, Translator> {
  const map = table instanceof Map ? table : new Map(Object.entries(table).map(([k, v]) => [Number(k), v]));
  for (const code of map.keys()) {
    if (!Number.isInteger(code) || code < 0 || code > 127) {
      throw new RangeError(`translation table code ${code} is outside 0..127`);
    }
  }
  return map;
}

/** Turns every decoded object that holds a key token into a `Map` with the real keys. */
function restoreKeys(value: unknown, keys: readonly unknown[]): unknown {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restoreKeys(value[i], keys);
    return value;
  }
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) {
    return value;
  }
  const record = value as Record<string, unknown>;
  const names = Object.keys(record);
  const hasToken = names.some((name) => name.startsWith(KEY_TOKEN));
  for (const name of names) record[name] = restoreKeys(record[name], keys);
  if (!hasToken) return record;
  const map = new Map<unknown, unknown>();
  for (const name of names) {
    const key = name.startsWith(KEY_TOKEN) ? keys[Number(name.slice(KEY_TOKEN.length))] : name;
    map.set(restoreKeys(key, keys), record[name]);
  }
  return map;
}
