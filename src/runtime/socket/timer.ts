/**
 * Timeouts in milliseconds, as options give them. Node's timers take at most 2^31-1 ms
 * and fire after 1 ms when given more (or Infinity): here a longer timeout means that
 * long, `Infinity` means never, and a negative or NaN one is refused with the option's name.
 */

/** The longest delay `setTimeout` honours. */
const MAX_DELAY = 2 ** 31 - 1;

/** A timer that `clearTimer` stops. */
export type Timer = NodeJS.Timeout | LongTimer | undefined;

/** Checks a timeout option: `undefined` (none), a number >= 0, or `Infinity`. */
export function checkTimeout(option: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new RangeError(`${option} must be a number of milliseconds >= 0, or Infinity (got ${typeof value === 'number' ? value : typeof value})`);
  }
  return value;
}

/** Calls `fn` after `ms` milliseconds, however many; never for `Infinity`. */
export function setTimer(ms: number, fn: () => void): Timer {
  if (ms <= MAX_DELAY) return setTimeout(fn, ms);
  return ms === Infinity ? undefined : new LongTimer(ms, fn);
}

export function clearTimer(timer: Timer): void {
  if (timer instanceof LongTimer) timer.cancel();
  else if (timer !== undefined) clearTimeout(timer);
}

/** Waits in steps of the longest delay Node allows. */
class LongTimer {
  #timeout: NodeJS.Timeout;

  constructor(ms: number, fn: () => void) {
    const due = Date.now() + ms;
    const step = (): void => {
      const left = due - Date.now();
      this.#timeout = left <= 0 ? (fn(), this.#timeout) : setTimeout(step, Math.min(left, MAX_DELAY));
    };
    this.#timeout = setTimeout(step, MAX_DELAY);
  }

  cancel(): void {
    clearTimeout(this.#timeout);
  }
}
