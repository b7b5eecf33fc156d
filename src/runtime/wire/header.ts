/**
 * The fixed-size headers of aiozmq.rpc's request and reply frames (WIRE.md).
 *
 * request (16 bytes): u16 pid, u16 random, u32 request id, f64 send time (Unix seconds)
 * reply   (17 bytes): the same four fields, then u8 is_error
 * All little-endian.
 */
import { randomInt } from 'node:crypto';

export const REQUEST_HEADER_SIZE = 16;
export const REPLY_HEADER_SIZE = 17;

/** The first four bytes of every header this process sends: pid and a random tag. */
export function senderPrefix(): number {
  // pid and random share one u32 so a header write is two stores and a double.
  return ((process.pid & 0xffff) | (randomInt(0x10000) << 16)) >>> 0;
}

export function encodeRequestHeader(prefix: number, requestId: number): Buffer {
  const header = Buffer.allocUnsafe(REQUEST_HEADER_SIZE);
  header.writeUInt32LE(prefix, 0);
  header.writeUInt32LE(requestId, 4);
  header.writeDoubleLE(Date.now() / 1000, 8);
  return header;
}

/** The reply header for a request: the request id is copied from the request header. */
export function encodeReplyHeader(prefix: number, requestHeader: Uint8Array, isError: boolean): Buffer {
  const header = Buffer.allocUnsafe(REPLY_HEADER_SIZE);
  header.writeUInt32LE(prefix, 0);
  // Byte by byte: a subarray would allocate a view on the hot path.
  header[4] = requestHeader[4]!;
  header[5] = requestHeader[5]!;
  header[6] = requestHeader[6]!;
  header[7] = requestHeader[7]!;
  header.writeDoubleLE(Date.now() / 1000, 8);
  header[16] = isError ? 1 : 0;
  return header;
}

export interface RequestHeader {
  pid: number;
  random: number;
  requestId: number;
  /** Unix seconds, as the sender wrote it. */
  time: number;
}

export interface ReplyHeader extends RequestHeader {
  isError: boolean;
}

/** Reads a request header; `undefined` when the frame has the wrong size. */
export function decodeRequestHeader(frame: Uint8Array): RequestHeader | undefined {
  return frame.byteLength === REQUEST_HEADER_SIZE ? readFields(frame) : undefined;
}

function readFields(frame: Uint8Array): RequestHeader {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return {
    pid: view.getUint16(0, true),
    random: view.getUint16(2, true),
    requestId: view.getUint32(4, true),
    time: view.getFloat64(8, true),
  };
}

/** Reads a reply header; `undefined` when the frame has the wrong size or flag. */
export function decodeReplyHeader(frame: Uint8Array): ReplyHeader | undefined {
  if (frame.byteLength !== REPLY_HEADER_SIZE || (frame[16]! & 0xfe) !== 0) return undefined;
  return { ...readFields(frame), isError: frame[16] === 1 };
}

/** The request id alone, read without building an object (the client's hot path). */
export function replyRequestId(frame: Uint8Array): number {
  return (frame[4]! | (frame[5]! << 8) | (frame[6]! << 16) | (frame[7]! << 24)) >>> 0;
}
