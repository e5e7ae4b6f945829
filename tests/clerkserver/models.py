"""Constructors for the API objects, with Clerk's defaults and key order.

Objects are plain dicts in the order of the properties of the OpenAPI
schemas, so that a client which keeps the API's key order shows the same
order as Clerk. Users, email addresses, phone numbers, organizations and
sessions are stored exactly as they are served. Memberships are stored as a
small record and served through membership_view(), which embeds the current
organization and the member's public user data.

Arrays the server never fills (web3 wallets, passkeys, external accounts,
identification links) share one immutable empty tuple, which keeps a large
seeded instance small; JSON renders it as [].
"""

PROFILE_IMAGE = "https://www.gravatar.com/avatar?d=mp"
USER_IMAGE = ("https://img.clerk.com/"
              "eyJ0eXBlIjoiZGVmYXVsdCIsImlpZCI6Imluc18yTG9jYWwifQ")
ORG_IMAGE = ("https://img.clerk.com/"
             "eyJ0eXBlIjoiZGVmYXVsdCIsImlpZCI6Imluc18yTG9jYWwiLCJvIjoxfQ")

EMPTY = ()

# Shared verification of identifiers created by the Backend API; it is
# never modified in place (a change replaces the whole value).
VERIFIED = {"object": "verification_admin", "status": "verified",
            "strategy": "admin", "attempts": None, "expire_at": None}

ROLES = {
    "org:admin": ("Admin", (
        "org:sys_profile:manage", "org:sys_profile:delete",
        "org:sys_memberships:read", "org:sys_memberships:manage",
        "org:sys_domains:read", "org:sys_domains:manage")),
    "org:member": ("Member", ("org:sys_memberships:read",)),
    "org:billing_manager": ("Billing manager", (
        "org:sys_memberships:read", "org:billing:manage")),
    "org:viewer": ("Viewer", ("org:sys_memberships:read",)),
}

SESSION_STATUSES = ("active", "revoked", "ended", "expired", "removed",
                    "abandoned", "replaced", "pending")


def user_object(uid, ts):
    """A user with Clerk's defaults, created at `ts` (ms)."""
    return {
        "id": uid, "object": "user", "external_id": None,
        "primary_email_address_id": None, "primary_phone_number_id": None,
        "primary_web3_wallet_id": None, "username": None,
        "first_name": None, "last_name": None, "locale": None,
        "profile_image_url": PROFILE_IMAGE, "image_url": USER_IMAGE,
        "has_image": False, "public_metadata": {}, "private_metadata": {},
        "unsafe_metadata": {}, "email_addresses": [], "phone_numbers": [],
        "web3_wallets": EMPTY, "passkeys": EMPTY, "password_enabled": False,
        "two_factor_enabled": False, "totp_enabled": False,
        "backup_code_enabled": False, "mfa_enabled_at": None,
        "mfa_disabled_at": None, "password_last_updated_at": None,
        "external_accounts": EMPTY, "saml_accounts": EMPTY,
        "enterprise_accounts": EMPTY, "last_sign_in_at": None,
        "banned": False, "locked": False, "deprovisioned": False,
        "lockout_expires_in_seconds": None,
        "verification_attempts_remaining": 100,
        "updated_at": ts, "created_at": ts, "delete_self_enabled": True,
        "create_organization_enabled": True,
        "create_organizations_limit": None, "last_active_at": None,
        "legal_accepted_at": None, "bypass_client_trust": False,
    }


def email_object(eid, address, verified, ts):
    return {
        "id": eid, "object": "email_address", "email_address": address,
        "reserved": False, "verification": VERIFIED if verified else None,
        "linked_to": EMPTY, "matches_sso_connection": False,
        "created_at": ts, "updated_at": ts,
    }


def phone_object(pid, number, verified, ts):
    return {
        "id": pid, "object": "phone_number", "phone_number": number,
        "reserved_for_second_factor": False, "default_second_factor": False,
        "reserved": False, "verification": VERIFIED if verified else None,
        "linked_to": EMPTY, "backup_codes": None,
        "created_at": ts, "updated_at": ts,
    }


def org_object(oid, name, slug, ts):
    return {
        "object": "organization", "id": oid, "name": name, "slug": slug,
        "image_url": ORG_IMAGE, "has_image": False,
        "max_allowed_memberships": 0, "admin_delete_enabled": True,
        "public_metadata": {}, "private_metadata": {}, "created_by": "",
        "created_at": ts, "updated_at": ts, "role_set_key": None,
    }


def org_view(org, members_count=None):
    """The organization as served, with `members_count` when asked for."""
    if members_count is None:
        return org
    view = {}
    for key, value in org.items():
        view[key] = value
        if key == "has_image":
            view["members_count"] = members_count
    return view


def membership_record(mid, org_id, user_id, role, ts):
    """The stored part of a membership; see membership_view()."""
    role_name, permissions = ROLES.get(role, (role, EMPTY))
    return {
        "id": mid, "organization_id": org_id, "user_id": user_id,
        "role": role, "role_name": role_name, "permissions": permissions,
        "public_metadata": {}, "private_metadata": {},
        "created_at": ts, "updated_at": ts,
    }


def membership_view(record, org, user):
    """A membership as served, embedding its organization and member."""
    return {
        "id": record["id"], "object": "organization_membership",
        "role": record["role"], "role_name": record["role_name"],
        "permissions": record["permissions"],
        "public_metadata": record["public_metadata"],
        "private_metadata": record["private_metadata"],
        "organization": org,
        "public_user_data": public_user_data(user),
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
    }


def public_user_data(user):
    return {
        "user_id": user["id"], "first_name": user["first_name"],
        "last_name": user["last_name"],
        "profile_image_url": user["profile_image_url"],
        "image_url": user["image_url"], "has_image": user["has_image"],
        "identifier": identifier(user), "username": user["username"],
        "banned": user["banned"], "deprovisioned": user["deprovisioned"],
    }


def session_object(sid, user_id, client_id, status, ts):
    """A session created at `ts`, lasting 7 days, abandoned after 30."""
    day = 86_400_000
    return {
        "object": "session", "id": sid, "user_id": user_id,
        "client_id": client_id, "actor": None, "status": status,
        "last_active_organization_id": None, "last_active_at": ts,
        "latest_activity": None, "expire_at": ts + 7 * day,
        "abandon_at": ts + 30 * day, "updated_at": ts, "created_at": ts,
        "tasks": [{"key": "choose-organization"}]
        if status == "pending" else None,
    }


def activity_object(aid, browser, version, device, mobile, ip, city,
                    country):
    return {
        "object": "session_activity", "id": aid, "device_type": device,
        "is_mobile": mobile, "browser_name": browser,
        "browser_version": version, "ip_address": ip, "city": city,
        "country": country,
    }


def deleted_object(kind, oid, **extra):
    reply = {"object": kind, "id": oid}
    reply.update(extra)
    reply["deleted"] = True
    return reply


def find_by_id(items, item_id):
    for item in items:
        if item["id"] == item_id:
            return item
    return None


def primary_email(user):
    found = find_by_id(user["email_addresses"],
                       user["primary_email_address_id"])
    return found["email_address"] if found else None


def primary_phone(user):
    found = find_by_id(user["phone_numbers"], user["primary_phone_number_id"])
    return found["phone_number"] if found else None


def identifier(user):
    """What Clerk shows as a member's identifier."""
    return primary_email(user) or primary_phone(user) or user["username"]
