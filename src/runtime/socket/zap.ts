/**
 * The ZAP handler (ZeroMQ RFC 27) that enforces CURVE allow-lists. libzmq asks it about
 * every CURVE handshake in the process; each server with an allow-list registers under
 * its own ZAP domain, and handshakes for other domains are let through (their sockets
 * rely on CURVE alone). One handler serves the process; it runs while a server needs it.
 */
import { Reply } from 'zeromq';
import type { EventLog } from './logger.js';
import { z85Encode } from './z85.js';

const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

interface Registration {
  allow: ReadonlySet<string>;
  events: EventLog;
  /** Peers already logged as refused: one line a peer, not one a handshake. */
  refused: Set<string>;
}

const domains = new Map<string, Registration>();
let handler: { socket: Reply; loop: Promise<void> } | undefined;
let starting: Promise<void> | undefined;
let nextDomain = 1;
const REFUSED_MEMORY = 10_000;

/** A ZAP domain of its own for a socket, set before it binds. */
export function newZapDomain(): string {
  return `zrpc-${process.pid}-${nextDomain++}`;
}

/** Enforces `allow` for sockets of `domain`; returns the function that stops it. */
export async function registerAllowList(domain: string, allow: readonly string[], events: EventLog): Promise<() => Promise<void>> {
  domains.set(domain, { allow: new Set(allow), events, refused: new Set() });
  starting ??= (async () => {
    const socket = new Reply({ linger: 0 });
    await bindReleased(socket);
    handler = { socket, loop: serve(socket) };
  })();
  try {
    await starting;
  } catch (error) {
    starting = undefined;
    domains.delete(domain);
    throw error;
  }
  return async () => {
    domains.delete(domain);
    if (domains.size === 0 && handler) {
      const { socket, loop } = handler;
      handler = undefined;
      starting = undefined;
      socket.close();
      await loop;
    }
  };
}

/**
 * Binds the ZAP endpoint. A handler closed a moment ago may still hold it (ZeroMQ
 * releases an inproc name in its own thread), so a busy name is tried again briefly.
 */
async function bindReleased(socket: Reply): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await socket.bind(ZAP_ENDPOINT);
    } catch (error) {
      if ((error as { code?: string }).code !== 'EADDRINUSE' || attempt >= 50) {
        socket.close();
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

async function serve(socket: Reply): Promise<void> {
  for (;;) {
    let request: Buffer[];
    try {
      request = await socket.receive();
    } catch {
      return; // closed
    }
    const [version, requestId, domainFrame, addressFrame, , mechanismFrame, key] = request;
    const domain = domainFrame?.toString() ?? '';
    const registration = domains.get(domain);
    let status = '200';
    let text = 'OK';
    let user = '';
    if (registration) {
      const mechanism = mechanismFrame?.toString();
      const clientKey = mechanism === 'CURVE' && key?.byteLength === 32 ? z85Encode(key) : undefined;
      if (clientKey && registration.allow.has(clientKey)) {
        user = clientKey;
      } else {
        status = '400';
        text = clientKey ? 'client key not allowed' : `mechanism ${mechanism} not allowed`;
        const peer = `${clientKey ?? mechanism} from ${addressFrame?.toString() || 'unknown address'}`;
        // One line a peer, and those rate-limited: a peer can make up keys at will.
        if (!registration.refused.has(peer)) {
          if (registration.refused.size >= REFUSED_MEMORY) registration.refused.clear();
          registration.refused.add(peer);
          registration.events.warn('refused connection', `refused a connection: ${text}`, { peer: clientKey ?? null, address: addressFrame?.toString(), domain });
        }
      }
    }
    try {
      await socket.send([version ?? '1.0', requestId ?? '', status, text, user, Buffer.alloc(0)]);
    } catch {
      return;
    }
  }
}
