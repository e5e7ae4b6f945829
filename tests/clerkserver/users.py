"""Handlers of /users and /email_addresses.

Behaviour follows the 2026-05-12 specification: the user list is a bare
array, newest first, with `starting_after` cursors over the created_at
ordering; /users/count takes the same filters; PATCH /users/{id} refuses
metadata (its body has additionalProperties: false) and metadata is
written through PUT (replace each given field) or PATCH (deep merge, null
deletes) on /users/{id}/metadata. Ban, unban, lock and unlock take no body
and return the user; a ban also revokes the user's sessions.

This instance accepts any one identifier (email address, phone number or
username) and requires a password unless `skip_password_requirement` is
set, like a development instance with password sign-in enabled.
"""

from . import bodies
from . import errors
from . import filters
from . import models
from .ids import now_ms
from .store import touch

USER_CREATE_FIELDS = {
    "external_id": "str?", "first_name": "str?", "last_name": "str?",
    "locale": "str?", "email_address": "[str]",
    "email_address_identification_status": "[str]",
    "phone_number": "[str]", "phone_number_identification_status": "[str]",
    "web3_wallet": "[str]", "username": "str?", "password": "str?",
    "password_digest": "str?", "password_hasher": "str?",
    "skip_password_checks": "bool?", "skip_password_requirement": "bool?",
    "totp_secret": "str?", "backup_codes": "[str]",
    "public_metadata": "obj", "private_metadata": "obj",
    "unsafe_metadata": "obj", "delete_self_enabled": "bool?",
    "legal_accepted_at": "str?", "skip_legal_checks": "bool?",
    "skip_user_requirement": "bool?", "create_organization_enabled": "bool?",
    "create_organizations_limit": "int?", "created_at": "str?",
    "bypass_client_trust": "bool?", "banned": "bool?", "locked": "bool?",
}

USER_UPDATE_FIELDS = {
    "external_id": "str?", "first_name": "str?", "last_name": "str?",
    "locale": "str?", "primary_email_address_id": "str?",
    "notify_primary_email_address_changed": "bool?",
    "primary_phone_number_id": "str?", "primary_web3_wallet_id": "str?",
    "username": "str?", "profile_image_id": "str?", "password": "str?",
    "password_digest": "str", "password_hasher": "str?",
    "skip_password_checks": "bool?", "sign_out_of_other_sessions": "bool?",
    "totp_secret": "str?", "backup_codes": "[str]",
    "delete_self_enabled": "bool?", "create_organization_enabled": "bool?",
    "legal_accepted_at": "str?", "skip_legal_checks": "bool?",
    "create_organizations_limit": "int?", "created_at": "str?",
    "bypass_client_trust": "bool?",
}

# Fields copied as given (null clears the text fields, leaves flags).
PLAIN_TEXT = ("first_name", "last_name", "locale")
PLAIN_FLAGS = ("delete_self_enabled", "create_organization_enabled",
               "bypass_client_trust")

USER_METADATA = ("public_metadata", "private_metadata", "unsafe_metadata")

EMAIL_CREATE_FIELDS = {
    "user_id": "str", "email_address": "str", "verified": "bool?",
    "primary": "bool?", "notify_primary_email_address_changed": "bool?",
}
EMAIL_UPDATE_FIELDS = {
    "verified": "bool?", "primary": "bool?",
    "notify_primary_email_address_changed": "bool?",
}


# ---- listing -----------------------------------------------------------

def list_users(call):
    store, query = call.store, call.query
    check = filters.user_filter(store, query)
    limit, offset = filters.page(query)
    field, descending = filters.order(
        query, filters.USER_ORDER_KEYS, "-created_at")
    cursor = _cursor(query, field, offset)

    if field == "created_at":
        candidates = store.users_by_creation(descending, cursor)
    else:
        candidates = _sorted_users(store, check, field, descending)
        check = None
    page = filters.take(candidates, check, offset, limit)
    return [store.serve_user(u) for u in page]


def _cursor(query, field, offset):
    """`starting_after`, which needs the created_at order and no offset."""
    cursor = query.one("starting_after")
    if cursor and field != "created_at":
        raise errors.param_value_invalid(
            "starting_after", "starting_after requires ordering by "
            "created_at.")
    if cursor and offset:
        raise errors.param_value_invalid(
            "starting_after", "starting_after cannot be combined with a "
            "non-zero offset.")
    return cursor


def _sorted_users(store, check, field, descending):
    """Matching users by `field`; ties stay newest first, nulls last."""
    matching = [u for u in store.users_by_creation(True)
                if check is None or check(u)]
    return filters.sort_nulls_last(
        matching, filters.USER_ORDER_KEYS[field], descending)


def count_users(call):
    check = filters.user_filter(call.store, call.query)
    users = call.store.users.values()
    total = len(users) if check is None else sum(1 for u in users
                                                 if check(u))
    return {"object": "total_count", "total_count": total}


def get_user(call):
    return call.store.serve_user(call.store.user(call.params["user_id"]))


def list_user_memberships(call):
    store = call.store
    store.user(call.params["user_id"])
    limit, offset = filters.page(call.query)
    records = sorted(store.user_orgs[call.params["user_id"]].values(),
                     key=lambda r: (r["created_at"], r["id"]), reverse=True)
    return {"data": [store.serve_membership(r)
                     for r in records[offset:offset + limit]],
            "total_count": len(records)}


# ---- create ------------------------------------------------------------

def create_user(call):
    store = call.store
    body = bodies.fields(call.body, USER_CREATE_FIELDS)
    emails, phones, metadata = _check_create(store, body,
                                             call.options.metadata_limit)

    ts = now_ms()
    user = models.user_object(store.ids.new("user"), ts)
    _attach_identifiers(store, user, body, emails, phones, ts)
    _apply_profile(user, body)
    user.update(metadata)
    if body.get("created_at"):
        user["created_at"] = bodies.timestamp_ms("created_at",
                                                 body["created_at"])
    user["banned"] = bool(body.get("banned"))
    store.add_user(user)
    if body.get("locked"):
        store.lock_user(user)
    return store.serve_user(user)


def _check_create(store, body, metadata_limit):
    """Validate a create body; (emails, phones, metadata) to apply."""
    emails = _identifiers(body, "email_address", bodies.email_address)
    phones = _identifiers(body, "phone_number", bodies.phone_number)
    if body.get("web3_wallet"):
        raise errors.param_value_invalid(
            "web3_wallet", "Web3 wallets are not enabled on this instance.")
    _require_identifier(body, emails, phones)
    _check_unique(store, body, emails, phones)
    _check_password(body, creating=True)
    for name in ("created_at", "legal_accepted_at"):
        if body.get(name):
            bodies.timestamp_ms(name, body[name])
    metadata = {field: bodies.metadata(field, body[field], metadata_limit)
                for field in USER_METADATA if field in body}
    return emails, phones, metadata


def _identifiers(body, name, check):
    values = [check(name, value) for value in body.get(name) or ()]
    statuses = body.get(f"{name}_identification_status") or []
    if statuses and len(statuses) != len(values):
        raise errors.param_invalid(
            f"{name}_identification_status",
            f"{name}_identification_status must have one item per "
            f"{name}.")
    for status in statuses:
        if status not in ("verified", "reserved"):
            raise errors.param_invalid(
                f"{name}_identification_status",
                "Each status must be verified or reserved.")
    return list(zip(values, statuses or ["verified"] * len(values)))


def _require_identifier(body, emails, phones):
    if emails or phones or body.get("username"):
        return
    if body.get("skip_user_requirement"):
        return
    raise errors.ApiError(
        422, "form_param_missing", "is missing",
        "One of email_address, phone_number or username must be included.",
        {"param_name": "email_address"})


def _check_unique(store, body, emails, phones):
    if body.get("username"):
        bodies.username(body["username"])
    seen = set()
    for kind, values in (("email_address", emails), ("phone_number", phones)):
        for value, _ in values:
            key = (kind, value.lower())
            if key in seen:
                raise errors.identifier_exists(
                    kind, f"{value} is given more than once.")
            seen.add(key)
            store.check_free(kind, value)
    for kind in ("username", "external_id"):
        if body.get(kind):
            store.check_free(kind, body[kind])


def _check_password(body, creating):
    password = body.get("password")
    if password is not None and len(password) < 8 \
            and not body.get("skip_password_checks"):
        raise errors.ApiError(
            422, "form_password_length_too_short", "is too short",
            "Passwords must be 8 characters or more.",
            {"param_name": "password"})
    if creating and password is None and not body.get("password_digest") \
            and not body.get("skip_password_requirement"):
        raise errors.ApiError(
            422, "form_param_missing", "is missing",
            "password must be included, unless skip_password_requirement "
            "is true.", {"param_name": "password"})


def _attach_identifiers(store, user, body, emails, phones, ts):
    for address, status in emails:
        email = models.email_object(store.ids.new("idn"), address, True, ts)
        email["reserved"] = status == "reserved"
        if email["reserved"]:
            email["verification"] = None
        user["email_addresses"].append(email)
    for number, status in phones:
        phone = models.phone_object(store.ids.new("idn"), number, True, ts)
        phone["reserved"] = status == "reserved"
        if phone["reserved"]:
            phone["verification"] = None
        user["phone_numbers"].append(phone)
    if user["email_addresses"]:
        user["primary_email_address_id"] = user["email_addresses"][0]["id"]
    if user["phone_numbers"]:
        user["primary_phone_number_id"] = user["phone_numbers"][0]["id"]
    user["username"] = body.get("username") or None
    user["external_id"] = body.get("external_id") or None


def _apply_profile(user, body):
    """Fields shared by create and update that need no validation."""
    for name in PLAIN_TEXT:
        if name in body:
            user[name] = body[name]
    for name in PLAIN_FLAGS:
        if body.get(name) is not None:
            user[name] = body[name]
    if "create_organizations_limit" in body:
        user["create_organizations_limit"] = body["create_organizations_limit"]
    if body.get("legal_accepted_at"):
        user["legal_accepted_at"] = bodies.timestamp_ms(
            "legal_accepted_at", body["legal_accepted_at"])
    ts = user["updated_at"]
    if body.get("password") or body.get("password_digest"):
        user["password_enabled"] = True
        user["password_last_updated_at"] = ts
    if body.get("totp_secret"):
        user["totp_enabled"] = user["two_factor_enabled"] = True
        user["mfa_enabled_at"] = ts
    if body.get("backup_codes"):
        user["backup_code_enabled"] = user["two_factor_enabled"] = True


# ---- update and delete -------------------------------------------------

def update_user(call):
    store = call.store
    user = store.user(call.params["user_id"])
    body = bodies.fields(call.body, USER_UPDATE_FIELDS)
    primaries, created_at = _check_update(store, user, body)

    touch(user)
    _apply_profile(user, body)
    user.update(primaries)
    for kind in ("username", "external_id"):
        if kind in body:
            store.set_identifier(user, kind, body[kind])
    if body.get("password") and body.get("sign_out_of_other_sessions"):
        store.revoke_sessions(user["id"])
    if created_at:
        user["created_at"] = created_at
        store.created_at_changed()
    return store.serve_user(user)


def _check_update(store, user, body):
    """Validate an update body; (new primary ids, new created_at)."""
    if body.get("username"):
        bodies.username(body["username"])
    for kind in ("username", "external_id"):
        if body.get(kind):
            store.check_free(kind, body[kind], user["id"])
    _check_password(body, creating=False)
    if body.get("legal_accepted_at"):
        bodies.timestamp_ms("legal_accepted_at", body["legal_accepted_at"])
    created_at = body.get("created_at") and bodies.timestamp_ms(
        "created_at", body["created_at"])
    return _primary_changes(user, body), created_at


def _primary_changes(user, body):
    """Validated new primary identifier ids: each must be verified."""
    changes = {}
    for name, items in (("primary_email_address_id", "email_addresses"),
                        ("primary_phone_number_id", "phone_numbers"),
                        ("primary_web3_wallet_id", "web3_wallets")):
        wanted = body.get(name)
        if wanted is None:
            continue
        found = models.find_by_id(user[items], wanted)
        if found is None or found["verification"] is None:
            raise errors.param_value_invalid(
                name, f"{name} must be a verified identification of this "
                "user.")
        changes[name] = wanted
    return changes


def delete_user(call):
    user = call.store.remove_user(call.params["user_id"])
    return models.deleted_object("user", user["id"])


# ---- metadata, bans and locks ------------------------------------------

def replace_user_metadata(call):
    return _write_metadata(call, merge=False)


def merge_user_metadata(call):
    return _write_metadata(call, merge=True)


def _write_metadata(call, merge):
    user = call.store.user(call.params["user_id"])
    changes = bodies.metadata_update(user, call.body, USER_METADATA, merge,
                                     call.options.metadata_limit)
    if changes:
        user.update(changes)
        touch(user)
    return call.store.serve_user(user)


def ban_user(call):
    user = call.store.user(call.params["user_id"])
    user["banned"] = True
    call.store.revoke_sessions(user["id"])
    touch(user)
    return call.store.serve_user(user)


def unban_user(call):
    user = call.store.user(call.params["user_id"])
    user["banned"] = False
    touch(user)
    return call.store.serve_user(user)


def lock_user(call):
    user = call.store.user(call.params["user_id"])
    if not call.store.lockout_ms:
        raise errors.ApiError(
            403, "feature_not_enabled", "not enabled",
            "User lockout is not enabled on this instance.")
    call.store.lock_user(user)
    touch(user)
    return call.store.serve_user(user)


def unlock_user(call):
    user = call.store.user(call.params["user_id"])
    call.store.unlock_user(user)
    touch(user)
    return call.store.serve_user(user)


# ---- email addresses ---------------------------------------------------

def create_email(call):
    store = call.store
    body = bodies.fields(call.body, EMAIL_CREATE_FIELDS,
                         required=("user_id", "email_address"), strict=False)
    user = store.user(body["user_id"])
    address = bodies.email_address("email_address", body["email_address"])
    store.check_free("email_address", address)

    email = models.email_object(store.ids.new("idn"), address,
                                bool(body.get("verified")), now_ms())
    store.add_email(user, email, primary=bool(body.get("primary")))
    touch(user)
    return email


def get_email(call):
    return call.store.email(call.params["email_address_id"])[1]


def update_email(call):
    user, email = call.store.email(call.params["email_address_id"])
    body = bodies.fields(call.body, EMAIL_UPDATE_FIELDS, strict=False)
    if body.get("verified") is not None:
        email["verification"] = models.VERIFIED if body["verified"] else None
    if body.get("primary"):
        user["primary_email_address_id"] = email["id"]
    touch(email)
    touch(user)
    return email


def delete_email(call):
    user, email = call.store.email(call.params["email_address_id"])
    call.store.remove_email(user, email)
    touch(user)
    return models.deleted_object("email_address", email["id"])
