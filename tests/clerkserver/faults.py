"""Injected failures, set by tests through POST /__faults.

A rule names a route key ("GET /v1/users/{user_id}", or "*" for every /v1
route), optionally a substring (`match`) that the raw request path or
query must contain, and what to do, for `count` requests (default 1, -1 for
ever). Rules are tried in the order they were added; the first that
matches a request and has uses left takes it. What a rule does:

    latency_ms          wait this much longer first (alone: then answer
                        normally)
    status              answer this status without acting, with `body`
                        (text is sent as is, as HTML when it starts with
                        "<"; anything else as JSON; default: a Clerk error
                        body fitting the status) and `retry_after`
    hang                never answer; when the faults are cleared, close
                        the connection
    reset               close the connection at once, without an answer
    reset_after_apply   act on the request, then close without an answer
                        (the client cannot know the outcome)
    hang_after_apply    act on the request, then never answer until the
                        faults are cleared (the client times out)
    malformed           act, then answer 200 with the reply's JSON cut in
                        half
"""

import json
import threading

from . import errors

ACTIONS = ("hang", "reset", "reset_after_apply", "hang_after_apply",
           "malformed")
RULE_TYPES = {
    "route": str, "status": int, "body": (str, dict, list),
    "retry_after": (int, float), "count": int, "latency_ms": (int, float),
    "hang": bool, "reset": bool, "reset_after_apply": bool,
    "hang_after_apply": bool, "malformed": bool, "match": str,
}
DEFAULT_ERRORS = {
    400: ("bad_request", "Bad request"),
    401: ("authentication_invalid", "Invalid authentication"),
    402: ("payment_required", "Payment required"),
    403: ("authorization_invalid", "Unauthorized request"),
    404: ("resource_not_found", "not found"),
    409: ("conflict", "Conflict"),
    422: ("unprocessable_entity", "Invalid request"),
    429: ("too_many_requests", "Too many requests"),
    500: ("internal_clerk_error", "Oops, an unexpected error occurred"),
    502: ("bad_gateway", "Bad gateway"),
    503: ("service_unavailable", "Service unavailable"),
    504: ("gateway_timeout", "Gateway timeout"),
}


class Fault:
    """One rule; see the module docstring."""

    def __init__(self, rule, routes):
        for key, value in rule.items():
            if key not in RULE_TYPES:
                raise ValueError(f"unknown fault field {key!r}")
            if not isinstance(value, RULE_TYPES[key]) or (
                    isinstance(value, bool) and RULE_TYPES[key] is int):
                raise ValueError(f"fault field {key!r} has the wrong type")
        self.rule = dict(rule)
        self.route = rule.get("route", "*")
        if self.route != "*" and self.route not in routes:
            raise ValueError(f"unknown route {self.route!r}; use '*' or "
                             "one of: " + ", ".join(sorted(routes)))
        self.status = rule.get("status")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status")
        self.remaining = rule.get("count", 1)
        self.latency_s = rule.get("latency_ms", 0) / 1000
        self.action = next((a for a in ACTIONS if rule.get(a)), None)

    def matches(self, route, target):
        if self.remaining == 0:
            return False
        if self.route != "*" and self.route != route:
            return False
        return self.rule.get("match", "") in target

    def kind(self):
        if self.action:
            return self.action
        return "status" if self.status else "latency"

    def response(self):
        """(status, headers, body bytes, content type) of a status rule."""
        headers = {}
        if "retry_after" in self.rule:
            headers["Retry-After"] = str(self.rule["retry_after"])
        body = self.rule.get("body")
        if isinstance(body, str):
            kind = "text/html" if body.lstrip().startswith("<") \
                else "text/plain"
            return (self.status, headers, body.encode(),
                    kind + "; charset=utf-8")
        if body is None:
            code, message = DEFAULT_ERRORS.get(
                self.status, ("fault_injected", f"HTTP {self.status}"))
            body = errors.error_body(code, message,
                                     f"{message} (injected by a test).")
        return (self.status, headers,
                json.dumps(body, ensure_ascii=False).encode(),
                "application/json")

    def snapshot(self):
        return dict(self.rule, remaining=self.remaining)


class Faults:
    """The active rules; thread-safe."""

    def __init__(self, routes):
        self.routes = routes
        self._lock = threading.Lock()
        self._rules = []
        self._released = threading.Event()

    def add(self, rule):
        """Append a rule (a dict); ValueError says what is wrong with it."""
        if not isinstance(rule, dict):
            raise ValueError("a fault rule is a JSON object")
        fault = Fault(rule, self.routes)
        with self._lock:
            self._rules.append(fault)
        return fault.snapshot()

    def clear(self):
        """Drop every rule and let hung requests go."""
        with self._lock:
            self._rules = []
            self._released.set()
            self._released = threading.Event()

    def take(self, route, target):
        """The first rule for this request, with one use consumed."""
        with self._lock:
            for fault in self._rules:
                if fault.matches(route, target):
                    if fault.remaining > 0:
                        fault.remaining -= 1
                    return fault
        return None

    def hang(self):
        """Block until the rules are cleared."""
        with self._lock:
            released = self._released
        released.wait()

    def snapshot(self):
        with self._lock:
            return [fault.snapshot() for fault in self._rules]
