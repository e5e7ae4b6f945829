"""Rate limiting, request statistics and the request log.

The limiter is a sliding window, like the one clerkfs must implement: an
API request is admitted only if fewer than N requests were admitted in the
last S seconds, so no S-second interval ever holds more than N. A refused
request is answered 429 with `Retry-After` set to the whole seconds until
the oldest admitted request leaves the window; it does not take a place in
the window. `--create-rate` is a second window for POST /v1/users, checked
on top of the general one.

Statistics count every /v1 request received since the last reset, by route
key, and track the largest number received in any window of the limiter's
length (10 s when no rate is set), overall and for user creation, so tests
can assert that a client paced itself. The request log keeps each request
in arrival order (bounded; the oldest are dropped past the bound), with the
headers a client must send and the number of the connection it came on, so
tests can check the API version header and connection reuse. Of the
Authorization header only the scheme is kept: the key is never logged.
"""

import collections
import json
import math
import threading
import time

DEFAULT_WINDOW_S = 10.0
LOGGED_HEADERS = ("Clerk-API-Version", "Accept", "Content-Type",
                  "User-Agent")


class SlidingWindow:
    """At most `limit` admitted events in any `seconds`-long interval."""

    def __init__(self, limit, seconds):
        self.limit = limit
        self.seconds = seconds
        self.times = collections.deque()

    def wait(self, now):
        """Seconds until one more event fits (0 when it fits now)."""
        while self.times and self.times[0] <= now - self.seconds:
            self.times.popleft()
        if len(self.times) < self.limit:
            return 0.0
        return self.times[0] + self.seconds - now

    def add(self, now):
        self.times.append(now)


class Limiter:
    """The general window and the user-creation window, if configured."""

    def __init__(self, rate=None, create_rate=None):
        self.rate = rate
        self.create_rate = create_rate
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self.general = SlidingWindow(*self.rate) if self.rate else None
            self.create = SlidingWindow(*self.create_rate) \
                if self.create_rate else None

    def admit(self, is_create):
        """None if admitted, else the Retry-After value in seconds."""
        with self._lock:
            now = time.monotonic()
            windows = [w for w in (self.general,
                                   self.create if is_create else None) if w]
            wait = max((w.wait(now) for w in windows), default=0.0)
            if wait > 0:
                return max(1, math.ceil(wait))
            for window in windows:
                window.add(now)
            return None


class WindowMax:
    """The most events seen in any window of `seconds`."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.times = collections.deque()
        self.max = 0

    def add(self, now):
        self.times.append(now)
        while self.times[0] <= now - self.seconds:
            self.times.popleft()
        self.max = max(self.max, len(self.times))

    def snapshot(self):
        return {"window_s": self.seconds, "max": self.max}


class Stats:
    """Counters of /v1 requests since the last reset; thread-safe."""

    def __init__(self, window_s, create_window_s):
        self.window_s = window_s
        self.create_window_s = create_window_s
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self.total = 0
            self.routes = {}
            self.rate_limited = 0
            self.faulted = 0
            self.window = WindowMax(self.window_s)
            self.create_window = WindowMax(self.create_window_s)

    def arrival(self, route, is_create):
        with self._lock:
            now = time.monotonic()
            self.total += 1
            self.routes[route] = self.routes.get(route, 0) + 1
            self.window.add(now)
            if is_create:
                self.create_window.add(now)

    def limited(self):
        """Count a request refused by the rate limiter."""
        with self._lock:
            self.rate_limited += 1

    def fault(self):
        """Count a request taken by a fault rule."""
        with self._lock:
            self.faulted += 1

    def snapshot(self):
        with self._lock:
            return {
                "total": self.total,
                "routes": dict(self.routes),
                "rate_limited": self.rate_limited,
                "faulted": self.faulted,
                "max_in_window": self.window.snapshot(),
                "create_max_in_window": self.create_window.snapshot(),
            }


class RequestLog:
    """The /v1 requests since the last reset, oldest first."""

    def __init__(self, limit=200_000):
        self._lock = threading.Lock()
        self._entries = collections.deque(maxlen=limit)

    def reset(self):
        with self._lock:
            self._entries.clear()

    def add(self, method, route, path, query, raw_body, headers=None,
            connection=None):
        """Record a request; the caller fills "status" (and "fault").

        `headers` is the request's header mapping (case-insensitive
        lookups); `connection` numbers the TCP connection it came on.
        """
        entry = {"method": method, "route": route, "path": path,
                 "query": query, "raw": raw_body, "status": None,
                 "t": time.time(), "fault": None,
                 "headers": logged_headers(headers or {}),
                 "connection": connection}
        with self._lock:
            self._entries.append(entry)
        return entry

    def snapshot(self, route=None):
        with self._lock:
            entries = list(self._entries)
        return [_render(e) for e in entries
                if route is None or e["route"] == route]


def _render(entry):
    raw = entry["raw"]
    text = raw.decode("utf-8", "replace") if raw else None
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return {"method": entry["method"], "route": entry["route"],
            "path": entry["path"], "query": entry["query"], "body": body,
            "raw": text, "status": entry["status"], "t": entry["t"],
            "fault": entry["fault"], "headers": entry["headers"],
            "connection": entry["connection"]}


def logged_headers(headers):
    """The headers the log keeps; Authorization as its scheme only."""
    kept = {name: headers[name] for name in LOGGED_HEADERS
            if headers.get(name) is not None}
    auth = headers.get("Authorization")
    if auth is not None:
        kept["Authorization"] = auth.strip().partition(" ")[0] or "(empty)"
    return kept
