#!/usr/bin/env python3
"""Opens N Server-Sent Events streams on one entry of a running RepoWatch, for `make bench` (scripts/bench-live.sh).

Usage: bench-sse-clients.py HOST PORT KEY ENTRY_ID N READY_FILE GO_FILE OUT_JSON

Connects N streams (plain sockets, asyncio), waits until every one has its first event (the current status), then
writes READY_FILE and waits for GO_FILE; from then on it times how long each stream takes to receive the `deleted`
event (the driver deletes the entry) and writes {connected, first_event_s, fanout_ms: {median, p99, max}} to OUT_JSON.
"""
import asyncio
import json
import os
import sys
import time

host, port, key, entry, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
ready_file, go_file, out_path = sys.argv[6], sys.argv[7], sys.argv[8]

request = (
    f"GET /v1/watchlist/{entry}/events HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
    "Accept: text/event-stream\r\n\r\n"
).encode()


async def stream(first, deleted, go_time):
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
    writer.write(request)
    await writer.drain()
    seen_first = False
    buffer = b""
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            break
        buffer += chunk
        if not seen_first and b"event: status" in buffer:
            seen_first = True
            first.append(time.monotonic())
        if b"event: deleted" in buffer:
            deleted.append(time.monotonic() - go_time[0])
            break
        if len(buffer) > 1 << 16:
            buffer = buffer[-4096:]
    writer.close()


async def main():
    first, deleted, go_time = [], [], [0.0]
    started = time.monotonic()
    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(stream(first, deleted, go_time)))
        if i % 50 == 49:
            await asyncio.sleep(0.01)
    while len(first) < n and time.monotonic() - started < 120:
        await asyncio.sleep(0.05)
    connected_in = time.monotonic() - started
    open(ready_file, "w").write(str(len(first)))
    while not os.path.exists(go_file):
        await asyncio.sleep(0.01)
    go_time[0] = float(open(go_file).read().strip() or time.monotonic())
    await asyncio.wait(tasks, timeout=60)
    lat = sorted(d * 1000 for d in deleted)
    def pct(p):
        return lat[min(len(lat) - 1, max(0, int(len(lat) * p + 0.999) - 1))] if lat else None
    json.dump({"connected": len(first), "connect_all_s": round(connected_in, 2), "deleted_received": len(lat),
               "fanout_ms": {"median": pct(0.5), "p99": pct(0.99), "max": lat[-1] if lat else None}}, open(out_path, "w"))


asyncio.run(main())
