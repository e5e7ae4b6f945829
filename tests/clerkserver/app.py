"""The HTTP server and the command line of the local Clerk server.

    clerk-server --port PORT [--host 127.0.0.1] [--key KEY] [--users N]
                 [--orgs N] [--latency-ms MS] [--rate N/SECONDS]
                 [--create-rate N/SECONDS] [--production] [--seed S]
                 [--metadata-limit BYTES] [--lockout-seconds S] [--quiet]

It binds the loopback address only (`--port 0` picks a free port), seeds
the data, prints one line "listening on http://HOST:PORT" and serves
HTTP/1.1 with keep-alive until it is terminated. The default key is
sk_test_clerkfs, or sk_live_clerkfs with --production.

Each /v1 request goes through these steps, in order: counted in the
statistics and the request log (with its connection's number and the
headers a client must send, never the key); admitted by the rate limiter
or answered 429; delayed by --latency-ms; handed to the first matching
fault rule, if any; authenticated (Authorization: Bearer KEY, else 401);
routed (404 for an unknown path, 405 for a method the path does not
take); its body parsed (400 for invalid JSON); and handled under the store
lock, the reply being encoded as compact UTF-8 JSON before the lock is
released.
"""

import argparse
import ipaddress
import json
import math
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import control
from . import errors
from . import orgs
from . import sessions
from . import users
from .faults import Faults
from .filters import Query
from .ids import IdFactory
from .limits import DEFAULT_WINDOW_S, Limiter, RequestLog, Stats
from .router import Call, Router
from .seed import seed_store
from .store import Store

API_PREFIX = "/v1"
CREATE_USER_ROUTE = "POST /v1/users"
MAX_BODY = 16 * 1024 * 1024

API_ROUTES = [
    ("GET", "/users", users.list_users),
    ("POST", "/users", users.create_user),
    ("GET", "/users/count", users.count_users),
    ("GET", "/users/{user_id}", users.get_user),
    ("PATCH", "/users/{user_id}", users.update_user),
    ("DELETE", "/users/{user_id}", users.delete_user),
    ("PUT", "/users/{user_id}/metadata", users.replace_user_metadata),
    ("PATCH", "/users/{user_id}/metadata", users.merge_user_metadata),
    ("POST", "/users/{user_id}/ban", users.ban_user),
    ("POST", "/users/{user_id}/unban", users.unban_user),
    ("POST", "/users/{user_id}/lock", users.lock_user),
    ("POST", "/users/{user_id}/unlock", users.unlock_user),
    ("GET", "/users/{user_id}/organization_memberships",
     users.list_user_memberships),
    ("POST", "/email_addresses", users.create_email),
    ("GET", "/email_addresses/{email_address_id}", users.get_email),
    ("PATCH", "/email_addresses/{email_address_id}", users.update_email),
    ("DELETE", "/email_addresses/{email_address_id}", users.delete_email),
    ("GET", "/organizations", orgs.list_orgs),
    ("POST", "/organizations", orgs.create_org),
    ("GET", "/organizations/{organization_id}", orgs.get_org),
    ("PATCH", "/organizations/{organization_id}", orgs.update_org),
    ("DELETE", "/organizations/{organization_id}", orgs.delete_org),
    ("PUT", "/organizations/{organization_id}/metadata",
     orgs.replace_org_metadata),
    ("PATCH", "/organizations/{organization_id}/metadata",
     orgs.merge_org_metadata),
    ("GET", "/organizations/{organization_id}/memberships",
     orgs.list_memberships),
    ("POST", "/organizations/{organization_id}/memberships",
     orgs.create_membership),
    ("PATCH", "/organizations/{organization_id}/memberships/{user_id}",
     orgs.update_membership),
    ("DELETE", "/organizations/{organization_id}/memberships/{user_id}",
     orgs.delete_membership),
    ("GET", "/organization_memberships", orgs.list_all_memberships),
    ("GET", "/sessions", sessions.list_sessions),
    ("POST", "/sessions", sessions.create_session),
    ("GET", "/sessions/{session_id}", sessions.get_session),
    ("POST", "/sessions/{session_id}/revoke", sessions.revoke_session),
]


@dataclass
class Reply:
    """An answer; `action` "reset" or "close" means: send nothing."""
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    content_type: str = "application/json"
    action: str = None


def json_reply(status, obj, headers=None):
    return Reply(status, headers or {}, encode_json(obj))


def encode_json(obj):
    try:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate cannot be UTF-8; escape it as JSON allows.
        return json.dumps(obj, separators=(",", ":")).encode("ascii")


def error_reply(error):
    return json_reply(error.status, error.body(), error.headers)


# ---- the application -----------------------------------------------------

class App:
    """Everything a request needs: options, state, limiter, faults, stats."""

    def __init__(self, options):
        self.options = options
        self.router = Router(API_PREFIX, API_ROUTES)
        self.limiter = Limiter(options.rate, options.create_rate)
        self.stats = Stats(
            options.rate[1] if options.rate else DEFAULT_WINDOW_S,
            options.create_rate[1] if options.create_rate
            else DEFAULT_WINDOW_S)
        self.log = RequestLog(options.log_limit)
        self.faults = Faults(self.router.keys)
        self.store = self.build_store()

    def build_store(self):
        store = Store(IdFactory(self.options.seed),
                      self.options.lockout_seconds)
        seed_store(store, self.options.users, self.options.orgs,
                   self.options.seed)
        return store

    def reset(self, state=False):
        self.faults.clear()
        self.stats.reset()
        self.log.reset()
        self.limiter.reset()
        if state:
            self.store = self.build_store()

    def serve_api(self, method, target, headers, raw, connection=None):
        """Answer one /v1 request (see the module docstring);
        `connection` numbers the connection it came on, for the log."""
        path, _, query_text = target.partition("?")
        # Without a route, `params` lists the methods the path allows.
        route, params = self.router.match(method, path)
        key = route.key if route else f"{method} {path}"
        query = Query(query_text)
        is_create = key == CREATE_USER_ROUTE
        self.stats.arrival(key, is_create)
        entry = self.log.add(method, key, path, query.values, raw, headers,
                             connection)

        reply = self._admit_and_answer(
            key, target, is_create, entry,
            lambda: self._call(method, route, params, query, headers, raw))
        entry["status"] = None if reply.action else reply.status
        return reply

    def _admit_and_answer(self, key, target, is_create, entry, call):
        retry_after = self.limiter.admit(is_create)
        if self.options.latency_ms:
            time.sleep(self.options.latency_ms / 1000)
        if retry_after is not None:
            self.stats.limited()
            return error_reply(errors.too_many_requests(retry_after))
        fault = self.faults.take(key, target + urllib.parse.unquote(target))
        if fault is None:
            return call()
        self.stats.fault()
        entry["fault"] = fault.kind()
        return self._apply_fault(fault, call)

    def _apply_fault(self, fault, call):
        if fault.latency_s:
            time.sleep(fault.latency_s)
        if fault.action == "hang":
            self.faults.hang()
            return Reply(action="close")
        if fault.action == "reset":
            return Reply(action="reset")
        if fault.status:
            status, headers, body, kind = fault.response()
            return Reply(status, headers, body, kind)
        reply = call()
        if fault.action == "reset_after_apply":
            return Reply(action="reset")
        if fault.action == "hang_after_apply":
            self.faults.hang()
            return Reply(action="close")
        if fault.action == "malformed":
            cut = max(1, len(reply.body) // 2)
            return Reply(200, {}, reply.body[:cut])
        return reply

    def _call(self, method, route, params, query, headers, raw):
        try:
            self._authenticate(headers.get("Authorization"))
            if route is None:
                raise self._no_route(method, params)
            body = parse_body(raw)
        except errors.ApiError as error:
            return error_reply(error)
        with self.store.lock:
            call = Call(self.store, self.options, params, query, body)
            try:
                return json_reply(200, route.handler(call))
            except errors.ApiError as error:
                return error_reply(error)
            except Exception:
                traceback.print_exc()
                return error_reply(errors.ApiError(
                    500, "internal_clerk_error", "Internal error",
                    "The local Clerk server failed; see its log."))

    def _authenticate(self, header):
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.ApiError(
                401, "authentication_invalid", "Invalid authentication",
                "Send the secret key as 'Authorization: Bearer <key>'.")
        if token.strip() != self.options.key:
            raise errors.ApiError(
                401, "clerk_key_invalid", "Invalid secret key",
                "The secret key in the Authorization header does not belong "
                "to this instance.")

    @staticmethod
    def _no_route(method, allowed):
        if allowed:
            return errors.ApiError(
                405, "method_not_allowed", "Method not allowed",
                f"{method} is not supported here; use "
                + ", ".join(allowed) + ".")
        return errors.not_found()


def parse_body(raw):
    """The JSON request body, None when empty; 400 when not JSON."""
    if not raw or not raw.strip():
        return None
    try:
        body = json.loads(raw, parse_constant=_reject_constant,
                          parse_float=_finite_float)
        # A lone surrogate (\ud800) is valid JSON but not Unicode text.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
        return body
    except (ValueError, RecursionError) as error:
        raise errors.ApiError(
            400, "request_body_invalid", "is invalid",
            f"The request body is not valid JSON: {error}") from None


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def _finite_float(text):
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is out of range")
    return value


# ---- HTTP ----------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    """Reads a request, lets the App answer, writes the answer."""

    protocol_version = "HTTP/1.1"
    server_version = "clerk-local/1"
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        # One handler serves one connection, request after request.
        self.connection_number = self.server.new_connection()

    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self):
        raw = self._read_body()
        if raw is None:
            return
        app = self.server.app
        if self.path.startswith("/__"):
            reply = json_reply(*control.dispatch(app, self.command,
                                                 self.path, raw))
        elif _is_api(self.path):
            reply = app.serve_api(self.command, self.path, self.headers, raw,
                                  self.connection_number)
        else:
            reply = error_reply(errors.not_found())
        self._send(reply)
        if not self.path.startswith("/__"):
            self.log_message('"%s %s" %s', self.command, self.path,
                             reply.action or reply.status)

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunks()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self._send(error_reply(errors.ApiError(
                413, "request_body_too_large", "is too large",
                "The request body is missing a valid length or is too "
                "large.")))
            return None
        return self.rfile.read(length)

    def _read_chunks(self):
        parts, total = [], 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or 0, 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                self.close_connection = True
                return None
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, reply):
        if reply.action:
            self._drop(reset=reply.action == "reset")
            return
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except ConnectionError:
            self.close_connection = True

    def _drop(self, reset):
        """Close the connection without answering (RST when `reset`)."""
        self.close_connection = True
        if reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        self.connection.close()

    def log_request(self, code="-", size="-"):
        """Requests are logged once, by _serve."""

    def log_message(self, fmt, *args):
        if not self.server.app.options.quiet:
            sys.stderr.write("%s %s\n" % (self.log_date_time_string(),
                                          fmt % args))


def _is_api(target):
    path = target.partition("?")[0]
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, host, port):
        self.address_family = socket.AF_INET6 if ":" in host \
            else socket.AF_INET
        self.app = None
        self._connections = 0
        self._connections_lock = threading.Lock()
        super().__init__((host, port), Handler)

    def new_connection(self):
        """The next connection number: 1, 2, ... (never reset)."""
        with self._connections_lock:
            self._connections += 1
            return self._connections

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, OSError)):
            super().handle_error(request, client_address)


# ---- command line --------------------------------------------------------

def rate(text):
    """Parse "N/SECONDS" into (N, seconds)."""
    count, sep, seconds = text.partition("/")
    try:
        parsed = (int(count), float(seconds))
    except ValueError:
        parsed = None
    if not sep or parsed is None or parsed[0] < 1 or parsed[1] <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not N/SECONDS")
    return parsed


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="clerk-server",
        description="A local, stateful stand-in for Clerk's Backend API.")
    add = parser.add_argument
    add("--port", type=int, required=True, help="0 picks a free port")
    add("--host", default="127.0.0.1", help="a loopback address")
    add("--key", help="secret key (default sk_test_clerkfs, "
        "or sk_live_clerkfs with --production)")
    add("--users", type=int, default=0, help="users to seed")
    add("--orgs", type=int, default=0, help="organizations to seed")
    add("--latency-ms", type=float, default=0,
        help="delay before answering each /v1 request")
    add("--rate", type=rate, help="at most N /v1 requests per SECONDS")
    add("--create-rate", type=rate,
        help="at most N POST /v1/users per SECONDS, on top of --rate")
    add("--production", action="store_true",
        help="act as a production instance")
    add("--seed", type=int, default=1, help="seed of the generated data")
    add("--metadata-limit", type=int, default=8192,
        help="largest metadata field, in bytes of JSON")
    add("--lockout-seconds", type=int, default=3600,
        help="how long a lock lasts; 0 disables locking (403)")
    add("--log-limit", type=int, default=200_000,
        help="requests kept in the request log")
    add("--quiet", action="store_true", help="do not log requests")
    options = parser.parse_args(argv)
    if options.key is None:
        options.key = "sk_live_clerkfs" if options.production \
            else "sk_test_clerkfs"
    if not is_loopback(options.host):
        parser.error(f"--host {options.host} is not a loopback address")
    return options


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv=None):
    options = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server = Server(options.host, options.port)
    except OSError as error:
        print(f"clerk-server: cannot listen on {options.host}:"
              f"{options.port}: {error.strerror}", file=sys.stderr)
        return 1
    # Bound first, so the port is ours while the data is generated.
    server.app = App(options)
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"listening on http://{shown}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
