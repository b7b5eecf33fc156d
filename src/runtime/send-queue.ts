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
  resolve: () => void;
  reject: (error: Error) => void;
}

export class SendQueue {
  readonly #socket: Writable<Frames>;
  readonly #limit: number;
  #waiting: Entry[] = [];
  #busy = false;
  #closed: Error | undefined;
  #idle: Array<() => void> = [];

  constructor(socket: Writable<Frames>, limit: number) {
    this.#socket = socket;
    this.#limit = limit;
  }

  /** Messages waiting behind the one in flight. */
  get length(): number {
    return this.#waiting.length;
  }

  /** Resolves once ZeroMQ has taken the message (not when the peer has it). */
  send(frames: Frames): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (!this.#busy) {
      this.#busy = true;
      const sent = this.#socket.send(frames);
      sent.then(this.#next, this.#next);
      return sent;
    }
    if (this.#waiting.length >= this.#limit) {
      return Promise.reject(
        new SendQueueFullError(`send queue is full (${this.#limit} messages): the peer is not keeping up`),
      );
    }
    return new Promise((resolve, reject) => this.#waiting.push({ frames, resolve, reject }));
  }

  readonly #next = (): void => {
    const entry = this.#waiting.shift();
    if (!entry || this.#closed) {
      this.#busy = false;
      const idle = this.#idle;
      this.#idle = [];
      for (const wake of idle) wake();
      return;
    }
    const sent = this.#socket.send(entry.frames);
    sent.then(entry.resolve, entry.reject);
    sent.then(this.#next, this.#next);
  };

  /** Rejects everything still waiting; the message in flight settles on its own. */
  close(error: Error = new ServiceClosedError()): void {
    this.#closed = error;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const entry of waiting) entry.reject(error);
  }

  /** Resolves once nothing is waiting or in flight. */
  drained(): Promise<void> {
    if (!this.#busy) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
