/**
 * The calls a server can be asked to cancel, found by who sent them and which of theirs
 * they are: the routing envelope and the request id (WIRE.md, "Cancel"). Every call
 * answered later than it arrived is entered here, so the key is a number: a key string
 * built from the frames cost about 0.8 us of each such call. Envelopes that share a
 * number are told apart frame by frame, byte for byte, so no split of the same bytes
 * into other frames is mistaken for another caller; where many share one (a peer can
 * make them), by their digests first (`findIn`).
 */
import { createHash } from 'node:crypto';
import { replyRequestId } from '../wire/header.js';

interface Entry<T> {
  /** The envelope is `frames[0..end)`; the frames are the call's own and not changed meanwhile. */
  readonly frames: readonly Uint8Array[];
  readonly end: number;
  readonly requestId: number;
  readonly value: T;
  /** The envelope's digest, once a lookup among keys that share a number needed it. */
  digest?: string;
}

/**
 * Bytes of each envelope frame the number is made from: a peer chooses the frames after
 * its own routing id, and hashing megabytes of them would be work done for it. Longer
 * frames that agree on these bytes share a number and are told apart by `findIn`.
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
    const at = findIn(found, entry);
    if (at >= 0) found[at] = entry;
    else found.push(entry);
  }

  get(frames: readonly Uint8Array[], end: number, header: Uint8Array): T | undefined {
    const requestId = replyRequestId(header);
    const found = this.#slots.get(slotOf(frames, end, requestId));
    if (found === undefined) return undefined;
    if (!Array.isArray(found)) return sameKey(found, frames, end, requestId) ? found.value : undefined;
    return found[findIn(found, { frames, end, requestId, value: undefined })]?.value;
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
    if (!Array.isArray(found)) {
      return (value === undefined || found.value === value) && sameKey(found, frames, end, requestId) && this.#slots.delete(slot);
    }
    // `value` is one call's own: the entry that holds it is the one to check, byte for byte.
    const at = value === undefined ? findIn(found, { frames, end, requestId, value }) : found.findIndex((e) => e.value === value && sameKey(e, frames, end, requestId));
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

/**
 * Where the key of `probe` is among entries that share its number. A peer can make as
 * many share one as it has calls running or held (frames alike for their first bytes,
 * or a real collision), each thousands of frames or megabytes long: comparing the probe
 * with each, byte for byte, would cost that much per call, cancel and forget. Digests
 * (SHA-256, which no peer can make collide) tell them apart at a constant cost each,
 * each made once per envelope; only the entry whose digest matches is compared.
 */
function findIn<T>(list: ReadonlyArray<Entry<T>>, probe: Entry<T | undefined>): number {
  for (let i = 0; i < list.length; i++) {
    const e = list[i]!;
    if (e.requestId !== probe.requestId || e.end !== probe.end) continue;
    probe.digest ??= digestOf(probe.frames, probe.end);
    e.digest ??= digestOf(e.frames, e.end);
    if (e.digest === probe.digest && sameKey(e, probe.frames, probe.end, probe.requestId)) return i;
  }
  return -1;
}

/** A digest of the envelope `frames[0..end)`: each frame's length, then its bytes. */
function digestOf(frames: readonly Uint8Array[], end: number): string {
  const hash = createHash('sha256');
  const length = Buffer.allocUnsafe(4);
  for (let i = 0; i < end; i++) {
    length.writeUInt32LE(frames[i]!.byteLength);
    hash.update(length).update(frames[i]!);
    callIndexWork.bytes += frames[i]!.byteLength;
  }
  return hash.digest('base64');
}

/**
 * @internal Bytes of envelopes compared or digested so far, process-wide: what tests
 * read to bound the work one lookup does, which a peer's envelopes decide.
 */
export const callIndexWork = { bytes: 0 };

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const length = a.byteLength;
  if (length !== b.byteLength) return false;
  callIndexWork.bytes += length;
  // Routing ids are a few bytes: a loop beats a native call; long frames take Buffer's compare.
  if (length > 32) return Buffer.compare(a, b) === 0;
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false;
  return true;
}
