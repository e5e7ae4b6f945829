"""Handlers of /sessions.

GET /sessions needs `user_id` or `client_id` (the specification deprecated
listing without either; this server answers 422) and returns a bare array,
newest first. The `status` filter takes the values the specification
lists for it, which do not include `pending`. A session is read by id
whatever its status. POST /sessions, meant for testing, creates an active
session and is refused on a production instance (400
`development_instance_only`). Only an active or pending session can be
revoked; any other answers 400 `session_not_revocable`.
"""

from . import bodies
from . import errors
from . import filters
from . import models
from .ids import now_ms
from .store import touch

FILTER_STATUSES = ("abandoned", "active", "ended", "expired", "removed",
                   "replaced", "revoked")
REVOCABLE = ("active", "pending")


def list_sessions(call):
    store, query = call.store, call.query
    user_id, client_id = query.one("user_id"), query.one("client_id")
    if not user_id and not client_id:
        raise errors.ApiError(
            422, "form_param_missing", "is missing",
            "Either user_id or client_id must be included.",
            {"param_name": "user_id"})
    status = query.one("status")
    if status is not None and status not in FILTER_STATUSES:
        raise errors.param_value_invalid(
            "status", "status must be one of " + ", ".join(FILTER_STATUSES)
            + ".")
    limit, offset = filters.page(query)

    sessions = [store.sessions[sid] for sid in _candidate_ids(
        store, user_id, client_id)]
    sessions = [s for s in sessions
                if (not user_id or s["user_id"] == user_id)
                and (not client_id or s["client_id"] == client_id)
                and (not status or s["status"] == status)]
    sessions.sort(key=lambda s: (s["created_at"], s["id"]), reverse=True)
    return sessions[offset:offset + limit]


def _candidate_ids(store, user_id, client_id):
    if user_id:
        return store.user_sessions.get(user_id, ())
    return store.client_sessions.get(client_id, ())


def get_session(call):
    return call.store.session(call.params["session_id"])


def create_session(call):
    store = call.store
    if call.options.production:
        raise errors.ApiError(
            400, "development_instance_only", "not available",
            "Sessions can only be created on development instances.")
    body = bodies.fields(call.body, {"user_id": "str",
                                     "active_organization_id": "str"},
                         required=("user_id",), strict=False)
    user = store.user(body["user_id"])
    org_id = body.get("active_organization_id")
    if org_id is not None:
        store.org(org_id)
        if org_id not in store.user_orgs.get(user["id"], {}):
            raise errors.param_value_invalid(
                "active_organization_id",
                "The user is not a member of that organization.")

    ts = now_ms()
    session = models.session_object(store.ids.new("sess"), user["id"],
                                    store.ids.new("client"), "active", ts)
    session["last_active_organization_id"] = org_id
    session["latest_activity"] = models.activity_object(
        store.ids.new("sess_activity"), "curl", "8.0", "Linux", False,
        "127.0.0.1", "Localhost", "ZZ")
    store.add_session(session)
    user["last_active_at"] = user["last_sign_in_at"] = ts
    touch(user)
    return session


def revoke_session(call):
    session = call.store.session(call.params["session_id"])
    if session["status"] not in REVOCABLE:
        raise errors.ApiError(
            400, "session_not_revocable", "cannot be revoked",
            f"Session {session['id']} is {session['status']}; only active "
            "or pending sessions can be revoked.")
    session["status"] = "revoked"
    touch(session)
    return session
