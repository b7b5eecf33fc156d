/**
 * One side of one benchmark, in its own process: `node dist/bench/worker.js '<json>'`.
 * Prints `READY <endpoint>` when serving, `FIRST` when a receiver sees its first probe,
 * `RSS <bytes> HEAP <bytes> COMMITTED <bytes>` (heap used and V8's heap size, after a GC) and `CPU <µs>` (the process's user and
 * system time so far) when asked on stdin, `WINDOW` when an RPC client starts measuring, and
 * `RESULT <json>` when done. stdin closing stops it.
 */
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import * as zmq from 'zeromq';
import type { Interceptor } from 'zrpc';
import { connectBench, connectBenchFeed, connectBenchSink, serveBench, serveBenchFeed, serveBenchSink } from './generated/bench.js';

export type Impl = 'zrpc' | 'zrpc-intercepted' | 'raw' | 'grpc';

export interface WorkerConfig {
  role: 'rpc-server' | 'rpc-client' | 'sink-server' | 'sink-client';
  impl: Impl;
  pattern?: 'pipeline' | 'pubsub';
  endpoint: string;
  /** rpc-client: calls kept outstanding. */
  inflight?: number;
  /** rpc-client: measure for this long, or for `calls` calls; sink-client: send for this long. */
  seconds?: number;
  calls?: number;
  /** rpc-client: bytes echoed per call; 0 calls add(a, b). */
  payload?: number;
}

const config = JSON.parse(process.argv[2]!) as WorkerConfig;
/**
 * zrpc with one interceptor on each side: the cost of the chain itself. It counts calls,
 * as a metrics interceptor would, so it cannot be optimised away.
 */
let intercepted = 0;
const interceptors: Interceptor[] | undefined =
  config.impl === 'zrpc-intercepted' ? [(next) => (call) => (intercepted++, next(call))] : undefined;
if (config.impl === 'zrpc-intercepted') config.impl = 'zrpc';
const lines = createInterface({ input: process.stdin });
const stdinClosed = new Promise<void>((resolve) => lines.on('close', resolve));
const say = (line: string) => process.stdout.write(`${line}\n`);
lines.on('line', (line) => {
  if (line === 'rss') {
    (globalThis as { gc?: () => void }).gc?.();
    const { rss, heapUsed, heapTotal } = process.memoryUsage();
    say(`RSS ${rss} HEAP ${heapUsed} COMMITTED ${heapTotal}`);
  }
  if (line === 'cpu') say(`CPU ${cpuMicros()}`);
});

/** CPU time this process has used, all threads (ZeroMQ's I/O thread too), in µs. */
function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

// ── request/reply ──────────────────────────────────────────────────────────────────

type Call = () => Promise<unknown>;

async function rpcServer(): Promise<void> {
  if (config.impl === 'zrpc') {
    const server = await serveBench({ add: (a, b) => a + b, echo: (data) => data }, { bind: config.endpoint, interceptors });
    say(`READY ${server.transport.bindings[0]}`);
    await stdinClosed;
    await server.close();
  } else if (config.impl === 'raw') {
    // The ceiling: a ROUTER that answers each request's frames with a 17-byte header
    // and the args frame back, with no msgpack and no dispatch.
    const router = new zmq.Router({ linger: 0 });
    await router.bind(config.endpoint.replace(/:0$/, ':*'));
    say(`READY ${router.lastEndpoint}`);
    const ok = Buffer.from([0]);
    const loop = (async () => {
      for await (const [id, header, , args] of router) {
        await router.send([id!, Buffer.concat([header!, ok]), args!]);
      }
    })();
    await stdinClosed;
    router.close();
    await loop.catch(() => {});
  } else {
    const grpc = await loadGrpc();
    const server = new grpc.grpc.Server();
    server.addService(grpc.service, {
      Add: (call: { request: { a: number; b: number } }, cb: (e: null, r: { sum: number }) => void) => cb(null, { sum: call.request.a + call.request.b }),
      Echo: (call: { request: { data: Buffer } }, cb: (e: null, r: { data: Buffer }) => void) => cb(null, { data: call.request.data }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    say(`READY 127.0.0.1:${port}`);
    await stdinClosed;
    server.forceShutdown();
  }
}

async function rpcClient(): Promise<void> {
  const payload = Buffer.alloc(config.payload ?? 0, 7);
  let call: Call;
  let close: () => Promise<void> | void;
  if (config.impl === 'zrpc') {
    const client = await connectBench({ connect: config.endpoint, interceptors });
    call = config.payload ? () => client.echo(payload) : () => client.add(1, 2);
    close = () => client.close();
  } else if (config.impl === 'raw') {
    ({ call, close } = await rawDealer(config.endpoint, config.payload ?? 0));
  } else {
    const grpc = await loadGrpc();
    const client = new grpc.Client(config.endpoint, grpc.grpc.credentials.createInsecure());
    const unary = (method: 'Add' | 'Echo', request: object) =>
      new Promise((resolve, reject) => (client[method] as (r: object, cb: (e: Error | null, v: unknown) => void) => void)(request, (e, v) => (e ? reject(e) : resolve(v))));
    call = config.payload ? () => unary('Echo', { data: payload }) : () => unary('Add', { a: 1, b: 2 });
    close = () => client.close();
  }
  // Warm up: connections made, code paths compiled. A fresh process answers slowly now
  // and then for most of its first second (V8 compiling and re-optimising the hot
  // path, on both sides): measured earlier, those calls are the p99 of a short round.
  await drive(call, config.inflight ?? 1, { seconds: WARM_UP_SECONDS });
  // The orchestrator reads the server's CPU time now and after RESULT.
  say('WINDOW');
  const result = await drive(call, config.inflight ?? 1, config.calls ? { calls: config.calls } : { seconds: config.seconds ?? 2 });
  say(`RESULT ${JSON.stringify(result)}`);
  await close();
}

/** The raw zeromq.js DEALER: the same four request frames, replies matched by id. */
async function rawDealer(endpoint: string, size: number): Promise<{ call: Call; close: () => void }> {
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(endpoint);
  const pending = new Map<number, () => void>();
  const name = Buffer.from(size ? 'echo' : 'add');
  const args = size ? Buffer.concat([Buffer.from([0x91, 0xc6]), u32be(size), Buffer.alloc(size, 7)]) : Buffer.from([0x92, 0x01, 0x02]);
  const kwargs = Buffer.from([0x80]);
  let next = 0;
  let sending = Promise.resolve();
  void (async () => {
    for await (const [header] of dealer) pending.get(header!.readUInt32LE(4))?.();
  })().catch(() => {});
  const call: Call = () =>
    new Promise<void>((resolve) => {
      const id = (next = (next + 1) >>> 0);
      pending.set(id, () => (pending.delete(id), resolve()));
      const header = Buffer.alloc(16);
      header.writeUInt32LE(id, 4);
      // One send at a time, as zeromq.js requires.
      sending = sending.then(() => dealer.send([header, name, args, kwargs]));
    });
  return { call, close: () => dealer.close() };
}

function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export interface DriveResult {
  calls: number;
  seconds: number;
  rate: number;
  p50: number;
  p99: number;
  /** CPU time this process used meanwhile, µs. */
  cpu: number;
}

async function drive(call: Call, inflight: number, until: { seconds: number } | { calls: number }): Promise<DriveResult> {
  const latencies: number[] = [];
  const cpuBefore = cpuMicros();
  const start = performance.now();
  const stopAt = 'seconds' in until ? start + until.seconds * 1000 : Infinity;
  const target = 'calls' in until ? until.calls : Infinity;
  let started = 0;
  const lane = async () => {
    while (started < target && performance.now() < stopAt) {
      started++;
      const t = performance.now();
      await call();
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  const seconds = (performance.now() - start) / 1000;
  const cpu = cpuMicros() - cpuBefore;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { calls: latencies.length, seconds, rate: latencies.length / seconds, p50: at(0.5) * 1000, p99: at(0.99) * 1000, cpu };
}

// ── one-way: pipeline and pub/sub ──────────────────────────────────────────────────

/** Seconds every client spends warming up before it measures. */
const WARM_UP_SECONDS = 1;
/** A one-way message of the warm-up, not counted. */
const WARM_UP = -3;

/** Counts messages between the first real one and the end marker. Probes are a = -2, warm-up -3, the end a = -1. */
function counter() {
  let first = false;
  let count = 0;
  let start = 0;
  let done = false;
  return (a: number) => {
    if (done) return;
    if (a === -2) {
      if (!first) (first = true), say('FIRST');
      return;
    }
    if (a === WARM_UP) return;
    if (a === -1) {
      done = true;
      const seconds = (performance.now() - start) / 1000;
      say(`RESULT ${JSON.stringify({ count, seconds, rate: count / seconds })}`);
      return;
    }
    if (count++ === 0) start = performance.now();
  };
}

async function sinkServer(): Promise<void> {
  const take = counter();
  const subscribe = config.pattern === 'pubsub';
  if (config.impl === 'zrpc') {
    const impl = { take: (a: number) => take(a) };
    const socket = { receiveHighWaterMark: 0 };
    const server = subscribe
      ? await serveBenchFeed(impl, { connect: config.endpoint, subscribe: '', socket })
      : await serveBenchSink(impl, { bind: config.endpoint, socket });
    say(`READY ${server.transport.bindings[0] ?? config.endpoint}`);
    await stdinClosed;
    await server.close();
  } else {
    const socket = subscribe ? new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 0 }) : new zmq.Pull({ linger: 0, receiveHighWaterMark: 0 });
    if (socket instanceof zmq.Subscriber) {
      socket.subscribe('');
      socket.connect(config.endpoint);
    } else await socket.bind(config.endpoint.replace(/:0$/, ':*'));
    say(`READY ${socket.lastEndpoint ?? config.endpoint}`);
    const loop = (async () => {
      // Raw frames: args is 0x92 then a, so the marker is its second byte.
      for await (const frames of socket) {
        const args = frames[frames.length - 2]!;
        take(args[1] === 0xfe ? -2 : args[1] === 0xff ? -1 : 1);
      }
    })();
    await stdinClosed;
    socket.close();
    await loop.catch(() => {});
  }
}

async function sinkClient(): Promise<void> {
  const subscribe = config.pattern === 'pubsub';
  let send: (a: number) => Promise<void>;
  let close: () => Promise<void> | void;
  let endpoint = config.endpoint;
  if (config.impl === 'zrpc') {
    const socket = { sendHighWaterMark: 0 };
    if (subscribe) {
      const client = await connectBenchFeed({ bind: config.endpoint, socket });
      endpoint = client.transport.bindings[0]!;
      const publisher = client.publish('bench');
      send = (a) => publisher.take(a, 0);
      close = () => client.close();
    } else {
      const client = await connectBenchSink({ connect: config.endpoint, socket });
      send = (a) => client.take(a, 0);
      close = () => client.close();
    }
  } else {
    const socket = subscribe ? new zmq.Publisher({ linger: 0, sendHighWaterMark: 0 }) : new zmq.Push({ linger: 0, sendHighWaterMark: 0 });
    if (subscribe) {
      await socket.bind(config.endpoint.replace(/:0$/, ':*'));
      endpoint = socket.lastEndpoint!;
    } else socket.connect(config.endpoint);
    const lead = subscribe ? [Buffer.from('bench')] : [];
    const name = Buffer.from('take');
    const kwargs = Buffer.from([0x80]);
    // msgpack negative fixints: -1 is 0xff, -2 0xfe, -3 0xfd.
    const args = (a: number) => Buffer.from([0x92, a < 0 ? 0x100 + a : a, 0x00]);
    send = (a) => socket.send([...lead, name, args(a), kwargs]);
    close = () => socket.close();
  }
  say(`READY ${endpoint}`);
  // Probe until the orchestrator says every receiver has one (ZeroMQ's slow joiner).
  let go = false;
  lines.once('line', () => (go = true));
  while (!go) {
    await send(-2);
    await new Promise((r) => setTimeout(r, 5));
  }
  // Warm-up messages the receivers do not count, for the reason the RPC client warms up.
  const warmUntil = performance.now() + WARM_UP_SECONDS * 1000;
  while (performance.now() < warmUntil) await send(WARM_UP);
  // For a time rather than a count of messages, so that a slow implementation's round
  // lasts as long as a fast one's.
  const start = performance.now();
  const stopAt = start + (config.seconds ?? 2) * 1000;
  let n = 0;
  for (; performance.now() < stopAt; n++) await send(1);
  const seconds = (performance.now() - start) / 1000;
  for (let i = 0; i < 50; i++) {
    await send(-1);
    await new Promise((r) => setTimeout(r, 2));
  }
  say(`RESULT ${JSON.stringify({ sent: n, seconds, rate: n / seconds })}`);
  await stdinClosed;
  await close();
}

// ── grpc-js, loaded only for its rows ──────────────────────────────────────────────

async function loadGrpc() {
  const grpc = await import('@grpc/grpc-js');
  const loader = await import('@grpc/proto-loader');
  const proto = fileURLToPath(new URL('../../bench/bench.proto', import.meta.url));
  const definition = loader.loadSync(proto, { keepCase: true, defaults: true });
  const Bench = (grpc.loadPackageDefinition(definition).bench as import('@grpc/grpc-js').GrpcObject).Bench as import('@grpc/grpc-js').ServiceClientConstructor;
  return {
    grpc,
    service: Bench.service,
    Client: Bench as unknown as new (address: string, credentials: import('@grpc/grpc-js').ChannelCredentials) => import('@grpc/grpc-js').Client & Record<'Add' | 'Echo', unknown>,
  };
}

const roles = { 'rpc-server': rpcServer, 'rpc-client': rpcClient, 'sink-server': sinkServer, 'sink-client': sinkClient };
await roles[config.role]();
