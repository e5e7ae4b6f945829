"""Matching requests to handlers by the specification's path templates.

A route is a method and a path template written with the specification's
parameter names (`/users/{user_id}/metadata`); its key, such as
"PUT /v1/users/{user_id}/metadata", names it in statistics, the request log
and fault rules. Routes are tried in table order, so a literal path
(`/users/count`) listed before a template (`/users/{user_id}`) wins.

A handler receives a Call and returns the JSON-ready reply (status 200), or
raises errors.ApiError.
"""

import re
import urllib.parse
from dataclasses import dataclass


@dataclass
class Call:
    """What a handler needs: the state, the options and the request."""
    store: object
    options: object
    params: dict
    query: object
    body: object


class Route:
    def __init__(self, prefix, method, template, handler):
        self.method = method
        self.key = f"{method} {prefix}{template}"
        self.handler = handler
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)",
                         re.escape(prefix + template).replace(r"\{", "{")
                         .replace(r"\}", "}"))
        self.regex = re.compile(pattern + "$")


class Router:
    def __init__(self, prefix, table):
        self.routes = [Route(prefix, *row) for row in table]
        self.keys = {route.key for route in self.routes}

    def match(self, method, path):
        """(route, path parameters), or (None, methods the path allows)."""
        allowed = []
        for route in self.routes:
            found = route.regex.match(path)
            if not found:
                continue
            if route.method == method:
                params = {name: urllib.parse.unquote(value)
                          for name, value in found.groupdict().items()}
                return route, params
            allowed.append(route.method)
        return None, allowed
