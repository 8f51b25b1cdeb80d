"""Small helpers the end-to-end tests share: a check() that prints and remembers failures,
and a JSON POST to a local `bounced serve`. Standard library only."""
import http.client
import json

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)
    return cond


def post_json(host, port, path, body, headers=None):
    """POST body to http://host:port/path: (status, decoded JSON reply or {})."""
    c = http.client.HTTPConnection(host, port, timeout=60)
    c.request("POST", path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        return r.status, json.loads(data or b"{}")
    except ValueError:
        return r.status, {}
