/**
 * The frames of a call, as every client pattern sends them: name, args, kwargs
 * (WIRE.md). Names and topics recur, so their frames are encoded once: zeromq.js would
 * otherwise turn the same string into UTF-8 bytes on every send.
 */
import type { Packer } from './packer.js';
/** One ZeroMQ message, frame by frame, as sockets send it. */
export type Frames = Array<Uint8Array | string>;

/** The kwargs frame of a call without named arguments: an empty msgpack map. */
export const NO_KWARGS = Buffer.from([0x80]);

const LIMIT = 4096;

export class FrameCache {
  readonly #frames = new Map<string, Buffer>();

  get(text: string): Buffer {
    let frame = this.#frames.get(text);
    if (!frame) {
      frame = Buffer.from(text, 'utf8');
      // Names come from code, so they are few; a caller making them up is not cached.
      if (this.#frames.size < LIMIT) this.#frames.set(text, frame);
    }
    return frame;
  }
}

/**
 * Appends a call's name, args and kwargs frames to `frames`: the one encoder of request,
 * pipeline and pub/sub calls. Trailing `undefined` args are dropped (JavaScript's "not
 * given"), so the peer's default applies: a Python worker gets its default, not `None`.
 * An empty name is refused, as aiozmq refuses it, before anything is sent.
 */
export function encodeCall(
  frames: Frames,
  packer: Packer,
  names: FrameCache,
  name: string,
  args: readonly unknown[],
  named: Readonly<Record<string, unknown>> | undefined,
): Frames {
  if (typeof name !== 'string') throw new TypeError(`method name must be a string, got ${typeof name}`);
  if (name === '') throw new RangeError('method name is empty');
  const argsFrame = packer.encodeFrame(trimTrailingUndefined(args));
  const kwargsFrame = named && hasKeys(named) ? packer.encodeFrame(named) : NO_KWARGS;
  frames.push(names.get(name), argsFrame, kwargsFrame);
  return frames;
}

/** Whether an object has any enumerable key, without building the list. */
export function hasKeys(record: object): boolean {
  for (const _ in record) return true;
  return false;
}

/** `args` without its trailing `undefined`s (JavaScript's "not given"): what a call sends. */
export function trimTrailingUndefined(args: readonly unknown[]): readonly unknown[] {
  let end = args.length;
  while (end > 0 && args[end - 1] === undefined) end--;
  return end === args.length ? args : args.slice(0, end);
}
