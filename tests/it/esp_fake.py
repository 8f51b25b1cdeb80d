"""Local fakes of the suppression APIs of SES (API v2), SendGrid (v3 global suppressions),
Mailgun (v3 bounces) and Postmark (message-stream suppressions): the endpoints, request
bodies, pagination and authentication bounced uses, as the vendors document them
(docs/guards.md), kept in memory. Each vendor's list is a dict address -> record; every
request is logged (method, path, headers, body) so a test can look at what was sent.
Not a test itself: test_esp_sync.py imports it."""
import base64
import http.server
import json
import threading
import urllib.parse

SES_KEY = "AKIDTEST"
SG_KEY = "SG.test-key"
MG_KEY = "key-test"
MG_DOMAIN = "mg.shop.example"
PM_TOKEN = "pm-server-token"
PM_STREAM = "outbound"


class State:
    def __init__(self):
        self.lists = {"ses": {}, "sendgrid": {}, "mailgun": {}, "postmark": {}}
        self.log = []
        self.mailgun_next = None  # override paging.next (a hostile URL)
        self.lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    state = None
    base = ""

    def log_message(self, *a):
        pass

    def reply(self, code, obj=None):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""

    def route(self, method):
        u = urllib.parse.urlsplit(self.path)
        path, qs = urllib.parse.unquote(u.path), urllib.parse.parse_qs(u.query)
        data = self.body()
        with self.state.lock:
            self.state.log.append((method, self.path, dict(self.headers), data))
            for prefix, fn in (("/v2/email/suppression", self.ses), ("/v3/asm", self.sendgrid),
                               ("/v3/suppression", self.sendgrid), ("/v3/" + MG_DOMAIN,
                                                                     self.mailgun),
                               ("/message-streams/", self.postmark)):
                if path.startswith(prefix):
                    return fn(method, path, qs, data)
        return self.reply(404, {"message": "no such endpoint"})

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def do_DELETE(self):
        self.route("DELETE")

    # SES API v2: ListSuppressedDestinations / PutSuppressedDestination /
    # DeleteSuppressedDestination, SigV4-signed
    def ses(self, method, path, qs, data):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 Credential=%s/" % SES_KEY) or \
                "/ses/aws4_request" not in auth:
            return self.reply(403, {"message": "bad signature"})
        lst = self.state.lists["ses"]
        if method == "GET" and path == "/v2/email/suppression/addresses":
            keys = sorted(lst)
            start = int(qs.get("NextToken", ["0"])[0])
            size = int(qs.get("PageSize", ["100"])[0])
            page = keys[start:start + min(size, 2)]  # small pages: pagination is exercised
            out = {"SuppressedDestinationSummaries": [
                {"EmailAddress": a, "Reason": lst[a]} for a in page]}
            if start + len(page) < len(keys):
                out["NextToken"] = str(start + len(page))
            return self.reply(200, out)
        if method == "PUT" and path == "/v2/email/suppression/addresses":
            d = json.loads(data)
            if d.get("Reason") not in ("BOUNCE", "COMPLAINT"):
                return self.reply(400, {"message": "Reason"})
            lst[d["EmailAddress"]] = d["Reason"]
            return self.reply(200, {})
        if method == "DELETE" and path.startswith("/v2/email/suppression/addresses/"):
            a = path.rsplit("/", 1)[1]
            if a not in lst:
                return self.reply(404, {"message": "not found"})
            del lst[a]
            return self.reply(200, {})
        return self.reply(404, {})

    # SendGrid v3: global suppressions, listed through /suppression/unsubscribes
    def sendgrid(self, method, path, qs, data):
        if self.headers.get("Authorization") != "Bearer " + SG_KEY:
            return self.reply(401, {"errors": [{"message": "authorization required"}]})
        lst = self.state.lists["sendgrid"]
        if method == "GET" and path == "/v3/suppression/unsubscribes":
            limit, offset = int(qs["limit"][0]), int(qs.get("offset", ["0"])[0])
            keys = sorted(lst)[offset:offset + limit]
            return self.reply(200, [{"email": a, "created": 1700000000} for a in keys])
        if method == "POST" and path == "/v3/asm/suppressions/global":
            d = json.loads(data)
            for a in d["recipient_emails"]:
                lst[a] = True
            return self.reply(201, d)
        if method == "DELETE" and path.startswith("/v3/asm/suppressions/global/"):
            lst.pop(path.rsplit("/", 1)[1], None)
            return self.reply(204)
        return self.reply(404, {})

    # Mailgun v3: the bounce list of one domain, Basic auth api:KEY, paging.next URLs
    def mailgun(self, method, path, qs, data):
        want = "Basic " + base64.b64encode(("api:" + MG_KEY).encode()).decode()
        if self.headers.get("Authorization") != want:
            return self.reply(401, {"message": "Forbidden"})
        lst = self.state.lists["mailgun"]
        root = "/v3/%s/bounces" % MG_DOMAIN
        if method == "GET" and path == root:
            keys = sorted(lst)
            after = qs.get("page_after", [""])[0]
            keys = [k for k in keys if k > after][:2]
            nxt = self.state.mailgun_next or "%s%s?page_after=%s&limit=1000" % (
                self.base, root, urllib.parse.quote(keys[-1] if keys else "~"))
            return self.reply(200, {"items": [dict(lst[k], address=k) for k in keys],
                                    "paging": {"next": nxt}})
        if method == "POST" and path == root:
            items = json.loads(data)
            if not isinstance(items, list) or len(items) > 1000:
                return self.reply(400, {"message": "a JSON array of up to 1000"})
            for it in items:
                if not all(k in it for k in ("address", "code", "error", "created_at")):
                    return self.reply(400, {"message": "missing field"})
                lst[it["address"]] = {"code": it["code"], "error": it["error"],
                                      "created_at": it["created_at"]}
            return self.reply(200, {"message": "%d addresses added" % len(items)})
        if method == "DELETE" and path.startswith(root + "/"):
            a = path[len(root) + 1:]
            if a not in lst:
                return self.reply(404, {"message": "not found"})
            del lst[a]
            return self.reply(200, {"message": "removed"})
        return self.reply(404, {})

    # Postmark: suppressions of one message stream, X-Postmark-Server-Token, 50 per request
    def postmark(self, method, path, qs, data):
        if self.headers.get("X-Postmark-Server-Token") != PM_TOKEN:
            return self.reply(401, {"ErrorCode": 10, "Message": "bad token"})
        lst = self.state.lists["postmark"]
        root = "/message-streams/%s/suppressions" % PM_STREAM
        if method == "GET" and path == root + "/dump":
            return self.reply(200, {"Suppressions": [
                {"EmailAddress": a, "SuppressionReason": "ManualSuppression",
                 "Origin": "Customer", "CreatedAt": "2026-01-01T00:00:00-05:00"}
                for a in sorted(lst)]})
        if method == "POST" and path in (root, root + "/delete"):
            items = json.loads(data)["Suppressions"]
            if len(items) > 50:
                return self.reply(422, {"ErrorCode": 1, "Message": "at most 50"})
            for it in items:
                if path == root:
                    lst[it["EmailAddress"]] = True
                else:
                    lst.pop(it["EmailAddress"], None)
            return self.reply(200, {"Suppressions": [
                {"EmailAddress": it["EmailAddress"], "Status": "Suppressed" if path == root
                 else "Deleted", "Message": None} for it in items]})
        return self.reply(404, {})


def start():
    """Start the fake on loopback: (server, state, base URL)."""
    state = State()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Handler.state = state
    Handler.base = "http://127.0.0.1:%d" % srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, state, Handler.base
