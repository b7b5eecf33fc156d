/**
 * Every record in test/fixtures/vectors/aiozmq-wire.json, recorded from the real aiozmq,
 * checked in both directions: our decoder reads those bytes, our encoder writes them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ErrorTranslator, NotFoundError, ParameterError, PyDate, PyDateTime, PyTime, PyTimedelta, PyTimezone, builtins, toWireError } from 'zrpc';
import {
  decodeReplyHeader,
  decodeRequestHeader,
  encodeReplyHeader,
  encodeRequestHeader,
} from '../src/runtime/wire/header.js';
import { createPacker } from '../src/runtime/wire/translators.js';
import { hex, vectorsFile, unhex } from './support/helpers.js';

interface Vectors {
  values: Record<string, { python: string; msgpack: string }>;
  rpc_request: { frames: string[]; header_fields: { pid: number; rnd: number; req_id: number; timestamp: number } };
  pipeline_notify: { frames: string[] };
  pubsub_publish: { frames: string[] };
  [reply: `rpc_reply_${string}`]: { request: string[]; reply: string[]; reply_fields: { req_id: number; is_error: boolean }; body: string };
}

const vectors = JSON.parse(readFileSync(vectorsFile, 'utf8')) as Vectors;
const packer = createPacker(undefined);

/** The JavaScript value each plain (non-ext) Python value decodes to. */
const expected: Record<string, unknown> = {
  int_small: 1,
  int_neg: -33,
  uint64_max: 18446744073709551615n,
  int64_min: -9223372036854775808n,
  float: 1.5,
  str: 'héllo',
  bytes: new Uint8Array([0, 1, 255]),
  none: null,
  bool: true,
  list_as_array: [1, [2, 3]],
  map_str_keys: { a: 1, b: [true, null] },
  map_int_keys: new Map([[1, 'one'], [2, 'two']]),
  map_tuple_keys: new Map([[[1, 2], 'a']]),
  datetime_naive: new PyDateTime(2024, 1, 2, 3, 4, 5, 678901),
  datetime_utc: new PyDateTime(2024, 1, 2, 3, 4, 5, 0, PyTimezone.utc),
  datetime_plus0530: new PyDateTime(2024, 1, 2, 3, 4, 5, 0, PyTimezone.ofMinutes(330)),
  date: new PyDate(2024, 2, 29),
  time: new PyTime(13, 14, 15, 16),
  time_utc: new PyTime(13, 14, 15, 0, PyTimezone.utc),
  timedelta: new PyTimedelta(-1, 5, 7),
  tzinfo_utc: PyTimezone.utc,
  tzinfo_minus0800: new PyTimezone(new PyTimedelta(-1, 57600)),
};

it('every recorded value has an expected JavaScript form', () => {
  assert.deepEqual(Object.keys(vectors.values).filter((k) => !(k in expected)), []);
});

describe('recorded wire vectors', () => {
  for (const [name, record] of Object.entries(vectors.values)) {
    it(`value ${name}: ${record.python}`, () => {
      const bytes = unhex(record.msgpack);
      const value = packer.decode(bytes);
      assert.deepEqual(normalize(value), normalize(expected[name]));
      if (value instanceof Date) assert.equal(value.getTime(), (expected[name] as Date).getTime());
      assert.equal(hex(packer.encode(value)), record.msgpack, 're-encodes to the recorded bytes');
      assert.equal(hex(packer.encode(expected[name])), record.msgpack, 'encodes from JS to the recorded bytes');
    });
  }

  it('rpc_request: header fields, name, args and kwargs', () => {
    const [header, name, args, kwargs] = vectors.rpc_request.frames.map(unhex);
    const fields = decodeRequestHeader(header!)!;
    const want = vectors.rpc_request.header_fields;
    assert.deepEqual([fields.pid, fields.random, fields.requestId], [want.pid, want.rnd, want.req_id]);
    assert.ok(Math.abs(fields.time - want.timestamp) < 1e-6);
    assert.equal(name!.toString(), 'ns.add');
    assert.deepEqual(packer.decode(args!), [1]);
    assert.deepEqual(packer.decode(kwargs!), { b: 2 });
    // Our encoding of the same call: same bytes but for pid, random and time.
    const ours = encodeRequestHeader(((want.rnd << 16) | want.pid) >>> 0, want.req_id);
    assert.equal(hex(ours.subarray(0, 8)), hex(header!.subarray(0, 8)));
    assert.equal(hex(packer.encode([1])), hex(args!));
    assert.equal(hex(packer.encode({ b: 2 })), hex(kwargs!));
  });

  it('pipeline_notify and pubsub_publish frames', () => {
    const [name, args, kwargs] = vectors.pipeline_notify.frames.map(unhex);
    assert.equal(name!.toString(), 'jobs.run');
    assert.deepEqual(packer.decode(args!), ['x', [1, 2]]);
    assert.deepEqual(packer.decode(kwargs!), { flag: true });
    assert.equal(hex(packer.encode(['x', [1, 2]])), hex(args!));
    const [topic, pname, pargs, pkwargs] = vectors.pubsub_publish.frames.map(unhex);
    assert.equal(topic!.toString(), 'news');
    assert.equal(pname!.toString(), 'on_item');
    assert.deepEqual(packer.decode(pargs!), [{ id: 7 }]);
    assert.equal(hex(packer.encode([{ id: 7 }])), hex(pargs!));
    assert.equal(hex(pkwargs!), '80');
  });

  const replies = Object.keys(vectors).filter((k) => k.startsWith('rpc_reply_')) as Array<`rpc_reply_${string}`>;
  for (const key of replies) {
    it(`${key}: reply header and body`, () => {
      const record = vectors[key];
      const [requestHeader] = record.request.map(unhex);
      const [replyHeader, body] = record.reply.map(unhex);
      const fields = decodeReplyHeader(replyHeader!)!;
      assert.equal(fields.requestId, record.reply_fields.req_id);
      assert.equal(fields.isError, record.reply_fields.is_error);
      assert.equal(fields.requestId, decodeRequestHeader(requestHeader!)!.requestId, 'request id copied');
      const ours = encodeReplyHeader(((fields.random << 16) | fields.pid) >>> 0, requestHeader!, fields.isError);
      assert.equal(hex(ours.subarray(0, 8)), hex(replyHeader!.subarray(0, 8)));
      assert.equal(ours[16], replyHeader![16]);
      const value = packer.decode(body!);
      assert.equal(hex(packer.encode(value)), hex(body!));
    });
  }

  it('error replies rebuild into our classes, and ours encode as aiozmq does', () => {
    const translator = new ErrorTranslator();
    const bodyOf = (key: `rpc_reply_${string}`) => packer.decode(unhex(vectors[key].reply[1]!));
    const valueError = translator.fromWire(bodyOf('rpc_reply_error'));
    assert.ok(valueError instanceof builtins.ValueError);
    assert.deepEqual(valueError.arguments, ['bad value', 42]);
    const notFound = translator.fromWire(bodyOf('rpc_reply_not_found'));
    assert.ok(notFound instanceof NotFoundError);
    assert.equal(notFound.method, 'nope');
    const badParams = translator.fromWire(bodyOf('rpc_reply_bad_params'));
    assert.ok(badParams instanceof ParameterError);
    assert.equal(badParams.message, "TypeError('too many positional arguments')");
    // The same triples from our side: NotFoundError and builtins encode byte for byte.
    assert.equal(hex(packer.encode(toWireError(new NotFoundError('nope')))), vectors.rpc_reply_not_found.reply[1]);
    assert.equal(hex(packer.encode(toWireError(new builtins.ValueError('bad value', 42)))), vectors.rpc_reply_error.reply[1]);
  });
});

/** deepEqual sees Uint8Array and Buffer as different; compare bytes as bytes. */
function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(normalize);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [normalize(k), normalize(v)]));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  return value;
}

