/**
 * Request/reply server: a ROUTER socket answering aiozmq.rpc calls (WIRE.md).
 */
import { Router } from 'zeromq';
import { decodeArguments, decodeName, Dispatcher, RESERVED_PREFIX, serverOptionKeys, type ServerOptions } from '../handlers/dispatch.js';
import type { OptionKeys } from '../socket/option-keys.js';
import { toWireError } from '../wire/error-table.js';
import { clip, describeError } from '../errors/describe.js';
import { CallAbortedError, ProtocolError, RpcTimeoutError, ServerDrainingError, type ServiceClosedError } from '../errors/errors.js';
import { CallContext } from '../handlers/context.js';
import { CANCEL_ACK_FRAME, ContextKind, decodeContextFrame, isContextFrame, METADATA_LIMITS, type CallContextFields } from '../wire/context-frame.js';
import { CurveVerifier } from '../socket/curve-proof.js';
import { isCurveServer } from '../socket/curve.js';
import type { Handler } from '../handlers/handler.js';
import { encodeReplyHeader, REQUEST_HEADER_SIZE, senderPrefix } from '../wire/header.js';
import { createPacker } from '../wire/translators.js';
import { NIL_FRAME } from '../wire/direct-frames.js';
import type { Packer } from '../wire/packer.js';
import { createSocket, Service } from '../socket/service.js';
import { byteLength } from '../socket/send-queue.js';
import { DESCRIBE_METHOD, describeHandler } from '../handlers/describe.js';
import { factoryOptions, type GeneratedCaller } from './generated-caller.js';
import { CallIndex } from './call-index.js';

export interface RpcServerOptions extends ServerOptions {
  /**
   * Answer `zrpc:describe` with the methods, their parameters, schemas, docs and declared
   * errors (what `zrpc describe` prints). Default true; `false` for a server that must
   * not reveal its interface: the call is then answered `NotFoundError`.
   */
  describe?: boolean;
  /**
   * Bytes a call's context frame (its metadata, mostly) may take; a larger one is
   * refused with `ProtocolError`. Default 8192.
   */
  maxMetadataBytes?: number;
}

const rpcServerOptionKeys: OptionKeys<RpcServerOptions> = { ...serverOptionKeys, describe: true, maxMetadataBytes: true };

/** What `zrpc:health` answers: whether the server takes new calls, and how many run. */
export interface ServerHealth {
  status: 'serving' | 'draining';
  running: number;
}

/** The reserved name of the health probe (callable from aiozmq as `getattr(client.call, 'zrpc:health')()`). */
export const HEALTH_METHOD = `${RESERVED_PREFIX}health`;

export interface DrainOptions {
  /**
   * Milliseconds without a new call, once the running ones are done, before the socket
   * closes: calls already on their way when the clients learned of the drain still get
   * their "draining" answer rather than a closed socket. Default 200.
   */
  quiet?: number;
}

const DRAIN_POLL_MS = 10;

export class RpcServer extends Service {
  readonly #packer: Packer;
  readonly #dispatcher: Dispatcher;
  readonly #prefix = senderPrefix();
  #draining: Promise<void> | undefined;
  /** `performance.now()` of the last call that was not zrpc's own (health probes do not count). */
  #lastCall = 0;
  /** Running calls a zrpc client may cancel, by routing envelope and request id. */
  readonly #cancellable = new CallIndex<CallContext>();
  /** The errors cancels settled calls with: such calls get no reply (their caller forgot them). */
  readonly #cancels = new WeakSet<object>();
  readonly #maxContextBytes: number;
  readonly #curve: CurveVerifier | undefined;

  /** @internal Use `serveRpc`. */
  constructor(handler: Handler, options: RpcServerOptions) {
    super(createSocket(Router, options), options);
    this.#packer = createPacker(options.translationTable, options.decodeLimits);
    this.#dispatcher = new Dispatcher(handler, options, this.log, 'rpc');
    this.#maxContextBytes = options.maxMetadataBytes ?? METADATA_LIMITS.maxBytes;
    if (!Number.isInteger(this.#maxContextBytes) || this.#maxContextBytes < 11) {
      throw new RangeError(`maxMetadataBytes must be a whole number of bytes of at least 11 (got ${String(options.maxMetadataBytes)})`);
    }
    this.#curve = options.curve && isCurveServer(options.curve) ? new CurveVerifier(options.curve.secretKey) : undefined;
    if (options.describe !== false) this.#dispatcher.addSystemMethod(DESCRIBE_METHOD, () => describeHandler(handler, 'rpc'), { params: [] });
    // Answered before any handler is looked at, so a probe never waits behind the service's own code.
    this.#dispatcher.addSystemMethod(HEALTH_METHOD, () => this.health, { params: [] });
  }

  /** What the health probe answers. */
  get health(): ServerHealth {
    return { status: this.#draining ? 'draining' : 'serving', running: this.#dispatcher.running };
  }

  /** Whether `drain()` was called. */
  get draining(): boolean {
    return this.#draining !== undefined;
  }

  /**
   * Stops taking new calls, lets the running ones finish, then closes. New calls are
   * answered with `ServerDrainingError` (the call did not run; a load-aware client sends
   * it to another server), and the health probe says `draining`. Resolves once closed.
   */
  drain(options: DrainOptions = {}): Promise<void> {
    const quiet = options.quiet ?? 200;
    if (!Number.isFinite(quiet) || quiet < 0) throw new RangeError(`quiet must be a number of milliseconds of at least 0 (got ${String(quiet)})`);
    this.#draining ??= this.#drain(quiet);
    return this.#draining;
  }

  async #drain(quiet: number): Promise<void> {
    this.#lastCall = performance.now();
    // Polled: a drain happens once in a server's life, and a timer a call would cost every call.
    while (!this.closed && (this.#dispatcher.running > 0 || performance.now() - this.#lastCall < quiet)) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    await this.close();
  }

  /** @internal */
  async start(options: RpcServerOptions): Promise<this> {
    await this.open(options);
    this.startReading((frames) => this.#onMessage(frames), this.#readAhead);
    return this;
  }

  /**
   * Calls read while the server runs as many as it may wait here, in order, for a slot;
   * reading on meanwhile lets cancels (and health probes) through, which end or answer
   * calls at once, held ones included. Bounded: once full, the reader stops, and
   * ZeroMQ's high-water marks push back on senders.
   */
  readonly #held: HeldCall[] = [];
  /** The held calls a cancel can reach, by the key of `#cancellable`. */
  readonly #heldByKey = new CallIndex<HeldCall>();
  #heldBytes = 0;
  /** Set while a wait for a free slot is under way. */
  #slotWait: Promise<void> | undefined;
  /** Resolves the reader's pause once the held calls fit again. */
  #resume: (() => void) | undefined;

  #onMessage(frames: Buffer[]): void {
    if ((this.#held.length > 0 || this.#dispatcher.full) && !jumpsTheQueue(frames)) {
      // Its deadline counts from now, not from when a slot frees up (WIRE.md).
      const held: HeldCall = { frames, bytes: byteLength(frames), receivedAt: performance.now() };
      this.#held.push(held);
      this.#heldByKey.set(frames, envelopeEndOf(frames), frames[frames.length - 4]!, held);
      this.#heldBytes += held.bytes;
      this.#waitForSlot();
      return;
    }
    this.#onRequest(frames);
  }

  readonly #readAhead = (): Promise<void> | undefined => {
    if (this.#held.length < MAX_HELD_CALLS && this.#heldBytes < MAX_HELD_BYTES) return undefined;
    return new Promise((resolve) => (this.#resume = resolve));
  };

  #waitForSlot(): void {
    if (this.#slotWait) return;
    const wait = this.#dispatcher.saturated();
    if (!wait) return this.#runHeld();
    this.#slotWait = wait.then(() => {
      this.#slotWait = undefined;
      this.#runHeld();
    });
  }

  #runHeld(): void {
    while (this.#held.length > 0 && !this.#dispatcher.full && !this.closed) {
      const held = this.#held.shift()!;
      this.#heldBytes -= held.bytes;
      const frames = held.frames;
      this.#heldByKey.delete(frames, envelopeEndOf(frames), frames[frames.length - 4]!, held);
      this.#onRequest(held.frames, held.receivedAt);
    }
    if (this.closed) {
      this.#held.length = 0;
      this.#heldByKey.clear();
      this.#heldBytes = 0;
    } else if (this.#held.length > 0) this.#waitForSlot();
    const resume = this.#resume;
    if (resume && this.#readAhead() === undefined) {
      this.#resume = undefined;
      resume();
    }
  }

  /** `receivedAt`: when a call held for a slot arrived (`performance.now()`); its deadline counts from then. */
  #onRequest(frames: Buffer[], receivedAt?: number): void {
    const count = frames.length;
    // A ROUTER message is [envelope..., context?, header, name, args, kwargs] with at
    // least one identity frame; anything shorter cannot be answered.
    if (count < 5 || frames[count - 4]!.byteLength !== REQUEST_HEADER_SIZE) {
      this.events.warn('malformed request', 'dropped a malformed request', {
        frames: count,
        headerBytes: count >= 4 ? frames[count - 4]!.byteLength : undefined,
      });
      return;
    }
    // A zrpc client's context frame comes right before the header (WIRE.md); it is read
    // here and not echoed: the reply's shape tells the client it was understood.
    const envelopeEnd = envelopeEndOf(frames);
    const hasContext = envelopeEnd === count - 5;
    // One identity frame is the common case (no proxy in between): skip the slice.
    const envelope = envelopeEnd === 1 ? [frames[0]!] : frames.slice(0, envelopeEnd);
    const header = frames[count - 4]!;
    let name = '?';
    try {
      let fields: CallContextFields | undefined;
      if (hasContext) {
        const context = decodeContextFrame(frames[count - 5]!, this.#maxContextBytes);
        if (context.kind === ContextKind.Cancel) return this.#cancel(envelope, header);
        fields = context.call;
      }
      name = decodeName(frames[count - 3]!);
      if (this.#draining && !name.startsWith(RESERVED_PREFIX)) {
        this.#lastCall = performance.now();
        this.#send(envelope, encodeReplyHeader(this.#prefix, header, true), this.#drainingReply(name));
        return;
      }
      if (fields?.timeout === 0) throw new RpcTimeoutError(`${name}: the caller's deadline passed before the call arrived`);
      const heldFor = receivedAt === undefined ? 0 : performance.now() - receivedAt;
      if (fields?.timeout !== undefined && heldFor >= fields.timeout) {
        // Its caller stopped waiting while it waited for a slot: running it would be work
        // for nobody, and its answer a late reply.
        this.events.warn('expired while held', `${clip(name)}: dropped a call whose deadline passed while it waited for a free slot (the server is at its concurrency limit)`);
        return;
      }
      const call = decodeArguments(this.#packer, name, frames[count - 2]!, frames[count - 1]!);
      const peer = envelope[envelope.length - 1];
      const context = fields ? this.#contextOf(name, peer, fields, heldFor) : new CallContext(name, peer);
      const result = this.#dispatcher.call(name, call, context);
      if (result instanceof Promise) {
        // A call still running can be cancelled by its caller (a zrpc client; WIRE.md).
        const end = envelope.length;
        this.#cancellable.set(envelope, end, header, context);
        result.then(
          (value) => {
            this.#forget(envelope, end, header, context);
            if (!context.pastDeadline) this.#reply(envelope, header, name, value);
          },
          (error) => {
            this.#forget(envelope, end, header, context);
            // A cancelled call's caller forgot it; past its deadline, the caller stopped waiting.
            if (!this.#cancels.has(error as object) && !context.pastDeadline) this.#replyError(envelope, header, name, error);
          },
        );
      } else {
        this.#reply(envelope, header, name, result);
      }
    } catch (error) {
      this.#replyError(envelope, header, name, error);
    }
  }

  /**
   * A call ended: its key no longer leads to it. Only if it still does: a cancelled call
   * ends when its handler does, and by then its caller may have reused the request id.
   */
  #forget(envelope: Buffer[], end: number, header: Buffer, context: CallContext): void {
    this.#cancellable.delete(envelope, end, header, context);
  }

  /** The context of a call that came with a context frame: deadline, metadata, proven CURVE key. */
  #contextOf(name: string, peer: Uint8Array | undefined, fields: CallContextFields, heldFor: number): CallContext {
    let curveKey: (() => string | undefined) | undefined;
    const proof = fields.curve;
    const verifier = this.#curve;
    if (proof && verifier) {
      // Checked when a handler first reads ctx.curveKey: an X25519 per unknown key is
      // work a caller could make the server do for nothing.
      curveKey = () => {
        const key = verifier.verify(proof);
        // Not a refusal: a proof made for a proxy's key (the proxy re-encrypts) fails here
        // too. The caller is then unknown, as without CURVE; authorization sees no key.
        if (key === undefined) {
          this.events.warn('curve proof', `${clip(name)}: the call's CURVE key proof does not hold for this server (a client lying about its key, or one that proved it to a proxy's key); ctx.curveKey is left undefined`);
        }
        return key;
      };
    }
    return new CallContext(name, {
      peer,
      deadline: fields.timeout === undefined ? undefined : Date.now() + fields.timeout - heldFor,
      metadata: fields.metadata,
      curveKey,
    });
  }

  /**
   * A zrpc client gave up on a call: its handler's signal aborts and the call gets no
   * reply; the cancel gets an acknowledgement, which tells the client that cancels are
   * read here (WIRE.md, "Cancel").
   */
  #cancel(envelope: Buffer[], header: Buffer): void {
    const end = envelope.length;
    const context = this.#cancellable.get(envelope, end, header);
    this.#send([...envelope, CANCEL_ACK_FRAME], encodeReplyHeader(this.#prefix, header, false), NIL_FRAME);
    if (!context) {
      // Still waiting for a slot: it never runs. (A search of at most MAX_HELD_CALLS, and
      // only for a cancel that names a held call, which its sender had to send first.)
      const held = this.#heldByKey.get(envelope, end, header);
      if (held) {
        this.#heldByKey.delete(envelope, end, header, held);
        this.#held.splice(this.#held.indexOf(held), 1);
        this.#heldBytes -= held.bytes;
      }
      // Otherwise already answered, or never here (a cancel may cross its reply): nothing to abort.
      return;
    }
    this.#cancellable.delete(envelope, end, header, context);
    const error = new CallAbortedError(`${context.method}: cancelled by the caller`);
    this.#cancels.add(error);
    this.#dispatcher.cancel(context, error);
  }

  #reply(envelope: Buffer[], header: Buffer, name: string, value: unknown): void {
    let body: Uint8Array;
    try {
      body = this.#packer.encodeFrame(value);
    } catch (cause) {
      this.#replyError(envelope, header, name, new ProtocolError(`${name}: cannot encode the return value: ${describeError(cause)}`, { cause }));
      return;
    }
    this.#send(envelope, encodeReplyHeader(this.#prefix, header, false), body);
  }

  /** Never throws: whatever the handler threw, the caller gets an error reply. */
  #replyError(envelope: Buffer[], header: Buffer, name: string, error: unknown): void {
    const [type, args, repr] = toWireError(error);
    let body: Uint8Array;
    try {
      body = this.#packer.encode([type, args, repr]);
    } catch {
      // The error's own args would not encode (a class instance, say): send its text.
      body = this.#packer.encode([type, [repr], repr]);
    }
    this.#send(envelope, encodeReplyHeader(this.#prefix, header, true), body);
  }

  /** The error reply to a call refused while draining; not reported as a handler's error. */
  #drainingReply(name: string): Uint8Array {
    const message = `${name}: the server is draining and takes no new calls; try another server`;
    return this.#packer.encode([ServerDrainingError.wireName, [message], `ServerDrainingError('${message}')`]);
  }

  #send(envelope: Array<Buffer | Uint8Array>, header: Buffer, body: Uint8Array): void {
    if (this.closed) return;
    envelope.push(header, body);
    this.sendQueue.post(envelope, this.#replySent);
  }

  /** One callback for every reply: a closure a reply would cost on the hot path. */
  readonly #replySent = (error?: Error): void => {
    if (error && !this.closed) this.events.warn('reply not sent', 'a reply was not sent', { error: describeError(error) });
  };

  /** Calls still running in handlers. */
  get running(): number {
    return this.#dispatcher.running;
  }

  protected override onClose(error: ServiceClosedError): void {
    this.#dispatcher.abortAll(error);
  }
}

/** A call waiting for a free slot. */
interface HeldCall {
  readonly frames: Buffer[];
  readonly bytes: number;
  /** `performance.now()` on arrival (the monotonic clock: a wall-clock step moves no deadline). */
  readonly receivedAt: number;
}

/** Calls held while the server is full, at most (or their bytes). */
const MAX_HELD_CALLS = 1024;
const MAX_HELD_BYTES = 16 * 2 ** 20;
const RESERVED = Buffer.from(RESERVED_PREFIX);

/** A cancel, or a call to one of zrpc's own methods (health, describe): never held behind the service's calls. */
function jumpsTheQueue(frames: Buffer[]): boolean {
  const count = frames.length;
  if (count < 5) return true; // malformed: refused at once
  if (count >= 6 && isContextFrame(frames[count - 5]!) && frames[count - 5]![6] === ContextKind.Cancel) return true;
  const name = frames[count - 3]!;
  return name.byteLength >= RESERVED.byteLength && RESERVED.equals(name.subarray(0, RESERVED.byteLength));
}


/** Where a request's routing envelope ends: before its context frame, if any, or its header. */
function envelopeEndOf(frames: readonly Buffer[]): number {
  const count = frames.length;
  return count >= 6 && isContextFrame(frames[count - 5]!) ? count - 5 : count - 4;
}


/**
 * Serves `handler` over request/reply: `await serveRpc(new Api(), { bind: 'tcp://127.0.0.1:5555' })`.
 * Resolves once every endpoint is bound. `generated`: what a generated `serveShop` calling this adds.
 */
export async function serveRpc(handler: Handler, options: RpcServerOptions, generated?: GeneratedCaller): Promise<RpcServer> {
  const full = factoryOptions(options, rpcServerOptionKeys, 'serveRpc', generated);
  return new RpcServer(handler, full).start(full);
}
