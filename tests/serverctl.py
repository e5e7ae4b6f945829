"""Start and drive the local Clerk server from pytest and benchmarks.

    from serverctl import start_server

    with start_server(users=300, rate="100/10") as server:
        status, users = server.api("GET", "/users", query={"limit": 500})
        server.faults(route="GET /v1/users", status=429, retry_after=3)
        assert server.stats()["routes"]["GET /v1/users"] == 1

start_server() runs tests/clerk-server as a child process on a free
loopback port (the server picks it: --port 0), waits until it answers and
returns a Server. Server.stop() ends that process, by its own pid only. The
server's stderr (its request log) goes to a temporary file, `log_path`, so
a busy server never blocks on a full pipe.

Everything uses urllib, bypassing any proxy settings.
"""

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "clerk-server")
START_TIMEOUT_S = 120

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def start_server(port=None, key=None, users=0, orgs=0, latency_ms=0,
                 rate=None, create_rate=None, production=False, seed=1,
                 extra_args=()):
    """Launch a server and wait until it answers; see the module doc.

    `key` defaults to sk_test_clerkfs, or sk_live_clerkfs for a production
    instance; `rate` and `create_rate` are "N/SECONDS" strings or
    (N, SECONDS) pairs.
    """
    key = key or ("sk_live_clerkfs" if production else "sk_test_clerkfs")
    args = [sys.executable, SERVER, "--port", str(port or 0), "--key", key,
            "--users", str(users), "--orgs", str(orgs), "--seed", str(seed)]
    if latency_ms:
        args += ["--latency-ms", str(latency_ms)]
    for flag, value in (("--rate", rate), ("--create-rate", create_rate)):
        if value:
            args += [flag, value if isinstance(value, str)
                     else f"{value[0]}/{value[1]}"]
    if production:
        args.append("--production")
    args += list(extra_args)

    log = tempfile.NamedTemporaryFile(prefix="clerk-server-", suffix=".log",
                                      delete=False)
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log,
                            stdin=subprocess.DEVNULL)
    log.close()
    try:
        url = _wait_for_banner(proc, log.name)
        server = Server(proc, url, key, log.name)
        server.wait_ready()
    except BaseException:
        _end(proc)
        raise
    return server


def _wait_for_banner(proc, log_path):
    """The base URL from the server's "listening on URL" line."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if selector.select(timeout=0.2):
            line = proc.stdout.readline().decode().strip()
            if line.startswith("listening on "):
                return line[len("listening on "):]
        if proc.poll() is not None:
            break
    with open(log_path, encoding="utf-8", errors="replace") as log:
        reason = log.read()[-2000:]
    raise RuntimeError(f"clerk-server did not start: {reason}")


def _end(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout:
        proc.stdout.close()


class Server:
    """A running server: its address, key, and control calls."""

    def __init__(self, proc, base, key, log_path):
        self.proc = proc
        self.base = base
        self.url = base + "/v1"
        self.key = key
        self.port = int(base.rsplit(":", 1)[1])
        self.pid = proc.pid
        self.log_path = log_path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- control routes ------------------------------------------------

    def wait_ready(self, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.stats()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stats(self):
        return self._control("GET", "/__stats")

    def requests(self, route=None):
        """The /v1 request log, optionally of one route key only: each
        entry's method, route, path, query, body, status, fault, the
        headers a client must send (Authorization as its scheme only) and
        the number of the connection it came on."""
        query = "?" + urllib.parse.urlencode({"route": route}) if route \
            else ""
        return self._control("GET", "/__requests" + query)

    def reset(self, state=False):
        return self._control("POST", "/__reset", {"state": state})

    def faults(self, **rule):
        """Add a fault rule, e.g. faults(route="*", status=503, count=2)."""
        return self._control("POST", "/__faults", rule)

    def list_faults(self):
        return self._control("GET", "/__faults")

    def clear_faults(self):
        return self._control("DELETE", "/__faults")

    def put(self, kind, obj):
        """Insert or replace an object (kind: users, organizations,
        memberships, email_addresses, sessions); returns it as served."""
        return self._control("POST", f"/__objects/{kind}", obj)

    def get(self, kind, oid):
        """The stored object, or None; not counted in statistics."""
        try:
            return self._control("GET", f"/__objects/{kind}/{_q(oid)}")
        except LookupError:
            return None

    def patch(self, kind, oid, fields):
        """Merge fields into a stored object (updated_at moves on)."""
        return self._control("PATCH", f"/__objects/{kind}/{_q(oid)}", fields)

    def delete(self, kind, oid):
        return self._control("DELETE", f"/__objects/{kind}/{_q(oid)}")

    def _control(self, method, path, body=None):
        status, reply = _http(method, self.base + path, body)
        if status == 404:
            raise LookupError(reply.get("error") if isinstance(reply, dict)
                              else reply)
        if status != 200:
            raise ValueError(f"{method} {path}: {status} {reply}")
        return reply

    # ---- the API ---------------------------------------------------------

    def api(self, method, path, body=None, query=None, key=None,
            headers=None):
        """A real, authenticated API call: (status, parsed JSON or text).

        `path` is relative to /v1 ("/users/user_2…"); `query` is a dict
        whose list values repeat the key.
        """
        if not path.startswith("/v1"):
            path = "/v1" + (path if path.startswith("/") else "/" + path)
        url = self.base + path
        if query:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(
                query, doseq=True)
        sent = {"Authorization": f"Bearer {key or self.key}",
                "Clerk-API-Version": "2026-05-12"}
        sent.update(headers or {})
        return _http(method, url, body, sent)

    def stop(self):
        """Terminate the server process (this one only) and wait for it."""
        _end(self.proc)


def _q(text):
    return urllib.parse.quote(text, safe="")


def _http(method, url, body=None, headers=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, _parse(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, _parse(error.read())


def _parse(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")
