/**
 * The calls a server can be asked to cancel, found by who sent them and which of theirs
 * they are: the routing envelope and the request id (WIRE.md, "Cancel"). Every call
 * answered later than it arrived is entered here, so the key is a number: a key string
 * built from the frames cost about 0.8 us of each such call. Envelopes that share a
 * number are told apart frame by frame, byte for byte, so no split of the same bytes
 * into other frames is mistaken for another caller.
 */
import { replyRequestId } from '../wire/header.js';

interface Entry<T> {
  /** The envelope is `frames[0..end)`; the frames are the call's own and not changed meanwhile. */
  readonly frames: readonly Uint8Array[];
  readonly end: number;
  readonly requestId: number;
  readonly value: T;
}

/**
 * Bytes of each envelope frame the number is made from: a peer chooses the frames after
 * its own routing id, and hashing megabytes of them would be work done for it. Longer
 * frames that agree on these bytes share a number and are compared.
 */
const HASHED_BYTES = 64;

export class CallIndex<T> {
  /** An entry, or the entries whose keys share a number (a list, which collisions alone make). */
  readonly #slots = new Map<number, Entry<T> | Array<Entry<T>>>();

  /** Enters the call whose envelope is `frames[0..end)` and whose header is `header`; a call of the same key is replaced. */
  set(frames: readonly Uint8Array[], end: number, header: Uint8Array, value: T): void {
    const requestId = replyRequestId(header);
    const slot = slotOf(frames, end, requestId);
    const entry: Entry<T> = { frames, end, requestId, value };
    const found = this.#slots.get(slot);
    if (found === undefined) return void this.#slots.set(slot, entry);
    if (!Array.isArray(found)) {
      this.#slots.set(slot, sameKey(found, frames, end, requestId) ? entry : [found, entry]);
      return;
    }
    const at = found.findIndex((e) => sameKey(e, frames, end, requestId));
    if (at >= 0) found[at] = entry;
    else found.push(entry);
  }

  get(frames: readonly Uint8Array[], end: number, header: Uint8Array): T | undefined {
    const requestId = replyRequestId(header);
    const found = this.#slots.get(slotOf(frames, end, requestId));
    if (found === undefined) return undefined;
    if (!Array.isArray(found)) return sameKey(found, frames, end, requestId) ? found.value : undefined;
    return found.find((e) => sameKey(e, frames, end, requestId))?.value;
  }

  /**
   * Removes the call of this key, if `value` is what it leads to (or whatever it leads to,
   * without `value`): a call that ended late must not remove a later one of the same key.
   */
  delete(frames: readonly Uint8Array[], end: number, header: Uint8Array, value?: T): boolean {
    const requestId = replyRequestId(header);
    const slot = slotOf(frames, end, requestId);
    const found = this.#slots.get(slot);
    if (found === undefined) return false;
    const matches = (e: Entry<T>) => sameKey(e, frames, end, requestId) && (value === undefined || e.value === value);
    if (!Array.isArray(found)) return matches(found) && this.#slots.delete(slot);
    const at = found.findIndex(matches);
    if (at < 0) return false;
    found.splice(at, 1);
    if (found.length === 1) this.#slots.set(slot, found[0]!);
    return true;
  }

  clear(): void {
    this.#slots.clear();
  }
}

/** The number of a key: the request id mixed with each envelope frame's length and first bytes (FNV-1a). */
function slotOf(frames: readonly Uint8Array[], end: number, requestId: number): number {
  let hash = Math.imul(requestId ^ 0x811c9dc5, 0x01000193);
  for (let i = 0; i < end; i++) {
    const frame = frames[i]!;
    const length = frame.byteLength;
    hash = Math.imul(hash ^ length, 0x01000193);
    const hashed = Math.min(length, HASHED_BYTES);
    for (let j = 0; j < hashed; j++) hash = Math.imul(hash ^ frame[j]!, 0x01000193);
  }
  return hash >>> 0;
}

function sameKey<T>(entry: Entry<T>, frames: readonly Uint8Array[], end: number, requestId: number): boolean {
  if (entry.requestId !== requestId || entry.end !== end) return false;
  for (let i = 0; i < end; i++) if (!sameBytes(entry.frames[i]!, frames[i]!)) return false;
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const length = a.byteLength;
  if (length !== b.byteLength) return false;
  // Routing ids are a few bytes: a loop beats a native call; long frames take Buffer's compare.
  if (length > 32) return Buffer.compare(a, b) === 0;
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false;
  return true;
}
