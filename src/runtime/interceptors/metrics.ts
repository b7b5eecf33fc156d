/**
 * Per-method call metrics as an interceptor: how many calls each method had, how many
 * failed and with which error class, and how long they took (milliseconds), on clients
 * and servers of all three patterns.
 *
 *   const metrics = callMetrics({ onCall: (r) => histogram.observe({ method: r.method }, r.durationMs / 1000) });
 *   await serveRpc(handler, { bind, interceptors: [metrics.interceptor] });
 *   metrics.snapshot(); // [{ side: 'server', pattern: 'rpc', method: 'add', count: 3, errors: 0, ..., latency: { p50, p99, ... } }]
 *
 * Memory is bounded whatever callers send: a server's callers choose the method names,
 * so only `maxMethods` distinct names get rows of their own; calls to further names, to
 * names the server does not have (`NotFoundError`) and to absurdly long names are
 * counted together under `OTHER_METHOD`. Latencies go into a fixed log-scale histogram
 * per row (2 KiB), so percentiles cost the same after a billion calls as after ten.
 */
import { NotFoundError } from '../errors/errors.js';
import { className } from '../errors/describe.js';
import type { Call, Interceptor } from '../handlers/interceptor.js';

/**
 * The method name calls are counted under once they cannot have their own row: beyond
 * `maxMethods`, to a method the server does not have, or with a name over 200 characters.
 * OpenTelemetry's spelling for the same thing.
 */
export const OTHER_METHOD = '_OTHER';

/** Error class names kept apart in one row; further ones are counted under `OTHER_METHOD` too. */
const MAX_ERROR_TYPES = 32;
/** Longer method names are not kept as keys (a server may accept long names; memory must not follow). */
const MAX_NAME_LENGTH = 200;

export interface CallMetricsOptions {
  /**
   * Distinct (side, pattern, method) rows kept, first come first served; calls to further
   * methods are counted under `OTHER_METHOD`. Default 256: set it above the number of
   * methods your services have.
   */
  maxMethods?: number;
  /**
   * Called as each call finishes, with what it measured: where to feed Prometheus,
   * StatsD or OpenTelemetry metrics. `method` is the bounded name (safe as a label).
   * It runs inside the call's path: keep it cheap. What it throws is ignored.
   */
  onCall?: (record: CallRecord) => void;
}

/** A row of the metrics: calls of one method, on one side of one pattern. */
export interface MethodKey {
  readonly side: Call['side'];
  readonly pattern: Call['pattern'];
  /** The method name, or `OTHER_METHOD` for the calls folded together. Safe as a metric label. */
  readonly method: string;
}

/** One finished call, as `onCall` receives it, with the row it is counted in. */
export interface CallRecord extends MethodKey {
  /** The name as called, which a server's callers choose: not for labels. */
  readonly originalMethod: string;
  /** Milliseconds from the interceptor's start to the call's end (for a one-way client: until handed to ZeroMQ). */
  readonly durationMs: number;
  readonly ok: boolean;
  /** The failed call's error class name (`RangeError`, `NotFoundError`, `RpcTimeoutError`...); undefined when ok. */
  readonly errorType: string | undefined;
  /** What the call failed with; undefined when ok. */
  readonly error: unknown;
}

/** Latency of one row's calls, in milliseconds. Percentiles are within about 5% of the exact value. */
export interface LatencyStats {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** All durations added up: with `count`, what a Prometheus summary's `_sum` holds. */
  readonly sum: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

/** One row of `snapshot()`. */
export interface MethodStats extends MethodKey {
  /** Calls finished, failed ones included. */
  readonly count: number;
  /** Calls that failed. */
  readonly errors: number;
  /** Failed calls by error class name. */
  readonly errorTypes: Readonly<Record<string, number>>;
  readonly latency: LatencyStats;
}

/**
 * A log-scale histogram: 8 buckets per doubling (each about 9% wide, so the midpoint
 * reported is within about 4.5% of any value in it; OpenTelemetry's exponential
 * histogram at scale 3), from 2^-10 ms (1 µs) to 2^22 ms (70 minutes), plus one bucket
 * below and one above. Counts are float64: exact up to 2^53 calls.
 */
const PER_DOUBLING = 8;
const LOWEST = -10 * PER_DOUBLING;
const HIGHEST = 22 * PER_DOUBLING;
const BUCKETS = HIGHEST - LOWEST + 2;

class Histogram {
  readonly counts = new Float64Array(BUCKETS);
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  add(ms: number): void {
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
    // Bucket k holds (2^((k-1)/8), 2^(k/8)]; index 0 everything up to 2^(LOWEST/8), the last everything above the top.
    const k = ms > 0 ? Math.ceil(Math.log2(ms) * PER_DOUBLING) : -Infinity;
    const index = k <= LOWEST ? 0 : k > HIGHEST ? BUCKETS - 1 : k - LOWEST;
    this.counts[index]++;
  }

  /** The value below which a share `q` of the durations fall, as its bucket's midpoint, kept within [min, max]. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    let index = 0;
    for (; index < BUCKETS - 1; index++) {
      seen += this.counts[index];
      if (seen >= rank) break;
    }
    const k = index + LOWEST;
    const middle = index === 0 ? this.min : index === BUCKETS - 1 ? this.max : 2 ** ((k - 0.5) / PER_DOUBLING);
    return Math.min(this.max, Math.max(this.min, middle));
  }
}

class Row {
  readonly latency = new Histogram();
  errors = 0;
  readonly errorTypes = new Map<string, number>();

  constructor(
    readonly side: Call['side'],
    readonly pattern: Call['pattern'],
    readonly method: string,
  ) {}

  add(ms: number, errorType: string | undefined): void {
    this.latency.add(ms);
    if (errorType === undefined) return;
    this.errors++;
    const type = this.errorTypes.has(errorType) || this.errorTypes.size < MAX_ERROR_TYPES ? errorType : OTHER_METHOD;
    this.errorTypes.set(type, (this.errorTypes.get(type) ?? 0) + 1);
  }

  stats(): MethodStats {
    const h = this.latency;
    return {
      side: this.side,
      pattern: this.pattern,
      method: this.method,
      count: h.count,
      errors: this.errors,
      errorTypes: Object.fromEntries(this.errorTypes),
      latency: { min: h.min, max: h.max, mean: h.sum / h.count, sum: h.sum, p50: h.quantile(0.5), p90: h.quantile(0.9), p99: h.quantile(0.99) },
    };
  }
}

export class CallMetrics {
  /** Put it in a client's or server's `interceptors`; one `CallMetrics` may serve any number of both. */
  readonly interceptor: Interceptor;
  readonly #maxMethods: number;
  readonly #onCall: ((record: CallRecord) => void) | undefined;
  /** `side pattern method` to its row; the folded rows are in here too but not counted against the limit. */
  readonly #rows = new Map<string, Row>();
  #named = 0;

  constructor(options: CallMetricsOptions = {}) {
    const { maxMethods = 256, onCall } = options;
    if (!Number.isInteger(maxMethods) || maxMethods < 0) throw new RangeError(`maxMethods must be a whole number >= 0, got ${String(maxMethods)}`);
    if (onCall !== undefined && typeof onCall !== 'function') throw new TypeError(`onCall must be a function, got ${typeof onCall}`);
    this.#maxMethods = maxMethods;
    this.#onCall = onCall;
    this.interceptor = (next) => async (call) => {
      const start = performance.now();
      let counted = false;
      const finish = (failed: boolean, error: unknown): void => {
        if (counted) return;
        counted = true;
        this.#finished(call, performance.now() - start, failed, error);
      };
      // A server call its timeout, a cancel or the close ends is over for its caller then,
      // with that error, however long a handler that ignores its signal still runs.
      if (call.side === 'server') call.context?.onAbort((reason) => finish(true, reason));
      try {
        const result = await next(call);
        finish(false, undefined);
        return result;
      } catch (error) {
        finish(true, error);
        throw error;
      }
    };
  }

  /** Every row, by side, pattern and method; rows with no calls since `reset()` are left out. */
  snapshot(): MethodStats[] {
    const rows = [...this.#rows.values()].filter((row) => row.latency.count > 0).map((row) => row.stats());
    return rows.sort((a, b) => compare(a.side, b.side) || compare(a.pattern, b.pattern) || compare(a.method, b.method));
  }

  /** One row, or undefined if it has had no calls. */
  get(side: Call['side'], pattern: Call['pattern'], method: string): MethodStats | undefined {
    const row = this.#rows.get(`${side} ${pattern} ${method}`);
    return row && row.latency.count > 0 ? row.stats() : undefined;
  }

  /** Forgets every row: counting starts afresh, and method names get rows again. */
  reset(): void {
    this.#rows.clear();
    this.#named = 0;
  }

  #finished(call: Call, ms: number, failed: boolean, error: unknown): void {
    try {
      const errorType = failed ? (error !== null && typeof error === 'object' ? className(error) : typeof error) : undefined;
      const row = this.#row(call, error instanceof NotFoundError);
      row.add(ms, errorType);
      this.#onCall?.({ side: call.side, pattern: call.pattern, method: row.method, originalMethod: call.method, durationMs: ms, ok: !failed, errorType, error: failed ? error : undefined });
    } catch {
      // Counting must never fail the call it counts (a throwing onCall, a hostile error object).
    }
  }

  #row(call: Call, notFound: boolean): Row {
    const named = `${call.side} ${call.pattern} ${call.method}`;
    const existing = this.#rows.get(named);
    if (existing && !notFound) return existing;
    const own = !notFound && call.method.length <= MAX_NAME_LENGTH && this.#named < this.#maxMethods;
    const method = own ? call.method : OTHER_METHOD;
    const key = own ? named : `${call.side} ${call.pattern} ${OTHER_METHOD}`;
    let row = this.#rows.get(key);
    if (!row) {
      row = new Row(call.side, call.pattern, method);
      this.#rows.set(key, row);
      if (own) this.#named++;
    }
    return row;
  }
}

/** Counts calls per method; pass `metrics.interceptor` to clients and servers, read `metrics.snapshot()`. */
export function callMetrics(options?: CallMetricsOptions): CallMetrics {
  return new CallMetrics(options);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
