/**
 * Memory for the small frames this process sends (headers, most message bodies), carved
 * in turn from 32 KiB slabs. `Buffer.allocUnsafe` does the same from Node's 8 KiB pool,
 * which a 1 KiB echo call used up every few calls: making pools took a tenth of the
 * client's own time per call (bench, echo 1 KiB). A slab lives while any frame carved
 * from it does; zeromq.js holds each frame over 128 bytes until ZeroMQ has sent it.
 */

const SLAB_BYTES = 32 * 1024;
/** Frames up to this size are carved; larger ones would waste a slab's tail. */
export const MAX_CARVED_BYTES = 4096;

let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let used = 0;

/** `size` bytes, not zeroed: the caller writes every one before the frame leaves. */
export function frameBuffer(size: number): Buffer {
  if (size > MAX_CARVED_BYTES) return Buffer.allocUnsafeSlow(size);
  if (used + size > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    used = 0;
  }
  const frame = slab.subarray(used, used + size);
  // Eight-byte aligned, as Node's pool aligns.
  used = (used + size + 7) & ~7;
  return frame;
}

/*
 * Large frames. zeromq.js sends a frame over 128 bytes from its memory and lets go of it
 * once ZeroMQ is done, without telling anyone when; a fresh buffer for every large
 * message costs page faults on first write and, as external memory, full garbage
 * collections (a 64 KiB echo server ran one every ~500 calls). So a buffer the frame
 * that held it no longer reaches comes back here once the collector has seen the frame
 * go (FinalizationRegistry: a full collection, which the traffic itself brings on), and
 * serves a later frame of the same capacity.
 */

/** Capacities of large buffers are multiples of this; buffers of other sizes are not kept. */
const LARGE_STEP = 16 * 1024;
const MAX_KEPT_CAPACITY = 4 * 2 ** 20;
/** Bytes of idle large buffers kept at most, all capacities together. */
const MAX_KEPT_BYTES = 32 * 2 ** 20;

const idle = new Map<number, ArrayBuffer[]>();
let idleBytes = 0;

const returned = new FinalizationRegistry<ArrayBuffer>((buffer) => {
  const capacity = buffer.byteLength;
  if (idleBytes + capacity > MAX_KEPT_BYTES) return;
  let list = idle.get(capacity);
  if (!list) idle.set(capacity, (list = []));
  list.push(buffer);
  idleBytes += capacity;
});

/** An unzeroed buffer of at least `size` bytes: an idle one of that capacity, or a new one. */
export function largeBuffer(size: number): ArrayBuffer {
  const capacity = Math.ceil(size / LARGE_STEP) * LARGE_STEP;
  const buffer = idle.get(capacity)?.pop();
  if (buffer) {
    idleBytes -= capacity;
    return buffer;
  }
  return Buffer.allocUnsafeSlow(capacity).buffer as ArrayBuffer;
}

/**
 * `frame` goes to ZeroMQ and nowhere else: once it is unreachable (ZeroMQ sent it, and no
 * view of it was made), its buffer may serve another frame. Only for frames zrpc itself
 * sends and drops; a value handed to an application must never be lent.
 */
export function lend(frame: Uint8Array): void {
  const buffer = frame.buffer as ArrayBuffer;
  const capacity = buffer.byteLength;
  if (capacity % LARGE_STEP === 0 && capacity <= MAX_KEPT_CAPACITY && frame.byteLength > MAX_CARVED_BYTES) returned.register(frame, buffer);
}
