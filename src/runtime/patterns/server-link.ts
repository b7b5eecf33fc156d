/**
 * One server of a load-aware RPC client: its own DEALER socket, send queue and reader,
 * the calls it holds, and whether it may take more. A client dialing several endpoints
 * has one link each, so replies, timeouts and health are known per server.
 */
import type { Dealer } from 'zeromq';
import type { EventLog, Log } from '../socket/logger.js';
import { watchEvents } from '../socket/events.js';
import { SendQueue } from '../socket/send-queue.js';

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
   * Whether the server reads context frames: true once it answers without echoing one
   * (zrpc), false once it echoes one (aiozmq), undefined until an answer comes. Cancels
   * go only where it is not false.
   */
  speaksContext: boolean | undefined = undefined;
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
    connected: boolean,
  ) {
    this.queue = queue;
    this.connected = connected;
  }

  /** Takes new calls now. */
  get ready(): boolean {
    return this.connected && this.state === 'up' && !this.retired;
  }

  /** Starts the reader and, for a dialed endpoint, the connection watcher. */
  start(events: LinkEvents, log: Log, eventLog: EventLog, curve: boolean): void {
    this.#reader = this.#read(events, log);
    if (this.endpoint !== undefined) this.#watch(events, eventLog, curve);
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
