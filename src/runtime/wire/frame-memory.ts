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
