/**
 * Which CURVE key made a call. zeromq.js does not expose a message's ZAP "User-Id", so a
 * client proves its key in the call's context frame instead: an HMAC keyed with the
 * X25519 secret its key pair shares with the server's. Only the holder of the client's
 * secret key (or the server's) can compute it, and it is valid for that server alone;
 * it travels inside the CURVE-encrypted connection, so nobody else sees it.
 */
import { createHmac, createPrivateKey, createPublicKey, diffieHellman, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { CurveProof } from '../wire/context-frame.js';
import { z85Decode, z85Encode } from './z85.js';

// DER wrappers that let node:crypto take raw 32-byte X25519 keys (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const LABEL = 'zrpc curve proof 1';

function privateKey(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

function publicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function rawPublic(key: KeyObject): Buffer {
  return (key.export({ format: 'der', type: 'spki' }) as Buffer).subarray(SPKI_PREFIX.length);
}

function proofOf(shared: Buffer, serverKey: Uint8Array, clientKey: Uint8Array): Buffer {
  return createHmac('sha256', shared).update(LABEL).update(serverKey).update(clientKey).digest();
}

/** The proof a client sends with every call (computed once per client); keys in Z85. */
export function curveProof(clientPublic: string, clientSecret: string, serverKey: string): CurveProof {
  const server = z85Decode(serverKey);
  const key = z85Decode(clientPublic);
  const shared = diffieHellman({ privateKey: privateKey(z85Decode(clientSecret)), publicKey: publicKey(server) });
  return { key, proof: proofOf(shared, server, key) };
}

/** Most clients a server remembers as proven; the proof is recomputed for the others. */
const MAX_PROVEN = 4096;

/** Checks proofs for a CURVE server; remembers the ones that held, within a bound. */
export class CurveVerifier {
  readonly #secret: KeyObject;
  readonly #public: Buffer;
  /** Key and proof bytes (as latin1 text) to the client's Z85 key. */
  readonly #proven = new Map<string, string>();

  constructor(serverSecret: string) {
    this.#secret = privateKey(z85Decode(serverSecret));
    this.#public = rawPublic(createPublicKey(this.#secret));
  }

  /** The caller's Z85 public key if the proof holds, else undefined. */
  verify(proof: CurveProof): string | undefined {
    const id = Buffer.from(proof.key).toString('latin1') + Buffer.from(proof.proof).toString('latin1');
    const known = this.#proven.get(id);
    if (known !== undefined) return known;
    let expected: Buffer;
    try {
      const shared = diffieHellman({ privateKey: this.#secret, publicKey: publicKey(proof.key) });
      expected = proofOf(shared, this.#public, proof.key);
    } catch {
      return undefined; // not a usable X25519 public key
    }
    if (!timingSafeEqual(expected, proof.proof)) return undefined;
    const key = z85Encode(proof.key);
    if (this.#proven.size >= MAX_PROVEN) this.#proven.clear();
    this.#proven.set(id, key);
    return key;
  }
}
