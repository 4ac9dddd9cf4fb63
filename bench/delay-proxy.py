#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A TCP proxy that delays every byte by DELAY_MS in each direction, for
# bench/bench-pull-netem.sh MODE=proxy (where the kernel has no netem, the
# default is bench/tun-delay, which delays packets; this one is kept for
# comparison, as it delays bytes, not the handshake nor ACKs): listens on
# 127.0.0.1 (port printed on stdout), forwards to TARGET_HOST:TARGET_PORT.
# Each chunk read is written DELAY_MS after it arrived, in order, so a
# request and its answer take 2 * DELAY_MS more, as with netem on both ends
# of a link. Not emulated: the delay of the TCP handshake itself (the proxy
# accepts at once), loss, and bandwidth limits (buffers are unbounded).
# Usage: delay-proxy.py TARGET_HOST TARGET_PORT DELAY_MS
import asyncio
import sys

host, port, delay = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) / 1000.0


async def pump(reader, writer):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def sender():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    task = asyncio.create_task(sender())
    try:
        while True:
            data = await reader.read(262144)
            if not data:
                break
            queue.put_nowait((loop.time() + delay, data))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait((loop.time() + delay, None))
    try:
        await task
    except (ConnectionError, OSError):
        pass


async def handle(creader, cwriter):
    try:
        sreader, swriter = await asyncio.open_connection(host, port)
    except OSError:
        cwriter.close()
        return
    await asyncio.gather(pump(creader, swriter), pump(sreader, cwriter), return_exceptions=True)
    for w in (cwriter, swriter):
        try:
            w.close()
        except OSError:
            pass


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
