/** The benchmark's services: the same method in each pattern, and an echo for payload sizes. */

/** @rpc */
export interface Bench {
  add(a: number, b: number): number;
  echo(data: Uint8Array): Uint8Array;
}

/** @pipeline */
export interface BenchSink {
  take(a: number, b: number): void;
}

/** @pubsub */
export interface BenchFeed {
  take(a: number, b: number): void;
}
