"""A small Chrome DevTools Protocol client for the browser tests: starts Debian's headless
Chromium on a throwaway profile, drives one page over its WebSocket (RFC 6455, a client of
its own over the standard library) and does what a person does: click at an element's
centre, type, press keys, look (screenshots). Console errors and uncaught exceptions are
collected for the test to check.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3


class WsTimeout(Exception):
    pass


class WebSocket:
    """Text messages over one RFC 6455 connection: masked client frames, fragmented server
    messages joined, pings answered."""

    def __init__(self, url, timeout=60):
        u = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((u.hostname, u.port or 80), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        path = u.path + ("?" + u.query if u.query else "")
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n"
                           % (path, u.hostname, u.port or 80, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            head += chunk
        head, self.pending = head.split(b"\r\n\r\n", 1)
        want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if not head.startswith(b"HTTP/1.1 101") or want.encode() not in head:
            raise ConnectionError("websocket handshake refused: " + head[:200].decode("latin1"))

    def settimeout(self, t):
        self.sock.settimeout(t)

    def _read(self, n):
        while len(self.pending) < n:
            try:
                chunk = self.sock.recv(max(65536, n - len(self.pending)))
            except socket.timeout:
                raise WsTimeout()
            if not chunk:
                raise ConnectionError("websocket closed")
            self.pending += chunk
        out, self.pending = self.pending[:n], self.pending[n:]
        return out

    def _frame(self, opcode, payload):
        head = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def send(self, text):
        self._frame(0x1, text.encode())

    def recv(self):
        parts = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            op = b0 & 0x0F
            if op == 0x9:
                self._frame(0xA, data)
                continue
            if op == 0x8:
                raise ConnectionError("websocket closed by the browser")
            if op in (0x0, 0x1, 0x2):
                parts.append(data)
                if b0 & 0x80:
                    return b"".join(parts).decode("utf-8", "replace")

    def close(self):
        try:
            self._frame(0x8, b"")
        finally:
            self.sock.close()


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


class Browser:
    def __init__(self, binary, width=1400, height=900):
        self.profile = tempfile.mkdtemp(prefix="bnc-chromium-")
        args = [binary, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--metrics-recording-only", "--mute-audio",
                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                "--user-data-dir=" + self.profile, "--window-size=%d,%d" % (width, height),
                "about:blank"]
        self.errf = open(os.path.join(self.profile, "chromium.err"), "w+")
        self.p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.errf)
        port = self._port()
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10) as r:
            pages = [t for t in json.load(r) if t.get("type") == "page"]
        self.ws = WebSocket(pages[0]["webSocketDebuggerUrl"])
        self.next_id = 0
        self.events = []
        self.console_errors = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(domain + ".enable")

    def _port(self):
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while time.time() < deadline:
            if os.path.exists(path):
                with open(path) as f:
                    first = f.readline().strip()
                if first.isdigit():
                    return int(first)
            if self.p.poll() is not None:
                break
            time.sleep(0.1)
        self.errf.seek(0)
        raise RuntimeError("chromium did not start: " + self.errf.read()[-2000:])

    def _event(self, msg):
        self.events.append(msg)
        m, p = msg.get("method"), msg.get("params", {})
        if m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.console_errors.append("exception: " + d.get("text", "") + " " +
                                       str(d.get("exception", {}).get("description", "")))
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.console_errors.append("console.error: " + " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            self.console_errors.append("log: " + e.get("text", "") + " " + e.get("url", ""))

    def send(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self._event(msg)

    def pump(self, seconds=0.05):
        """Read the events that arrived meanwhile (console messages) without a command."""
        self.ws.settimeout(seconds)
        try:
            while True:
                self._event(json.loads(self.ws.recv()))
        except WsTimeout:
            pass
        finally:
            self.ws.settimeout(60)

    def js(self, expr, await_promise=True):
        r = self.send("Runtime.evaluate", expression=expr, returnByValue=True,
                      awaitPromise=await_promise)
        if "exceptionDetails" in r:
            raise RuntimeError("js failed: %s: %s" % (expr[:80], r["exceptionDetails"]))
        return r.get("result", {}).get("value")

    def wait(self, expr, timeout=15, what=None):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                v = self.js(expr)
            except RuntimeError:
                v = None  # the page is still loading
            if v:
                return v
            time.sleep(0.05)
        shown = self.js("(document.getElementById('status') || {}).textContent || ''")
        raise AssertionError("timed out waiting for %s (status line: %r)" % (what or expr, shown))

    def goto(self, url):
        self.js("document.body && (document.body.dataset.ready = '')")
        self.send("Page.navigate", url=url)
        self.wait("location.href === %s && document.readyState === 'complete'" % json.dumps(url),
                  what="loading " + url)

    def reload(self):
        self.js("window.__before_reload = true")
        self.send("Page.reload", ignoreCache=True)
        self.wait("!window.__before_reload && document.readyState === 'complete'",
                  what="the reload")

    def viewport(self, width, height, mobile=False):
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=mobile)

    def box(self, selector):
        r = self.js("(() => { const e = document.querySelector(%s); if (!e) return null;"
                    " e.scrollIntoView({block: 'center'}); const b = e.getBoundingClientRect();"
                    " return [b.left + b.width / 2, b.top + b.height / 2, b.width, b.height]; })()"
                    % json.dumps(selector))
        if r is None:
            raise AssertionError("no element " + selector)
        if r[2] == 0 or r[3] == 0:
            raise AssertionError("element not visible: " + selector)
        return r

    def click(self, selector):
        x, y, _, _ = self.box(selector)
        for t in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=t, x=x, y=y, button="left",
                      clickCount=1 if t != "mouseMoved" else 0)

    def type(self, selector, text, clear=True):
        self.click(selector)
        if clear:
            self.js("document.querySelector(%s).select && document.querySelector(%s).select()"
                    % (json.dumps(selector), json.dumps(selector)))
            self.key("Backspace")
        self.send("Input.insertText", text=text)

    KEYS = {"Enter": 13, "Tab": 9, "Escape": 27, "Backspace": 8, " ": 32}

    def key(self, name, shift=False):
        code = self.KEYS[name]
        mods = 8 if shift else 0
        text = "\r" if name == "Enter" else " " if name == " " else None
        down = dict(type="keyDown" if text else "rawKeyDown", key=name,
                    windowsVirtualKeyCode=code, modifiers=mods)
        if text:
            down["text"] = text
        self.send("Input.dispatchKeyEvent", **down)
        self.send("Input.dispatchKeyEvent", type="keyUp", key=name, windowsVirtualKeyCode=code,
                  modifiers=mods)

    def screenshot(self, path, max_height=None):
        """The whole page (or its first max_height CSS pixels) as a PNG file."""
        args = dict(format="png", captureBeyondViewport=True)
        if max_height:
            w, h = self.js("[document.documentElement.clientWidth, "
                           "document.scrollingElement.scrollHeight]")
            args["clip"] = dict(x=0, y=0, width=w, height=min(h, max_height), scale=1)
        r = self.send("Page.captureScreenshot", **args)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def downloads_to(self, directory):
        self.send("Page.setDownloadBehavior", behavior="allow", downloadPath=directory)

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        self.p.terminate()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def text_of(b, selector):
    return b.js("(document.querySelector(%s) || {}).textContent || ''" % json.dumps(selector))


def count(b, selector):
    return b.js("document.querySelectorAll(%s).length" % json.dumps(selector))


def squash(s):
    return re.sub(r"\s+", " ", s or "").strip()
