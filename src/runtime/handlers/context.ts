/**
 * The `CallContext` a handler receives after its parameters: who called, what, with
 * which metadata and deadline, and an `AbortSignal` that fires when the caller cancels,
 * the deadline passes, the server's timeout expires or the server closes.
 *
 * While a handler runs, its context is also the current one (AsyncLocalStorage): RPC
 * calls it makes take on its deadline and cancellation by themselves.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { RpcTimeoutError } from '../errors/errors.js';
import type { Metadata } from '../wire/context-frame.js';
import { clearTimer, setTimer, type Timer } from '../socket/timer.js';

const NO_METADATA: Readonly<Metadata> = Object.freeze({});

export interface CallContextInit {
  /** The caller's routing identity (RPC) or the topic (pub/sub). */
  peer?: Uint8Array | undefined;
  /** Milliseconds since the epoch by which the caller stops waiting. */
  deadline?: number | undefined;
  metadata?: Metadata | undefined;
  /** The caller's CURVE public key (Z85), proven; a function is asked on first read (the proof is checked only if a handler looks). */
  curveKey?: string | (() => string | undefined) | undefined;
}

export class CallContext {
  /** The dotted method name that was called. */
  readonly method: string;
  /** The caller's ZeroMQ routing identity (RPC), or the topic (pub/sub); else undefined. */
  readonly peer: Uint8Array | undefined;
  /**
   * When the caller stops waiting, in milliseconds since the epoch (its remaining time
   * as it sent it, counted from this server's receipt); undefined if it has no deadline
   * (or is not a zrpc client).
   */
  readonly deadline: number | undefined;
  /** What the caller sent with the call (`metadata` in its call options); empty if nothing. */
  readonly metadata: Readonly<Metadata>;
  #curveKey: string | (() => string | undefined) | undefined;
  #controller: AbortController | undefined;
  #onAbort: Array<(reason: unknown) => void> | undefined;
  #reason: unknown;
  #aborted = false;
  #timer: Timer;
  /** The deadline on the monotonic clock (`performance.now()`): a wall-clock step moves no deadline. */
  readonly #due: number | undefined;
  /** Answered: no deadline timer may start any more. */
  #done = false;
  /** The deadline timer fired. */
  #expired = false;

  constructor(method: string, init?: Uint8Array | CallContextInit) {
    this.method = method;
    if (init === undefined || init instanceof Uint8Array) {
      this.peer = init;
      this.deadline = undefined;
      this.metadata = NO_METADATA;
    } else {
      this.peer = init.peer;
      this.deadline = init.deadline;
      this.metadata = init.metadata ?? NO_METADATA;
      this.#curveKey = init.curveKey;
      if (init.deadline !== undefined) this.#due = performance.now() + (init.deadline - Date.now());
    }
  }

  /** The caller's CURVE public key in Z85 when the server uses CURVE and the caller proved it; else undefined. */
  get curveKey(): string | undefined {
    if (typeof this.#curveKey === 'function') this.#curveKey = this.#curveKey();
    return this.#curveKey;
  }

  /**
   * Made on first use: most handlers never look, and most calls never abort. The
   * deadline's timer starts then too; until something watches, nothing needs it.
   */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
      else if (this.#due !== undefined && !this.#done) {
        // Unref'd: a deadline never keeps the process alive by itself.
        this.#timer = setTimer(this.remaining, () => {
          // Node's timers may fire a fraction of a millisecond before performance.now() agrees.
          this.#expired = true;
          this.abort(deadlineError(this));
        });
        (this.#timer as { unref?: () => void } | undefined)?.unref?.();
      }
    }
    return this.#controller.signal;
  }

  /** @internal Why the call was aborted (undefined while it is not), without making the signal. */
  get abortReason(): unknown {
    return this.#reason;
  }

  get aborted(): boolean {
    if (!this.#aborted && this.pastDeadline) this.abort(deadlineError(this));
    return this.#aborted;
  }

  /** Milliseconds left before the deadline (0 once past); Infinity without one. */
  get remaining(): number {
    return this.#due === undefined ? Infinity : Math.max(0, this.#due - performance.now());
  }

  /** Whether the caller's deadline has passed (on the monotonic clock). */
  get pastDeadline(): boolean {
    return this.#expired || (this.#due !== undefined && performance.now() >= this.#due);
  }

  /** @internal Called by the server on cancel, deadline, timeout or close. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    clearTimer(this.#timer);
    this.#controller?.abort(reason);
    const listeners = this.#onAbort;
    this.#onAbort = undefined;
    // The server answers the call after this: a listener that throws must not stop it.
    if (listeners) for (const listener of listeners) {
      try {
        listener(reason);
      } catch {
        // Metrics and tracing only; what they fail to record is theirs.
      }
    }
  }

  /**
   * @internal Calls `listener` with the reason when the server aborts the call (cancel,
   * its timeout, close; at once if it is aborted already). For zrpc's metrics and tracing
   * interceptors: the moment of `signal`'s abort event, without the AbortController
   * (microseconds a call) it makes. A caller's deadline counts only once something reads
   * `signal` or `aborted`, as it starts no timer of its own.
   */
  onAbort(listener: (reason: unknown) => void): void {
    if (this.#aborted) return listener(this.#reason);
    (this.#onAbort ??= []).push(listener);
  }

  /** @internal The call is answered: its deadline no longer matters. */
  done(): void {
    this.#done = true;
    clearTimer(this.#timer);
    this.#timer = undefined;
  }
}

function deadlineError(context: CallContext): RpcTimeoutError {
  return new RpcTimeoutError(`${context.method}: the caller's deadline passed`);
}

const current = new AsyncLocalStorage<CallContext>();

/**
 * Whether handlers run inside the context store. AsyncLocalStorage makes every promise
 * in the process dearer once used (~3x per await on Node 20), and only a process that
 * also calls out can read it: a server turns it on once a client exists.
 */
let propagating = false;

/** @internal An RPC client exists in this process: handlers from now on run in the store. */
export function enableContextPropagation(): void {
  propagating = true;
}

/** The context of the handler running now (through its awaits), if any. */
export function currentContext(): CallContext | undefined {
  return propagating ? current.getStore() : undefined;
}

/** @internal Runs `fn` with `context` as the current one (when a client in this process may read it). */
export function runInContext<T>(context: CallContext, fn: () => T): T {
  return propagating ? current.run(context, fn) : fn();
}
