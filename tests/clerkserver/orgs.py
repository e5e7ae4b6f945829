"""Handlers of /organizations, their memberships and /organization_memberships.

Lists answer `{"data": [...], "total_count": N}`. An organization is read
by id or slug and written by id. The organization PATCH refuses metadata
(2026-05-12); metadata goes through PUT (replace) or PATCH (deep merge) on
/organizations/{id}/metadata. Memberships are keyed by user id, carry the
organization and the member's public user data, and a delete returns the
membership. Roles are those of models.ROLES, including the custom
`org:billing_manager`; a `max_allowed_memberships` of 0 means no limit.
"""

from . import bodies
from . import errors
from . import filters
from . import models
from .ids import now_ms
from .store import touch

ORG_CREATE_FIELDS = {
    "name": "str", "created_by": "str?", "private_metadata": "obj?",
    "public_metadata": "obj?", "slug": "str?",
    "max_allowed_memberships": "int?", "created_at": "str?",
    "role_set_key": "str?",
}
ORG_UPDATE_FIELDS = {
    "name": "str?", "slug": "str?", "max_allowed_memberships": "int?",
    "admin_delete_enabled": "bool?", "created_at": "str?",
    "role_set_key": "str?",
}
ORG_METADATA = ("public_metadata", "private_metadata")
MEMBERSHIP_CREATE_FIELDS = {
    "user_id": "str", "role": "str", "public_metadata": "obj?",
    "private_metadata": "obj?",
}
MEMBERSHIP_ORDER_FIELDS = ("phone_number", "email_address", "created_at",
                           "first_name", "last_name", "username")


# ---- organizations -----------------------------------------------------

def list_orgs(call):
    store, query = call.store, call.query
    check = filters.org_filter(store, query)
    limit, offset = filters.page(query)
    field, descending = filters.order(
        query, ("name", "created_at", "members_count"), "-created_at")
    with_count = bool(query.boolean("include_members_count"))

    matching = [org for org in _newest_first(store.orgs.values())
                if check is None or check(org)]
    if field == "name":
        matching.sort(key=lambda org: org["name"].lower(), reverse=descending)
    elif field == "members_count":
        matching.sort(key=lambda org: store.members_count(org["id"]),
                      reverse=descending)
    elif not descending:
        matching.reverse()
    return {"data": [_serve(store, org, with_count)
                     for org in matching[offset:offset + limit]],
            "total_count": len(matching)}


def get_org(call):
    org = call.store.org_by_id_or_slug(call.params["organization_id"])
    with_count = bool(call.query.boolean("include_members_count"))
    return _serve(call.store, org, with_count)


def create_org(call):
    store = call.store
    body = bodies.fields(call.body, ORG_CREATE_FIELDS, required=("name",),
                         strict=False)
    slug, creator = _check_create(store, body)
    metadata = {field: bodies.metadata(field, body[field] or {},
                                       call.options.metadata_limit)
                for field in ORG_METADATA if field in body}

    ts = now_ms()
    org = models.org_object(store.ids.new("org"), body["name"], slug, ts)
    org.update(metadata)
    org["max_allowed_memberships"] = body.get("max_allowed_memberships") or 0
    org["role_set_key"] = body.get("role_set_key")
    if body.get("created_at"):
        org["created_at"] = bodies.timestamp_ms("created_at",
                                                body["created_at"])
    store.add_org(org)
    if creator:
        org["created_by"] = creator["id"]
        store.add_membership(models.membership_record(
            store.ids.new("orgmem"), org["id"], creator["id"], "org:admin",
            ts))
    return org


def _check_create(store, body):
    """Validate a create body; (slug to use, creating user or None)."""
    bodies.org_name(body["name"])
    slug = body.get("slug")
    if slug:
        store.check_slug_free(bodies.slug(slug))
    else:
        slug = store.free_slug(bodies.slugify(body["name"]))
    _membership_limit(body)
    if body.get("created_at"):
        bodies.timestamp_ms("created_at", body["created_at"])
    return slug, _creator(store, body.get("created_by"))


def _creator(store, uid):
    if uid is None:
        return None
    if uid not in store.users:
        raise errors.param_value_invalid(
            "created_by", f"created_by: no user with id {uid}.")
    return store.users[uid]


def _membership_limit(body):
    limit = body.get("max_allowed_memberships")
    if limit is not None and limit < 0:
        raise errors.param_invalid(
            "max_allowed_memberships",
            "max_allowed_memberships must be 0 or more.")
    return limit


def update_org(call):
    store = call.store
    org = store.org(call.params["organization_id"])
    body = bodies.fields(call.body, ORG_UPDATE_FIELDS)
    if body.get("name") is not None:
        bodies.org_name(body["name"])
    if body.get("slug"):
        store.check_slug_free(bodies.slug(body["slug"]), org["id"])
    limit = _membership_limit(body)
    created_at = body.get("created_at") and bodies.timestamp_ms(
        "created_at", body["created_at"])

    touch(org)
    if body.get("name") is not None:
        org["name"] = body["name"]
    if body.get("slug"):
        store.set_slug(org, body["slug"])
    if limit is not None:
        org["max_allowed_memberships"] = limit
    if body.get("admin_delete_enabled") is not None:
        org["admin_delete_enabled"] = body["admin_delete_enabled"]
    if "role_set_key" in body:
        org["role_set_key"] = body["role_set_key"]
    if created_at:
        org["created_at"] = created_at
    return org


def delete_org(call):
    org = call.store.remove_org(call.params["organization_id"])
    return models.deleted_object("organization", org["id"], slug=org["slug"])


def replace_org_metadata(call):
    return _write_metadata(call, merge=False)


def merge_org_metadata(call):
    return _write_metadata(call, merge=True)


def _write_metadata(call, merge):
    org = call.store.org(call.params["organization_id"])
    changes = bodies.metadata_update(org, call.body, ORG_METADATA, merge,
                                     call.options.metadata_limit)
    if changes:
        org.update(changes)
        touch(org)
    return org


def _serve(store, org, with_count):
    count = store.members_count(org["id"]) if with_count else None
    return models.org_view(org, count)


def _newest_first(items):
    return sorted(items, key=lambda item: (item["created_at"], item["id"]),
                  reverse=True)


# ---- memberships -------------------------------------------------------

def list_memberships(call):
    store, query = call.store, call.query
    org = store.org(call.params["organization_id"])
    user_check = filters.user_filter(store, query,
                                     filters.MEMBERSHIP_USER_FILTERS)
    roles = set(query.many("role"))

    def check(record):
        if roles and record["role"] not in roles:
            return False
        return user_check is None or user_check(store.users[record["user_id"]])

    records = [r for r in store.org_members[org["id"]].values() if check(r)]
    return _membership_page(store, query, records)


def list_all_memberships(call):
    return _membership_page(call.store, call.query,
                            list(call.store.memberships.values()))


def _membership_page(store, query, records):
    limit, offset = filters.page(query)
    field, descending = filters.order(query, MEMBERSHIP_ORDER_FIELDS,
                                      "-created_at")
    records = _newest_first(records)
    if field != "created_at":
        user_key = filters.USER_ORDER_KEYS[field]
        records = filters.sort_nulls_last(
            records, lambda r: user_key(store.users[r["user_id"]]),
            descending)
    elif not descending:
        records.reverse()
    return {"data": [store.serve_membership(r)
                     for r in records[offset:offset + limit]],
            "total_count": len(records)}


def create_membership(call):
    store = call.store
    org = store.org(call.params["organization_id"])
    body = bodies.fields(call.body, MEMBERSHIP_CREATE_FIELDS,
                         required=("user_id", "role"), strict=False)
    user = store.user(body["user_id"])
    role = _role(body["role"])
    if user["id"] in store.org_members[org["id"]]:
        raise errors.ApiError(
            422, "already_a_member_in_organization", "already a member",
            f"User {user['id']} is already a member of the organization.")
    limit = org["max_allowed_memberships"]
    if limit and store.members_count(org["id"]) >= limit:
        raise errors.ApiError(
            403, "organization_membership_quota_exceeded",
            "membership quota exceeded",
            f"The organization allows at most {limit} memberships.")
    metadata = {field: bodies.metadata(field, body[field] or {},
                                       call.options.metadata_limit)
                for field in ORG_METADATA if field in body}

    record = models.membership_record(store.ids.new("orgmem"), org["id"],
                                      user["id"], role, now_ms())
    record.update(metadata)
    store.add_membership(record)
    return store.serve_membership(record)


def update_membership(call):
    store = call.store
    org = store.org(call.params["organization_id"])
    record = store.membership(org["id"], call.params["user_id"])
    body = bodies.fields(call.body, {"role": "str"}, required=("role",),
                         strict=False)
    role = _role(body["role"])

    record["role"] = role
    record["role_name"], record["permissions"] = models.ROLES[role]
    touch(record)
    return store.serve_membership(record)


def delete_membership(call):
    store = call.store
    org = store.org(call.params["organization_id"])
    record = store.membership(org["id"], call.params["user_id"])
    reply = store.serve_membership(record)
    store.remove_membership(record)
    return reply


def _role(role):
    if role not in models.ROLES:
        raise errors.param_value_invalid(
            "role", f"role {role!r} does not exist; this instance has "
            + ", ".join(models.ROLES) + ".")
    return role
