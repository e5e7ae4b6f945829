"""Checks on request bodies: field types, identifier syntax, metadata.

fields() checks a JSON body against a small table of the fields an
operation accepts, the way Clerk's validation answers: a missing required
field is 422 `form_param_missing`, a value of the wrong type 422
`form_param_format_invalid`, and where the specification says
`additionalProperties: false` an unknown field is 422 `form_param_unknown`
(this is how the user and organization PATCH refuse metadata in version
2026-05-12).

Type names in the tables: "str", "bool", "int", "obj", "[str]", "any"; a
trailing "?" also accepts null.
"""

import datetime
import json
import re
import unicodedata

from . import errors

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
PHONE_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")
SLUG_RE = re.compile(r"^[a-z0-9-]{1,64}$")
HTML_RE = re.compile(r"<\s*[A-Za-z/!]")
URL_RE = re.compile(r"(?i)\b(?:https?://|www\.)")


def fields(body, spec, required=(), strict=True):
    """Return `body` as a dict once it matches `spec` (see module doc)."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise errors.ApiError(400, "request_body_invalid", "is invalid",
                              "The request body must be a JSON object.")
    for name in required:
        if body.get(name) is None:
            raise errors.param_missing(name)
    for name, value in body.items():
        kind = spec.get(name)
        if kind is None:
            if strict:
                raise errors.param_unknown(name)
            continue
        _check_type(name, value, kind)
    return body


TYPE_CHECKS = {
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "obj": lambda v: isinstance(v, dict),
    "[str]": lambda v: isinstance(v, list)
    and all(isinstance(item, str) for item in v),
    "any": lambda v: True,
}


def _check_type(name, value, kind):
    if value is None and kind.endswith("?"):
        return
    kind = kind.rstrip("?")
    if not TYPE_CHECKS[kind](value):
        raise errors.param_invalid(name, f"{name} must be of type {kind}.")


def timestamp_ms(name, value):
    """An RFC 3339 date-time string as Unix milliseconds."""
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise errors.param_invalid(
            name, f"{name} must be an RFC 3339 date-time, "
            "such as 2012-10-20T07:15:20.902Z.") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return int(when.timestamp() * 1000)


def email_address(name, value):
    if len(value) > 320 or not EMAIL_RE.match(value):
        raise errors.param_invalid(
            name, f"{name} must be a valid email address.")
    return value


def phone_number(name, value):
    if not PHONE_RE.match(value):
        raise errors.param_invalid(
            name, f"{name} must be a valid phone number in E.164 format, "
            "such as +15555550100.")
    return value


def username(value):
    if not USERNAME_RE.match(value):
        raise errors.param_invalid(
            "username", "Usernames may contain letters, digits, '_', '-' "
            "and '.', must not start with '.', and are at most 64 "
            "characters long.")
    return value


def slug(value):
    if not SLUG_RE.match(value):
        raise errors.param_invalid(
            "slug", "A slug can contain only lowercase alphanumeric "
            "characters and the dash \"-\".")
    return value


def org_name(value):
    if not value.strip() or len(value) > 256:
        raise errors.param_invalid(
            "name", "The organization name must be 1 to 256 characters.")
    if HTML_RE.search(value) or URL_RE.search(value):
        raise errors.param_value_invalid(
            "name", "The organization name may not contain URLs or HTML.")
    return value


def slugify(name):
    """The slug Clerk derives from an organization name."""
    ascii_name = unicodedata.normalize("NFKD", name).encode(
        "ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "org"


def metadata(name, value, limit):
    """Check one metadata field: a JSON object of at most `limit` bytes."""
    if not isinstance(value, dict):
        raise errors.param_invalid(name, f"{name} must be a JSON object.")
    size = json_size(value)
    if size > limit:
        raise errors.ApiError(
            422, "metadata_size_exceeded", "is too large",
            f"{name} is {size} bytes; metadata may be at most {limit} "
            "bytes.", {"param_name": name})
    return value


def json_size(value):
    """Bytes of the compact UTF-8 JSON of `value`."""
    return len(json.dumps(value, ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8"))


def deep_merge(base, patch):
    """A new object: `patch` merged into `base`; a null member deletes.

    Nested objects merge recursively; any other value, arrays included,
    replaces. Neither argument is modified.
    """
    merged = dict(base or {})
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict):
            current = merged.get(key)
            merged[key] = deep_merge(
                current if isinstance(current, dict) else {}, value)
        else:
            merged[key] = value
    return merged


def metadata_update(obj, body, names, merge, limit):
    """The new values of the metadata fields that `body` writes.

    With `merge` (PATCH) each given field is deep-merged into the current
    value; otherwise (PUT) it replaces it, null meaning {}. Nothing is
    changed: the caller applies the returned fields.
    """
    body = fields(body, {name: "obj?" for name in names})
    changes = {}
    for name in names:
        if name not in body:
            continue
        value = body[name]
        if merge:
            value = deep_merge(obj[name], value) if value is not None \
                else obj[name]
        elif value is None:
            value = {}
        changes[name] = metadata(name, value, limit)
    return changes
