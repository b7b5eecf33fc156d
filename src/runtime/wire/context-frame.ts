/**
 * The context frame: zrpc's extension of aiozmq.rpc's request (WIRE.md, "Call context").
 * It travels before the 16-byte request header, where an aiozmq server takes it for
 * routing envelope and hands it back untouched, so a call carrying it still runs there.
 *
 *   bytes 0-4  magic "\0zrpc"  (no ZeroMQ routing id starts with a zero byte and is longer than 5)
 *   byte  5    version, 1
 *   byte  6    kind: 1 call, 2 cancel, 3 cancel acknowledged (a reply)
 *   call:  bytes 7-10  u32 LE, milliseconds the caller still waits (0xffffffff: no deadline)
 *          bytes 11-   optional msgpack map: "m" metadata (str -> str | bin), "k" CURVE proof
 *   cancel: nothing more; the request header that follows names the call
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { ProtocolError } from '../errors/errors.js';
import { hasKeys } from './frame-cache.js';

export const CONTEXT_VERSION = 1;
export const enum ContextKind {
  Call = 1,
  Cancel = 2,
  /** Leads a zrpc server's answer to a cancel: it tells the client cancels are read there. */
  CancelAck = 3,
}

const MAGIC = [0x00, 0x7a, 0x72, 0x70, 0x63] as const;
const FIXED = 7;
const CALL_FIXED = 11;
/** The deadline field's "none". */
const NO_DEADLINE = 0xffffffff;

/** Per-call key/values sent with a request: `metadata` in call options, `ctx.metadata` in handlers. */
export type Metadata = Record<string, string | Uint8Array>;

/** Limits on what a context frame may carry; both sides check them. */
export const METADATA_LIMITS = {
  /** Bytes of the whole frame. */
  maxBytes: 8192,
  maxEntries: 64,
  maxKeyLength: 64,
} as const;

/** Lowercase, as HTTP/2 and gRPC header names are: `tenant`, `traceparent`, `x-request-id`. */
const KEY_PATTERN = /^[a-z0-9][a-z0-9_.-]*$/;

export interface CurveProof {
  /** The caller's CURVE public key, 32 bytes. */
  key: Uint8Array;
  /** HMAC proving the caller holds the matching secret key (socket/curve.ts). */
  proof: Uint8Array;
}

export interface CallContextFields {
  /** Milliseconds the caller still waits; undefined for no deadline. */
  timeout: number | undefined;
  metadata: Metadata | undefined;
  curve: CurveProof | undefined;
}

export type ContextFrame = { kind: ContextKind.Call; call: CallContextFields } | { kind: ContextKind.Cancel };

const encoder = new Encoder();
/** Decoders by frame size limit (a server may raise it): no string or bytes can be longer. */
const decoders = new Map<number, Decoder>();
function decoderFor(maxBytes: number): Decoder {
  let decoder = decoders.get(maxBytes);
  if (!decoder) {
    decoder = new Decoder({ maxStrLength: maxBytes, maxBinLength: maxBytes, maxArrayLength: 2, maxMapLength: METADATA_LIMITS.maxEntries, maxExtLength: 0 });
    decoders.set(maxBytes, decoder);
  }
  return decoder;
}

/** The cancel frame, and the frame of its acknowledgement, are always the same 7 bytes. */
export const CANCEL_FRAME: Buffer = Buffer.from([...MAGIC, CONTEXT_VERSION, ContextKind.Cancel]);
export const CANCEL_ACK_FRAME: Buffer = Buffer.from([...MAGIC, CONTEXT_VERSION, ContextKind.CancelAck]);

/** Whether `frame` is a context frame of any version (the magic and room for version and kind). */
export function isContextFrame(frame: Uint8Array): boolean {
  return frame.byteLength >= FIXED && frame[0] === 0x00 && frame[1] === 0x7a && frame[2] === 0x72 && frame[3] === 0x70 && frame[4] === 0x63;
}

/**
 * Checks metadata as a caller gives it and returns a plain copy of it, each value read
 * once (what is sent is what was checked); throws `TypeError`/`RangeError` naming the key.
 */
export function checkMetadata(metadata: unknown): Metadata {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new TypeError(`metadata must be an object of string keys to string or Uint8Array values, got ${metadata === null ? 'null' : Array.isArray(metadata) ? 'an array' : typeof metadata}`);
  }
  const checked: Metadata = {};
  let entries = 0;
  for (const key in metadata) {
    if (!Object.hasOwn(metadata, key)) continue;
    if (++entries > METADATA_LIMITS.maxEntries) throw new RangeError(`metadata has more than ${METADATA_LIMITS.maxEntries} entries`);
    if (key.length > METADATA_LIMITS.maxKeyLength || !KEY_PATTERN.test(key)) {
      throw new RangeError(`metadata key ${JSON.stringify(key.slice(0, 80))} must be 1 to ${METADATA_LIMITS.maxKeyLength} characters of a-z, 0-9, '-', '_' and '.', starting with a letter or digit`);
    }
    const value = (metadata as Record<string, unknown>)[key];
    if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
      throw new TypeError(`metadata ${key} must be a string or Uint8Array, got ${value === null ? 'null' : typeof value}`);
    }
    checked[key] = value;
  }
  return checked;
}

/**
 * A call's context frame. `timeout` is the caller's remaining wait in milliseconds
 * (undefined or Infinity: none). Metadata must have passed `checkMetadata`.
 */
export function encodeCallContext(timeout: number | undefined, metadata: Metadata | undefined, curve: CurveProof | undefined): Buffer {
  let extra: Uint8Array | undefined;
  const hasMetadata = metadata !== undefined && hasKeys(metadata);
  if (hasMetadata || curve) {
    const map: Record<string, unknown> = {};
    if (hasMetadata) map.m = metadata;
    if (curve) map.k = [curve.key, curve.proof];
    extra = encoder.encode(map);
  }
  const frame = Buffer.allocUnsafe(CALL_FIXED + (extra?.byteLength ?? 0));
  for (let i = 0; i < MAGIC.length; i++) frame[i] = MAGIC[i];
  frame[5] = CONTEXT_VERSION;
  frame[6] = ContextKind.Call;
  const ms = timeout === undefined || timeout === Infinity ? NO_DEADLINE : Math.min(Math.max(0, Math.ceil(timeout)), NO_DEADLINE - 1);
  frame.writeUInt32LE(ms, 7);
  if (extra) {
    if (frame.byteLength > METADATA_LIMITS.maxBytes) {
      throw new RangeError(`call metadata takes ${frame.byteLength} bytes on the wire; at most ${METADATA_LIMITS.maxBytes} may be sent`);
    }
    frame.set(extra, CALL_FIXED);
  }
  return frame;
}

/**
 * A call's context frame saying `timeout` ms are left, for a call sent later than it was
 * made (it waited for a server, or is retried): the same frame if that is no less than
 * it says already, else a copy (the first may still be in ZeroMQ's hands).
 */
export function withTimeLeft(frame: Buffer, timeout: number): Buffer {
  const ms = Math.max(0, Math.ceil(timeout));
  if (ms >= frame.readUInt32LE(7)) return frame;
  const fresh = Buffer.from(frame);
  fresh.writeUInt32LE(ms, 7);
  return fresh;
}

/** Reads a context frame (`isContextFrame` said it is one); throws `ProtocolError` saying what is wrong. */
export function decodeContextFrame(frame: Uint8Array, maxBytes: number = METADATA_LIMITS.maxBytes): ContextFrame {
  const version = frame[5]!;
  if (version !== CONTEXT_VERSION) {
    throw new ProtocolError(`the call's context frame is version ${version}; this server reads version ${CONTEXT_VERSION}: upgrade the server or send without the newer features`);
  }
  const kind = frame[6]!;
  if (kind === ContextKind.Cancel) {
    if (frame.byteLength !== FIXED) throw new ProtocolError(`a cancel frame is ${FIXED} bytes, got ${frame.byteLength}`);
    return { kind };
  }
  if (kind !== ContextKind.Call) throw new ProtocolError(`unknown context frame kind ${kind} (1 is a call, 2 a cancel)`);
  if (frame.byteLength < CALL_FIXED) throw new ProtocolError(`a call's context frame is at least ${CALL_FIXED} bytes, got ${frame.byteLength}`);
  if (frame.byteLength > maxBytes) throw new ProtocolError(`the call's context (metadata) is ${frame.byteLength} bytes; this server takes at most ${maxBytes}`);
  const ms = (frame[7]! | (frame[8]! << 8) | (frame[9]! << 16) | (frame[10]! << 24)) >>> 0;
  const call: CallContextFields = { timeout: ms === NO_DEADLINE ? undefined : ms, metadata: undefined, curve: undefined };
  if (frame.byteLength > CALL_FIXED) readExtensions(frame.subarray(CALL_FIXED), call, maxBytes);
  return { kind, call };
}

function readExtensions(bytes: Uint8Array, call: CallContextFields, maxBytes: number): void {
  let map: unknown;
  try {
    map = decoderFor(maxBytes).decode(bytes);
  } catch (cause) {
    throw new ProtocolError(`the call's context frame is not valid msgpack after its fixed part: ${(cause as Error).message}`, { cause });
  }
  if (map === null || typeof map !== 'object' || Array.isArray(map) || map instanceof Uint8Array) {
    throw new ProtocolError(`the call's context frame must end in a msgpack map`);
  }
  const fields = map as Record<string, unknown>;
  // Keys a later revision adds are skipped: one that must not be skipped raises the version.
  if (fields.m !== undefined) {
    try {
      call.metadata = checkMetadata(fields.m);
    } catch (cause) {
      throw new ProtocolError(`the call's metadata is malformed: ${(cause as Error).message}`, { cause });
    }
  }
  if (fields.k !== undefined) {
    const k = fields.k;
    if (!Array.isArray(k) || k.length !== 2 || !(k[0] instanceof Uint8Array) || !(k[1] instanceof Uint8Array) || k[0].byteLength !== 32 || k[1].byteLength !== 32) {
      throw new ProtocolError(`the call's CURVE proof must be [32-byte key, 32-byte proof]`);
    }
    call.curve = { key: k[0], proof: k[1] };
  }
}
