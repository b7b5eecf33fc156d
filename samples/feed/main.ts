/**
 * Pub/sub, generated: a Prices publisher and two subscribers with different prefixes.
 */
import { PyDate, type CallContext } from 'zrpc';
import { connectPrices, servePrices, type PricesHandler, type Tick } from '../generated/feed.js';

class Desk implements PricesHandler {
  readonly seen: string[] = [];
  probes = 0;
  constructor(readonly name: string) {}

  tick(tick: Tick, ctx: CallContext): void {
    if (tick.symbol === 'probe') this.probes++;
    else this.seen.push(`${Buffer.from(ctx.peer!).toString()} ${tick.symbol}@${tick.price}`);
  }

  close(day: PyDate, prices: Record<string, number>): void {
    this.seen.push(`close ${day} ${Object.keys(prices).length} prices`);
  }
}

export async function main(): Promise<void> {
  await using feed = await connectPrices({ bind: 'tcp://127.0.0.1:0' });
  const address = feed.transport.bindings[0]!;
  const equities = new Desk('equities');
  const everything = new Desk('everything');
  await using a = await servePrices(equities, { connect: address, subscribe: 'EQ.' });
  await using b = await servePrices(everything, { connect: address, subscribe: '' });

  // The slow joiner: publish probes until both subscriptions have arrived.
  const probe = { symbol: 'probe', price: 1, at: new Date() };
  while (equities.probes === 0 || everything.probes === 0) {
    await feed.publish('EQ.probe').tick(probe);
    await new Promise((r) => setTimeout(r, 10));
  }
  await feed.publish('EQ.ACME').tick({ symbol: 'ACME', price: 12.5, at: new Date() });
  await feed.publish('FX.EURUSD').tick({ symbol: 'EURUSD', price: 1.08, at: new Date() });
  await feed.publish('EQ.').close(new PyDate(2024, 12, 24), { ACME: 12.75 });
  const deadline = Date.now() + 5000;
  while ((equities.seen.length < 2 || everything.seen.length < 3) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  console.log(`equities   (EQ.) saw: ${equities.seen.join('; ')}`);
  console.log(`everything (all) saw: ${everything.seen.join('; ')}`);
  if (equities.seen.length !== 2 || everything.seen.length !== 3) throw new Error('a subscriber missed a message');
  void a;
  void b;
}
