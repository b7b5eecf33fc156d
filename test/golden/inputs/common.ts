/** Types that live in another file, brought in with `import type`. */

/** A page of results. */
export interface Page<T> {
  items: T[];
  /** Where the next page starts; absent on the last one. */
  next?: string;
}

export type Money = { amount: bigint; currency: 'EUR' | 'USD' };
