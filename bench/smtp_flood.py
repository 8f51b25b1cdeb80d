#!/usr/bin/env python3
"""SMTP load generator for bench/run_smtp.sh: C connections each send M DSNs (unique
recipients) with PIPELINING (MAIL, RCPT and DATA in one write, the body and the next envelope
in the next), and report how many got 250 and how fast. Stdlib only (asyncio).

usage: smtp_flood.py PORT CONNECTIONS MESSAGES_PER_CONNECTION [FIRST_INDEX]
(with BNC_FLOOD_WAIT set it prints "ready" once its messages are built and waits for a line
on stdin before it connects)
prints: accepted=N failed=N seconds=S rate=R"""

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "it"))
from smtp_harness import dot_stuff, make_dsn  # noqa: E402


async def reply(reader):
    last = b""
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        last = line
        if line[3:4] != b"-":
            return int(last[:3])


async def replies(reader, buf, n):
    """Read until n complete reply lines (single-line replies) are buffered; their codes."""
    while buf.count(b"\n") < n:
        chunk = await reader.read(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf.extend(chunk)
    codes = []
    for _ in range(n):
        i = buf.index(b"\n")
        codes.append(int(buf[:3]))
        del buf[: i + 1]
    return codes


def build(k, m, first):
    return [dot_stuff(make_dsn("load%d@dest.example" % n, 900000 + n)).encode() + b".\r\n"
            for n in range(first + k * m, first + k * m + m)]


async def conn(port, bodies, m, stats):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if await reply(reader) != 220:
        raise ConnectionError("no greeting")
    writer.write(b"EHLO flood.example\r\n")
    await writer.drain()
    await reply(reader)
    envelope = b"MAIL FROM:<>\r\nRCPT TO:<bounces@bounce.example>\r\nDATA\r\n"
    buf = bytearray()
    writer.write(envelope)
    codes = await replies(reader, buf, 3)
    for i in range(m):
        if codes[-3:] != [250, 250, 354]:
            stats["failed"] += 1
            break
        # the body, then the next envelope right behind it (PIPELINING)
        last = i + 1 == m
        writer.write(bodies[i] + (b"QUIT\r\n" if last else envelope))
        codes = await replies(reader, buf, 2 if last else 4)
        if codes[0] == 250:
            stats["accepted"] += 1
        else:
            stats["failed"] += 1
    writer.close()


async def main():
    port, c, m = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    stats = {"accepted": 0, "failed": 0}
    # the messages are built before the clock starts: the client's own cost stays out
    bodies = [build(k, m, first) for k in range(c)]
    if os.environ.get("BNC_FLOOD_WAIT"):
        # started by smtp_bench.py: say we are ready, wait for "go" so all clients start at once
        print("ready", flush=True)
        sys.stdin.readline()
    t0 = time.time()
    res = await asyncio.gather(*(conn(port, bodies[k], m, stats) for k in range(c)), return_exceptions=True)
    dt = time.time() - t0
    errs = [r for r in res if isinstance(r, Exception)]
    print("accepted=%d failed=%d conn_errors=%d seconds=%.3f rate=%.0f"
          % (stats["accepted"], stats["failed"], len(errs), dt, stats["accepted"] / dt if dt > 0 else 0))


asyncio.run(main())
