"""The /__ control routes for tests and benchmarks.

They need no key, are neither counted, logged nor rate limited, and answer
JSON (errors as {"error": "..."}):

    GET    /__stats                 counters since the last reset
    GET    /__requests[?route=KEY]  the /v1 request log, oldest first:
                                    method, route, path, query, body,
                                    status, fault, headers (Authorization
                                    as its scheme only), connection
    POST   /__reset                 clear statistics, log and faults;
                                    with {"state": true} also reseed
    GET    /__faults                the rules and their remaining uses
    POST   /__faults                add a rule (see faults.py)
    DELETE /__faults                drop every rule, release hung requests
    POST   /__objects/{kind}        insert or replace (see objects.py)
    GET    /__objects/{kind}/{id}   read one object, 404 if none
    PATCH  /__objects/{kind}/{id}   merge fields into one object
    DELETE /__objects/{kind}/{id}   delete one object
"""

import copy
import json
import re
import urllib.parse

from . import objects


def dispatch(app, method, target, raw):
    """(status, JSON-ready reply) for a control request."""
    path, _, query = target.partition("?")
    try:
        body = json.loads(raw) if raw else None
    except ValueError as error:
        return 400, {"error": f"invalid JSON body: {error}"}
    for verb, pattern, action in ROUTES:
        found = re.fullmatch(pattern, path)
        if found and verb == method:
            args = [urllib.parse.unquote(g) for g in found.groups()]
            try:
                return 200, action(app, body, query, *args)
            except LookupError as error:
                return 404, {"error": str(error).strip("'\"")}
            except ValueError as error:
                return 400, {"error": str(error)}
    return 404, {"error": f"no control route {method} {path}"}


def _stats(app, body, query):
    return app.stats.snapshot()


def _requests(app, body, query):
    route = urllib.parse.parse_qs(query).get("route", [None])[0]
    return app.log.snapshot(route)


def _reset(app, body, query):
    state = bool(body and body.get("state"))
    app.reset(state)
    return {"reset": True, "state": state}


def _faults(app, body, query):
    return app.faults.snapshot()


def _add_fault(app, body, query):
    return app.faults.add(body)


def _clear_faults(app, body, query):
    app.faults.clear()
    return {"cleared": True}


# Objects are copied under the store lock: the reply is encoded after the
# lock is released, while API requests may be changing them.

def _put(app, body, query, kind):
    with app.store.lock:
        return copy.deepcopy(objects.put(app.store, kind, body))


def _get(app, body, query, kind, oid):
    with app.store.lock:
        found = copy.deepcopy(objects.get(app.store, kind, oid))
    if found is None:
        raise LookupError(f"no {kind} object {oid}")
    return found


def _patch(app, body, query, kind, oid):
    if not isinstance(body, dict):
        raise ValueError("the fields to merge are a JSON object")
    with app.store.lock:
        return copy.deepcopy(objects.patch(app.store, kind, oid, body))


def _delete(app, body, query, kind, oid):
    with app.store.lock:
        if not objects.delete(app.store, kind, oid):
            raise LookupError(f"no {kind} object {oid}")
    return {"object": kind, "id": oid, "deleted": True}


ROUTES = [
    ("GET", r"/__stats", _stats),
    ("GET", r"/__requests", _requests),
    ("POST", r"/__reset", _reset),
    ("GET", r"/__faults", _faults),
    ("POST", r"/__faults", _add_fault),
    ("DELETE", r"/__faults", _clear_faults),
    ("POST", r"/__objects/([^/]+)", _put),
    ("GET", r"/__objects/([^/]+)/([^/]+)", _get),
    ("PATCH", r"/__objects/([^/]+)/([^/]+)", _patch),
    ("DELETE", r"/__objects/([^/]+)/([^/]+)", _delete),
]
