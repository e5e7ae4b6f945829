"""Tests of the local Clerk server itself (tests/clerk-server).

Each test drives a real server process through serverctl, the way the
clerkfs integration tests and benchmarks do, and checks what Clerk would
answer: shapes against the official OpenAPI description (with a small
validator for the schema features that description uses), status codes,
error bodies, filters, paging, consistency between objects, and the
controls (statistics, request log, faults, objects, reset).

Run with: /usr/bin/python3 -m pytest -q tests/test_server.py
"""

import http.client
import json
import os
import re
import subprocess
import sys
import time

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from serverctl import SERVER, start_server  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC_PATH = os.environ.get("CLERK_OPENAPI") or os.path.join(
    REPO, "..", "shared", "clerk", "2026-05-12.yml")
BIG_INT = 1234567890123456789


# ---- fixtures ---------------------------------------------------------------

@pytest.fixture(scope="module")
def server():
    with start_server(users=300, orgs=12, seed=7) as running:
        yield running


@pytest.fixture(scope="module")
def large():
    with start_server(users=1234, orgs=40) as running:
        yield running


@pytest.fixture(autouse=True)
def clean_controls(request):
    """Each test starts with empty statistics, log and faults."""
    for name in ("server", "large"):
        if name in request.fixturenames:
            request.getfixturevalue(name).reset()
    yield


@pytest.fixture(scope="module")
def spec():
    if not os.path.exists(SPEC_PATH):
        pytest.skip(f"OpenAPI description not found at {SPEC_PATH}")
    with open(SPEC_PATH, encoding="utf-8") as f:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return Spec(yaml.load(f, Loader=loader))


_counter = iter(range(1, 1_000_000))


def unique(prefix="t"):
    return f"{prefix}{next(_counter)}x{os.getpid()}"


def new_user(server, **fields):
    """Create a user through the API; returns it."""
    body = {"email_address": [f"{unique('u')}@example.test"],
            "skip_password_requirement": True}
    body.update(fields)
    status, user = server.api("POST", "/users", body)
    assert status == 200, user
    return user


def error_code(reply):
    return reply["errors"][0]["code"]


# ---- a small OpenAPI schema validator ---------------------------------------

class Spec:
    """Just enough OpenAPI 3 schema checking for Clerk's description."""

    TYPES = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float))
        and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "null": lambda v: v is None,
    }

    def __init__(self, doc):
        self.doc = doc

    def resolve(self, ref):
        node = self.doc
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return node

    def response_schema(self, path, method, status):
        response = self.doc["paths"][path][method.lower()]["responses"][
            str(status)]
        if "$ref" in response:
            response = self.resolve(response["$ref"])
        return response["content"]["application/json"]["schema"]

    def check(self, schema, value, where="$"):
        """The list of problems of `value` against `schema` (empty: ok)."""
        problems = []
        self._check(schema, value, where, problems)
        return problems

    def check_response(self, path, method, status, value):
        return self.check(self.response_schema(path, method, status), value,
                          f"{method} {path} {status}")

    def _check(self, schema, value, where, out):
        if "$ref" in schema:
            return self._check(self.resolve(schema["$ref"]), value, where,
                               out)
        types = schema.get("type")
        types = types if isinstance(types, list) else [types] if types else []
        if value is None and (schema.get("nullable") or "null" in types):
            return
        if types and not any(self.TYPES[t](value) for t in types):
            out.append(f"{where}: {value!r:.60} is not {'/'.join(types)}")
            return
        if value is None and not types and "properties" in schema:
            out.append(f"{where}: null is not an object")
            return
        self._check_value(schema, value, where, out)
        self._check_composition(schema, value, where, out)

    def _check_value(self, schema, value, where, out):
        if "enum" in schema and value not in schema["enum"]:
            out.append(f"{where}: {value!r} not in {schema['enum']}")
        if isinstance(value, str) and "pattern" in schema \
                and not re.search(schema["pattern"], value):
            out.append(f"{where}: {value!r} does not match "
                       f"{schema['pattern']}")
        if isinstance(value, (int, float)) and "minimum" in schema \
                and value < schema["minimum"]:
            out.append(f"{where}: {value} < {schema['minimum']}")
        if isinstance(value, dict):
            self._check_object(schema, value, where, out)
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                self._check(schema["items"], item, f"{where}[{i}]", out)

    def _check_object(self, schema, value, where, out):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                out.append(f"{where}: missing required {name!r}")
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                self._check(properties[name], item, f"{where}.{name}", out)
            elif extra is False:
                out.append(f"{where}: unexpected property {name!r}")
            elif isinstance(extra, dict):
                self._check(extra, item, f"{where}.{name}", out)

    def _check_composition(self, schema, value, where, out):
        for sub in schema.get("allOf", []):
            self._check(sub, value, where, out)
        if "anyOf" in schema and not any(
                not self.check(sub, value) for sub in schema["anyOf"]):
            out.append(f"{where}: matches none of anyOf")
        if "oneOf" in schema:
            self._check_one_of(schema, value, where, out)

    def _check_one_of(self, schema, value, where, out):
        mapping = schema.get("discriminator", {}).get("mapping")
        name = schema.get("discriminator", {}).get("propertyName")
        if mapping and isinstance(value, dict) and value.get(name) in mapping:
            self._check({"$ref": mapping[value[name]]}, value, where, out)
            return
        matches = sum(1 for sub in schema["oneOf"]
                      if not self.check(sub, value))
        if matches != 1:
            out.append(f"{where}: matches {matches} of oneOf, not 1")


def test_validator_finds_problems(spec):
    schema = {"$ref": "#/components/schemas/User"}
    assert spec.check(schema, {"id": 1})
    assert any("unexpected property" in p for p in spec.check(
        {"$ref": "#/components/schemas/TotalCount"},
        {"object": "total_count", "total_count": 1, "extra": True}))
    assert spec.check({"$ref": "#/components/schemas/Session"}, None)
    assert not spec.check({"$ref": "#/components/schemas/TotalCount"},
                          {"object": "total_count", "total_count": 3})


# ---- shapes against the specification ---------------------------------------

def test_responses_match_the_specification(server, spec):
    problems = []

    def check(path, method, status, reply):
        problems.extend(spec.check_response(path, method, status, reply))

    status, users = server.api("GET", "/users", query={"limit": 100})
    assert status == 200 and len(users) == 100
    check("/users", "get", 200, users)
    status, user = server.api("GET", f"/users/{users[0]['id']}")
    check("/users/{user_id}", "get", 200, user)
    status, count = server.api("GET", "/users/count")
    check("/users/count", "get", 200, count)

    status, orgs = server.api("GET", "/organizations",
                              query={"include_members_count": "true"})
    check("/organizations", "get", 200, orgs)
    org_id = orgs["data"][0]["id"]
    status, org = server.api("GET", f"/organizations/{org_id}")
    check("/organizations/{organization_id}", "get", 200, org)
    status, members = server.api(
        "GET", f"/organizations/{org_id}/memberships", query={"limit": 50})
    check("/organizations/{organization_id}/memberships", "get", 200,
          members)
    status, all_members = server.api("GET", "/organization_memberships")
    check("/organization_memberships", "get", 200, all_members)

    email_id = users[0]["email_addresses"][0]["id"]
    status, email = server.api("GET", f"/email_addresses/{email_id}")
    check("/email_addresses/{email_address_id}", "get", 200, email)

    first = server.api("GET", "/users", query={
        "order_by": "+created_at", "limit": 1})[1][0]
    status, sessions = server.api("GET", "/sessions",
                                  query={"user_id": first["id"]})
    assert {s["status"] for s in sessions} >= {"active", "revoked",
                                               "expired", "pending"}
    check("/sessions", "get", 200, sessions)
    status, session = server.api("GET", f"/sessions/{sessions[0]['id']}")
    check("/sessions/{session_id}", "get", 200, session)
    assert problems == []


def test_errors_and_deletions_match_the_specification(server, spec):
    problems = []

    def check(path, method, status, reply):
        problems.extend(spec.check_response(path, method, status, reply))

    status, missing = server.api("GET", "/users/user_2nope")
    assert status == 404
    check("/users/{user_id}", "get", 404, missing)
    status, invalid = server.api("GET", "/users", query={"limit": 0})
    assert status == 422
    check("/users", "get", 422, invalid)
    status, refused = server.api("GET", "/users", key="sk_test_wrong")
    assert status == 401
    check("/users", "get", 401, refused)

    created = new_user(server, first_name="Spec", public_metadata={"a": 1})
    check("/users", "post", 200, created)
    status, deleted = server.api("DELETE", f"/users/{created['id']}")
    check("/users/{user_id}", "delete", 200, deleted)
    assert deleted == {"object": "user", "id": created["id"],
                       "deleted": True}
    assert problems == []


def test_write_replies_match_the_specification(server, spec):
    problems = []

    def check(path, method, reply):
        problems.extend(spec.check_response(path, method, 200, reply))

    user = new_user(server)
    status, email = server.api("POST", "/email_addresses", {
        "user_id": user["id"], "email_address": f"{unique()}@example.org"})
    check("/email_addresses", "post", email)
    status, org = server.api("POST", "/organizations", {
        "name": "Spec Org", "slug": unique("spec-")})
    check("/organizations", "post", org)
    path = f"/organizations/{org['id']}/memberships"
    status, member = server.api("POST", path, {"user_id": user["id"],
                                               "role": "org:member"})
    check("/organizations/{organization_id}/memberships", "post", member)
    status, member = server.api("PATCH", f"{path}/{user['id']}",
                                {"role": "org:admin"})
    check("/organizations/{organization_id}/memberships/{user_id}", "patch",
          member)
    status, session = server.api("POST", "/sessions", {"user_id": user["id"]})
    check("/sessions", "post", session)
    status, revoked = server.api("POST", f"/sessions/{session['id']}/revoke")
    check("/sessions/{session_id}/revoke", "post", revoked)
    status, deleted = server.api("DELETE", f"/organizations/{org['id']}")
    check("/organizations/{organization_id}", "delete", deleted)
    assert problems == []


# ---- authentication ---------------------------------------------------------

def test_every_api_route_checks_the_key(server):
    status, reply = server.api("GET", "/users", headers={
        "Authorization": ""})
    assert status == 401 and error_code(reply) == "authentication_invalid"
    status, reply = server.api("GET", "/users", key="sk_test_other")
    assert status == 401 and error_code(reply) == "clerk_key_invalid"
    assert "clerk_trace_id" in reply
    status, _ = server.api("GET", "/users", headers={
        "Clerk-API-Version": "2021-02-05"})
    assert status == 200


# ---- listing users ----------------------------------------------------------

def test_user_list_pages_by_offset_and_cursor(large):
    status, page = large.api("GET", "/users")
    assert status == 200 and len(page) == 10
    created = [u["created_at"] for u in page]
    assert created == sorted(created, reverse=True)

    by_offset = []
    for offset in (0, 500, 1000):
        status, page = large.api("GET", "/users",
                               query={"limit": 500, "offset": offset})
        by_offset += page
    assert [len(by_offset)] == [1234]
    assert len({u["id"] for u in by_offset}) == 1234

    by_cursor, cursor = [], None
    while True:
        query = {"limit": 500}
        if cursor:
            query["starting_after"] = cursor
        page = large.api("GET", "/users", query=query)[1]
        by_cursor += page
        if len(page) < 500:
            break
        cursor = page[-1]["id"]
    assert [u["id"] for u in by_cursor] == [u["id"] for u in by_offset]
    assert large.api("GET", "/users/count")[1]["total_count"] == 1234


def test_user_list_refuses_bad_paging(large):
    for query in ({"limit": 501}, {"limit": 0}, {"limit": "ten"},
                  {"offset": -1}):
        status, reply = large.api("GET", "/users", query=query)
        assert status == 422, query
        assert reply["errors"][0]["meta"]["param_name"] in ("limit", "offset")
    some_id = large.api("GET", "/users")[1][0]["id"]
    for query in ({"starting_after": some_id, "order_by": "username"},
                  {"starting_after": some_id, "offset": 5}):
        status, reply = large.api("GET", "/users", query=query)
        assert status == 422, query


def test_ascending_cursor_follows_created_at(large):
    oldest = large.api("GET", "/users", query={"order_by": "+created_at",
                                             "limit": 3})[1]
    following = large.api("GET", "/users", query={
        "order_by": "+created_at", "limit": 2,
        "starting_after": oldest[0]["id"]})[1]
    assert [u["id"] for u in following] == [u["id"] for u in oldest[1:]]


def test_user_filters_match_and_count_agrees(server):
    everyone = []
    for offset in (0, 500):
        everyone += server.api("GET", "/users", query={
            "limit": 500, "offset": offset})[1]
    two_emails = next(u for u in everyone if len(u["email_addresses"]) > 1)
    banned = [u["id"] for u in everyone if u["banned"]]
    cases = [
        ({"email_address": two_emails["email_addresses"][1][
            "email_address"].upper()}, [two_emails["id"]]),
        ({"user_id": [everyone[0]["id"], everyone[1]["id"]]},
         [everyone[0]["id"], everyone[1]["id"]]),
        ({"user_id": [f"+{everyone[0]['id']}", f"+{everyone[1]['id']}",
                      f"-{everyone[1]['id']}"]}, [everyone[0]["id"]]),
        ({"banned": "true"}, banned),
        ({"name_query": "zoë"}, [u["id"] for u in everyone if "zoë" in (
            f"{u['first_name']} {u['last_name']}").lower()]),
        ({"created_at_after": everyone[5]["created_at"]},
         [u["id"] for u in everyone[:5]]),
    ]
    for query, expected in cases:
        status, found = server.api("GET", "/users",
                                   query=dict(query, limit=500))
        assert status == 200, (query, found)
        assert [u["id"] for u in found] == expected, query
        count = server.api("GET", "/users/count", query=query)[1]
        assert count["total_count"] == len(expected), query


def test_user_filters_by_organization_and_query(server):
    org = server.api("GET", "/organizations", query={
        "include_members_count": "true", "order_by": "-members_count"})[1][
        "data"][0]
    members = server.api("GET", f"/organizations/{org['id']}/memberships",
                         query={"limit": 500})[1]["data"]
    found = server.api("GET", "/users", query={"organization_id": org["id"],
                                               "limit": 500})[1]
    assert {u["id"] for u in found} == {
        m["public_user_data"]["user_id"] for m in members}
    assert len(found) == org["members_count"]
    outside = server.api("GET", "/users/count", query={
        "organization_id": f"-{org['id']}"})[1]["total_count"]
    total = server.api("GET", "/users/count")[1]["total_count"]
    assert outside == total - len(found)

    phone_user = next(u for u in found + server.api(
        "GET", "/users", query={"limit": 500})[1] if u["phone_numbers"])
    number = phone_user["phone_numbers"][0]["phone_number"]
    found = server.api("GET", "/users", query={"query": number[-7:]})[1]
    assert phone_user["id"] in [u["id"] for u in found]


def all_users(server, **query):
    found = []
    for offset in (0, 500):
        found += server.api("GET", "/users", query=dict(
            query, limit=500, offset=offset))[1]
    return found


def test_user_filters_of_phones_external_ids_and_activity(server):
    everyone = all_users(server)
    phones = [u["phone_numbers"][0]["phone_number"] for u in everyone
              if u["phone_numbers"]][:2]
    external = [u["external_id"] for u in everyone if u["external_id"]][:2]
    active = sorted(u["last_active_at"] for u in everyone
                    if u["last_active_at"])
    after, before = active[10], active[-10]

    def having(test):
        return [u["id"] for u in everyone if test(u)]

    def numbers(u):
        return [p["phone_number"] for p in u["phone_numbers"]]
    cases = [
        ({"phone_number": phones}, having(
            lambda u: set(numbers(u)) & set(phones))),
        ({"external_id": external[0]}, having(
            lambda u: u["external_id"] == external[0])),
        ({"external_id": [f"+{external[0]}", f"-{external[1]}"]}, having(
            lambda u: u["external_id"] == external[0])),
        ({"external_id": f"-{external[0]}"}, having(
            lambda u: u["external_id"] != external[0])),
        ({"phone_number_query": phones[0][2:9]}, having(
            lambda u: any(phones[0][2:9] in n for n in numbers(u)))),
        ({"username_query": "ZOE"}, having(
            lambda u: "zoe" in (u["username"] or "").lower())),
        ({"last_active_at_after": after, "last_active_at_before": before},
         having(lambda u: u["last_active_at"] is not None
                and after < u["last_active_at"] < before)),
    ]
    for query, expected in cases:
        assert 0 < len(expected) < len(everyone), query
        assert [u["id"] for u in all_users(server, **query)] == expected, \
            query
        count = server.api("GET", "/users/count", query=query)[1]
        assert count["total_count"] == len(expected), query


def test_organization_filters_by_query_member_and_id(server):
    orgs = server.api("GET", "/organizations", query={"limit": 500})[1][
        "data"]
    memberships = server.api("GET", "/organization_memberships",
                             query={"limit": 500})[1]["data"]
    member = memberships[0]["public_user_data"]["user_id"]
    mine = {m["organization"]["id"] for m in memberships
            if m["public_user_data"]["user_id"] == member}
    cases = [
        ({"query": orgs[3]["id"]}, [orgs[3]["id"]]),
        ({"query": orgs[3]["id"][:-2]}, []),        # ids match exactly
        ({"query": orgs[0]["name"][:4].upper()}, [
            o["id"] for o in orgs if orgs[0]["name"][:4].lower()
            in o["name"].lower() or orgs[0]["name"][:4].lower() in o["slug"]]),
        ({"user_id": member}, [o["id"] for o in orgs if o["id"] in mine]),
        ({"user_id": f"+{member}"}, [o["id"] for o in orgs
                                     if o["id"] in mine]),
        ({"user_id": f"-{member}"}, [o["id"] for o in orgs
                                     if o["id"] not in mine]),
        ({"organization_id": [orgs[1]["id"], f"-{orgs[1]['id']}"]}, []),
        ({"organization_id": f"-{orgs[1]['id']}"}, [
            o["id"] for o in orgs if o["id"] != orgs[1]["id"]]),
    ]
    for query, expected in cases:
        reply = server.api("GET", "/organizations",
                           query=dict(query, limit=500))[1]
        assert [o["id"] for o in reply["data"]] == expected, query
        assert reply["total_count"] == len(expected), query


def test_user_ordering_and_value_limits(server):
    users = server.api("GET", "/users", query={"order_by": "username",
                                               "limit": 500})[1]
    names = [u["username"].lower() for u in users if u["username"]]
    assert names == sorted(names)
    assert all(u["username"] is None for u in users[len(names):])
    status, reply = server.api("GET", "/users", query={"order_by": "shoe"})
    assert status == 422
    status, reply = server.api("GET", "/users", query={
        "user_id": [f"user_{n}" for n in range(101)]})
    assert status == 422
    status, reply = server.api("GET", "/users", query={"banned": "maybe"})
    assert status == 422


# ---- creating and changing users --------------------------------------------

def test_create_user_with_identifiers_and_metadata(server):
    email = f"{unique('Ada.')}@Example.com"
    phone = f"+1555{next(_counter):07d}"
    user = new_user(server, email_address=[email], phone_number=[phone],
                    username=unique("ada_"), first_name="Ada",
                    last_name='Lovelace, "Countess"',
                    public_metadata={"crm_id": BIG_INT, "plan": "pro"},
                    password="correct horse", skip_password_requirement=False)
    assert user["object"] == "user" and user["id"].startswith("user_2")
    assert user["email_addresses"][0]["email_address"] == email
    assert user["primary_email_address_id"] == user["email_addresses"][0]["id"]
    assert user["primary_phone_number_id"] == user["phone_numbers"][0]["id"]
    assert user["password_enabled"] is True
    assert user["public_metadata"]["crm_id"] == BIG_INT
    assert server.api("GET", f"/users/{user['id']}")[1] == user

    for body, param in (({"email_address": [email.lower()]}, "email_address"),
                        ({"phone_number": [phone]}, "phone_number"),
                        ({"username": user["username"].upper(),
                          "email_address": [f"{unique()}@example.com"]},
                         "username")):
        status, reply = server.api("POST", "/users", dict(
            body, skip_password_requirement=True))
        assert status == 422, body
        assert error_code(reply) == "form_identifier_exists"
        assert reply["errors"][0]["meta"]["param_name"] == param


def test_create_user_validation(server):
    address = [f"{unique()}@example.com"]
    cases = [
        ({"email_address": address, "password": "short"},
         "form_password_length_too_short"),
        ({"email_address": address}, "form_param_missing"),
        ({"first_name": "Nobody", "skip_password_requirement": True},
         "form_param_missing"),
        ({"email_address": ["not-an-email"],
          "skip_password_requirement": True}, "form_param_format_invalid"),
        ({"email_address": address, "skip_password_requirement": True,
          "favourite_colour": "blue"}, "form_param_unknown"),
        ({"email_address": address, "skip_password_requirement": True,
          "public_metadata": {"blob": "x" * 9000}}, "metadata_size_exceeded"),
    ]
    for body, code in cases:
        status, reply = server.api("POST", "/users", body)
        assert (status, error_code(reply)) == (422, code), body
    assert server.api("GET", "/users", query={
        "email_address": address})[1] == []


def test_update_user_refuses_metadata_and_moves_updated_at(server):
    user = new_user(server, username=unique("bo_"))
    status, reply = server.api("PATCH", f"/users/{user['id']}", {
        "first_name": "Bo", "public_metadata": {"plan": "pro"}})
    assert status == 422 and error_code(reply) == "form_param_unknown"
    assert reply["errors"][0]["meta"]["param_name"] == "public_metadata"
    assert server.get("users", user["id"])["first_name"] is None

    status, updated = server.api("PATCH", f"/users/{user['id']}", {
        "first_name": "Bo", "username": None})
    assert status == 200
    assert updated["first_name"] == "Bo" and updated["username"] is None
    assert updated["updated_at"] > user["updated_at"]
    taken = server.api("GET", "/users", query={"limit": 1, "order_by":
                                               "username"})[1][0]["username"]
    status, reply = server.api("PATCH", f"/users/{user['id']}",
                               {"username": taken})
    assert status == 422 and error_code(reply) == "form_identifier_exists"
    status, reply = server.api("PATCH", "/users/user_2missing",
                               {"first_name": "x"})
    assert status == 404 and error_code(reply) == "resource_not_found"


def test_metadata_put_replaces_and_patch_merges(server):
    uid = "user_2TstMeta018"
    server.put("users", {
        "id": uid, "email_addresses": [f"{unique()}@example.com"],
        "public_metadata": {"plan": "pro", "flags": {"beta": True,
                                                     "legacy": 1},
                            "tags": ["a", "b", "c"]},
        "private_metadata": {"crm": "X-1"}})
    path = f"/users/{uid}/metadata"

    status, user = server.api("PUT", path, {"public_metadata": {
        "plan": "pro", "flags": {"beta": True}, "tags": ["a"]}})
    assert status == 200
    assert user["public_metadata"] == {"plan": "pro", "flags": {"beta": True},
                                       "tags": ["a"]}
    assert user["private_metadata"] == {"crm": "X-1"}

    status, user = server.api("PATCH", path, {"public_metadata": {
        "flags": {"beta": None, "new": BIG_INT}, "tags": ["z"], "plan": None}})
    assert user["public_metadata"] == {"flags": {"new": BIG_INT},
                                       "tags": ["z"]}

    status, user = server.api("PUT", path, {"public_metadata": {}})
    assert user["public_metadata"] == {}
    assert user["private_metadata"] == {"crm": "X-1"}

    before = server.get("users", uid)
    for body in ({"public_metadata": {"large": "x" * 9000}},
                 {"public_metadata": [1, 2]}, {"other_metadata": {}}):
        status, reply = server.api("PUT", path, body)
        assert status == 422, body
    assert server.get("users", uid) == before


def test_ban_unban_lock_unlock(server):
    user = new_user(server)
    session = server.api("POST", "/sessions", {"user_id": user["id"]})[1]
    status, banned = server.api("POST", f"/users/{user['id']}/ban")
    assert status == 200 and banned["banned"] is True
    assert server.get("sessions", session["id"])["status"] == "revoked"
    assert server.api("POST", f"/users/{user['id']}/unban")[1]["banned"] \
        is False

    status, locked = server.api("POST", f"/users/{user['id']}/lock")
    assert locked["locked"] is True
    assert 3590 <= locked["lockout_expires_in_seconds"] <= 3600
    unlocked = server.api("POST", f"/users/{user['id']}/unlock")[1]
    assert unlocked["locked"] is False
    assert unlocked["lockout_expires_in_seconds"] is None
    assert unlocked["updated_at"] > locked["updated_at"]


def test_a_lock_expires_by_itself(server):
    user = server.put("users", {"email_addresses": [f"{unique()}@x.example"],
                                "locked": True,
                                "lockout_expires_in_seconds": 1})
    assert user["locked"] is True
    time.sleep(1.2)
    again = server.api("GET", f"/users/{user['id']}")[1]
    assert again["locked"] is False
    assert again["lockout_expires_in_seconds"] is None


# ---- email addresses --------------------------------------------------------

def test_email_addresses_keep_the_user_consistent(server):
    user = new_user(server)
    first_id = user["primary_email_address_id"]
    status, email = server.api("POST", "/email_addresses", {
        "user_id": user["id"], "email_address": f"{unique()}@example.org"})
    assert status == 200 and email["verification"] is None
    owner = server.api("GET", f"/users/{user['id']}")[1]
    assert owner["primary_email_address_id"] == first_id
    assert [e["id"] for e in owner["email_addresses"]] == [first_id,
                                                           email["id"]]

    status, email = server.api("PATCH", f"/email_addresses/{email['id']}",
                               {"verified": True, "primary": True})
    assert email["verification"]["status"] == "verified"
    owner = server.api("GET", f"/users/{user['id']}")[1]
    assert owner["primary_email_address_id"] == email["id"]

    status, reply = server.api("POST", "/email_addresses", {
        "user_id": user["id"],
        "email_address": email["email_address"].upper()})
    assert status == 422 and error_code(reply) == "form_identifier_exists"
    status, reply = server.api("DELETE", f"/email_addresses/{email['id']}")
    assert status == 409
    status, reply = server.api("DELETE", f"/email_addresses/{first_id}")
    assert reply == {"object": "email_address", "id": first_id,
                     "deleted": True}
    owner = server.api("GET", f"/users/{user['id']}")[1]
    assert [e["id"] for e in owner["email_addresses"]] == [email["id"]]
    assert server.api("GET", f"/email_addresses/{first_id}")[0] == 404
    status, reply = server.api("POST", "/email_addresses", {
        "user_id": "user_2nobody", "email_address": "x@example.com"})
    assert status == 404


# ---- organizations and memberships ------------------------------------------

def test_organizations_lifecycle(server):
    creator = new_user(server)
    slug = unique("acme-")
    status, org = server.api("POST", "/organizations", {
        "name": 'Acme, "Inc."', "slug": slug, "created_by": creator["id"],
        "public_metadata": {"tier": "gold"}})
    assert status == 200 and org["slug"] == slug
    for body, code in (({"name": "Other", "slug": slug},
                        "form_identifier_exists"),
                       ({"name": "Other", "slug": "Not A Slug"},
                        "form_param_format_invalid"),
                       ({"name": "<b>bold</b>"}, "form_param_value_invalid")):
        status, reply = server.api("POST", "/organizations", body)
        assert (status, error_code(reply)) == (422, code), body

    by_slug = server.api("GET", f"/organizations/{slug}", query={
        "include_members_count": "true"})[1]
    assert by_slug["id"] == org["id"] and by_slug["members_count"] == 1
    assert server.api("PATCH", f"/organizations/{slug}",
                      {"name": "x"})[0] == 404
    status, reply = server.api("PATCH", f"/organizations/{org['id']}", {
        "name": "Acme 2", "public_metadata": {}})
    assert status == 422 and error_code(reply) == "form_param_unknown"
    status, updated = server.api("PATCH", f"/organizations/{org['id']}",
                                 {"name": "Acme 2"})
    assert updated["name"] == "Acme 2"
    assert updated["updated_at"] > org["updated_at"]

    path = f"/organizations/{org['id']}/metadata"
    merged = server.api("PATCH", path, {"public_metadata": {"seats": 5}})[1]
    assert merged["public_metadata"] == {"tier": "gold", "seats": 5}
    replaced = server.api("PUT", path, {"private_metadata": {"k": BIG_INT}})[1]
    assert replaced["private_metadata"] == {"k": BIG_INT}

    found = server.api("GET", "/organizations", query={"query": "acme 2"})[1]
    assert org["id"] in [o["id"] for o in found["data"]]
    mine = server.api("GET", "/organizations", query={
        "user_id": creator["id"]})[1]
    assert [o["id"] for o in mine["data"]] == [org["id"]]

    status, deleted = server.api("DELETE", f"/organizations/{org['id']}")
    assert deleted == {"object": "organization", "id": org["id"],
                       "slug": slug, "deleted": True}
    assert server.api("GET", f"/organizations/{slug}")[0] == 404
    assert server.api("GET", f"/users/{creator['id']}/organization_"
                      "memberships")[1]["total_count"] == 0


def test_memberships(server):
    org = server.api("POST", "/organizations", {"name": "Members Inc"})[1]
    alice, bob = new_user(server), new_user(server)
    path = f"/organizations/{org['id']}/memberships"

    status, member = server.api("POST", path, {"user_id": alice["id"],
                                               "role": "org:member"})
    assert status == 200
    assert member["organization"]["id"] == org["id"]
    assert member["public_user_data"]["user_id"] == alice["id"]
    assert member["public_user_data"]["identifier"] == \
        alice["email_addresses"][0]["email_address"]
    cases = [({"user_id": alice["id"], "role": "org:admin"}, 422,
              "already_a_member_in_organization"),
             ({"user_id": "user_2ghost", "role": "org:member"}, 404,
              "resource_not_found"),
             ({"user_id": bob["id"], "role": "org:wizard"}, 422,
              "form_param_value_invalid"),
             ({"user_id": bob["id"]}, 422, "form_param_missing")]
    for body, want_status, code in cases:
        status, reply = server.api("POST", path, body)
        assert (status, error_code(reply)) == (want_status, code), body
    server.api("POST", path, {"user_id": bob["id"],
                              "role": "org:billing_manager"})

    status, member = server.api("PATCH", f"{path}/{alice['id']}",
                                {"role": "org:admin"})
    assert member["role"] == "org:admin" and member["role_name"] == "Admin"
    admins = server.api("GET", path, query={"role": "org:admin"})[1]
    assert [m["public_user_data"]["user_id"] for m in admins["data"]] == [
        alice["id"]]
    assert admins["total_count"] == 1
    listed = server.api("GET", path, query={"user_id": f"-{alice['id']}"})[1]
    assert [m["public_user_data"]["user_id"] for m in listed["data"]] == [
        bob["id"]]

    status, removed = server.api("DELETE", f"{path}/{alice['id']}")
    assert removed["object"] == "organization_membership"
    assert removed["public_user_data"]["user_id"] == alice["id"]
    assert server.api("DELETE", f"{path}/{alice['id']}")[0] == 404
    mine = server.api("GET", f"/users/{bob['id']}/organization_memberships")
    assert mine[1]["total_count"] == 1


def test_instance_wide_memberships_page(server):
    first = server.api("GET", "/organization_memberships",
                       query={"limit": 500})[1]
    total = first["total_count"]
    per_org = sum(o["members_count"] for o in server.api(
        "GET", "/organizations", query={"include_members_count": "true",
                                        "limit": 500})[1]["data"])
    assert total == per_org == len(first["data"])
    page = server.api("GET", "/organization_memberships",
                      query={"limit": 5, "offset": 5})[1]
    assert [m["id"] for m in page["data"]] == [
        m["id"] for m in first["data"][5:10]]


def test_big_organization_has_750_members(large):
    path = "/organizations/org_2TstBig0016/memberships"
    first = large.api("GET", path, query={"limit": 500})[1]
    second = large.api("GET", path, query={"limit": 500, "offset": 500})[1]
    assert first["total_count"] == 750
    ids = {m["public_user_data"]["user_id"]
           for m in first["data"] + second["data"]}
    assert len(ids) == 750
    assert large.stats()["routes"] == {
        "GET /v1/organizations/{organization_id}/memberships": 2}


# ---- sessions ---------------------------------------------------------------

def test_sessions(server):
    status, reply = server.api("GET", "/sessions")
    assert status == 422
    user = new_user(server)
    server.put("sessions", {"id": "sess_2TstRev" + unique(),
                            "user_id": user["id"], "status": "revoked"})
    active = server.api("POST", "/sessions", {"user_id": user["id"]})[1]
    assert active["status"] == "active"
    listed = server.api("GET", "/sessions", query={"user_id": user["id"]})[1]
    assert [s["id"] for s in listed][0] == active["id"]
    assert len(listed) == 2
    only = server.api("GET", "/sessions", query={"user_id": user["id"],
                                                 "status": "active"})[1]
    assert [s["id"] for s in only] == [active["id"]]
    by_client = server.api("GET", "/sessions", query={
        "client_id": active["client_id"]})[1]
    assert [s["id"] for s in by_client] == [active["id"]]
    assert server.api("GET", "/sessions", query={
        "user_id": user["id"], "status": "pending"})[0] == 422

    revoked = server.api("POST", f"/sessions/{active['id']}/revoke")[1]
    assert revoked["status"] == "revoked"
    status, reply = server.api("POST", f"/sessions/{active['id']}/revoke")
    assert status == 400 and error_code(reply) == "session_not_revocable"
    assert server.api("POST", "/sessions/sess_2nope/revoke")[0] == 404
    assert server.api("GET", f"/sessions/{active['id']}")[1]["status"] == \
        "revoked"


def test_production_instance():
    with start_server(users=3, production=True,
                      extra_args=["--lockout-seconds", "0"]) as server:
        assert server.key == "sk_live_clerkfs"
        uid = server.api("GET", "/users")[1][0]["id"]
        status, reply = server.api("POST", "/sessions", {"user_id": uid})
        assert status == 400
        assert error_code(reply) == "development_instance_only"
        status, reply = server.api("POST", f"/users/{uid}/lock")
        assert status == 403


def test_production_default_key():
    proc = subprocess.Popen([sys.executable, SERVER, "--port", "0",
                             "--production", "--quiet"],
                            stdout=subprocess.PIPE)
    try:
        line = proc.stdout.readline().decode()
        base = line.split()[-1]
        request = http.client.HTTPConnection(base.split("//")[1], timeout=5)
        request.request("GET", "/v1/users", headers={
            "Authorization": "Bearer sk_live_clerkfs"})
        assert request.getresponse().status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


# ---- rate limiting and latency ----------------------------------------------

def test_rate_limit_is_a_sliding_window():
    with start_server(users=5, rate="5/1", create_rate="2/2") as server:
        statuses = [server.api("GET", "/users")[0] for _ in range(5)]
        status, reply = server.api("GET", "/users")
        assert statuses == [200] * 5 and status == 429
        assert error_code(reply) == "too_many_requests"
        time.sleep(1.05)
        assert server.api("GET", "/users/count")[0] == 200
        stats = server.stats()
        assert stats["rate_limited"] == 1
        assert stats["max_in_window"] == {"window_s": 1.0, "max": 6}

        time.sleep(1.05)
        creates = [server.api("POST", "/users", {
            "email_address": [f"{unique()}@example.com"],
            "skip_password_requirement": True})[0] for _ in range(3)]
        assert creates == [200, 200, 429]
        assert server.stats()["create_max_in_window"]["max"] == 3


def test_retry_after_header():
    with start_server(rate="1/3") as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port)
        headers = {"Authorization": f"Bearer {server.key}"}
        for expected in (200, 429):
            connection.request("GET", "/v1/users", headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == expected
        assert response.getheader("Retry-After") == "3"


def test_latency_delays_answers():
    with start_server(latency_ms=200) as server:
        started = time.monotonic()
        assert server.api("GET", "/users")[0] == 200
        assert time.monotonic() - started >= 0.2
        started = time.monotonic()
        server.stats()
        assert time.monotonic() - started < 0.2


# ---- faults -----------------------------------------------------------------

def test_status_faults(server):
    uid = server.api("GET", "/users")[1][0]["id"]
    server.faults(route="GET /v1/users/{user_id}", status=503, count=2)
    results = [server.api("GET", f"/users/{uid}") for _ in range(3)]
    assert [r[0] for r in results] == [503, 503, 200]
    assert error_code(results[0][1]) == "service_unavailable"
    assert server.stats()["faulted"] == 2

    server.faults(route="*", status=502, body="<html>Bad gateway</html>")
    connection = http.client.HTTPConnection("127.0.0.1", server.port)
    connection.request("GET", "/v1/users", headers={
        "Authorization": f"Bearer {server.key}"})
    response = connection.getresponse()
    assert response.status == 502
    assert response.getheader("Content-Type").startswith("text/html")
    assert response.read() == b"<html>Bad gateway</html>"

    server.faults(route="GET /v1/users", status=429, retry_after=3,
                  match="limit=7")
    assert server.api("GET", "/users", query={"limit": 6})[0] == 200
    connection.request("GET", "/v1/users?limit=7", headers={
        "Authorization": f"Bearer {server.key}"})
    response = connection.getresponse()
    response.read()
    assert (response.status, response.getheader("Retry-After")) == (429, "3")

    server.faults(route="*", status=500, count=-1)
    assert [server.api("GET", "/users")[0] for _ in range(3)] == [500] * 3
    server.clear_faults()
    assert server.api("GET", "/users")[0] == 200


def test_connection_faults(server):
    server.faults(route="GET /v1/users", reset=True)
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        server.api("GET", "/users")
    assert server.api("GET", "/users")[0] == 200

    email = f"{unique()}@example.com"
    server.faults(route="POST /v1/users", reset_after_apply=True)
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        server.api("POST", "/users", {"email_address": [email],
                                      "skip_password_requirement": True})
    assert len(server.api("GET", "/users",
                          query={"email_address": email})[1]) == 1

    server.faults(route="GET /v1/users/count", malformed=True)
    status, reply = server.api("GET", "/users/count")
    assert status == 200 and isinstance(reply, str)
    with pytest.raises(ValueError):
        json.loads(reply)

    log = server.requests()
    assert [entry["fault"] for entry in log] == [
        "reset", None, "reset_after_apply", None, "malformed"]
    assert log[0]["status"] is None


def test_hang_until_cleared(server):
    server.faults(route="*", hang=True)
    connection = http.client.HTTPConnection("127.0.0.1", server.port,
                                            timeout=0.5)
    with pytest.raises(OSError):
        connection.request("GET", "/v1/users", headers={
            "Authorization": f"Bearer {server.key}"})
        connection.getresponse()
    server.clear_faults()
    assert server.api("GET", "/users")[0] == 200

    user = new_user(server)
    server.faults(route="PATCH /v1/users/{user_id}", hang_after_apply=True)
    connection = http.client.HTTPConnection("127.0.0.1", server.port,
                                            timeout=0.5)
    with pytest.raises(OSError):
        connection.request("PATCH", f"/v1/users/{user['id']}",
                           body=json.dumps({"first_name": "Applied"}),
                           headers={"Authorization": f"Bearer {server.key}"})
        connection.getresponse()
    assert server.get("users", user["id"])["first_name"] == "Applied"
    server.clear_faults()


def test_fault_latency_and_bad_rules(server):
    server.faults(route="GET /v1/users/count", latency_ms=300)
    started = time.monotonic()
    assert server.api("GET", "/users/count")[0] == 200
    assert time.monotonic() - started >= 0.3
    for rule in ({"route": "GET /v1/nowhere", "status": 500},
                 {"route": "*", "status": "500"},
                 {"route": "*", "explode": True}):
        with pytest.raises(ValueError):
            server.faults(**rule)
    assert server.list_faults()[0]["remaining"] == 0


# ---- statistics, request log, objects, reset --------------------------------

def test_stats_and_request_log(server):
    uid = server.api("GET", "/users")[1][0]["id"]
    server.api("GET", f"/users/{uid}")
    server.api("PUT", f"/users/{uid}/metadata",
               {"public_metadata": {"n": BIG_INT}})
    server.api("GET", "/users", query={"email_address": ["a@x.io",
                                                         "b@x.io"]})
    server.get("users", uid)
    server.stats()

    stats = server.stats()
    assert stats["total"] == 4
    assert stats["routes"] == {"GET /v1/users": 2,
                               "GET /v1/users/{user_id}": 1,
                               "PUT /v1/users/{user_id}/metadata": 1}
    assert stats["rate_limited"] == 0
    assert stats["max_in_window"] == {"window_s": 10.0, "max": 4}

    log = server.requests()
    assert [e["route"] for e in log] == ["GET /v1/users",
                                         "GET /v1/users/{user_id}",
                                         "PUT /v1/users/{user_id}/metadata",
                                         "GET /v1/users"]
    put = log[2]
    assert put["method"] == "PUT"
    assert put["path"] == f"/v1/users/{uid}/metadata"
    assert put["body"] == {"public_metadata": {"n": BIG_INT}}
    assert str(BIG_INT) in put["raw"]
    assert put["status"] == 200 and put["t"] <= time.time()
    assert log[3]["query"] == {"email_address": ["a@x.io", "b@x.io"]}
    assert server.requests(route="GET /v1/users/{user_id}") == [log[1]]

    server.reset()
    assert server.stats()["total"] == 0 and server.requests() == []


def test_request_log_keeps_headers_and_connections_not_the_key(server):
    kept_alive = http.client.HTTPConnection("127.0.0.1", server.port,
                                            timeout=10)
    for version in ("2026-05-12", "2026-05-12", None):
        headers = {"Authorization": f"Bearer {server.key}"}
        if version:
            headers["Clerk-API-Version"] = version
        kept_alive.request("GET", "/v1/users/count", headers=headers)
        kept_alive.getresponse().read()
    kept_alive.close()
    anonymous = http.client.HTTPConnection("127.0.0.1", server.port,
                                           timeout=10)
    anonymous.request("GET", "/v1/users/count")
    assert anonymous.getresponse().status == 401
    anonymous.close()
    server.api("GET", "/users/count")

    log = server.requests()
    assert [e["status"] for e in log] == [200, 200, 200, 401, 200]
    numbers = [e["connection"] for e in log]
    assert numbers[0] == numbers[1] == numbers[2]
    assert len(set(numbers[2:])) == 3
    assert log[0]["headers"]["Clerk-API-Version"] == "2026-05-12"
    assert "Clerk-API-Version" not in log[2]["headers"]
    assert log[0]["headers"]["Authorization"] == "Bearer"
    assert "Authorization" not in log[3]["headers"]
    assert server.key not in json.dumps(log)
    with open(server.log_path, encoding="utf-8") as stderr:
        assert server.key not in stderr.read()


def test_objects_seed_and_read_raw_state(server):
    uid = "user_2TstAda0001"
    user = server.put("users", {
        "id": uid, "first_name": "Ada", "created_at": 1700000000123,
        "updated_at": 1700003600456, "last_sign_in_at": None,
        "email_addresses": [f"{unique('ada.test')}@example.com"],
        "public_metadata": {"plan": "free"}})
    assert user["id"] == uid and user["created_at"] == 1700000000123
    assert user["primary_email_address_id"] == \
        user["email_addresses"][0]["id"]
    assert server.api("GET", f"/users/{uid}")[1] == user
    assert server.stats()["total"] == 1

    changed = server.patch("users", uid, {"first_name": "Adaline"})
    assert changed["first_name"] == "Adaline"
    assert changed["updated_at"] > user["updated_at"]
    assert changed["public_metadata"] == {"plan": "free"}

    org = server.put("organizations", {"id": "org_2TstObj0001",
                                       "name": "Objects"})
    member = server.put("memberships", {"organization_id": org["id"],
                                        "user_id": uid, "role": "org:admin"})
    assert member["role_name"] == "Admin"
    assert server.get("memberships", member["id"])["id"] == member["id"]
    assert server.get("memberships", f"{org['id']}:{uid}")["id"] == \
        member["id"]
    raw = server.patch("users", uid, {"private_metadata": None})
    assert raw["private_metadata"] is None
    assert server.api("GET", f"/users/{uid}")[1]["private_metadata"] is None
    email = server.put("email_addresses", {
        "user_id": uid, "email_address": f"{unique()}@example.org",
        "verified": False})
    assert email["verification"] is None
    assert len(server.get("users", uid)["email_addresses"]) == 2

    with pytest.raises(ValueError):
        server.put("users", {"email_addresses": [email["email_address"]]})
    assert server.get("users", "user_2TstNope") is None
    server.delete("users", uid)
    assert server.api("GET", f"/users/{uid}")[0] == 404
    assert server.api("GET", f"/organizations/{org['id']}/memberships")[1][
        "total_count"] == 0


def test_reset_with_state_reseeds():
    with start_server(users=20, orgs=2, seed=5) as server:
        seeded = server.api("GET", "/users", query={"limit": 50})[1]
        extra = new_user(server)
        server.api("DELETE", f"/users/{seeded[0]['id']}")
        server.reset(state=True)
        again = server.api("GET", "/users", query={"limit": 50})[1]
        assert [u["id"] for u in again] == [u["id"] for u in seeded]
        assert server.api("GET", f"/users/{extra['id']}")[0] == 404


def test_keep_alive_and_content_length(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port)
    headers = {"Authorization": f"Bearer {server.key}"}
    sockets = set()
    for path in ("/v1/users", "/v1/users/user_2nope", "/v1/organizations"):
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        assert int(response.getheader("Content-Length")) == len(body)
        sockets.add(id(connection.sock))
    assert len(sockets) == 1


# ---- seeded data ------------------------------------------------------------

def test_seed_is_deterministic():
    def first_ids(seed):
        with start_server(users=30, orgs=3, seed=seed) as server:
            users = server.api("GET", "/users", query={"limit": 30})[1]
            orgs = server.api("GET", "/organizations")[1]["data"]
            return [u["id"] for u in users] + [o["id"] for o in orgs]
    assert first_ids(3) == first_ids(3)
    assert first_ids(3) != first_ids(4)


def test_seeded_data_is_realistic_and_awkward(server):
    users = []
    for offset in (0, 500):
        users += server.api("GET", "/users", query={"limit": 500,
                                                    "offset": offset})[1]
    names = [f"{u['first_name']}|{u['last_name']}" for u in users]
    assert sum(u["first_name"] == "Zoë" for u in users) >= 3
    for needle in (",", '"', "\n", "\r\n", "🦄", "ñ"):
        assert any(needle in name for name in names), needle
    assert any((u["last_name"] or "").startswith("=") for u in users)
    assert any(BIG_INT in u["public_metadata"].values() for u in users)
    assert any(len(json.dumps(u["public_metadata"])) > 2000 for u in users)
    assert all(isinstance(u[f"{kind}_metadata"], dict) for u in users
               for kind in ("public", "private", "unsafe"))
    assert any(u["banned"] for u in users) and any(u["locked"]
                                                   for u in users)
    assert any(len(u["email_addresses"]) > 1 for u in users)
    assert any(u["last_sign_in_at"] is None for u in users)
    domains = {e["email_address"].split("@")[1] for u in users
               for e in u["email_addresses"]}
    assert {"example.com", "example.org"} <= domains
    phones = [p["phone_number"] for u in users for p in u["phone_numbers"]]
    assert phones and all(re.fullmatch(r"\+1555\d{7}", p) for p in phones)
    roles = {m["role"] for m in server.api("GET", "/organization_memberships",
                                           query={"limit": 500})[1]["data"]}
    assert {"org:admin", "org:member", "org:billing_manager"} <= roles


def test_seeding_ten_thousand_users_is_quick():
    started = time.monotonic()
    with start_server(users=10_000, orgs=50, extra_args=["--quiet"]) as srv:
        assert time.monotonic() - started < 10
        assert srv.api("GET", "/users/count")[1]["total_count"] == 10_000


def test_refuses_a_non_loopback_host():
    result = subprocess.run([sys.executable, SERVER, "--port", "0",
                             "--host", "0.0.0.0"], capture_output=True,
                            timeout=30)
    assert result.returncode != 0
    assert b"loopback" in result.stderr
