/**
 * A pub/sub feed: price ticks published under the instrument's symbol as topic.
 */
import type { PyDate } from 'zrpc';

/** One trade. */
export interface Tick {
  symbol: string;
  /** @exclusiveMinimum 0 */
  price: number;
  at: Date;
}

/**
 * Market data. Subscribers pick instruments by topic prefix (`EQ.`, `FX.EURUSD`).
 * @pubsub
 */
export interface Prices {
  tick(tick: Tick): void;
  /** The day's closing prices, published once. */
  close(day: PyDate, prices: Record<string, number>): void;
}
