"""Query strings: parsing, list filters, ordering and paging.

Array filters repeat the bare key (`?user_id=a&user_id=b`), at most 100
values. Where the specification allows it (`user_id`, `external_id`,
`organization_id`) a value may start with `+` (include) or `-` (exclude);
since an unencoded `+` arrives as a space, a leading space counts as `+`,
as it does for Clerk's own form decoding.

Filters of one kind are alternatives (any value matches); different kinds
must all match. Text queries are case-insensitive substring matches.
`limit` is 1..500 (default 10) and `offset` at least 0; anything else is a
422, as the specification's bounds say.
"""

import urllib.parse

from . import errors
from . import models

MAX_VALUES = 100


class Query:
    """A decoded query string: each key with the list of its values."""

    def __init__(self, raw):
        self.raw = raw
        self.values = urllib.parse.parse_qs(raw, keep_blank_values=True)

    def one(self, name):
        values = self.values.get(name)
        return values[0] if values else None

    def many(self, name):
        values = self.values.get(name, [])
        if len(values) > MAX_VALUES:
            raise errors.param_value_invalid(
                name, f"{name} accepts at most {MAX_VALUES} values.")
        return values

    def integer(self, name, default=None, minimum=None, maximum=None):
        text = self.one(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            value = None
        if (value is None or (minimum is not None and value < minimum)
                or (maximum is not None and value > maximum)):
            raise errors.param_invalid(name, _bounds_message(
                name, minimum, maximum))
        return value

    def boolean(self, name):
        text = self.one(name)
        if text is None:
            return None
        if text not in ("true", "false"):
            raise errors.param_invalid(name, f"{name} must be true or false.")
        return text == "true"


def _bounds_message(name, minimum, maximum):
    if minimum is not None and maximum is not None:
        return f"{name} must be an integer between {minimum} and {maximum}."
    if minimum is not None:
        return f"{name} must be an integer greater than or equal to {minimum}."
    return f"{name} must be an integer."


def page(query):
    """(limit, offset) of a list request."""
    return (query.integer("limit", 10, 1, 500),
            query.integer("offset", 0, 0))


def order(query, allowed, default):
    """(field, descending) from `order_by`; `+` is implied."""
    text = query.one("order_by") or default
    descending = text.startswith("-")
    field = text[1:] if text[:1] in ("+", "-", " ") else text
    if field not in allowed:
        raise errors.param_value_invalid(
            "order_by", "order_by must be one of "
            + ", ".join(sorted(allowed)) + ", with an optional + or -.")
    return field, descending


def signed(values):
    """Split +/- prefixed values into (include, exclude) sets."""
    include, exclude = set(), set()
    for value in values:
        if value.startswith("-"):
            exclude.add(value[1:])
        elif value.startswith(("+", " ")):
            include.add(value[1:])
        else:
            include.add(value)
    return include, exclude


def signed_check(values, get):
    """A check that one value (or any of a set) is included, not excluded."""
    include, exclude = signed(values)

    def check(item):
        have = get(item)
        if include and not have & include:
            return False
        return not have & exclude
    return check


def sort_nulls_last(items, key, descending):
    present = [item for item in items if key(item) is not None]
    absent = [item for item in items if key(item) is None]
    present.sort(key=key, reverse=descending)
    return present + absent


def take(items, check, offset, limit):
    """Up to `limit` items passing `check`, after skipping `offset`."""
    out = []
    for item in items:
        if check is not None and not check(item):
            continue
        if offset:
            offset -= 1
            continue
        out.append(item)
        if len(out) == limit:
            break
    return out


def all_of(checks):
    """One check for a list of checks (None when there is nothing to do)."""
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda item: all(check(item) for check in checks)


# ---- users -------------------------------------------------------------

def _emails(user):
    return [e["email_address"].lower() for e in user["email_addresses"]]


def _phones(user):
    return [p["phone_number"] for p in user["phone_numbers"]]


def _wallets(user):
    return [w.get("web3_wallet", "") for w in user["web3_wallets"]]


def _names(user):
    first, last = user["first_name"] or "", user["last_name"] or ""
    return [first.lower(), last.lower(), f"{first} {last}".lower()]


def _exact(get, lower=False):
    def build(values, store):
        wanted = {v.lower() for v in values} if lower else set(values)
        return lambda user: any(v in wanted for v in get(user))
    return build


def _contains(get):
    def build(values, store):
        needle = values[0].lower()
        return lambda user: any(needle in v.lower() for v in get(user))
    return build


def _any_text(user):
    return (_emails(user) + _phones(user) + _wallets(user) + _names(user)
            + [user["username"] or "", user["id"]])


def _time(field, compare):
    def build(values, store):
        try:
            bound = int(values[0])
        except ValueError:
            raise errors.param_invalid(
                field, f"{field} must be a Unix time in milliseconds.") \
                from None
        return lambda user: user[field] is not None and compare(
            user[field], bound)
    return build


def _signed_field(field):
    def build(values, store):
        return signed_check(values, lambda user: {user[field]})
    return build


def _organizations(values, store):
    return signed_check(
        values, lambda user: set(store.user_orgs.get(user["id"], ())))


def _banned(values, store):
    if values[0] not in ("true", "false"):
        raise errors.param_invalid("banned", "banned must be true or false.")
    wanted = values[0] == "true"
    return lambda user: user["banned"] == wanted


def _never(values, store):
    return lambda user: False


USER_FILTERS = {
    "email_address": _exact(_emails, lower=True),
    "phone_number": _exact(_phones),
    "username": _exact(lambda u: [(u["username"] or "").lower()],
                       lower=True),
    "web3_wallet": _exact(_wallets),
    "external_id": _signed_field("external_id"),
    "user_id": _signed_field("id"),
    "organization_id": _organizations,
    "query": _contains(_any_text),
    "email_address_query": _contains(_emails),
    "phone_number_query": _contains(_phones),
    "username_query": _contains(lambda u: [u["username"] or ""]),
    "name_query": _contains(_names),
    "banned": _banned,
    "last_active_at_before": _time("last_active_at", lambda v, b: v < b),
    "last_active_at_after": _time("last_active_at", lambda v, b: v > b),
    "last_active_at_since": _time("last_active_at", lambda v, b: v >= b),
    "created_at_before": _time("created_at", lambda v, b: v < b),
    "created_at_after": _time("created_at", lambda v, b: v > b),
    "last_sign_in_at_before": _time("last_sign_in_at", lambda v, b: v < b),
    "last_sign_in_at_after": _time("last_sign_in_at", lambda v, b: v > b),
    # This server keeps no external accounts, so no user matches these.
    "provider_user_id": _never,
}

MEMBERSHIP_USER_FILTERS = (
    "user_id", "email_address", "phone_number", "username", "web3_wallet",
    "query", "email_address_query", "phone_number_query", "username_query",
    "name_query", "last_active_at_before", "last_active_at_after",
    "created_at_before", "created_at_after")


def user_filter(store, query, names=None):
    """One check for every user filter present in `query` (or None)."""
    if (query.one("provider") is None) != (query.one("provider_user_id")
                                           is None):
        missing = "provider" if query.one("provider") is None \
            else "provider_user_id"
        raise errors.param_missing(missing)
    checks = []
    for name, build in USER_FILTERS.items():
        if names is not None and name not in names:
            continue
        values = query.many(name)
        if values:
            checks.append(build(values, store))
    return all_of(checks)


def _lower(value):
    return value.lower() if value is not None else None


USER_ORDER_KEYS = {
    "created_at": lambda u: (u["created_at"], u["id"]),
    "updated_at": lambda u: u["updated_at"],
    "email_address": lambda u: _lower(models.primary_email(u)),
    "web3wallet": lambda u: None,
    "first_name": lambda u: _lower(u["first_name"]),
    "last_name": lambda u: _lower(u["last_name"]),
    "phone_number": lambda u: models.primary_phone(u),
    "username": lambda u: _lower(u["username"]),
    "last_active_at": lambda u: u["last_active_at"],
    "last_sign_in_at": lambda u: u["last_sign_in_at"],
}


# ---- organizations -----------------------------------------------------

def org_filter(store, query):
    checks = []
    text = query.one("query")
    if text:
        needle = text.lower()
        checks.append(lambda org: org["id"] == text
                      or needle in org["name"].lower()
                      or needle in org["slug"].lower())
    user_ids = query.many("user_id")
    if user_ids:
        checks.append(signed_check(
            user_ids, lambda org: set(store.org_members.get(org["id"], ()))))
    org_ids = query.many("organization_id")
    if org_ids:
        checks.append(signed_check(org_ids, lambda org: {org["id"]}))
    return all_of(checks)
