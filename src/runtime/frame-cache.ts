/**
 * Frames a client sends again and again (method names, topics), encoded once. zeromq.js
 * would otherwise turn the same string into UTF-8 bytes on every send.
 */

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
