#!/usr/bin/python3
"""The real aiozmq.rpc, instrumented, for the tests of zrpc's call context against Python
(test/python-context.test.ts). Run with Debian's /usr/bin/python3 (python3-aiozmq).

aiozmq itself is not changed: this process wraps its server protocol's methods and its
client's reply reader, so it can say what arrived and what ran. Modes:

  serve [CURVE_SECRET_KEY]   an RPC server (log_exceptions on) bound to tcp://127.0.0.1:*,
      with CURVE when given a secret key (Z85). Prints "READY <endpoint>", then:
        RECV <peer> <frames> <context> <method>   every message the ROUTER hands aiozmq;
            <peer> is the routing identity in hex (one per connection), <context> is
            none, call, cancel or other: the kind of a zrpc context frame in front
        LOOKUP <name>                             every name the handler is asked for
        RAN <method> <json args>                  a handler method starts running
        DONE <method>                             an async one finished
        ANSWER <peer> <method> <outcome> <pre>    aiozmq answers: ok, or the exception's
            qualified name; <pre> counts the frames it sends back ahead of the reply
        LOG <level> <first line>                  aiozmq's own log
      Stops when stdin closes.

  client ENDPOINT [SERVER_KEY PUBLIC_KEY SECRET_KEY]   an aiozmq RPC client, over CURVE
      when given the keys (Z85). Each stdin line is a JSON call
      {"label", "method", "args", "kwargs", "timeout"} (timeout in seconds), run as its
      own task; prints "FRAMES <n>" for every reply aiozmq reads, then
      "RESULT <label> <json>": {"ok": value} or {"error": type, "args": [...]}.
      Stops when stdin closes, once its calls are done.
"""
import asyncio
import json
import logging
import sys

import zmq
import aiozmq.rpc
from aiozmq.rpc import rpc as _rpc

MAGIC = b"\x00zrpc"
CONTEXT_KINDS = {1: "call", 2: "cancel"}


def out(*parts):
    print(*parts, flush=True)


def as_json(value):
    return json.dumps(value, default=repr, sort_keys=True)


class _PrintLog(logging.Handler):
    def emit(self, record):
        out("LOG", record.levelname, record.getMessage().split("\n")[0])


def context_kind(data):
    """What a zrpc context frame before the header says, if there is one."""
    if len(data) < 6 or not data[-5].startswith(MAGIC):
        return "none"
    frame = data[-5]
    return CONTEXT_KINDS.get(frame[6], "other") if len(frame) >= 7 else "other"


def instrument_server():
    received = _rpc._ServerProtocol.msg_received
    answered = _rpc._ServerProtocol.process_call_result

    def msg_received(self, data):
        name = data[-3].decode("utf-8", "replace") if len(data) >= 4 else "?"
        out("RECV", data[0].hex(), len(data), context_kind(data), name)
        return received(self, data)

    def process_call_result(self, fut, *, req_id, pre, name, args, kwargs):
        if fut.cancelled():
            outcome = "cancelled"
        elif fut.exception() is not None:
            exc = type(fut.exception())
            outcome = f"{exc.__module__}.{exc.__qualname__}"
        else:
            outcome = "ok"
        out("ANSWER", pre[0].hex() if pre else "-", name, outcome, len(pre))
        return answered(self, fut, req_id=req_id, pre=pre, name=name, args=args, kwargs=kwargs)

    _rpc._ServerProtocol.msg_received = msg_received
    _rpc._ServerProtocol.process_call_result = process_call_result


def ran(name, *args):
    out("RAN", name, as_json(args))


class Recorded(aiozmq.rpc.AttrHandler):
    """Every name aiozmq looks up in the handler is printed: a cancel's is looked up and not found."""

    def __getitem__(self, key):
        out("LOOKUP", key)
        return super().__getitem__(key)


class Billing(Recorded):
    @aiozmq.rpc.method
    def refund(self, id, amount=0):
        ran("billing.refund", id, amount)
        return f"{id}:{amount}"


class Api(Recorded):
    billing = Billing()

    @aiozmq.rpc.method
    def add(self, a, b=1):
        ran("add", a, b)
        return a + b

    @aiozmq.rpc.method
    def echo(self, value):
        ran("echo", value)
        return value

    @aiozmq.rpc.method
    def fail(self, message):
        ran("fail", message)
        raise ValueError(message, 42)

    @aiozmq.rpc.method
    async def sleep(self, seconds):
        ran("sleep", seconds)
        await asyncio.sleep(seconds)
        out("DONE", "sleep")
        return seconds


async def serve(secret_key=None):
    instrument_server()
    log = logging.getLogger("aiozmq.rpc")
    log.addHandler(_PrintLog())
    log.setLevel(logging.DEBUG)
    log.propagate = False
    server = await aiozmq.rpc.serve_rpc(Api(), log_exceptions=True)
    if secret_key:
        server.transport.setsockopt(zmq.CURVE_SERVER, 1)
        server.transport.setsockopt(zmq.CURVE_SECRETKEY, secret_key.encode("ascii"))
    endpoint = await server.transport.bind("tcp://127.0.0.1:*")
    out("READY", endpoint)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.close()
    await server.wait_closed()


def instrument_client():
    received = _rpc._ClientProtocol.msg_received

    def msg_received(self, data):
        out("FRAMES", len(data))
        return received(self, data)

    _rpc._ClientProtocol.msg_received = msg_received


async def client(endpoint, *curve_keys):
    instrument_client()
    rpc = await aiozmq.rpc.connect_rpc(timeout=5)
    if curve_keys:
        for option, key in zip((zmq.CURVE_SERVERKEY, zmq.CURVE_PUBLICKEY, zmq.CURVE_SECRETKEY), curve_keys):
            rpc.transport.setsockopt(option, key.encode("ascii"))
    await rpc.transport.connect(endpoint)

    async def run(request):
        label = request["label"]
        caller = rpc.with_timeout(request["timeout"]) if request.get("timeout") else rpc
        target = caller.call
        for part in request["method"].split("."):
            target = getattr(target, part)
        try:
            value = await target(*request.get("args", []), **request.get("kwargs", {}))
            out("RESULT", label, as_json({"ok": value}))
        except Exception as exc:
            kind = type(exc)
            out("RESULT", label, as_json({"error": f"{kind.__module__}.{kind.__qualname__}", "args": list(exc.args)}))

    loop = asyncio.get_running_loop()
    tasks = []
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        tasks.append(asyncio.ensure_future(run(json.loads(line))))
    await asyncio.gather(*tasks)
    rpc.close()
    await rpc.wait_closed()


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    modes = {"serve": serve, "client": client}
    if mode not in modes:
        raise SystemExit(f"unknown mode {mode}")
    asyncio.run(modes[mode](*rest))
