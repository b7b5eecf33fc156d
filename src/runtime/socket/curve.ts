/**
 * CURVE encryption and authentication as service options, keys in Z85 text.
 *
 * The side that holds the server secret key is the CURVE server (usually the binding
 * zrpc server); the other side names the server's public key and its own key pair.
 * A server with `allow` admits only clients whose public key is listed (see zap.ts);
 * without it, any client that knows the server's public key gets in.
 */
import { curveKeyPair, type Socket } from 'zeromq';
import { watchEvents } from './events.js';
import type { EventLog } from './logger.js';
import { z85KeyProblem } from './z85.js';

export interface CurveServerOptions {
  /** This side's secret key: it is the CURVE server. */
  secretKey: string;
  /** Client public keys let in; any other client (or a plain one) is refused. */
  allow?: readonly string[];
}

export interface CurveClientOptions {
  /** The CURVE server's public key. */
  serverKey: string;
  /** This side's key pair. */
  publicKey: string;
  secretKey: string;
}

export type CurveOptions = CurveServerOptions | CurveClientOptions;

export interface KeyPair {
  publicKey: string;
  secretKey: string;
}

/** A fresh CURVE key pair in Z85, as `zrpc keygen` prints. */
export function generateKeyPair(): KeyPair {
  return curveKeyPair();
}

export function isCurveServer(options: CurveOptions): options is CurveServerOptions {
  return !('serverKey' in options);
}

/** The zeromq.js socket options for `curve`; throws on a malformed key, naming it. */
export function curveSocketOptions(curve: CurveOptions, zapDomain: string | undefined): Record<string, unknown> {
  const check = (name: string, key: unknown) => {
    const problem = z85KeyProblem(key);
    if (problem) throw new TypeError(`curve.${name} must be a 40-character Z85 key (zrpc keygen makes them); it ${problem}`);
  };
  if (isCurveServer(curve)) {
    check('secretKey', curve.secretKey);
    curve.allow?.forEach((key, i) => check(`allow[${i}]`, key));
    return { curveServer: true, curveSecretKey: curve.secretKey, ...(zapDomain ? { zapDomain } : {}) };
  }
  check('serverKey', curve.serverKey);
  check('publicKey', curve.publicKey);
  check('secretKey', curve.secretKey);
  return { curveServerKey: curve.serverKey, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey };
}

/**
 * Logs failed CURVE handshakes on `socket`: a plain client, or one holding the wrong
 * server key, fails before the ZAP handler ever hears of it, and ZeroMQ reports that
 * only as a socket event. Rate-limited like every peer-caused line.
 */
export function watchHandshakes(socket: Socket, events: EventLog): void {
  watchEvents(socket, (event) => {
    if (event.type === 'handshake:error:protocol' || event.type === 'handshake:error:auth' || event.type === 'handshake:error:other') {
      events.warn(
        'handshake failed',
        `refused a connection on ${event.address}: the CURVE handshake failed (${event.type.slice(16)}: ${event.error.message}); a plain client, or one with the wrong server key or keys`,
      );
    }
  });
}
