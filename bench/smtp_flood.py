#!/usr/bin/env python3
"""SMTP load generator for bench/run_smtp.sh: C connections each send M DSNs (unique
recipients) with PIPELINING (MAIL, RCPT and DATA in one write, the body and the next envelope
in the next), and report how many got 250 and how fast. Stdlib only (asyncio).

usage: smtp_flood.py PORT CONNECTIONS MESSAGES_PER_CONNECTION [FIRST_INDEX]
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


async def conn(port, k, m, first, stats):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if await reply(reader) != 220:
        raise ConnectionError("no greeting")
    writer.write(b"EHLO flood.example\r\n")
    await writer.drain()
    await reply(reader)
    envelope = b"MAIL FROM:<>\r\nRCPT TO:<bounces@bounce.example>\r\nDATA\r\n"
    writer.write(envelope)
    for i in range(m):
        n = first + k * m + i
        body = dot_stuff(make_dsn("load%d@dest.example" % n, 900000 + n)).encode() + b".\r\n"
        codes = [await reply(reader) for _ in range(3)]
        if codes != [250, 250, 354]:
            stats["failed"] += 1
            writer.write(b"RSET\r\n")
            continue
        # the body, then the next envelope right behind it (PIPELINING)
        writer.write(body + (envelope if i + 1 < m else b"QUIT\r\n"))
        await writer.drain()
        if await reply(reader) == 250:
            stats["accepted"] += 1
        else:
            stats["failed"] += 1
    writer.close()


async def main():
    port, c, m = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    stats = {"accepted": 0, "failed": 0}
    t0 = time.time()
    res = await asyncio.gather(*(conn(port, k, m, first, stats) for k in range(c)), return_exceptions=True)
    dt = time.time() - t0
    errs = [r for r in res if isinstance(r, Exception)]
    print("accepted=%d failed=%d conn_errors=%d seconds=%.3f rate=%.0f"
          % (stats["accepted"], stats["failed"], len(errs), dt, stats["accepted"] / dt if dt > 0 else 0))


asyncio.run(main())
