#!/usr/bin/python3
"""Python aiozmq.rpc's side of the benchmark; same roles and lines as worker.ts."""
import asyncio
import json
import sys
import time

import aiozmq.rpc

config = json.loads(sys.argv[1])


def say(line):
    print(line, flush=True)


def answer_until_eof():
    # "cpu" asks for the process's CPU time so far (all threads), in µs, as worker.ts answers.
    for line in sys.stdin:
        if line.strip() == "cpu":
            say("CPU %d" % (time.process_time() * 1e6))


async def stdin_closed():
    await asyncio.get_running_loop().run_in_executor(None, answer_until_eof)


class Bench(aiozmq.rpc.AttrHandler):
    @aiozmq.rpc.method
    def add(self, a, b):
        return a + b

    @aiozmq.rpc.method
    def echo(self, data):
        return data


class Sink(aiozmq.rpc.AttrHandler):
    def __init__(self):
        self.first = False
        self.count = 0
        self.start = 0.0
        self.done = False

    @aiozmq.rpc.method
    def take(self, a, b):
        if self.done:
            return
        if a == -2:
            if not self.first:
                self.first = True
                say("FIRST")
            return
        if a == -3:  # warm-up, not counted
            return
        if a == -1:
            self.done = True
            seconds = time.perf_counter() - self.start
            say("RESULT " + json.dumps({"count": self.count, "seconds": seconds, "rate": self.count / seconds}))
            return
        if self.count == 0:
            self.start = time.perf_counter()
        self.count += 1


def bind_endpoint(endpoint):
    return endpoint[:-2] + ":*" if endpoint.endswith(":0") else endpoint


async def rpc_server():
    server = await aiozmq.rpc.serve_rpc(Bench(), bind=bind_endpoint(config["endpoint"]))
    say("READY " + next(iter(server.transport.bindings())))
    await stdin_closed()
    server.close()


async def drive(call, inflight, seconds=None, calls=None):
    latencies = []
    start = time.perf_counter()
    stop_at = start + seconds if seconds else float("inf")
    target = calls or float("inf")
    started = 0

    async def lane():
        nonlocal started
        while started < target and time.perf_counter() < stop_at:
            started += 1
            t = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - t)

    await asyncio.gather(*(lane() for _ in range(inflight)))
    elapsed = time.perf_counter() - start
    latencies.sort()

    def at(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0

    return {"calls": len(latencies), "seconds": elapsed, "rate": len(latencies) / elapsed, "p50": at(0.5) * 1e6, "p99": at(0.99) * 1e6}


async def rpc_client():
    client = await aiozmq.rpc.connect_rpc(connect=config["endpoint"])
    payload = b"\x07" * config.get("payload", 0)
    if payload:
        call = lambda: client.call.echo(payload)  # noqa: E731
    else:
        call = lambda: client.call.add(1, 2)  # noqa: E731
    inflight = config.get("inflight", 1)
    await drive(call, inflight, seconds=1)  # the warm-up the Node clients do too
    say("WINDOW")
    cpu = time.process_time()
    result = await drive(call, inflight, seconds=config.get("seconds", 2), calls=config.get("calls"))
    result["cpu"] = (time.process_time() - cpu) * 1e6
    say("RESULT " + json.dumps(result))
    client.close()


async def sink_server():
    if config.get("pattern") == "pubsub":
        server = await aiozmq.rpc.serve_pubsub(Sink(), connect=config["endpoint"], subscribe="")
        say("READY " + config["endpoint"])
    else:
        server = await aiozmq.rpc.serve_pipeline(Sink(), bind=bind_endpoint(config["endpoint"]))
        say("READY " + next(iter(server.transport.bindings())))
    await stdin_closed()
    server.close()


async def sink_client():
    loop = asyncio.get_running_loop()
    if config.get("pattern") == "pubsub":
        client = await aiozmq.rpc.connect_pubsub(bind=bind_endpoint(config["endpoint"]))
        endpoint = next(iter(client.transport.bindings()))
        send = lambda a: client.publish("bench").take(a, 0)  # noqa: E731
    else:
        client = await aiozmq.rpc.connect_pipeline(connect=config["endpoint"])
        endpoint = config["endpoint"]
        send = lambda a: client.notify.take(a, 0)  # noqa: E731
    say("READY " + endpoint)
    go = loop.run_in_executor(None, sys.stdin.readline)
    while not go.done():
        await send(-2)
        await asyncio.sleep(0.005)
    warm_until = time.perf_counter() + 1  # the warm-up the Node senders do too
    while time.perf_counter() < warm_until:
        await send(-3)
    start = time.perf_counter()
    stop_at = start + config.get("seconds", 2)
    n = 0
    while time.perf_counter() < stop_at:
        await send(1)
        n += 1
    seconds = time.perf_counter() - start
    for _ in range(50):
        await send(-1)
        await asyncio.sleep(0.002)
    say("RESULT " + json.dumps({"sent": n, "seconds": seconds, "rate": n / seconds}))
    await stdin_closed()
    client.close()


roles = {"rpc-server": rpc_server, "rpc-client": rpc_client, "sink-server": sink_server, "sink-client": sink_client}
asyncio.run(roles[config["role"]]())
