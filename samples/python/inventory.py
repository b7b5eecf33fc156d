#!/usr/bin/python3
"""The Python half of the "Talking to Python" sample (Debian's python3-aiozmq).

  inventory.py serve           an aiozmq.rpc inventory service; prints "READY <endpoint>"
                               and serves until stdin closes
  inventory.py call ENDPOINT   calls the zrpc pricing service at ENDPOINT and prints results
"""
import asyncio
import datetime as dt
import sys

import aiozmq.rpc


class Stock(aiozmq.rpc.AttrHandler):
    def __init__(self):
        self.levels = {"apple": 12, "pear": 0}

    @aiozmq.rpc.method
    def level(self, item):
        if item not in self.levels:
            raise KeyError(item)
        return self.levels[item]

    @aiozmq.rpc.method
    def restock(self, item, count=1, *, when=None):
        self.levels[item] = self.levels.get(item, 0) + count
        return {"item": item, "level": self.levels[item], "at": when or dt.datetime.now(dt.timezone.utc)}


class Inventory(aiozmq.rpc.AttrHandler):
    stock = Stock()


async def serve():
    server = await aiozmq.rpc.serve_rpc(Inventory(), bind="tcp://127.0.0.1:*")
    print("READY", next(iter(server.transport.bindings())), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.close()
    await server.wait_closed()


async def call(endpoint):
    client = await aiozmq.rpc.connect_rpc(connect=endpoint, timeout=5)
    print("python → zrpc: quote('apple', 3) =", await client.call.pricing.quote("apple", 3), flush=True)
    print("python → zrpc: quote('apple', qty=2, day=date(2024, 12, 24)) =",
          await client.call.pricing.quote("apple", qty=2, day=dt.date(2024, 12, 24)), flush=True)
    try:
        await client.call.pricing.quote("apple", -1)
    except aiozmq.rpc.ParametersError as exc:
        print("python → zrpc: quote('apple', -1) raised ParametersError:", exc.args[0], flush=True)
    client.close()
    await client.wait_closed()


if __name__ == "__main__":
    asyncio.run(serve() if sys.argv[1] == "serve" else call(sys.argv[2]))
