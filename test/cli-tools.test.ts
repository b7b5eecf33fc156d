/**
 * `zrpc describe`, `call`, `notify`, `publish` and `subscribe`: the library functions
 * with a captured output, and the real command in a child process, against the sample
 * shop, zrpc servers of each pattern, and Python's aiozmq.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Type from 'typebox';
import { Router } from 'zeromq';
import { builtins, generateKeyPair, method, Packer, servePipeline, serveRpc, type Handler, type Interceptor } from 'zrpc';
import { encodeReplyHeader } from '../src/runtime/wire/header.js';
import { withoutPeerPatterns } from '../src/tools/peer-schema.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { serveShop } from '../samples/generated/shop.js';
import { ShopImpl } from '../samples/shop/main.js';
import {
  callCommand,
  describeCommand,
  EXIT,
  fromJson,
  notifyCommand,
  parseCallArguments,
  publishCommand,
  subscribeCommand,
  toJson,
  typeText,
  type Output,
} from '../src/tools/index.js';
import { endpoint, repoRoot, waitFor } from './support/helpers.js';
import { pythonServer, PythonPeer } from './support/python-peer.js';

const cli = join(repoRoot, 'dist/cli/zrpc.js');

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

/** Runs the real `zrpc` command; resolves with its exit code and output. */
function zrpc(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('values between JSON and msgpack', () => {
  it('writes and reads the tagged forms', () => {
    const value = { n: 2n ** 70n, b: new Uint8Array([1, 2, 255]), d: new Date('2024-01-02T03:04:05.678Z'), m: new Map<unknown, unknown>([[1, 'a']]), x: NaN, list: [null, 'x'] };
    const json = toJson(value);
    assert.deepEqual(json, {
      n: { $bigint: '1180591620717411303424' },
      b: { $bytes: 'AQL/' },
      d: { $date: '2024-01-02T03:04:05.678Z' },
      m: { $map: [[1, 'a']] },
      x: { $number: 'NaN' },
      list: [null, 'x'],
    });
    assert.deepEqual(fromJson(JSON.parse(JSON.stringify(json)), 'v'), value);
  });

  it('refuses a malformed tagged value or an unknown tag, naming where', () => {
    assert.throws(() => fromJson({ a: [{ $bigint: '1.5' }] }, 'arg'), /arg\.a\[0\]: \$bigint takes a string of decimal digits/);
    assert.throws(() => fromJson({ $date: 'yesterday' }, 'at'), /at: \$date takes an ISO 8601 date string/);
    assert.throws(() => fromJson({ $big: '1' }, 'x'), /x: unknown tagged value \$big/);
  });

  it('reads positional and named arguments', () => {
    assert.deepEqual(parseCallArguments(['[1, {"$bigint": "5"}]', 'b=2', 'name=alice', 's="2"'], '{"c": [true]}'), {
      args: [1, 5n],
      kwargs: { c: [true], b: 2, name: 'alice', s: '2' },
    });
    assert.deepEqual(parseCallArguments([]), { args: [], kwargs: undefined });
    assert.throws(() => parseCallArguments(['b=[1,']), /b=\[1,: not valid JSON/);
    assert.throws(() => parseCallArguments(['1']), /give positional arguments as one JSON array/);
    assert.throws(() => parseCallArguments(['b=1', 'b=2']), /named argument b is given twice/);
    assert.throws(() => parseCallArguments([], '[1]'), /--kw must be a JSON object/);
  });

  it('writes schemas as short types', () => {
    assert.equal(typeText({ type: 'array', items: { type: 'integer', minimum: 1 } }), 'Array<integer (minimum 1)>');
    assert.equal(typeText({ type: 'object', properties: { a: { 'x-zrpc': 'date' }, b: { anyOf: [{ const: 'x' }, { type: 'null' }] } }, required: ['a'] }), '{ a: Date; b?: "x" | null }');
  });
});

describe('zrpc describe and zrpc call against the sample shop', () => {
  it('describes the shop for a person and as JSON', async () => {
    await using server = await serveShop(new ShopImpl(), { bind: endpoint() });
    const at = server.transport.bindings[0]!;
    const text = await zrpc('describe', at);
    assert.equal(text.code, EXIT.ok, text.stderr);
    assert.match(text.stdout, /^rpc service at tcp:\/\/127\.0\.0\.1:\d+: 4 methods\n/);
    assert.match(text.stdout, /\norder\(lines: Array<\{ sku: string \(pattern \^\[A-Z\]\{3\}-\\d\+\$\); qty: integer \(minimum 1\) \}>, currency\?: "EUR" \| "USD", note\?: string\): \{ id: string;/);
    assert.match(text.stdout, /\n {4}Places an order\.\n {4}lines: what to buy\n {4}throws OutOfStock: when a line asks for more than is in stock\n/);
    assert.match(text.stdout, /\nbilling\.refund\(receiptId: string, amount: number \(minimum 0\)\): number\n/);
    const json = await zrpc('describe', at, '--json');
    assert.equal(json.code, EXIT.ok);
    const description = JSON.parse(json.stdout);
    assert.deepEqual(description.methods.map((m: { name: string }) => m.name), ['billing.history', 'billing.refund', 'order', 'stock']);
  });

  it('calls, printing the result as JSON; refuses a bad argument before sending, with the server\'s text', async () => {
    await using server = await serveShop(new ShopImpl(), { bind: endpoint() });
    const at = server.transport.bindings[0]!;
    const ok = await zrpc('call', at, 'order', '[[{"sku": "APL-1", "qty": 2}]]', 'note=gift');
    assert.equal(ok.code, EXIT.ok, ok.stderr);
    const receipt = JSON.parse(ok.stdout);
    assert.equal(receipt.note, 'gift');
    assert.match(receipt.placedAt.$date, /^\d{4}-\d\d-\d\dT/);
    assert.equal((await zrpc('call', at, 'stock', '--kw', '{"sku": "APL-1"}')).stdout, '8\n');

    const refused = await zrpc('call', at, 'order', '[[{"sku": "APL-1", "qty": 0}]]');
    assert.equal(refused.code, EXIT.badInput);
    assert.equal(refused.stdout, '');
    const [first, second] = refused.stderr.split('\n');
    assert.equal(first, 'ParameterError: order: parameter "lines" at /0/qty: must be >= 1 (got 0)');
    assert.match(second!, /refused before sending/);
    // Sent anyway, the server refuses it in the same words.
    const sent = await zrpc('call', at, 'order', '[[{"sku": "APL-1", "qty": 0}]]', '--no-check');
    assert.equal(sent.code, EXIT.remoteError);
    assert.equal(sent.stderr, 'remote error ParameterError (aiozmq.rpc.base.ParametersError): order: parameter "lines" at /0/qty: must be >= 1 (got 0)\n');
  });

  it('prints a remote error with its type and exits 1', async () => {
    await using server = await serveShop(new ShopImpl(), { bind: endpoint() });
    const failed = await zrpc('call', server.transport.bindings[0]!, 'order', '[[{"sku": "PEA-2", "qty": 1}]]');
    assert.equal(failed.code, EXIT.remoteError);
    assert.match(failed.stderr, /^remote error OutOfStock: .*PEA-2: only 0 left/);
    const missing = await zrpc('call', server.transport.bindings[0]!, 'nope');
    assert.equal(missing.code, EXIT.remoteError);
    assert.match(missing.stderr, /describes no method nope; calling it anyway\nremote error NotFoundError \(aiozmq\.rpc\.base\.NotFoundError\): nope\n$/);
  });

  it('sends --metadata with the call and with the description it asks for', async () => {
    const seen: Array<Record<string, unknown>> = [];
    const token: Interceptor = (next) => (call) => {
      seen.push({ ...call.metadata });
      if (call.metadata.authorization !== 'Bearer t0k') throw new builtins.PermissionError('no token');
      return next(call);
    };
    await using server = await serveShop(new ShopImpl(), { bind: endpoint(), interceptors: [token] });
    const at = server.transport.bindings[0]!;
    const ok = await zrpc('call', at, 'stock', '-m', 'authorization=Bearer t0k', '--metadata', 'tenant=acme', '["APL-1"]');
    assert.equal(ok.code, EXIT.ok, ok.stderr);
    assert.equal(ok.stdout, '10\n');
    assert.deepEqual(seen.at(-1), { authorization: 'Bearer t0k', tenant: 'acme' });
    assert.equal(seen.length, 2, 'the description and the call');
    const refused = await zrpc('call', at, 'stock', '["APL-1"]', '--no-check');
    assert.equal(refused.code, EXIT.remoteError);
    assert.match(refused.stderr, /PermissionError.*no token/);
    const bad = await zrpc('call', at, 'stock', '--metadata', 'Tenant=x', '["APL-1"]');
    assert.equal(bad.code, EXIT.badInput);
    assert.match(bad.stderr, /--metadata: metadata key "Tenant" must be/);
    const noValue = await zrpc('call', at, 'stock', '--metadata', 'tenant', '["APL-1"]');
    assert.equal(noValue.code, EXIT.badInput);
    assert.match(noValue.stderr, /--metadata takes key=value/);
  });

  it('exits 2 on bad input and 3 when nobody answers', async () => {
    const badJson = await zrpc('call', 'tcp://127.0.0.1:1', 'add', '[1,');
    assert.equal(badJson.code, EXIT.badInput);
    assert.match(badJson.stderr, /positional arguments is not valid JSON/);
    const badOption = await zrpc('call', 'tcp://127.0.0.1:1', 'add', '--timeout', 'soon');
    assert.equal(badOption.code, EXIT.badInput);
    assert.match(badOption.stderr, /expected a positive number of milliseconds/);
    const silent = await zrpc('call', 'tcp://127.0.0.1:1', 'add', '[1]', '--timeout', '200');
    assert.equal(silent.code, EXIT.timeout);
    assert.match(silent.stderr, /no answer from tcp:\/\/127\.0\.0\.1:1 within 200 ms/);
  });

  it('exits 2, not 1 (a remote error), when the endpoint to bind is taken', async () => {
    await using taken = await servePipeline({ tick: method(() => undefined) }, { bind: endpoint() });
    const address = taken.transport.bindings[0]!;
    const publish = await zrpc('publish', address, 'prices', 'tick', '[]', '--bind');
    assert.equal(publish.code, EXIT.badInput, publish.stderr);
    assert.match(publish.stderr, /^zrpc: cannot bind .*(in use|EADDRINUSE)/im);
    assert.doesNotMatch(publish.stderr, /builtins\.Exception/);
  });
});

describe('the library functions, in process', () => {
  it('does not send a call whose arguments the description refuses', async () => {
    // Counts the server's lookups of "order" that are not part of a description (which
    // also lists the keys): a call that reaches the server looks the name up once.
    let listings = 0;
    let lookups = 0;
    const target = {
      order: method((n: number) => n, { params: [{ name: 'n', schema: Type.Integer({ minimum: 1 }) }], returns: Type.Integer() }),
    };
    const handler = new Proxy(target, {
      ownKeys: (t) => (listings++, Reflect.ownKeys(t)),
      getOwnPropertyDescriptor: (t, key) => (key === 'order' && lookups++, Reflect.getOwnPropertyDescriptor(t, key)),
    }) as Handler;
    await using server = await serveRpc(handler, { bind: endpoint() });
    const at = server.transport.bindings[0]!;
    const io = capture();
    assert.equal(await callCommand(at, 'order', ['[0]'], {}, io), EXIT.badInput);
    assert.deepEqual(io.stderr[0], 'ParameterError: order: parameter "n" must be >= 1 (got 0)');
    assert.equal(lookups - listings, 0, 'the refused call never reached the server');
    assert.equal(await callCommand(at, 'order', ['[3]'], {}, io), EXIT.ok);
    assert.equal(io.stdout.at(-1), '3');
    assert.equal(lookups - listings, 1);
  });

  it('calls a CURVE server with a keys file as zrpc keygen --out writes it', async () => {
    const serverPair = generateKeyPair();
    const clientPair = generateKeyPair();
    await using server = await serveRpc({ add: method((a: number, b: number) => a + b) }, { bind: endpoint(), curve: { secretKey: serverPair.secretKey, allow: [clientPair.publicKey] } });
    const keys = join(await mkdtemp(join(tmpdir(), 'zrpc-keys-')), 'keys.json');
    await writeFile(keys, JSON.stringify(clientPair));
    const at = server.transport.bindings[0]!;
    const io = capture();
    assert.equal(await callCommand(at, 'add', ['[1, 2]'], { curve: keys, serverKey: serverPair.publicKey }, io), EXIT.ok);
    assert.deepEqual(io.stdout, ['3']);
    assert.equal(await callCommand(at, 'add', ['[1, 2]'], { curve: keys }, io), EXIT.badInput);
    assert.match(io.stderr.at(-1)!, /--curve needs --server-key/);
    assert.equal(await callCommand(at, 'add', ['[1, 2]'], { timeout: 300 }, io), EXIT.timeout, 'a plain client gets no answer');
  });

  it('notifies a pipeline worker, checking arguments against --describe-from', async () => {
    const received: unknown[] = [];
    const handler = { record: method((n: number, note?: string) => void received.push([n, note]), { params: [{ name: 'n', schema: Type.Number() }, { name: 'note', schema: Type.String(), optional: true }] }) };
    await using worker = await servePipeline(handler, { bind: endpoint() });
    await using rpc = await serveRpc(handler, { bind: endpoint() });
    const io = capture();
    const flags = { describeFrom: rpc.transport.bindings[0]! };
    assert.equal(await notifyCommand(worker.transport.bindings[0]!, 'record', ['["one"]'], flags, io), EXIT.badInput);
    assert.equal(io.stderr[0], 'ParameterError: record: parameter "n" must be number (got "one")');
    assert.equal(await notifyCommand(worker.transport.bindings[0]!, 'record', ['[1]', 'note=hi'], flags, io), EXIT.ok);
    await waitFor(() => received.length === 1, 5000, 'the notification');
    assert.deepEqual(received, [[1, 'hi']]);
  });

  it('subscribes and prints one JSON line per published call', async () => {
    const io = capture();
    let bound: string | undefined;
    const subscribed = subscribeCommand(endpoint(), { count: 1, topics: ['prices'], onListening: (b) => (bound = b[0]) }, io);
    await waitFor(() => bound !== undefined, 5000, 'the subscriber');
    // The slow joiner: publish until one arrives (each publish connects afresh).
    const sender = capture();
    while (io.stdout.length === 0) {
      assert.equal(await publishCommand(bound!, 'prices.eu', 'tick', ['["APL", {"$bigint": "12345678901234567890"}]', 'at={"$date": "2024-01-02T00:00:00Z"}'], { settle: 50 }, sender), EXIT.ok);
    }
    assert.equal(await subscribed, EXIT.ok);
    assert.deepEqual(JSON.parse(io.stdout[0]!), {
      topic: 'prices.eu',
      method: 'tick',
      args: ['APL', { $bigint: '12345678901234567890' }],
      kwargs: { at: { $date: '2024-01-02T00:00:00.000Z' } },
    });
  });
});

describe('zrpc against Python aiozmq', () => {
  it('calls a Python server without a description, saying so; a Python error exits 1', async () => {
    const { peer, endpoint: at } = await pythonServer('serve-rpc');
    await using _ = peer;
    const described = await zrpc('describe', at);
    assert.equal(described.code, EXIT.noDescription);
    assert.match(described.stderr, /does not describe itself/);
    const added = await zrpc('call', at, 'add', '[40]', 'b=2');
    assert.equal(added.code, EXIT.ok, added.stderr);
    assert.equal(added.stdout, '42\n');
    assert.match(added.stderr, /does not describe itself \(zrpc:describe not found\); calling without checking the arguments/);
    const refunded = await zrpc('call', at, 'billing.refund', '["r-1"]', '--kw', '{"amount": 5}');
    assert.equal(refunded.stdout, '"r-1:5"\n');
    const failed = await zrpc('call', at, 'fail', '["value"]');
    assert.equal(failed.code, EXIT.remoteError);
    assert.match(failed.stderr, /\nremote error builtins\.ValueError: \('bad value', 42\)\narguments: \["bad value",42\]\n$/);
  });

  it('notifies a Python pipeline worker', async () => {
    const { peer, endpoint: at } = await pythonServer('serve-pipeline');
    await using _ = peer;
    const sent = await zrpc('notify', at, 'record', '[1, "two", {"$bytes": "Aw=="}]', 'when={"$date": "2024-02-29T00:00:00Z"}');
    assert.equal(sent.code, EXIT.ok, sent.stderr);
    const line = await peer.line('CALL');
    assert.match(line, /^CALL \(1, 'two', b'\\x03'\) \{'when': datetime\.datetime\(2024, 2, 29, 0, 0/);
  });

  it('prints what a Python publisher publishes (zrpc subscribe in a child process)', async () => {
    const child = spawn(process.execPath, [cli, 'subscribe', 'tcp://127.0.0.1:0', '--count', '2', '--timeout', '20000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await waitFor(() => /subscribed at (\S+)/.test(stderr), 10_000, 'the subscriber');
    const at = /subscribed at (\S+)/.exec(stderr)![1]!;
    await using publisher = new PythonPeer(['publish', at, 'topic']);
    // The Python publisher sends probes until told to go on; each is printed.
    assert.equal(await exited, EXIT.ok, stderr);
    publisher.send('go');
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[0], { topic: 'topic', method: 'probe', args: [], kwargs: {} });
  });
});

/** What a hostile server answers to one method: a reply body, or an error triple (`error`). */
type Answer = { body: unknown; error?: boolean };

/**
 * A raw ROUTER that answers `zrpc:describe` and calls with whatever bodies a test gives,
 * as no zrpc server would send them.
 */
async function hostileServer(answers: { describe?: Answer; call?: Answer }) {
  const router = new Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:*');
  const packer = new Packer();
  void (async () => {
    for await (const [identity, ...frames] of router) {
      // A call with metadata or a deadline has a context frame before the header.
      const [header, name] = frames.length === 5 ? frames.slice(1) : frames;
      const answer = name!.toString() === 'zrpc:describe' ? answers.describe : answers.call;
      if (answer) await router.send([identity!, encodeReplyHeader(0, header!, !!answer.error), packer.encode(answer.body)]);
    }
  })().catch(() => {});
  return { at: router.lastEndpoint!, [Symbol.asyncDispose]: async () => router.close() };
}

const notDescribed: Answer = { error: true, body: ['aiozmq.rpc.base.NotFoundError', ['zrpc:describe'], "NotFoundError('zrpc:describe')"] };
const described = (methods: unknown[]): Answer => ({ body: { zrpc: 1, pattern: 'rpc', methods } });

/** Anything a terminal acts on (C0 but line breaks, DEL, C1) or that reorders what it shows (bidi). */
const TERMINAL_CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const HOSTILE = '\x1b[31m\x1b]0;owned\x07\u009b2J\u202egnp.exe\u2066\nforged line';

describe('zrpc describe and call against a hostile server', () => {
  it('learns the remote type from the reply, in linear time, however the type and message are crafted', async () => {
    // Before, a regex over the stack backtracked on this name: 4 s for 180 KB, quadratic.
    const type = `A\n    at remote call ${' (raised '.repeat(20_000)}\nB`;
    await using server = await hostileServer({ describe: notDescribed, call: { error: true, body: [type, ['a'], 'r'] } });
    const io = capture();
    const started = performance.now();
    assert.equal(await callCommand(server.at, 'm', [], { timeout: 2000 }, io), EXIT.remoteError);
    assert.ok(performance.now() - started < 1000, `took ${performance.now() - started} ms`);
    assert.match(io.stderr[1]!, /^remote error A\\n {4}at remote call {2}\(raised {2}\(raised /);

    // A forged call-site line in the message does not change the type printed.
    await using spoof = await hostileServer({ describe: notDescribed, call: { error: true, body: ['my.Err', ['a'], 'msg\n    at remote call x (raised spoofed.Type)'] } });
    const spoofed = capture();
    assert.equal(await callCommand(spoof.at, 'm', [], {}, spoofed), EXIT.remoteError);
    assert.equal(spoofed.stderr[1], 'remote error my.Err: msg\\n    at remote call x (raised spoofed.Type)');
  });

  it('never runs a regular expression from the description: patterns and formats are left to the server', async () => {
    // Run by the precheck, this pattern took 10 s for 26 letters (exponential).
    const schema = { type: 'object', properties: { s: { type: 'string', pattern: '^(.*a){25}$' }, f: { type: 'string', format: 'email' } }, patternProperties: { '^(.*b){25}$': { type: 'string' } } };
    await using server = await hostileServer({ describe: described([{ name: 'm', params: [{ name: 'p', schema }, { name: 'n', schema: { type: 'integer' } }] }]), call: { body: 'ok' } });
    const io = capture();
    const started = performance.now();
    assert.equal(await callCommand(server.at, 'm', [JSON.stringify([{ s: `${'a'.repeat(26)}b`, f: 'x', [`${'b'.repeat(26)}c`]: 1 }, 1])], {}, io), EXIT.ok, io.stderr.join('\n'));
    assert.ok(performance.now() - started < 1000, `took ${performance.now() - started} ms`);
    assert.deepEqual(io.stdout, ['"ok"']);
    // What is left of the schemas still checks.
    assert.equal(await callCommand(server.at, 'm', ['[{"s": 1}, 1.5]'], {}, io), EXIT.badInput);
    assert.match(io.stderr.at(-2)!, /^ParameterError: m: parameter "p" at \/s: must be string/);
  });

  it('leaves a peer schema\'s regular expressions out so that it only accepts more', () => {
    const plain = { type: 'object', properties: { pattern: { type: 'string' } }, required: ['pattern'] };
    assert.equal(withoutPeerPatterns(plain), plain, 'a property named pattern is not a keyword');
    assert.deepEqual(withoutPeerPatterns({ type: 'string', pattern: 'a+', format: 'email', const: { pattern: 'kept' } }), { type: 'string', const: { pattern: 'kept' } });
    // Without its pattern, a record's additionalProperties: false would refuse every key.
    assert.deepEqual(withoutPeerPatterns({ type: 'object', patternProperties: { '^.*$': { type: 'number' } }, additionalProperties: false }), { type: 'object' });
    // Where a looser part would refuse more, it goes.
    assert.deepEqual(withoutPeerPatterns({ not: { pattern: '^a' }, minLength: 1 }), { minLength: 1 });
    assert.deepEqual(withoutPeerPatterns({ oneOf: [{ pattern: '^a' }, { pattern: '^b' }] }), {});
    assert.deepEqual(withoutPeerPatterns({ if: { pattern: '^a' }, then: { minLength: 2 }, else: { maxLength: 1 } }), {});
    assert.deepEqual(withoutPeerPatterns({ $defs: { S: { pattern: '^a' } }, not: { $ref: '#/$defs/S' } }), { $defs: { S: {} } });
    assert.deepEqual(withoutPeerPatterns({ anyOf: [{ type: 'string', pattern: '^a' }, { type: 'null' }] }), { anyOf: [{ type: 'string' }, { type: 'null' }] });
  });

  it('escapes control characters and clips long texts in what describe prints', async () => {
    const schema = { type: 'object', properties: { a: { $ref: HOSTILE }, b: { type: [HOSTILE] }, c: { type: 'string', pattern: HOSTILE, format: HOSTILE }, d: { 'x-zrpc': `instance:${HOSTILE}` } } };
    const methods = [
      { name: HOSTILE, doc: `first\n${HOSTILE}`, params: [{ name: HOSTILE, doc: HOSTILE, schema }], rest: { name: HOSTILE, doc: HOSTILE }, returns: { $ref: HOSTILE }, throws: [{ name: HOSTILE, doc: HOSTILE }] },
      { name: 'n'.repeat(1_000_000), doc: 'd'.repeat(1_000_000), params: [] },
    ];
    await using server = await hostileServer({ describe: { body: { zrpc: 1, pattern: HOSTILE, methods } } });
    const io = capture();
    assert.equal(await describeCommand(server.at, {}, io), EXIT.ok, io.stderr.join('\n'));
    const text = io.stdout.join('\n');
    assert.doesNotMatch(text, TERMINAL_CONTROLS);
    assert.ok(!text.split('\n').some((line) => line.startsWith('forged')), text);
    assert.ok(text.includes('\\x1b[31m\\x1b]0;owned\\x07\\x9b2J\\u202egnp.exe\\u2066\\nforged line'), text);
    assert.ok(text.length < 20_000, `${text.length} characters`);
    assert.match(text, /n{100}… \(\d+ more characters\)/);
  });

  it('escapes control characters and clips long texts in a remote error', async () => {
    const long = 'r'.repeat(10 * 2 ** 20);
    await using server = await hostileServer({ describe: notDescribed, call: { error: true, body: [`evil.Type${HOSTILE}`, [HOSTILE, long], `${HOSTILE}${long}`] } });
    const io = capture();
    assert.equal(await callCommand(server.at, 'm', [], {}, io), EXIT.remoteError);
    const text = io.stderr.slice(1).join('\n');
    assert.doesNotMatch(text, TERMINAL_CONTROLS);
    assert.equal(io.stderr.length, 3, text.slice(0, 1000));
    assert.ok(text.length < 20_000, `${text.length} characters`);
    assert.match(io.stderr[1]!, /^remote error evil\.Type\\x1b\[31m.*\\nforged line: \\x1b.*r… \(\d+ more characters\)$/);
  });

  it('keeps JSON output exact, with C1 and bidi controls as \\u escapes', async () => {
    await using server = await hostileServer({ describe: notDescribed, call: { body: { [HOSTILE]: HOSTILE } } });
    const io = capture();
    assert.equal(await callCommand(server.at, 'm', [], {}, io), EXIT.ok);
    assert.doesNotMatch(io.stdout[0]!, TERMINAL_CONTROLS);
    assert.deepEqual(JSON.parse(io.stdout[0]!), { [HOSTILE]: HOSTILE });
  });

  it('reports a malformed description precisely: describe exits 4, call goes ahead unchecked', async () => {
    const cases: Array<[methods: unknown[], problem: string]> = [
      [[null], 'methods[0] is null'],
      [[{ name: 'm', params: 5 }], 'methods[0].params is a number'],
      [[{ name: 'm', params: [], doc: 5 }], 'methods[0].doc is a number'],
      [[{ name: 'm', params: [], throws: 5 }], 'methods[0].throws is a number'],
      [[{ name: 'm', params: [{ name: 'p' }, { name: 'q', schema: [] }] }], 'methods[0].params[1].schema is an array'],
      [[{ name: 'm', params: [], doc: new Uint8Array([1]) }], 'methods[0].doc is bytes'],
    ];
    for (const [methods, problem] of cases) {
      await using server = await hostileServer({ describe: described(methods), call: { body: 'ok' } });
      const io = capture();
      assert.equal(await describeCommand(server.at, {}, io), EXIT.noDescription, io.stderr.join('\n'));
      assert.ok(io.stderr[0]!.includes(`the description is malformed: ${problem} (`), io.stderr[0]);
      assert.equal(await callCommand(server.at, 'm', [], {}, io), EXIT.ok, io.stderr.join('\n'));
      assert.match(io.stderr.at(-1)!, /calling without checking the arguments$/);
      assert.deepEqual(io.stdout, ['"ok"']);
    }
    await using scalar = await hostileServer({ describe: { body: 42 } });
    const io = capture();
    assert.equal(await describeCommand(scalar.at, {}, io), EXIT.noDescription);
    assert.match(io.stderr[0]!, /the description is malformed: it is a number/);
  });

  it('prints a description holding a uint64 or bytes, as text and as JSON', async () => {
    const schema = { type: 'integer', maximum: 2n ** 64n - 1n, examples: [new Uint8Array([1, 2])] };
    await using server = await hostileServer({ describe: described([{ name: 'm', params: [{ name: 'p', schema }] }]) });
    const io = capture();
    assert.equal(await describeCommand(server.at, { json: true }, io), EXIT.ok, io.stderr.join('\n'));
    assert.deepEqual(JSON.parse(io.stdout[0]!).methods[0].params[0].schema, { type: 'integer', maximum: { $bigint: '18446744073709551615' }, examples: [{ $bytes: 'AQI=' }] });
    assert.equal(await describeCommand(server.at, {}, io), EXIT.ok, io.stderr.join('\n'));
    assert.match(io.stdout[1]!, /\nm\(p: integer \(maximum 18446744073709551615\)\)$/);
  });
});
