/**
 * Memory for the large frames this process sends. Small ones (headers, most message
 * bodies) take Node's 8 KiB buffer pool (`Buffer.allocUnsafe`) where they are made.
 * Slabs of our own for them were tried: 32 KiB ones saved no CPU that alternating runs
 * could see (1 KiB echoes), and a frame a call keeps for its whole life (its header, for
 * a retry) then held four times the memory.
 */

/** Frames up to this size are small (Node's pool); larger ones take `largeBuffer`. */
export const SMALL_FRAME_BYTES = 4096;

/*
 * Large frames. zeromq.js sends a frame over 128 bytes from its memory and lets go of it
 * once ZeroMQ is done, without telling anyone when; a fresh buffer for every large
 * message costs page faults on first write and, as external memory, full garbage
 * collections (a 64 KiB echo server ran one every ~500 calls). So a buffer the frame
 * that held it no longer reaches comes back here once the collector has seen the frame
 * go (FinalizationRegistry: a full collection, which the traffic itself brings on), and
 * serves a later frame of the same capacity.
 */

const MAX_KEPT_CAPACITY = 4 * 2 ** 20;
/**
 * Bytes of idle large buffers kept at most, all capacities together. What traffic needs
 * between two full collections: 64 KiB echoes at ~7k a second needed more than 32 MiB
 * (17% of requests found the pool empty, and each fresh buffer, as external memory,
 * brings the next full collection nearer). At 64 MiB, 4 alternating rounds: 58 full
 * collections instead of 83, and 17% less server CPU; 128 MiB did no better.
 */
const MAX_KEPT_BYTES = 64 * 2 ** 20;
/** Idle buffers nobody asked for in this long are let go: traffic that stopped keeps nothing. */
const IDLE_MS = 2000;

const idle = new Map<number, ArrayBuffer[]>();
let idleBytes = 0;
/** Whether a large buffer was asked for since the last look of `letGoIfUnused`. */
let asked = false;
let idleTimer: NodeJS.Timeout | undefined;

/** unref: an idle pool never keeps the process alive. */
function watchIdle(): void {
  idleTimer ??= setTimeout(letGoIfUnused, IDLE_MS).unref();
}

const returned = new FinalizationRegistry<ArrayBuffer>((buffer) => {
  const capacity = buffer.byteLength;
  if (idleBytes + capacity > MAX_KEPT_BYTES) return;
  let list = idle.get(capacity);
  if (!list) idle.set(capacity, (list = []));
  list.push(buffer);
  idleBytes += capacity;
  watchIdle();
});

function letGoIfUnused(): void {
  idleTimer = undefined;
  if (asked) {
    asked = false;
    return watchIdle();
  }
  idle.clear();
  idleBytes = 0;
}

/** @internal Bytes of large buffers waiting for a frame (tests). */
export function idleLargeBytes(): number {
  return idleBytes;
}

/**
 * The capacity kept for `size` bytes: rounded up to a step of an eighth of its power of
 * two, or 1 KiB, so a buffer is at most an eighth (or 1 KiB) larger than asked and sizes
 * near one another share one list. The send queues' byte limits count frames' bytes.
 */
function capacityFor(size: number): number {
  const step = Math.max(1024, 2 ** (Math.floor(Math.log2(size)) - 3));
  return Math.ceil(size / step) * step;
}

/** An unzeroed buffer of at least `size` bytes: an idle one of that capacity, or a new one. */
export function largeBuffer(size: number): ArrayBuffer {
  const capacity = capacityFor(size);
  asked = true;
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
  // Most frames are small: decided before reading `.buffer`, which costs more than the test.
  if (frame.byteLength <= SMALL_FRAME_BYTES) return;
  const buffer = frame.buffer as ArrayBuffer;
  const capacity = buffer.byteLength;
  // A buffer of another capacity (one the encoder grew itself) would sit in a list no
  // request ever asks for.
  if (capacity <= MAX_KEPT_CAPACITY && capacityFor(capacity) === capacity) returned.register(frame, buffer);
}
