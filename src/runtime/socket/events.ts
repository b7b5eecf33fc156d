/**
 * A socket's monitor events (connections, handshakes), read for as long as the socket
 * lives. Read with `receive()`, not the observer's emitter: the emitter's loop leaves
 * the rejection of its pending read unhandled when the observer closes. And never closed
 * by hand: it ends when the socket closes (ZeroMQ's "monitor stopped"), the one order in
 * which libzmq releases the monitor's inproc address in time for the next observer.
 */
import type { Event, Socket } from 'zeromq';

export function watchEvents(socket: Socket, onEvent: (event: Event) => void): void {
  const observer = socket.events;
  void (async () => {
    while (!observer.closed) {
      let event: Event | undefined;
      try {
        event = await observer.receive();
      } catch {
        return; // the socket closed, and the observer with it
      }
      if (!event) return;
      onEvent(event);
    }
  })();
}
