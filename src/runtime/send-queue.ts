/**
 * One writer per socket. zeromq.js v6 allows a single pending `send()` per socket and
 * fails a second with EBUSY, so every send goes through this queue, which keeps at most
 * one in flight and holds the rest in order, up to a bound.
 */
import type { Writable } from 'zeromq';
import { RpcError, ServiceClosedError } from './errors.js';

export type Frames = Array<Uint8Array | string>;

/** The queue is at its bound: the peer is not taking messages as fast as they come. */
export class SendQueueFullError extends RpcError {}

interface Entry {
  frames: Frames;
  done: (error?: Error) => void;
}

const ignore = (): void => {};

export class SendQueue {
  readonly #socket: Writable<Frames>;
  readonly #limit: number;
  #waiting: Entry[] = [];
  #busy = false;
  #closed: Error | undefined;
  #idle: Array<() => void> = [];
  /** Called when the message in flight settles; replaced as each one goes out. */
  #current: (error?: Error) => void = ignore;

  constructor(socket: Writable<Frames>, limit: number) {
    this.#socket = socket;
    this.#limit = limit;
  }

  /** Messages waiting behind the one in flight. */
  get length(): number {
    return this.#waiting.length;
  }

  /**
   * Queues a message; `done` is called once ZeroMQ has taken it (no argument) or it has
   * failed. The hot path: no promise of its own.
   */
  post(frames: Frames, done: (error?: Error) => void = ignore): void {
    if (this.#closed) return done(this.#closed);
    if (!this.#busy) return this.#start(frames, done);
    if (this.#waiting.length >= this.#limit) {
      return done(new SendQueueFullError(`send queue is full (${this.#limit} messages): the peer is not keeping up`));
    }
    this.#waiting.push({ frames, done });
  }

  /** Resolves once ZeroMQ has taken the message (not when the peer has it). */
  send(frames: Frames): Promise<void> {
    return new Promise((resolve, reject) => this.post(frames, (error) => (error ? reject(error) : resolve())));
  }

  #start(frames: Frames, done: (error?: Error) => void): void {
    this.#busy = true;
    this.#current = done;
    this.#socket.send(frames).then(this.#sent, this.#failed);
  }

  readonly #sent = (): void => this.#settle(undefined);
  readonly #failed = (error: Error): void => this.#settle(error);

  #settle(error: Error | undefined): void {
    const done = this.#current;
    done(error);
    const entry = this.#waiting.shift();
    if (entry && !this.#closed) return this.#start(entry.frames, entry.done);
    this.#busy = false;
    this.#current = ignore;
    const idle = this.#idle;
    this.#idle = [];
    for (const wake of idle) wake();
  }

  /** Fails everything still waiting; the message in flight settles on its own. */
  close(error: Error = new ServiceClosedError()): void {
    this.#closed = error;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const entry of waiting) entry.done(error);
  }

  /** Resolves once nothing is waiting or in flight. */
  drained(): Promise<void> {
    if (!this.#busy) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
