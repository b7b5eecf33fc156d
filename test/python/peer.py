#!/usr/bin/python3
"""The real aiozmq.rpc as a peer for zrpc's interop tests.

Run with Debian's /usr/bin/python3 (python3-aiozmq). Modes:
  serve-rpc | serve-pipeline | serve-pubsub TOPIC...   bind tcp://127.0.0.1:*, print
      "READY <endpoint>", then one line per call received (one-way patterns)
  call-rpc ENDPOINT         call a zrpc server and print one line per result
  notify ENDPOINT           send pipeline notifications to a zrpc server
  publish ENDPOINT TOPIC    publish probes until a line arrives on stdin, then the real calls
  describe ENDPOINT         call zrpc:describe on a zrpc server, print "DESCRIBED <json>"
Every printed value is Python's repr(), so the tests see exactly what Python holds.
"""
import asyncio
import datetime as dt
import json
import sys

import aiozmq.rpc

UTC = dt.timezone.utc
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def out(*parts):
    print(*parts, flush=True)


class Billing(aiozmq.rpc.AttrHandler):
    @aiozmq.rpc.method
    def refund(self, id, amount=0):
        return f"{id}:{amount}"


class Api(aiozmq.rpc.AttrHandler):
    billing = Billing()

    @aiozmq.rpc.method
    def add(self, a, b=1):
        return a + b

    @aiozmq.rpc.method
    def echo(self, value):
        return value

    @aiozmq.rpc.method
    def describe(self, *args, **kwargs):
        return repr(args) + (" " + repr(kwargs) if kwargs else "")

    @aiozmq.rpc.method
    def typed(self, a: int, b: int) -> int:
        return a * b

    @aiozmq.rpc.method
    def fail(self, kind):
        errors = {
            "value": ValueError("bad value", 42),
            "key": KeyError("missing"),
            "type": TypeError("wrong type"),
            "zero": ZeroDivisionError("division by zero"),
            "custom": type("CustomError", (Exception,), {"__module__": "shop.errors"})("out of stock", 3),
        }
        raise errors[kind]

    @aiozmq.rpc.method
    async def sleep(self, seconds):
        await asyncio.sleep(seconds)
        return seconds

    @aiozmq.rpc.method
    def values(self):
        return {
            "datetime_naive": dt.datetime(2024, 1, 2, 3, 4, 5, 678901),
            "datetime_ist": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=IST),
            "date": dt.date(2024, 2, 29),
            "time": dt.time(13, 14, 15, 16, tzinfo=UTC),
            "timedelta": dt.timedelta(days=-1, seconds=5, microseconds=7),
            "tz": dt.timezone(dt.timedelta(hours=-8), "PST"),
            "big": 2**64 - 1,
            "neg": -(2**63),
            "float": 1.5,
            "bytes": b"\x00\x01\xff",
            "int_keys": {1: "one", 2: "two"},
            "tuple_keys": {(1, 2): "a"},
            "none": None,
            "nested": [1, [2, (3, 4)], {"k": [True, False]}],
        }


class Recorder(aiozmq.rpc.AttrHandler):
    """One-way patterns: print each call so the test can read what arrived."""

    @aiozmq.rpc.method
    def record(self, *args, **kwargs):
        out("CALL", repr(args), repr(kwargs))

    class _Ns(aiozmq.rpc.AttrHandler):
        @aiozmq.rpc.method
        def deep(self, value):
            out("CALL ns.deep", repr(value))

    ns = _Ns()


async def serve(kind, topics):
    if kind == "serve-rpc":
        server = await aiozmq.rpc.serve_rpc(Api(), bind="tcp://127.0.0.1:*", timeout=0.3)
    elif kind == "serve-pipeline":
        server = await aiozmq.rpc.serve_pipeline(Recorder(), bind="tcp://127.0.0.1:*")
    else:
        server = await aiozmq.rpc.serve_pubsub(Recorder(), bind="tcp://127.0.0.1:*", subscribe=topics)
    endpoint = next(iter(server.transport.bindings()))
    out("READY", endpoint)
    # Serve until the test closes stdin.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.close()
    await server.wait_closed()


class ShopError(Exception):
    pass


async def call_rpc(endpoint):
    client = await aiozmq.rpc.connect_rpc(
        connect=endpoint, timeout=5, error_table={"shop.OutOfStock": ShopError}
    )

    async def show(label, call):
        try:
            out(label, repr(await call))
        except Exception as exc:  # the type and args are what the test checks
            out(label, "RAISED", f"{type(exc).__module__}.{type(exc).__name__}", repr(exc.args))

    await show("add", client.call.add(1, 2))
    await show("add_kwargs", client.call.add(1, b=41))
    await show("add_all_kwargs", client.call.add(a=2, b=3))
    await show("ns", client.call.billing.refund("r1", amount=5))
    await show("echo_values", client.call.echo(
        {"when": dt.datetime(2024, 1, 2, 3, 4, 5, 678901), "ist": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=IST),
         "date": dt.date(2024, 2, 29), "time": dt.time(13, 14, 15, 16), "delta": dt.timedelta(days=-1, seconds=5),
         "tz": dt.timezone(dt.timedelta(hours=-8)), "big": 2**64 - 1, "bytes": b"\x00\xff", "t": (1, 2)}))
    async def echoed(value):
        back = await client.call.echo(value)
        return type(back) is bytes and back == value

    # Bytes of bin16 and bin32 size, through zrpc's decoder and encoder and back.
    await show("echo_bytes", echoed(bytes(range(256)) + b"x" * 44))
    await show("echo_big_bytes", echoed(bytes(range(256)) * 1025))
    await show("int_keys", client.call.keys({1: "one", (1, 2): "a"}))
    await show("now", client.call.now())
    await show("not_found", client.call.nope())
    await show("bad_params", client.call.add(1, 2, 3))
    await show("bad_kwarg", client.call.add(1, c=2))
    await show("validation", client.call.order("ABC-1", 0))
    await show("type_error", client.call.fail("type"))
    await show("range_error", client.call.fail("range"))
    await show("custom", client.call.fail("custom"))
    await show("timeout", client.with_timeout(0.2).call.slow(2))
    client.close()
    await client.wait_closed()


async def notify(endpoint):
    client = await aiozmq.rpc.connect_pipeline(connect=endpoint)
    await client.notify.record(1, "two", b"\x03", when=dt.date(2024, 2, 29))
    await client.notify.ns.deep({(1, 2): "a"})
    await asyncio.sleep(0.2)  # let ZeroMQ flush before the socket closes
    client.close()
    await client.wait_closed()


async def publish(endpoint, topic):
    client = await aiozmq.rpc.connect_pubsub(connect=endpoint)
    loop = asyncio.get_running_loop()
    go = loop.run_in_executor(None, sys.stdin.readline)
    # The slow joiner: publish probes until the test says a probe has arrived.
    while not go.done():
        await client.publish(topic).probe()
        await asyncio.sleep(0.02)
    await client.publish(topic).record(7, when=dt.datetime(2024, 1, 2, tzinfo=UTC))
    await client.publish(topic + ".sub").ns.deep([1, 2])
    await client.publish("elsewhere").record("not for you")
    await asyncio.sleep(0.2)
    client.close()
    await client.wait_closed()


async def describe(endpoint):
    client = await aiozmq.rpc.connect_rpc(connect=endpoint, timeout=5)
    # The reserved name is no identifier: aiozmq reaches it with getattr.
    description = await getattr(client.call, "zrpc:describe")()
    out("DESCRIBED", json.dumps(description, sort_keys=True))
    client.close()
    await client.wait_closed()


def main():
    mode, *rest = sys.argv[1:]
    if mode.startswith("serve-"):
        coro = serve(mode, rest)
    elif mode == "call-rpc":
        coro = call_rpc(*rest)
    elif mode == "notify":
        coro = notify(*rest)
    elif mode == "publish":
        coro = publish(*rest)
    elif mode == "describe":
        coro = describe(*rest)
    else:
        raise SystemExit(f"unknown mode {mode}")
    asyncio.run(coro)


if __name__ == "__main__":
    main()
