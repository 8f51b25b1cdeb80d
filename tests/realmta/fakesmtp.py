"""Scriptable remote SMTP server for the real-MTA corpus generator.

One asyncio server bound on many loopback addresses, port 25, inside the generator's
private network namespace.  What it answers is decided by the reply catalogue:

* an address of its own (127.1.x.y) belongs to one catalogue entry whose stage is decided
  before any recipient is known (greeting, helo, mail, drop) or applies to the whole
  message (data, eod): every session on that address gets that entry's reply at that stage;
* on the shared address of rcpt.test, each recipient's local part names a catalogue entry
  (``<id>@rcpt.test``): rcpt entries answer that RCPT TO, data/eod entries answer DATA or
  the end of data of a message whose first recipient names them; any other local part is
  accepted and the message discarded (the "ok" recipient of a multi-recipient case);
* bounce.test is the catcher: the MTAs send their bounces and delay notices for the
  envelope senders ``<mta>.<case>@bounce.test`` there, and each message is stored as it
  arrived (dot-unstuffed, CRLF line ends turned into LF as a local delivery agent does).

A drop entry's id says where the connection is closed: after-connect, after-ehlo,
after-rcpt, after-eod, tarpit (never answers), anything else right after DATA's 354.
"""
import asyncio
import os
import re

ADDR_RE = re.compile(rb"<([^>]*)>")


def reply_lines(reply):
    """Catalogue reply (literal \\n between lines) -> bytes to send, CRLF-terminated."""
    lines = [l for l in reply.replace("\\r", "").split("\\n")]
    return b"".join(l.encode("utf-8") + b"\r\n" for l in lines)


def reply_code(reply):
    m = re.match(r"\s*([2-5]\d\d)", reply or "")
    return m.group(1) if m else ""


class FakeSMTP:
    def __init__(self, entries, conn_addrs, rcpt_addr, catch_addr, catch_dir, log=None):
        self.entries = entries            # id -> entry dict
        self.conn_addrs = conn_addrs      # ip -> entry id (connection-level entries)
        self.rcpt_addr = rcpt_addr
        self.catch_addr = catch_addr
        self.catch_dir = catch_dir
        self.seq = 0
        self.servers = []
        self.log = log

    async def start(self):
        addrs = list(self.conn_addrs) + [self.rcpt_addr, self.catch_addr]
        for ip in addrs:
            srv = await asyncio.start_server(self.session, ip, 25, reuse_address=True)
            self.servers.append(srv)

    def close(self):
        for s in self.servers:
            s.close()

    def store(self, rcpts, data):
        data = data.replace(b"\r\n", b"\n")
        for r in rcpts:
            local = r.split("@", 1)[0]
            d = os.path.join(self.catch_dir, local)
            os.makedirs(d, exist_ok=True)
            self.seq += 1
            with open(os.path.join(d, "%06d.eml" % self.seq), "wb") as fh:
                fh.write(data)

    async def session(self, reader, writer):
        ip = writer.get_extra_info("sockname")[0]
        conn = self.entries.get(self.conn_addrs.get(ip, ""))
        try:
            await self._session(reader, writer, ip, conn)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            pass
        except asyncio.CancelledError:
            pass  # the generator is stopping: a session still open (the tarpit) just ends
        finally:
            try:
                writer.close()
            except Exception:
                pass

    async def _session(self, reader, writer, ip, conn):
        stage = conn["stage"] if conn else ""
        cid = conn["id"] if conn else ""
        drop = stage == "drop"

        async def send(b):
            writer.write(b)
            await writer.drain()

        async def refuse_rest(reply):
            # after a refused greeting: wait for QUIT, 503 to anything else (RFC 5321 3.1)
            await send(reply_lines(reply))
            if reply_code(reply).startswith("421"):
                return
            while True:
                line = await asyncio.wait_for(reader.readline(), 120)
                if not line:
                    return
                if line[:4].upper() == b"QUIT":
                    await send(b"221 2.0.0 Bye\r\n")
                    return
                await send(b"503 5.5.1 Bad sequence of commands\r\n")

        if drop and ("after-connect" in cid):
            return
        if drop and "tarpit" in cid:
            while await reader.read(4096):
                pass
            return
        if stage == "greeting":
            await refuse_rest(conn["reply"])
            return
        await send(b"220 mx.remote.test ESMTP fake\r\n")
        sender = None
        rcpts = []          # (address, entry or None)
        while True:
            line = await asyncio.wait_for(reader.readline(), 300)
            if not line:
                return
            cmd = line[:4].upper()
            if cmd in (b"EHLO", b"HELO"):
                if drop and "after-ehlo" in cid:
                    return
                if stage == "helo":
                    await send(reply_lines(conn["reply"]))
                    if reply_code(conn["reply"]).startswith("421"):
                        return
                    continue
                if cmd == b"EHLO":
                    await send(b"250-mx.remote.test\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n"
                               b"250 ENHANCEDSTATUSCODES\r\n")
                else:
                    await send(b"250 mx.remote.test\r\n")
            elif cmd == b"MAIL":
                if stage == "mail":
                    await send(reply_lines(conn["reply"]))
                    if reply_code(conn["reply"]).startswith("421"):
                        return
                    continue
                sender = line
                rcpts = []
                await send(b"250 2.1.0 Ok\r\n")
            elif cmd == b"RCPT":
                if sender is None:
                    await send(b"503 5.5.1 Error: need MAIL command\r\n")
                    continue
                m = ADDR_RE.search(line)
                addr = m.group(1).decode("utf-8", "replace") if m else ""
                local, _, dom = addr.partition("@")
                ent = conn
                if ip == self.rcpt_addr:
                    ent = self.entries.get(local.lower())
                if ent and ent["stage"] == "rcpt":
                    await send(reply_lines(ent["reply"]))
                    if reply_code(ent["reply"]).startswith("421"):
                        return
                    continue
                if drop and "after-rcpt" in cid:
                    return
                rcpts.append((addr, ent))
                await send(b"250 2.1.5 Ok\r\n")
            elif cmd == b"DATA":
                if not rcpts:
                    await send(b"503 5.5.1 Error: no valid recipients\r\n")
                    continue
                ent = conn
                if ent is None:
                    ent = next((e for _, e in rcpts if e and e["stage"] in ("data", "eod", "drop")), None)
                est = ent["stage"] if ent else ""
                eid = ent["id"] if ent else ""
                if est == "data":
                    await send(reply_lines(ent["reply"]))
                    if reply_code(ent["reply"]).startswith("421"):
                        return
                    continue
                await send(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                if est == "drop" and "after-eod" not in eid:
                    return
                buf = []
                while True:
                    l = await asyncio.wait_for(reader.readline(), 300)
                    if not l:
                        return
                    if l in (b".\r\n", b".\n"):
                        break
                    if l.startswith(b"."):
                        l = l[1:]
                    buf.append(l)
                if est == "drop":
                    return
                if est == "eod":
                    await send(reply_lines(ent["reply"]))
                    if reply_code(ent["reply"]).startswith("421"):
                        return
                else:
                    if ip == self.catch_addr:
                        self.store([a for a, _ in rcpts], b"".join(buf))
                    await send(b"250 2.0.0 Ok: queued\r\n")
                sender = None
                rcpts = []
            elif cmd == b"RSET":
                sender = None
                rcpts = []
                await send(b"250 2.0.0 Ok\r\n")
            elif cmd == b"NOOP":
                await send(b"250 2.0.0 Ok\r\n")
            elif cmd == b"QUIT":
                await send(b"221 2.0.0 Bye\r\n")
                return
            else:
                await send(b"502 5.5.2 Error: command not recognized\r\n")
