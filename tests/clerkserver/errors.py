"""Clerk's error body and the errors that route handlers raise.

Every refusal of the Backend API carries the same JSON body:

    {"errors": [{"message": ..., "long_message": ..., "code": ...,
                 "meta": {...}}],
     "clerk_trace_id": "..."}

`meta` is present only when it says something (usually `param_name`), as on
Clerk. Handlers raise ApiError (or one of the helpers below) and the server
turns it into that body in one place.
"""

import secrets


class ApiError(Exception):
    """An HTTP refusal with Clerk's error fields."""

    def __init__(self, status, code, message, long_message=None, meta=None,
                 headers=None):
        super().__init__(long_message or message)
        self.status = status
        self.code = code
        self.message = message
        self.long_message = long_message or message
        self.meta = meta or {}
        self.headers = headers or {}

    def body(self):
        """The JSON-ready error body, with a fresh trace id."""
        return error_body(self.code, self.message, self.long_message,
                          self.meta)


def error_body(code, message, long_message, meta=None):
    """Build Clerk's error envelope for one error."""
    error = {"message": message, "long_message": long_message, "code": code}
    if meta:
        error["meta"] = meta
    return {"errors": [error], "clerk_trace_id": secrets.token_hex(16)}


def not_found(what="Resource"):
    return ApiError(404, "resource_not_found", "not found",
                    f"{what} not found")


def param_missing(name):
    return ApiError(422, "form_param_missing", "is missing",
                    f"{name} must be included.", {"param_name": name})


def param_unknown(name):
    return ApiError(422, "form_param_unknown", "is unknown",
                    f"{name} is not a valid parameter for this request.",
                    {"param_name": name})


def param_invalid(name, long_message):
    """A value of the wrong type or syntax."""
    return ApiError(422, "form_param_format_invalid", "is invalid",
                    long_message, {"param_name": name})


def param_value_invalid(name, long_message):
    """A well-formed value that this instance does not accept."""
    return ApiError(422, "form_param_value_invalid", "is invalid",
                    long_message, {"param_name": name})


def identifier_exists(name, long_message):
    return ApiError(422, "form_identifier_exists", "is taken",
                    long_message, {"param_name": name})


def too_many_requests(retry_after):
    return ApiError(429, "too_many_requests", "Too many requests",
                    "Too many requests, please retry later.",
                    headers={"Retry-After": str(retry_after)})
