/**
 * One server of a load-aware RPC client: its own DEALER socket, send queue and reader,
 * the calls it holds, and whether it may take more. A client dialing several endpoints
 * has one link each, so replies, timeouts and health are known per server.
 */
import type { Dealer } from 'zeromq';
import type { EventLog, Log } from '../socket/logger.js';
import { watchEvents } from '../socket/events.js';
import { SendQueue } from '../socket/send-queue.js';
import { CANCEL_FRAME } from '../wire/context-frame.js';
import { NO_KWARGS } from '../wire/frame-cache.js';

/**
 * - `up`: takes calls while connected;
 * - `suspect`: several calls in a row timed out there; probed until it answers;
 * - `draining`: it answered "draining"; probed until it serves again or goes away.
 */
export type LinkState = 'up' | 'suspect' | 'draining';

export interface LinkEvents {
  reply(frames: Buffer[], link: ServerLink): void;
  /** The connection is up (a handshake completed). */
  connected(link: ServerLink): void;
  /** The connection dropped: whatever the server held is lost. */
  disconnected(link: ServerLink): void;
}

/** The rest of a cancel message: a method no server runs (zrpc's reserved prefix), no arguments. */
const CANCEL_NAME = Buffer.from('zrpc:cancel');
const EMPTY_ARGS = Buffer.from([0x90]);
/** Cancels kept while a server's kind is unknown; past it, a call runs on (as on aiozmq). */
const MAX_HELD_CANCELS = 1024;
const ignore = (): void => {};

export class ServerLink {
  /** Calls assigned here and not yet settled (queued, sent, or awaiting the reply). */
  inFlight = 0;
  /** A ZMTP handshake completed and no disconnect followed. */
  connected: boolean;
  state: LinkState = 'up';
  /** Calls in a row that timed out here; any reply resets it. */
  timeoutsInRow = 0;
  /** `transport.disconnect()` took it out: it takes no new calls and closes once empty. */
  retired = false;
  /**
   * Whether the server reads context frames: true once it answers a call that carried
   * one without echoing it, or acknowledges a cancel (zrpc); false once it echoes one
   * (aiozmq); undefined until then.
   */
  speaksContext: boolean | undefined = undefined;
  /** Answers to cancels echoed by a server that does not read them; one is expected. */
  echoedCancels = 0;
  /** A cancel went out while `speaksContext` was unknown; its answer will tell. */
  #probing = false;
  /** Cancels held meanwhile (their request headers), sent once the server proves it reads them. */
  #held: Buffer[] = [];
  readonly queue: SendQueue;
  #reader: Promise<void> = Promise.resolve();

  /**
   * `endpoint` is undefined for the client's own socket, which holds its bindings: its
   * peers come and go unseen, so it counts as connected while it has any binding.
   */
  constructor(
    readonly endpoint: string | undefined,
    readonly socket: Dealer,
    queue: SendQueue,
  ) {
    this.queue = queue;
    // inproc has no handshake and reports none: its pipe exists once both ends do, and
    // until then ZeroMQ (immediate) holds what is sent.
    this.connected = this.#inproc;
  }

  /** A dialed inproc endpoint: no connection events, and no monitor to watch for them. */
  get #inproc(): boolean {
    return this.endpoint?.startsWith('inproc://') === true;
  }

  /** Takes new calls now. */
  get ready(): boolean {
    return this.connected && this.state === 'up' && !this.retired;
  }

  /**
   * Tells the server to abort the call `header` names (WIRE.md, "Cancel"). Where the
   * server may be aiozmq, only one goes out until an answer says which it is: aiozmq
   * answers each with NotFoundError and a logged traceback.
   */
  cancel(header: Buffer): void {
    if (this.speaksContext === false || this.retired) return;
    if (this.speaksContext === undefined) {
      if (this.#probing) {
        if (this.#held.length < MAX_HELD_CANCELS) this.#held.push(header);
        return;
      }
      this.#probing = true;
    }
    this.queue.post([CANCEL_FRAME, header, CANCEL_NAME, EMPTY_ARGS, NO_KWARGS], ignore);
  }

  /** An answer showed whether the server reads context frames. */
  learned(speaks: boolean): void {
    if (this.speaksContext === speaks) return;
    this.speaksContext = speaks;
    const held = this.#held;
    this.#held = [];
    if (speaks) for (const header of held) this.cancel(header);
  }

  /** A new connection: maybe another server. */
  reconnected(): void {
    this.speaksContext = undefined;
    this.echoedCancels = 0;
    this.#probing = false;
    this.#held = [];
  }

  /**
   * Starts the reader and, for a dialed tcp or ipc endpoint, the connection watcher. An
   * inproc one reports no connection events, and its monitor would never stop: a socket
   * closed while it dials an inproc endpoint nobody binds is never reaped, so the open
   * observer kept the process from exiting and held its descriptors (EMFILE after about
   * 330 such clients).
   */
  start(events: LinkEvents, log: Log, eventLog: EventLog, curve: boolean): void {
    this.#reader = this.#read(events, log);
    if (this.endpoint !== undefined && !this.#inproc) this.#watch(events, eventLog, curve);
  }

  async #read(events: LinkEvents, log: Log): Promise<void> {
    const socket = this.socket;
    while (!socket.closed) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch (error) {
        if (socket.closed) return;
        log.error('receive failed; reader stopped', { error, endpoint: this.endpoint });
        return;
      }
      try {
        events.reply(frames, this);
      } catch (error) {
        log.error('reply handling failed', { error });
      }
    }
  }

  /** Follows the socket's connection events (socket/events.ts). */
  #watch(events: LinkEvents, eventLog: EventLog, curve: boolean): void {
    watchEvents(this.socket, (event) => {
      if (event.type === 'handshake') {
        this.connected = true;
        events.connected(this);
      } else if (event.type === 'disconnect') {
        if (!this.connected) return;
        this.connected = false;
        events.disconnected(this);
      } else if (curve && event.type.startsWith('handshake:error:')) {
        eventLog.warn('handshake failed', `the CURVE handshake with ${this.endpoint} failed (${event.type.slice(16)}); check the server key and the client's keys`);
      }
    });
  }

  /** Closes the socket; the reader ends with it. */
  close(error: Error): Promise<void> {
    this.queue.close(error);
    if (!this.socket.closed) this.socket.close();
    return this.#reader;
  }
}
