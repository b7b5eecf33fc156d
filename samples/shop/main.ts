/**
 * Request/reply, generated: a Shop server implementing the generated ShopHandler, and a
 * typed client calling it, namespaces and declared errors included, with metadata and
 * an interceptor on each side.
 */
import { builtins, ParameterError, type CallContext, type Interceptor } from 'zrpc';
import { OutOfStock, connectShop, serveShop, type OrderLine, type Receipt, type ShopHandler } from '../generated/shop.js';

export class ShopImpl implements ShopHandler {
  readonly #stock = new Map([['APL-1', 10], ['PEA-2', 0]]);
  readonly #refunds = new Map<string, Array<{ amount: number; at: Date }>>();
  #next = 1;

  order(lines: OrderLine[], currency: 'EUR' | 'USD' = 'EUR', note?: string): Receipt {
    for (const { sku, qty } of lines) {
      if ((this.#stock.get(sku) ?? 0) < qty) throw new OutOfStock(`${sku}: only ${this.#stock.get(sku) ?? 0} left`, sku);
    }
    for (const { sku, qty } of lines) this.#stock.set(sku, this.#stock.get(sku)! - qty);
    const total = lines.reduce((sum, l) => sum + l.qty * 0.5, 0);
    return { id: `r-${this.#next++}`, total, currency, placedAt: new Date(), lines, ...(note ? { note } : {}) };
  }

  stock(sku: string, ctx: CallContext): number {
    console.log(`stock('${sku}') asked by tenant ${ctx.metadata.tenant ?? '-'}, ${ctx.deadline === undefined ? 'no deadline' : `${Math.round(ctx.remaining / 100) / 10} s to spare`}`);
    return this.#stock.get(sku) ?? 0;
  }

  readonly billing = {
    refund: async (receiptId: string, amount: number) => {
      const list = this.#refunds.get(receiptId) ?? [];
      list.push({ amount, at: new Date() });
      this.#refunds.set(receiptId, list);
      return amount;
    },
    history: (receiptId: string) => this.#refunds.get(receiptId) ?? [],
  };
}

/** Server side: a call without the right token is refused before any handler runs. */
const requireToken =
  (token: string): Interceptor =>
  (next) =>
  (call) => {
    if (call.metadata.authorization !== `Bearer ${token}`) throw new builtins.PermissionError(`${call.method}: no valid token`);
    return next(call);
  };

/** Client side: every call carries the token. */
const sendToken =
  (token: string): Interceptor =>
  (next) =>
  (call) => {
    call.metadata.authorization = `Bearer ${token}`;
    return next(call);
  };

export async function main(): Promise<void> {
  await using server = await serveShop(new ShopImpl(), { bind: 'tcp://127.0.0.1:0', interceptors: [requireToken('s3cret')] });
  await using shop = await connectShop({ connect: server.transport.bindings[0], timeout: 2000, interceptors: [sendToken('s3cret')] });

  const receipt = await shop.order([{ sku: 'APL-1', qty: 4 }], 'USD', 'gift wrap');
  console.log(`order → ${receipt.id}: ${receipt.total} ${receipt.currency}, placed ${receipt.placedAt.toISOString().slice(0, 10)}`);
  console.log(`stock('APL-1') → ${await shop.with({ metadata: { tenant: 'acme' } }).stock('APL-1')}`);
  await shop.billing.refund(receipt.id, 1.5);
  console.log(`billing.history → ${JSON.stringify((await shop.billing.history(receipt.id)).map((r) => r.amount))}`);

  try {
    await shop.order([{ sku: 'PEA-2', qty: 1 }]);
  } catch (error) {
    if (!(error instanceof OutOfStock)) throw error;
    console.log(`order of PEA-2 → OutOfStock: ${error.message}`);
  }
  await using stranger = await connectShop({ connect: server.transport.bindings[0], timeout: 2000 });
  try {
    await stranger.stock('APL-1');
  } catch (error) {
    if (!(error instanceof builtins.PermissionError)) throw error;
    console.log(`stock without a token → PermissionError: ${error.message}`);
  }
  try {
    await shop.order([{ sku: 'bad sku', qty: 0 }]);
  } catch (error) {
    if (!(error instanceof ParameterError)) throw error;
    console.log(`order with a bad line → ParameterError: ${error.message}`);
  }
}
