/**
 * The `CallContext` a handler receives after its parameters: who called, what, and an
 * `AbortSignal` that fires when the server's timeout expires or the server closes.
 */
export class CallContext {
  /** The dotted method name that was called. */
  readonly method: string;
  /** The caller's ZeroMQ routing identity (RPC), or the topic (pub/sub); else undefined. */
  readonly peer: Uint8Array | undefined;
  #controller: AbortController | undefined;
  #reason: unknown;
  #aborted = false;

  constructor(method: string, peer?: Uint8Array) {
    this.method = method;
    this.peer = peer;
  }

  /** Made on first use: most handlers never look, and most calls never abort. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** @internal Called by the server on timeout or close. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
