/**
 * One writer per socket. zeromq.js v6 allows a single pending `send()` per socket and
 * fails a second with EBUSY, so every send goes through this queue, which keeps at most
 * one in flight and holds the rest in order, up to a bound.
 */
import type { Writable } from 'zeromq';
import { SendQueueFullError, ServiceClosedError } from '../errors/errors.js';
import type { Frames } from '../wire/frame-cache.js';

interface Entry {
  frames: Frames;
  bytes: number;
  done: (error?: Error) => void;
  wanted: (() => boolean) | undefined;
}

const ignore = (): void => {};

/** What a message whose sender gave up settles with; its `done` has nobody left to tell. */
const abandoned = new ServiceClosedError('the call was given up before it was sent');

export class SendQueue {
  readonly #socket: Writable<Frames>;
  readonly #limit: number;
  readonly #byteLimit: number;
  #waiting: Entry[] = [];
  #head = 0;
  #bytes = 0;
  #busy = false;
  #closed: Error | undefined;
  #idle: Array<() => void> = [];
  /** The message in flight; replaced as each one goes out. */
  #current: Entry | undefined;

  constructor(socket: Writable<Frames>, limit: number, byteLimit = Infinity) {
    this.#socket = socket;
    this.#limit = limit;
    this.#byteLimit = byteLimit;
  }

  /** Messages waiting behind the one in flight. */
  get length(): number {
    return this.#waiting.length - this.#head;
  }

  /**
   * The message handed to ZeroMQ and not yet settled: it may already be on its way, so
   * its sender cannot know whether the peer got it until `done` is called.
   */
  get inFlight(): Frames | undefined {
    return this.#current?.frames;
  }

  /** Bytes of the messages waiting behind the one in flight. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Queues a message; `done` is called once ZeroMQ has taken it (no argument) or it has
   * failed. `wanted`, if given, is asked before the message goes out (and again while
   * ZeroMQ cannot take it): once it says no, the message is dropped unsent. The hot
   * path: no promise of its own.
   */
  post(frames: Frames, done: (error?: Error) => void = ignore, wanted?: () => boolean): void {
    if (this.#closed) return done(this.#closed);
    if (!this.#busy) return this.#start({ frames, bytes: 0, done, wanted });
    const bytes = byteLength(frames);
    if (this.length >= this.#limit || this.#bytes + bytes > this.#byteLimit) {
      return done(
        new SendQueueFullError(
          `send queue is full (${this.length} messages, ${this.#bytes} bytes; limits ${this.#limit} and ${this.#byteLimit}): the peer is not keeping up`,
        ),
      );
    }
    this.#bytes += bytes;
    this.#waiting.push({ frames, bytes, done, wanted });
  }

  /** Resolves once ZeroMQ has taken the message (not when the peer has it). */
  send(frames: Frames): Promise<void> {
    return new Promise((resolve, reject) => this.post(frames, (error) => (error ? reject(error) : resolve())));
  }

  #start(entry: Entry): void {
    this.#busy = true;
    this.#current = entry;
    this.#socket.send(entry.frames).then(this.#sent, this.#failed);
  }

  readonly #sent = (): void => this.#settle(undefined);
  readonly #failed = (error: Error): void => {
    // A socket with a send timeout gives up while no peer takes the message; a message
    // whose sender can still say it wants it is tried again (on the next turn of the
    // event loop, so a zero send timeout cannot starve timers). Without `wanted`, the
    // failure is the sender's to see.
    const current = this.#current!;
    if ((error as { code?: string }).code === 'EAGAIN' && !this.#closed && current.wanted?.() === true) {
      setImmediate(this.#retry);
      return;
    }
    this.#settle(current.wanted?.() === false ? abandoned : error);
  };

  readonly #retry = (): void => {
    const current = this.#current!;
    if (this.#closed || current.wanted?.() === false) return this.#settle(this.#closed ?? abandoned);
    this.#start(current);
  };

  #settle(error: Error | undefined): void {
    this.#current!.done(error);
    const next = this.#next();
    if (next && !this.#closed) return this.#start(next);
    this.#busy = false;
    this.#current = undefined;
    const idle = this.#idle;
    this.#idle = [];
    for (const wake of idle) wake();
  }

  /** The next message still wanted; the ones given up meanwhile are dropped. */
  #next(): Entry | undefined {
    while (this.#head < this.#waiting.length) {
      const entry = this.#waiting[this.#head]!;
      this.#waiting[this.#head++] = undefined as unknown as Entry;
      this.#bytes -= entry.bytes;
      if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
        this.#waiting = this.#waiting.slice(this.#head);
        this.#head = 0;
      }
      if (entry.wanted?.() === false) {
        entry.done(abandoned);
        continue;
      }
      return entry;
    }
    return undefined;
  }

  /** Fails everything still waiting; the message in flight settles on its own. */
  close(error: Error = new ServiceClosedError()): void {
    this.#closed = error;
    const waiting = this.#waiting.slice(this.#head);
    this.#waiting = [];
    this.#head = 0;
    this.#bytes = 0;
    for (const entry of waiting) entry.done(error);
  }

  /** Resolves once nothing is waiting or in flight. */
  drained(): Promise<void> {
    if (!this.#busy) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}

/** Bytes a message holds (a string frame counted at its UTF-8 worst case). */
export function byteLength(frames: Frames): number {
  let bytes = 0;
  for (const frame of frames) bytes += typeof frame === 'string' ? frame.length * 3 : frame.byteLength;
  return bytes;
}
