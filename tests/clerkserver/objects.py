"""Direct access to stored objects, for test fixtures (/__objects).

put() inserts or replaces one object by id from a full or partial
description: every field not given gets the default a new object would
have (a missing id is generated, a missing created_at is now, a missing
updated_at equals created_at), and the indexes are updated as for API
writes. Conveniences:

    users            `email_addresses` and `phone_numbers` items may be plain
                     strings; the primary ids default to the first items;
                     `locked: true` locks for `lockout_expires_in_seconds`
                     (for ever when that is absent or null)
    memberships      `organization_id` and `user_id` (or the embedded
                     `organization.id` and `public_user_data.user_id`);
                     `role` defaults to org:member
    email_addresses  `user_id`, `email_address`, optional `verified` and
                     `primary`
    sessions         `user_id`; `status` defaults to active

patch() merges the given fields into the stored object and moves
updated_at forward unless it is given. Identifiers taken by another object
raise ValueError; unknown referenced objects raise LookupError. None of
this is counted in statistics. Callers hold the store lock.
"""

from . import errors
from . import models
from .bodies import slugify
from .ids import now_ms

KINDS = ("users", "organizations", "memberships", "email_addresses",
         "sessions")


def put(store, kind, obj):
    """Insert or replace; returns the object as the API would serve it."""
    if not isinstance(obj, dict):
        raise ValueError("an object is a JSON object")
    return PUTTERS[_kind(kind)](store, obj)


def get(store, kind, oid):
    """The object as served, or None."""
    getter = GETTERS[_kind(kind)]
    try:
        return getter(store, oid)
    except (LookupError, errors.ApiError):
        return None


def patch(store, kind, oid, fields):
    current = get(store, kind, oid)
    if current is None:
        raise LookupError(f"no {kind} object {oid}")
    merged = dict(current)
    if kind == "email_addresses":
        user = store.users[store.owner[oid]]
        merged["user_id"] = user["id"]
        merged["primary"] = user["primary_email_address_id"] == oid
    merged.update(fields)
    if "updated_at" not in fields and "updated_at" in current:
        merged["updated_at"] = max(now_ms(), current["updated_at"] + 1)
    return put(store, kind, merged)


def delete(store, kind, oid):
    """Delete; False when there is no such object."""
    if get(store, kind, oid) is None:
        return False
    DELETERS[_kind(kind)](store, oid)
    return True


def _kind(kind):
    if kind not in KINDS:
        raise LookupError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    return kind


# ---- users -------------------------------------------------------------

def _put_user(store, obj):
    uid = obj.get("id") or store.ids.new("user")
    created = obj.get("created_at") or now_ms()
    user = models.user_object(uid, created)
    for key, value in obj.items():
        if key not in ("email_addresses", "phone_numbers"):
            user[key] = value
    if "updated_at" not in obj:
        user["updated_at"] = created
    user["email_addresses"] = [
        _identification(store, item, "email_address", created)
        for item in obj.get("email_addresses", ())]
    user["phone_numbers"] = [
        _identification(store, item, "phone_number", created)
        for item in obj.get("phone_numbers", ())]
    for key, items in (("primary_email_address_id", "email_addresses"),
                       ("primary_phone_number_id", "phone_numbers")):
        if key not in obj:
            user[key] = user[items][0]["id"] if user[items] else None
    _check_identifiers(store, user)

    store.add_user(user)
    if user["locked"]:
        store.lock_user(user, user["lockout_expires_in_seconds"] or 0)
    else:
        store.unlock_user(user)
    return store.serve_user(user)


def _identification(store, item, kind, ts):
    if isinstance(item, str):
        item = {kind: item}
    build = models.email_object if kind == "email_address" \
        else models.phone_object
    obj = build(item.get("id") or store.ids.new("idn"), item[kind], True, ts)
    obj.update(item)
    return obj


def _check_identifiers(store, user):
    values = [("email_address", e["email_address"])
              for e in user["email_addresses"]]
    values += [("phone_number", p["phone_number"])
               for p in user["phone_numbers"]]
    values += [(kind, user[kind]) for kind in ("username", "external_id")
               if user[kind]]
    for kind, value in values:
        owner = store.find_by(kind, value)
        if owner is not None and owner != user["id"]:
            raise ValueError(f"{kind} {value!r} belongs to user {owner}")


def _get_user(store, uid):
    return store.serve_user(store.users[uid])


# ---- organizations -----------------------------------------------------

def _put_org(store, obj):
    oid = obj.get("id") or store.ids.new("org")
    name = obj.get("name") or "Organization"
    slug = obj.get("slug") or _own_or_free_slug(store, oid, slugify(name))
    if store.slugs.get(slug, oid) != oid:
        raise ValueError(f"slug {slug!r} belongs to {store.slugs[slug]}")
    created = obj.get("created_at") or now_ms()
    org = models.org_object(oid, name, slug, created)
    for key, value in obj.items():
        if key != "members_count":
            org[key] = value
    org["slug"] = slug
    if "updated_at" not in obj:
        org["updated_at"] = created
    store.add_org(org)
    return org


def _own_or_free_slug(store, oid, base):
    current = store.orgs.get(oid)
    if current is not None and current["slug"] == base:
        return base
    return store.free_slug(base)


def _get_org(store, oid):
    return store.orgs[oid]


# ---- memberships -------------------------------------------------------

def _put_membership(store, obj):
    oid = obj.get("organization_id") or obj.get("organization", {}).get("id")
    uid = obj.get("user_id") or obj.get("public_user_data", {}).get(
        "user_id")
    if oid not in store.orgs or uid not in store.users:
        raise LookupError(f"organization {oid} or user {uid} not found")
    role = obj.get("role", "org:member")
    record = models.membership_record(obj.get("id") or store.ids.new(
        "orgmem"), oid, uid, role, obj.get("created_at") or now_ms())
    for key in ("role_name", "permissions", "public_metadata",
                "private_metadata", "updated_at"):
        if key in obj:
            record[key] = obj[key]
    if "updated_at" not in obj:
        record["updated_at"] = record["created_at"]
    store.add_membership(record)
    return store.serve_membership(record)


def _membership_record(store, ref):
    """A membership by its id or by "org_id:user_id"."""
    if ref in store.memberships:
        return store.memberships[ref]
    oid, _, uid = ref.partition(":")
    return store.org_members[oid][uid]


def _get_membership(store, ref):
    return store.serve_membership(_membership_record(store, ref))


# ---- email addresses ---------------------------------------------------

def _put_email(store, obj):
    user = store.users.get(obj.get("user_id"))
    if user is None:
        raise LookupError(f"user {obj.get('user_id')} not found")
    eid = obj.get("id")
    if eid in store.owner:
        owner, old = store.email(eid)
        store.remove_email(owner, old, force=True)
    email = _identification(store, {
        key: value for key, value in obj.items()
        if key not in ("user_id", "verified", "primary")},
        "email_address", obj.get("created_at") or now_ms())
    if "verified" in obj:
        email["verification"] = models.VERIFIED if obj["verified"] else None
    if "updated_at" not in obj:
        email["updated_at"] = email["created_at"]
    try:
        store.add_email(user, email, primary=bool(obj.get("primary")))
    except errors.ApiError as error:
        raise ValueError(f"email address {email['email_address']!r} is "
                         "taken") from error
    return email


def _get_email(store, eid):
    return store.email(eid)[1]


def _delete_email(store, eid):
    user, email = store.email(eid)
    store.remove_email(user, email, force=True)


# ---- sessions ----------------------------------------------------------

def _put_session(store, obj):
    if obj.get("user_id") not in store.users:
        raise LookupError(f"user {obj.get('user_id')} not found")
    session = models.session_object(
        obj.get("id") or store.ids.new("sess"), obj["user_id"],
        obj.get("client_id") or store.ids.new("client"),
        obj.get("status", "active"), obj.get("created_at") or now_ms())
    session.update(obj)
    if "updated_at" not in obj:
        session["updated_at"] = session["created_at"]
    store.add_session(session)
    return session


PUTTERS = {"users": _put_user, "organizations": _put_org,
           "memberships": _put_membership, "email_addresses": _put_email,
           "sessions": _put_session}
GETTERS = {"users": _get_user, "organizations": _get_org,
           "memberships": _get_membership, "email_addresses": _get_email,
           "sessions": lambda store, sid: store.sessions[sid]}
DELETERS = {"users": lambda store, oid: store.remove_user(oid),
            "organizations": lambda store, oid: store.remove_org(oid),
            "memberships": lambda store, ref: store.remove_membership(
                _membership_record(store, ref)),
            "email_addresses": _delete_email,
            "sessions": lambda store, sid: store.remove_session(sid)}
