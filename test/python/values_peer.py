#!/usr/bin/python3
"""aiozmq.rpc as the other end of zrpc's values, errors and call-encoding tests.

Run with Debian's /usr/bin/python3 (python3-aiozmq). Modes:
  serve-rpc | serve-pipeline | serve-pubsub TOPIC   bind tcp://127.0.0.1:*, print
      "READY <endpoint>", then one line per one-way call received
  call-rpc ENDPOINT PART   call a zrpc server (PART: bigint, translators, errors) and
      print one "label repr" line per result
Both sides share a translation table where B subclasses A: {1: A, 2: B}.
"""
import asyncio
import sys

import aiozmq.rpc


def out(*parts):
    print(*parts, flush=True)


class A:
    def __init__(self, x):
        self.x = x


class B(A):
    pass


TABLE = {
    1: (A, lambda a: str(a.x).encode(), lambda data: A(int(data))),
    2: (B, lambda b: str(b.x).encode(), lambda data: B(int(data))),
}


class Api(aiozmq.rpc.AttrHandler):
    @aiozmq.rpc.method
    def echo(self, value):
        return value

    @aiozmq.rpc.method
    def which(self, value):
        return f"{type(value).__name__}({value.x})"

    @aiozmq.rpc.method
    def make_b(self, x):
        return B(x)

    @aiozmq.rpc.method
    def fail(self, kind):
        raise {
            "type": TypeError("note must not be boom"),
            "value": ValueError("bad value", 42),
            "empty": Exception(),
            "key": KeyError("missing"),
        }[kind]


class Worker(aiozmq.rpc.AttrHandler):
    @aiozmq.rpc.method
    def record(self, a, b="default"):
        out("CALL record", repr(a), repr(b))


async def serve(kind, topics):
    if kind == "serve-rpc":
        server = await aiozmq.rpc.serve_rpc(Api(), bind="tcp://127.0.0.1:*", translation_table=TABLE)
    elif kind == "serve-pipeline":
        server = await aiozmq.rpc.serve_pipeline(Worker(), bind="tcp://127.0.0.1:*")
    else:
        server = await aiozmq.rpc.serve_pubsub(Worker(), bind="tcp://127.0.0.1:*", subscribe=topics)
    out("READY", next(iter(server.transport.bindings())))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.close()
    await server.wait_closed()


async def call_rpc(endpoint, part):
    client = await aiozmq.rpc.connect_rpc(connect=endpoint, timeout=5, translation_table=TABLE)

    async def show(label, call):
        try:
            out(label, repr(await call))
        except Exception as exc:
            out(label, "RAISED", f"{type(exc).__module__}.{type(exc).__name__}", repr(exc.args), str(exc))

    if part == "bigint":
        await show("price", client.call.price(1999))
        await show("price_kw", client.call.price(cents=7))
        await show("total", client.call.total({"amount": 5, "items": [1, 2]}))
    elif part == "translators":
        await show("which_b", client.call.which(B(3)))
        await show("which_a", client.call.which(A(4)))
        b = await client.call.make_b(5)
        out("make_b", f"{type(b).__name__}({b.x})")
    elif part == "errors":
        await show("type", client.call.fail("type"))
        await show("range", client.call.fail("range"))
    client.close()
    await client.wait_closed()


def main():
    mode, *rest = sys.argv[1:]
    if mode.startswith("serve-"):
        asyncio.run(serve(mode, rest))
    elif mode == "call-rpc":
        asyncio.run(call_rpc(*rest))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
