/** Connects a DEALER, says hello once, then idles: faults.test.ts freezes it with SIGSTOP. */
import { Dealer } from 'zeromq';

const dealer = new Dealer({ linger: 0 });
dealer.connect(process.argv[2]!);
await dealer.send(['hello']);
console.log('CONNECTED');
setInterval(() => {}, 1000);
