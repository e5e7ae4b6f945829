"""The server's state: objects, indexes and the rules that tie them together.

One Store holds every user, email address, phone number, organization,
membership and session, plus the indexes needed to answer lookups quickly
(identifier to user, slug to organization, user to memberships and
sessions) and to page users newest first without sorting on every request.

Thread safety: the Store does no locking of its own. The server holds
`store.lock` around each API operation, including the JSON encoding of its
reply, so handlers may read and mutate objects freely.

Consistency rules kept here:
- an email address or phone number belongs to one user; the user's
  `email_addresses` list and `primary_email_address_id` always agree;
- identifiers (email, phone, username, external id) and slugs are unique,
  emails and usernames without regard to case;
- deleting a user or an organization deletes its memberships, and
  deleting a user deletes its sessions;
- every change moves `updated_at` strictly forward;
- a lock ends by itself: `locked` and `lockout_expires_in_seconds` are
  brought up to date whenever a user is served.
"""

import bisect
import math
import threading

from . import errors
from . import models
from .ids import now_ms

IDENTIFIER_NAMES = {
    "email_address": "email address",
    "phone_number": "phone number",
    "username": "username",
    "external_id": "external ID",
}


class Store:
    """All objects of one instance; see the module docstring."""

    def __init__(self, ids, lockout_seconds=3600):
        self.lock = threading.RLock()
        self.ids = ids
        self.lockout_ms = int(lockout_seconds * 1000)
        self.users = {}
        self.orgs = {}
        self.sessions = {}
        self.memberships = {}      # membership id -> record
        self.org_members = {}      # org id -> {user id: record}
        self.user_orgs = {}        # user id -> {org id: record}
        self.user_sessions = {}    # user id -> [session id]
        self.client_sessions = {}  # client id -> [session id]
        self.by_identifier = {name: {} for name in IDENTIFIER_NAMES}
        self.owner = {}            # email / phone id -> user id
        self.slugs = {}            # slug -> org id
        self.lock_until = {}       # user id -> ms at which the lock ends
        self.tombstones = {}       # deleted user id -> its created_at
        self._order = None         # ascending [(created_at, id)], cached

    # ---- users -------------------------------------------------------

    def user(self, uid):
        """The stored user, or a 404."""
        found = self.users.get(uid)
        if found is None:
            raise errors.not_found("User")
        return found

    def add_user(self, user):
        """Insert or replace a user; identifiers must already be free."""
        old = self.users.get(user["id"])
        if old is not None:
            self._unindex_user(old)
        self.users[user["id"]] = user
        self._index_user(user)
        self.user_orgs.setdefault(user["id"], {})
        self.user_sessions.setdefault(user["id"], [])
        self.tombstones.pop(user["id"], None)
        self._order = None

    def remove_user(self, uid):
        user = self.user(uid)
        for record in list(self.user_orgs.get(uid, {}).values()):
            self.remove_membership(record)
        for sid in self.user_sessions.pop(uid, []):
            self._forget_session(self.sessions.pop(sid))
        self._unindex_user(user)
        del self.users[uid]
        self.user_orgs.pop(uid, None)
        self.lock_until.pop(uid, None)
        self.tombstones[uid] = user["created_at"]
        self._order = None
        return user

    def serve_user(self, user):
        """Bring the user's lock up to date and return it for serving."""
        until = self.lock_until.get(user["id"])
        if until is None:
            return user
        left = until - now_ms()
        if left > 0:
            user["lockout_expires_in_seconds"] = math.ceil(left / 1000)
        else:
            self._clear_lock(user)
        return user

    def created_at_changed(self):
        self._order = None

    def users_by_creation(self, descending=True, after=None):
        """Users newest (or oldest) first, after the cursor user `after`."""
        order = self._creation_order()
        if after is None:
            indexes = range(len(order))
        else:
            key = (self._cursor_created_at(after), after)
            if descending:
                indexes = range(bisect.bisect_left(order, key))
            else:
                indexes = range(bisect.bisect_right(order, key), len(order))
        if descending:
            indexes = reversed(indexes)
        users = self.users
        return (users[order[i][1]] for i in indexes)

    def _creation_order(self):
        if self._order is None:
            self._order = sorted((u["created_at"], u["id"])
                                 for u in self.users.values())
        return self._order

    def _cursor_created_at(self, uid):
        user = self.users.get(uid)
        if user is not None:
            return user["created_at"]
        if uid in self.tombstones:
            return self.tombstones[uid]
        raise errors.param_value_invalid(
            "starting_after", f"starting_after: no user with id {uid}.")

    # ---- identifiers -------------------------------------------------

    def check_free(self, kind, value, uid=None):
        """422 form_identifier_exists unless `value` is free (or uid's)."""
        owner = self.by_identifier[kind].get(_identifier_key(kind, value))
        if owner is not None and owner != uid:
            raise errors.identifier_exists(
                kind, f"That {IDENTIFIER_NAMES[kind]} is taken. "
                "Please try another.")

    def find_by(self, kind, value):
        """The id of the user holding an identifier, or None."""
        return self.by_identifier[kind].get(_identifier_key(kind, value))

    def set_identifier(self, user, kind, value):
        """Change a user's username or external id, keeping the index."""
        index = self.by_identifier[kind]
        if user[kind]:
            index.pop(_identifier_key(kind, user[kind]), None)
        user[kind] = value or None
        if value:
            index[_identifier_key(kind, value)] = user["id"]

    def _index_user(self, user):
        uid = user["id"]
        for email in user["email_addresses"]:
            self._claim("email_address", email["email_address"], uid)
            self.owner[email["id"]] = uid
        for phone in user["phone_numbers"]:
            self._claim("phone_number", phone["phone_number"], uid)
            self.owner[phone["id"]] = uid
        for kind in ("username", "external_id"):
            if user[kind]:
                self._claim(kind, user[kind], uid)

    def _unindex_user(self, user):
        uid = user["id"]
        for email in user["email_addresses"]:
            self._release("email_address", email["email_address"], uid)
            self.owner.pop(email["id"], None)
        for phone in user["phone_numbers"]:
            self._release("phone_number", phone["phone_number"], uid)
            self.owner.pop(phone["id"], None)
        for kind in ("username", "external_id"):
            if user[kind]:
                self._release(kind, user[kind], uid)

    def _claim(self, kind, value, uid):
        self.by_identifier[kind][_identifier_key(kind, value)] = uid

    def _release(self, kind, value, uid):
        index = self.by_identifier[kind]
        key = _identifier_key(kind, value)
        if index.get(key) == uid:
            del index[key]

    # ---- email addresses and phone numbers ---------------------------

    def email(self, eid):
        """(user, email address object) for an email id, or a 404."""
        user = self.users.get(self.owner.get(eid))
        found = user and models.find_by_id(user["email_addresses"], eid)
        if not found:
            raise errors.not_found("Email address")
        return user, found

    def add_email(self, user, email, primary=False):
        self.check_free("email_address", email["email_address"])
        user["email_addresses"].append(email)
        self._claim("email_address", email["email_address"], user["id"])
        self.owner[email["id"]] = user["id"]
        if primary or not user["primary_email_address_id"]:
            user["primary_email_address_id"] = email["id"]

    def remove_email(self, user, email, force=False):
        """Remove an address; the primary goes only when it is the last.

        With `force` (test fixtures) the primary goes anyway and the next
        address, if any, becomes primary.
        """
        others = [e for e in user["email_addresses"] if e is not email]
        if user["primary_email_address_id"] == email["id"]:
            if others and not force:
                raise errors.ApiError(
                    409, "primary_email_address_deletion", "is primary",
                    "The primary email address cannot be deleted while the "
                    "user has others; make another one primary first.")
            user["primary_email_address_id"] = \
                others[0]["id"] if others else None
        user["email_addresses"] = others
        self._release("email_address", email["email_address"], user["id"])
        self.owner.pop(email["id"], None)

    def add_phone(self, user, phone, primary=False):
        self.check_free("phone_number", phone["phone_number"])
        user["phone_numbers"].append(phone)
        self._claim("phone_number", phone["phone_number"], user["id"])
        self.owner[phone["id"]] = user["id"]
        if primary or not user["primary_phone_number_id"]:
            user["primary_phone_number_id"] = phone["id"]

    # ---- organizations -----------------------------------------------

    def org(self, oid):
        found = self.orgs.get(oid)
        if found is None:
            raise errors.not_found("Organization")
        return found

    def org_by_id_or_slug(self, ref):
        return self.org(ref if ref in self.orgs else self.slugs.get(ref))

    def add_org(self, org):
        """Insert or replace an organization; the slug must be free."""
        old = self.orgs.get(org["id"])
        if old is not None and self.slugs.get(old["slug"]) == old["id"]:
            del self.slugs[old["slug"]]
        self.orgs[org["id"]] = org
        self.slugs[org["slug"]] = org["id"]
        self.org_members.setdefault(org["id"], {})

    def check_slug_free(self, slug, oid=None):
        owner = self.slugs.get(slug)
        if owner is not None and owner != oid:
            raise errors.identifier_exists(
                "slug", "That slug is taken. Please try another.")

    def free_slug(self, base):
        """`base`, or `base-2`, `base-3`… whichever is not taken."""
        slug, n = base, 1
        while slug in self.slugs:
            n += 1
            slug = f"{base}-{n}"
        return slug

    def set_slug(self, org, slug):
        self.check_slug_free(slug, org["id"])
        self.slugs.pop(org["slug"], None)
        org["slug"] = slug
        self.slugs[slug] = org["id"]

    def remove_org(self, oid):
        org = self.org(oid)
        for record in list(self.org_members.get(oid, {}).values()):
            self.remove_membership(record)
        del self.orgs[oid]
        self.org_members.pop(oid, None)
        if self.slugs.get(org["slug"]) == oid:
            del self.slugs[org["slug"]]
        return org

    def members_count(self, oid):
        return len(self.org_members.get(oid, ()))

    # ---- memberships -------------------------------------------------

    def membership(self, oid, uid):
        found = self.org_members.get(oid, {}).get(uid)
        if found is None:
            raise errors.not_found("Organization membership")
        return found

    def add_membership(self, record):
        old = self.memberships.get(record["id"])
        if old is not None:
            self.remove_membership(old)
        oid, uid = record["organization_id"], record["user_id"]
        old = self.org_members.get(oid, {}).get(uid)
        if old is not None:
            self.remove_membership(old)
        self.memberships[record["id"]] = record
        self.org_members.setdefault(oid, {})[uid] = record
        self.user_orgs.setdefault(uid, {})[oid] = record

    def remove_membership(self, record):
        oid, uid = record["organization_id"], record["user_id"]
        self.memberships.pop(record["id"], None)
        self.org_members.get(oid, {}).pop(uid, None)
        self.user_orgs.get(uid, {}).pop(oid, None)

    def serve_membership(self, record):
        user = self.serve_user(self.users[record["user_id"]])
        return models.membership_view(
            record, self.orgs[record["organization_id"]], user)

    # ---- sessions ----------------------------------------------------

    def session(self, sid):
        found = self.sessions.get(sid)
        if found is None:
            raise errors.not_found("Session")
        return found

    def add_session(self, session):
        old = self.sessions.get(session["id"])
        if old is not None:
            self._forget_session(old)
        self.sessions[session["id"]] = session
        self.user_sessions.setdefault(session["user_id"], []).append(
            session["id"])
        self.client_sessions.setdefault(session["client_id"], []).append(
            session["id"])

    def remove_session(self, sid):
        session = self.sessions.pop(sid)
        self._forget_session(session)
        return session

    def _forget_session(self, session):
        for index, key in ((self.user_sessions, session["user_id"]),
                           (self.client_sessions, session["client_id"])):
            ids = index.get(key)
            if ids and session["id"] in ids:
                ids.remove(session["id"])

    def revoke_sessions(self, uid):
        """Revoke the user's active and pending sessions (ban, password)."""
        for sid in self.user_sessions.get(uid, ()):
            session = self.sessions[sid]
            if session["status"] in ("active", "pending"):
                session["status"] = "revoked"
                touch(session)

    # ---- bans and locks ----------------------------------------------

    def lock_user(self, user, seconds=None):
        """Lock for `seconds` (default: the instance's lockout duration)."""
        duration = self.lockout_ms if seconds is None else seconds * 1000
        user["locked"] = True
        user["verification_attempts_remaining"] = 0
        if duration:
            self.lock_until[user["id"]] = now_ms() + duration
            self.serve_user(user)
        else:
            self.lock_until.pop(user["id"], None)
            user["lockout_expires_in_seconds"] = None

    def unlock_user(self, user):
        self.lock_until.pop(user["id"], None)
        self._clear_lock(user)

    def _clear_lock(self, user):
        self.lock_until.pop(user["id"], None)
        user["locked"] = False
        user["lockout_expires_in_seconds"] = None
        user["verification_attempts_remaining"] = 100


def touch(obj):
    """Move `updated_at` forward: to now, or 1 ms past its last value."""
    obj["updated_at"] = max(now_ms(), obj["updated_at"] + 1)


def _identifier_key(kind, value):
    if kind in ("email_address", "username"):
        lowered = value.lower()
        return value if lowered == value else lowered
    return value
