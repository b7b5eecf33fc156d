/**
 * The shop: a request/reply service with a namespace, shared types and declared errors.
 * `npm run sample` generates samples/generated/shop.ts from this file.
 */

/** A line of an order. */
export interface OrderLine {
  /**
   * Stock-keeping unit, like `APL-1`.
   * @pattern ^[A-Z]{3}-\d+$
   */
  sku: string;
  /** How many. @integer @minimum 1 */
  qty: number;
}

export type Currency = 'EUR' | 'USD';

/** What an order costs, and when it was placed. */
export interface Receipt {
  id: string;
  total: number;
  currency: Currency;
  placedAt: Date;
  lines: readonly OrderLine[];
  note?: string;
}

/** Raised when an order asks for more than the shelves hold. */
export class OutOfStock extends Error {}

/** @rpc */
export interface Shop {
  /**
   * Places an order.
   * @param lines what to buy
   * @throws {OutOfStock} when a line asks for more than is in stock
   */
  order(lines: OrderLine[], currency?: Currency, note?: string): Promise<Receipt>;

  /** Current stock of one item. */
  stock(sku: string): number;

  /** Refunds and their history. */
  billing: Billing;
}

export interface Billing {
  /** Refunds an order; returns the amount refunded. */
  refund(receiptId: string, /** @minimum 0 */ amount: number): number;
  /** Every refund of one receipt, oldest first. */
  history(receiptId: string): Array<{ amount: number; at: Date }>;
}
