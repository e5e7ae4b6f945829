"""The read side of the tree, used as a person would (issue 2).

One big local instance (1,234 users, 40 organizations) is shared by the
module, since these tests only read; each test mounts clerkfs afresh, so
its cache starts empty and the server's counters start at zero. What the
files show is compared with the server's own data (read through its API
once per module, before any counter is reset), and what clerkfs sent is
checked in the server's statistics and request log.

The few tests that try to change something run on small instances of
their own, so that a bug can never damage the shared data.
"""

import json
import math
import os
import re
import time

import pytest

from helpers import routes, sh

BIG_INT = 1234567890123456789
ZOE = "Zoë"


# ---- what the server holds ------------------------------------------------

def _pages(server, path, query=None):
    """Every item of a paged list, read through the server's API."""
    items, offset = [], 0
    while True:
        status, reply = server.api("GET", path, query=dict(
            query or {}, limit=500, offset=offset))
        assert status == 200, reply
        page = reply["data"] if isinstance(reply, dict) else reply
        items += page
        if len(page) < 500:
            return items
        offset += 500


class Catalog:
    """The big instance's users, organizations and memberships."""

    def __init__(self, server):
        self.users = _pages(server, "/users")
        self.orgs = _pages(server, "/organizations")
        self.memberships = _pages(server, "/organization_memberships")
        self.by_id = {u["id"]: u for u in self.users}
        self.oldest = min(self.users, key=lambda u: u["created_at"])
        self.sessions = _pages(server, "/sessions",
                               {"user_id": self.oldest["id"]})

    def orgs_of(self, user_id):
        return {m["organization"]["id"] for m in self.memberships
                if m["public_user_data"]["user_id"] == user_id}

    def user_where(self, test):
        return next(u for u in self.users if test(u))


@pytest.fixture(scope="module")
def catalog(big_server):
    return Catalog(big_server)


def count_of(server, route):
    return routes(server).get(route, 0)


def sizes_and_bytes(directory):
    """{name: (stat -c %s, bytes cat reads)} for the regular files in it."""
    out = sh(f"""cd '{directory}' && for f in *; do
        if [ -f "$f" ] && [ ! -L "$f" ]; then
            printf '%s\\t%s\\t%s\\n' "$(stat -c %s "$f")" \
                "$(cat "$f" | wc -c)" "$f"
        fi
    done""").stdout
    found = {}
    for line in out.splitlines():
        size, read, name = line.split("\t", 2)
        found[name] = (int(size), int(read))
    return found


# ---- listing users -------------------------------------------------------

def test_ls_users_lists_every_user_in_three_pages(big):
    server, mount = big

    result = sh("ls users | wc -l", cwd=mount.path)

    assert result.stdout.strip() == "1234"
    sent = routes(server)
    assert sent.get("GET /v1/users") == 3, sent
    assert sent.get("GET /v1/users/count", 0) <= 1, sent
    assert set(sent) <= {"GET /v1/users", "GET /v1/users/count"}, sent
    for request in server.requests("GET /v1/users"):
        limit = int(request["query"]["limit"][0])
        assert 1 <= limit <= 500, request


def test_ls_users_shows_exactly_the_servers_ids(big, catalog):
    server, mount = big

    names = sh("ls users", cwd=mount.path).stdout.split()

    assert sorted(names) == sorted(catalog.by_id)


def test_grep_after_listing_finds_every_zoe_without_a_request(big, catalog):
    server, mount = big
    expected = {u["id"] for u in catalog.users
                if ZOE in json.dumps(u, ensure_ascii=False)}
    assert len(expected) > 3        # the seed has many, and three showcases
    sh("ls users > /dev/null", cwd=mount.path)
    server.reset()

    result = sh(f"grep -l '{ZOE}' users/*/profile.json", cwd=mount.path)

    found = {line.split("/")[1] for line in result.stdout.splitlines()}
    assert found == expected
    assert routes(server) == {}


def test_profiles_after_listing_cost_nothing_with_ls_l(big):
    server, mount = big
    sh("ls users > /dev/null", cwd=mount.path)
    server.reset()

    listing = sh("ls -l users | tail -n +2 | wc -l", cwd=mount.path)

    assert listing.stdout.strip() == "1234"
    assert routes(server) == {}


# ---- one user's files ------------------------------------------------------

def test_jq_prints_the_primary_email_address(big, catalog):
    server, mount = big
    user = catalog.user_where(lambda u: len(u["email_addresses"]) > 1)

    result = sh(f"jq -r .email_addresses[0].email_address "
                f"users/{user['id']}/profile.json", cwd=mount.path)

    assert result.stdout == user["email_addresses"][0]["email_address"] + \
        "\n"
    assert count_of(server, "GET /v1/users/{user_id}") == 1


def test_profile_is_rendered_as_jq_prints_it(big, catalog):
    server, mount = big
    user = catalog.users[0]
    path = mount.path / "users" / user["id"] / "profile.json"

    shown = path.read_bytes()
    pretty = sh(f"jq . '{path}'").stdout.encode()

    assert shown == pretty
    assert json.loads(shown) == user


def test_stat_size_equals_bytes_read_in_user_org_and_member_dirs(big,
                                                               catalog):
    server, mount = big
    user = catalog.user_where(lambda u: ZOE in (u["first_name"] or "")
                              and u["unsafe_metadata"])
    org = catalog.orgs[1]
    email_owner = catalog.memberships[0]["public_user_data"]["user_id"]

    checked = {
        f"users/{user['id']}": {
            "profile.json", "public_metadata.json",
            "private_metadata.json", "unsafe_metadata.json", "banned",
            "locked"},
        f"orgs/{org['id']}": {
            "organization.json", "public_metadata.json",
            "private_metadata.json"},
        f"members/{org['id']}": {
            m["public_user_data"]["user_id"] for m in catalog.memberships
            if m["organization"]["id"] == org["id"]},
        f"email_addresses/{email_owner}": {
            e["email_address"]
            for e in catalog.by_id[email_owner]["email_addresses"]},
    }
    for directory, names in checked.items():
        found = sizes_and_bytes(mount.path / directory)
        assert set(found) == names, directory
        for name, (size, read) in found.items():
            assert size == read > 0, f"{directory}/{name}"


def test_metadata_keeps_a_64_bit_number_digit_for_digit(big, catalog):
    server, mount = big
    user = catalog.user_where(
        lambda u: u["public_metadata"].get("crm_id") == BIG_INT)
    home = f"users/{user['id']}"

    public = sh(f"cat {home}/public_metadata.json", cwd=mount.path).stdout
    profile = sh(f"grep -o '\"crm_id\": [0-9]*' {home}/profile.json",
                 cwd=mount.path).stdout

    assert f'"crm_id": {BIG_INT}' in public
    assert profile.strip() == f'"crm_id": {BIG_INT}'


def test_metadata_files_hold_each_field_as_jq_prints_it(big, catalog):
    server, mount = big
    user = catalog.user_where(lambda u: "profile" in u["public_metadata"]
                              and u["private_metadata"])
    home = mount.path / "users" / user["id"]

    for field in ("public_metadata", "private_metadata", "unsafe_metadata"):
        shown = (home / f"{field}.json").read_text()
        assert shown == json.dumps(user[field], indent=2,
                                   ensure_ascii=False) + "\n", field


def test_null_metadata_renders_as_an_empty_object(make_server, make_mount):
    server = make_server()
    server.put("users", {"id": "user_2TstNull0001", "first_name": "Nil",
                         "private_metadata": None})
    mount = make_mount(server)
    home = mount.path / "users" / "user_2TstNull0001"

    private = (home / "private_metadata.json").read_text()

    assert server.get("users", "user_2TstNull0001")["private_metadata"] \
        is None
    assert private == "{}\n"
    assert os.stat(home / "private_metadata.json").st_size == 3


def test_an_address_starting_with_a_dot_is_listed_by_its_id(make_server,
                                                            make_mount):
    server = make_server()
    server.put("users", {"id": "user_2TstDotMail01", "first_name": "Dot",
                         "email_addresses": ["..@example.com",
                                             "plain@example.com"]})
    mount = make_mount(server)
    emails = mount.path / "email_addresses" / "user_2TstDotMail01"
    ids = {e["email_address"]: e["id"] for e in
           server.get("users", "user_2TstDotMail01")["email_addresses"]}

    names = sorted(os.listdir(emails))
    shown = json.loads((emails / ids["..@example.com"]).read_text())

    assert names == sorted([ids["..@example.com"], "plain@example.com"])
    assert shown["email_address"] == "..@example.com"
    for name in names:                  # every listed name can be stat'ed
        assert os.stat(emails / name).st_size > 0


def test_banned_and_locked_read_true_or_false(big, catalog):
    server, mount = big
    banned = catalog.user_where(lambda u: u["banned"])
    locked = catalog.user_where(lambda u: u["locked"])
    free = catalog.user_where(lambda u: not u["banned"] and not u["locked"])

    def read(user, name):
        return (mount.path / "users" / user["id"] / name).read_text()

    assert read(banned, "banned") == "true\n"
    assert read(locked, "locked") == "true\n"
    assert read(free, "banned") == "false\n"
    assert read(free, "locked") == "false\n"


def test_user_directory_holds_only_its_own_files(big, catalog):
    server, mount = big
    user = catalog.users[5]
    home = f"users/{user['id']}"

    names = sh(f"ls -A {home}", cwd=mount.path).stdout.split()
    emails = sh(f"readlink {home}/email_addresses", cwd=mount.path).stdout
    sessions = sh(f"readlink {home}/sessions", cwd=mount.path).stdout

    assert sorted(names) == sorted([
        "profile.json", "public_metadata.json", "private_metadata.json",
        "unsafe_metadata.json", "banned", "locked", "email_addresses",
        "sessions", "organizations"])
    assert emails.strip() == f"../../email_addresses/{user['id']}"
    assert sessions.strip() == f"../../sessions/{user['id']}"


# ---- aliases -------------------------------------------------------------

def test_aliases_by_email_username_and_phone_show_the_user(big, catalog):
    server, mount = big
    user = catalog.user_where(lambda u: u["username"] and u["phone_numbers"]
                              and len(u["email_addresses"]) > 1)
    own = (mount.path / "users" / user["id"] / "profile.json").read_bytes()
    names = [
        user["email_addresses"][0]["email_address"].upper(),
        user["email_addresses"][1]["email_address"],
        user["username"],
        user["phone_numbers"][0]["phone_number"],
    ]

    for name in names:
        result = sh(f"cat 'users/{name}/profile.json'", cwd=mount.path)
        assert result.stdout.encode() == own, name

    listed = sh("ls users", cwd=mount.path).stdout.split()
    assert not set(names) & set(listed)     # aliases are not listed


def test_org_slug_alias_shows_the_organization(big, catalog):
    server, mount = big
    org = catalog.orgs[3]

    by_slug = sh(f"cat orgs/{org['slug']}/organization.json",
                 cwd=mount.path).stdout
    by_id = sh(f"cat orgs/{org['id']}/organization.json",
               cwd=mount.path).stdout

    assert by_slug == by_id
    assert json.loads(by_id)["id"] == org["id"]
    assert org["slug"] not in sh("ls orgs", cwd=mount.path).stdout.split()


def test_names_that_cannot_be_aliases_cost_no_request(big):
    server, mount = big

    for name in (".hidden", "Bad Name", "two words@", "x y"):
        result = sh(f"stat 'users/{name}'", cwd=mount.path, check=False)
        assert result.returncode != 0

    assert routes(server) == {}


# ---- organizations and members --------------------------------------------

def test_member_file_prints_the_role(big, catalog):
    server, mount = big
    admin = next(m for m in catalog.memberships if m["role"] == "org:admin")
    custom = next(m for m in catalog.memberships
                  if m["role"] == "org:billing_manager")

    for membership in (admin, custom):
        org = membership["organization"]["id"]
        user = membership["public_user_data"]["user_id"]
        result = sh(f"cat orgs/{org}/members/{user}", cwd=mount.path)
        assert result.stdout == membership["role"] + "\n"


def test_members_directory_lists_every_member(big, catalog):
    server, mount = big
    org = next(o for o in catalog.orgs if o["id"] == "org_2TstBig0016")
    expected = {m["public_user_data"]["user_id"] for m in catalog.memberships
                if m["organization"]["id"] == org["id"]}

    names = sh(f"ls orgs/{org['id']}/members/", cwd=mount.path).stdout

    assert set(names.split()) == expected
    assert len(expected) == 750


def test_user_organizations_are_links_that_resolve(big, catalog):
    server, mount = big
    user = catalog.user_where(lambda u: len(catalog.orgs_of(u["id"])) > 1)
    expected = catalog.orgs_of(user["id"])
    home = f"users/{user['id']}/organizations"

    listing = sh(f"ls -l {home}/", cwd=mount.path).stdout.splitlines()[1:]
    for line in listing:
        assert line.startswith("l"), line
    for org in expected:
        target = sh(f"readlink -e {home}/{org}", cwd=mount.path).stdout
        assert target.strip() == str(mount.path / "orgs" / org)
        shown = sh(f"jq -r .id {home}/{org}/organization.json",
                   cwd=mount.path).stdout
        assert shown.strip() == org
    names = sh(f"ls {home}", cwd=mount.path).stdout.split()
    assert set(names) == expected


def test_grep_r_over_users_costs_one_memberships_listing(big, catalog):
    server, mount = big
    sh("ls users > /dev/null", cwd=mount.path)
    server.reset()

    result = sh(f"grep -r -l '{ZOE}' users/", cwd=mount.path)

    found = {line.split("/")[1] for line in result.stdout.splitlines()}
    assert found == {u["id"] for u in catalog.users
                     if ZOE in json.dumps(u, ensure_ascii=False)}
    sent = routes(server)
    pages = math.ceil(len(catalog.memberships) / 500)
    assert set(sent) <= {"GET /v1/organization_memberships"}, sent
    assert sent.get("GET /v1/organization_memberships", 0) <= pages, sent


def test_collections_list_the_same_ids_without_a_request(big, catalog):
    server, mount = big
    users = sh("ls users", cwd=mount.path).stdout.split()
    orgs = sh("ls orgs", cwd=mount.path).stdout.split()
    server.reset()

    assert sh("ls members", cwd=mount.path).stdout.split() == orgs
    assert sh("ls email_addresses", cwd=mount.path).stdout.split() == users
    assert sh("ls sessions", cwd=mount.path).stdout.split() == users
    assert routes(server) == {}
    assert len(orgs) == 40


def test_email_address_files_hold_the_address_objects(big, catalog):
    server, mount = big
    user = catalog.user_where(lambda u: len(u["email_addresses"]) > 1)

    directory = mount.path / "email_addresses" / user["id"]
    names = sorted(os.listdir(directory))

    assert names == sorted(e["email_address"]
                           for e in user["email_addresses"])
    for email in user["email_addresses"]:
        shown = json.loads((directory / email["email_address"]).read_text())
        assert shown == email


# ---- sessions ------------------------------------------------------------

def test_user_sessions_lists_only_active_and_pending(big, catalog):
    server, mount = big
    user = catalog.oldest           # the seed gives it one of each status
    live = {s["id"] + ".json" for s in catalog.sessions
            if s["status"] in ("active", "pending")}
    assert {s["status"] for s in catalog.sessions} > {"active", "pending",
                                                       "revoked"}

    names = sh(f"ls sessions/{user['id']}/", cwd=mount.path).stdout.split()

    assert set(names) == live
    for request in server.requests("GET /v1/sessions"):
        query = request["query"]
        assert "user_id" in query or "client_id" in query, request


def test_any_session_reads_by_id_whatever_its_status(big, catalog):
    server, mount = big

    for session in catalog.sessions:
        result = sh(f"cat sessions/{session['id']}.json", cwd=mount.path)
        shown = json.loads(result.stdout)
        assert shown["status"] == session["status"]
        assert shown["id"] == session["id"]
    names = sh("ls sessions", cwd=mount.path).stdout.split()
    assert not any(name.startswith("sess_") for name in names)


# ---- attributes -----------------------------------------------------------

def test_modes_follow_what_can_be_changed(big, catalog):
    server, mount = big
    user = catalog.users[0]["id"]
    org = catalog.orgs[2]["id"]
    member = catalog.memberships[0]
    live = next(s for s in catalog.sessions if s["status"] == "active")
    modes = {
        f"members/{member['organization']['id']}/"
        f"{member['public_user_data']['user_id']}": "600",
        f"sessions/{live['user_id']}/{live['id']}.json": "400",
        f"sessions/{live['id']}.json": "400",
        "users": "700", "orgs": "700", "members": "500",
        "email_addresses": "500", "sessions": "500", ".clerkfs": "500",
        f"users/{user}": "700",
        f"users/{user}/profile.json": "600",
        f"users/{user}/public_metadata.json": "600",
        f"users/{user}/banned": "600",
        f"users/{user}/organizations": "500",
        f"orgs/{org}": "700",
        f"orgs/{org}/organization.json": "600",
        f"members/{org}": "700",
        f"email_addresses/{user}": "700",
        f"sessions/{user}": "700",
        ".clerkfs/stats": "400",
        ".clerkfs/errors": "400",
    }

    for path, mode in modes.items():
        shown = sh(f"stat -c '%a %u' '{path}'", cwd=mount.path).stdout
        assert shown.split() == [mode, str(os.getuid())], path


def test_mtime_is_updated_at_with_milliseconds(big, catalog):
    server, mount = big
    user = catalog.user_where(lambda u: u["updated_at"] % 1000 != 0)
    org = catalog.orgs[4]

    def shown(path):
        out = sh(f"stat -c '%Y %y' {path}", cwd=mount.path).stdout
        seconds, stamp = out.split(" ", 1)
        return int(seconds), re.search(r"\.(\d{9})", stamp).group(1)

    for path, obj in ((f"users/{user['id']}/profile.json", user),
                      (f"users/{user['id']}", user),
                      (f"orgs/{org['id']}/organization.json", org)):
        seconds, nanos = shown(path)
        assert seconds == obj["updated_at"] // 1000, path
        assert nanos == f"{obj['updated_at'] % 1000:03d}000000", path


def test_statfs_satisfies_df_and_stat(big):
    server, mount = big

    df = sh(f"df -P '{mount.path}'").stdout.splitlines()
    fields = sh(f"stat -f -c '%S %l %a' '{mount.path}'").stdout.split()

    assert len(df) == 2 and df[1].split()[-1] == str(mount.path)
    assert fields[0] == "4096" and fields[1] == "255"
    assert int(fields[2]) > 0       # the scratch budget is free space


def test_stats_file_is_readable(big):
    server, mount = big
    sh("ls orgs > /dev/null", cwd=mount.path)

    text = sh("cat .clerkfs/stats", cwd=mount.path).stdout

    assert re.search(r"^requests\s+\d+$", text, re.M), text
    assert "GET /organizations" in text
    assert sh("cat .clerkfs/errors", cwd=mount.path).returncode == 0


def stats_of(mount):
    """.clerkfs/stats as {figure: number}, the per-route lines left out."""
    figures = {}
    for line in (mount.path / ".clerkfs" / "stats").read_text().splitlines():
        name, value = line.split("\t")[:2]
        if name != "route":
            figures[name] = int(value)
    return figures


def test_stats_show_cache_hits_misses_limiter_waits_and_429s(tiny):
    server, mount, users, memberships = tiny
    org = memberships[0]["organization"]["id"]
    before = stats_of(mount)

    sh("ls users > /dev/null", cwd=mount.path)
    listed = stats_of(mount)
    sh("cat users/*/profile.json > /dev/null", cwd=mount.path)
    cached = stats_of(mount)
    server.faults(route="GET /v1/organizations/{organization_id}",
                  status=429, retry_after=1)
    sh(f"cat orgs/{org}/organization.json > /dev/null", cwd=mount.path)
    limited = stats_of(mount)

    assert listed["requests"] > before["requests"]
    assert listed["cache_misses"] > before["cache_misses"]
    assert cached["requests"] == listed["requests"]
    assert cached["cache_misses"] == listed["cache_misses"]
    assert cached["cache_hits"] >= listed["cache_hits"] + len(users)
    assert cached["limiter_waits"] == before["limiter_waits"] == 0
    assert cached["rate_limited"] == before["rate_limited"] == 0
    # The 429 paused the limiter for Retry-After: the retry waited.
    assert limited["rate_limited"] == 1
    assert limited["retries"] == cached["retries"] + 1
    assert limited["limiter_waits"] == 1
    assert limited["requests"] == cached["requests"] + 2
    assert limited["cache_misses"] == cached["cache_misses"] + 1
    assert routes(server)["GET /v1/organizations/{organization_id}"] == 2
    assert server.stats()["faulted"] == 1


def test_every_request_names_the_api_version_on_reused_connections(
        make_server, make_mount):
    server = make_server(users=58, orgs=4)
    orgs = [o["id"] for o in server.api("GET", "/organizations")[1]["data"]]
    server.reset()
    mount = make_mount(server, page_size=5)

    sh("ls users > /dev/null && cat users/*/profile.json > /dev/null",
       cwd=mount.path)
    for org in orgs:
        sh(f"cat orgs/{org}/organization.json > /dev/null", cwd=mount.path)
    sent = server.requests()

    listing = sent[1:-len(orgs)]
    assert [r["route"] for r in sent[:2]] == ["GET /v1/users"] * 2
    assert len(listing) == 13       # 12 pages of up to 5, the count
    for request in sent:            # the mount's key check included
        assert request["headers"]["Clerk-API-Version"] == "2026-05-12", \
            request
        assert request["headers"]["Authorization"] == "Bearer", request
        assert request["status"] == 200, request
    connections = {r["connection"] for r in listing}
    assert len(connections) * 3 <= len(listing), connections
    # One read after another goes on a connection already open.
    assert {r["connection"] for r in sent[-len(orgs):]} <= \
        {r["connection"] for r in sent[:-len(orgs)]}
    assert server.key not in mount.log()


# ---- errors ---------------------------------------------------------------

def test_unknown_user_is_no_such_file(big):
    server, mount = big
    path = "users/user_doesnotexist/profile.json"

    first = sh(f"cat {path}", cwd=mount.path, check=False)
    again = sh(f"cat {path}", cwd=mount.path, check=False)
    test_e = sh(f"test -e {path}", cwd=mount.path, check=False)

    assert first.returncode != 0
    assert "No such file or directory" in first.stderr
    assert "No such file or directory" in again.stderr
    assert test_e.returncode == 1
    # One 404, not retried, and remembered for negative_ttl.
    assert routes(server) == {"GET /v1/users/{user_id}": 1}


# ---- changes are refused on the read side --------------------------------

@pytest.fixture
def tiny(make_server, make_mount):
    server = make_server(users=12, orgs=3)
    mount = make_mount(server)
    status, users = server.api("GET", "/users", query={"limit": 500})
    status, memberships = server.api("GET", "/organization_memberships",
                                     query={"limit": 500})
    server.reset()
    return server, mount, users, memberships["data"]


def test_rm_of_attributes_and_links_is_refused(tiny):
    server, mount, users, memberships = tiny
    member = memberships[0]["public_user_data"]["user_id"]
    org = memberships[0]["organization"]["id"]
    home = f"users/{member}"

    for path in (f"{home}/profile.json", f"{home}/banned",
                 f"{home}/email_addresses", f"{home}/organizations/{org}"):
        result = sh(f"rm -f {path}", cwd=mount.path, check=False)
        assert result.returncode != 0, path
        assert "Operation not permitted" in result.stderr, path

    assert sorted(os.listdir(mount.path / home / "organizations")) == \
        sorted(m["organization"]["id"] for m in memberships
               if m["public_user_data"]["user_id"] == member)
    assert not [k for k in routes(server) if not k.startswith("GET ")]


def test_rm_r_of_a_user_deletes_nothing(tiny):
    server, mount, users, memberships = tiny
    user = users[0]

    result = sh(f"rm -rf users/{user['id']}", cwd=mount.path, check=False)

    assert result.returncode != 0
    assert "Operation not permitted" in result.stderr
    assert server.get("users", user["id"]) is not None
    assert not [k for k in routes(server) if not k.startswith("GET ")]
    assert "profile.json" in os.listdir(mount.path / "users" / user["id"])
    assert user["id"] in os.listdir(mount.path / "users")


def test_chmod_chown_and_touch_of_attributes(tiny):
    server, mount, users, memberships = tiny
    profile = f"users/{users[0]['id']}/profile.json"

    same_mode = sh(f"chmod 600 {profile}", cwd=mount.path, check=False)
    other_mode = sh(f"chmod 644 {profile}", cwd=mount.path, check=False)
    same_owner = sh(f"chown {os.getuid()} {profile}", cwd=mount.path,
                    check=False)
    other_owner = sh(f"chown 1234 {profile}", cwd=mount.path, check=False)
    touch = sh(f"touch {profile}", cwd=mount.path, check=False)

    assert same_mode.returncode == 0, same_mode.stderr
    assert "Operation not permitted" in other_mode.stderr
    assert same_owner.returncode == 0, same_owner.stderr
    assert "Operation not permitted" in other_owner.stderr
    assert touch.returncode == 0, touch.stderr
    assert sh(f"stat -c %a {profile}", cwd=mount.path).stdout == "600\n"
    assert not [k for k in routes(server) if not k.startswith("GET ")]


def test_links_in_organizations_cannot_be_made(tiny):
    server, mount, users, memberships = tiny
    home = f"users/{users[0]['id']}/organizations"

    result = sh(f"ln -s ../../../orgs/org_x {home}/org_x", cwd=mount.path,
                check=False)

    assert result.returncode != 0
    assert "Operation not permitted" in result.stderr
    assert not [k for k in routes(server) if not k.startswith("GET ")]


# ---- times that move with the bytes ---------------------------------------

def test_mtime_moves_forward_while_a_lock_counts_down_and_ends(make_server,
                                                               make_mount):
    server = make_server()
    user = server.put("users", {"id": "user_2TstLock0001",
                                "first_name": "Lok", "locked": True,
                                "lockout_expires_in_seconds": 3})
    mount = make_mount(server, cache_ttl=1)
    home = mount.path / "users" / user["id"]

    def shown(name):
        out = sh(f"stat -c '%s' {name}; cat {name}", cwd=home).stdout
        size, data = out.split("\n", 1)
        assert int(size) == len(data.encode()), name
        return data, os.stat(home / name).st_mtime_ns

    seen = []
    for _ in range(5):              # the countdown, then the lock's end
        seen.append((shown("profile.json"), shown("locked")))
        time.sleep(1.2)
    profiles = [p for p, _ in seen]
    flags = [f for _, f in seen]

    assert flags[0][0] == "true\n" and flags[-1][0] == "false\n"
    assert server.get("users", user["id"])["updated_at"] == \
        user["updated_at"]          # the lock ended without an update
    for series in (profiles, flags):
        for (before, t0), (after, t1) in zip(series, series[1:]):
            if after != before:
                assert t1 > t0, (before, after)
            else:
                assert t1 >= t0
    assert profiles[-1][1] > user["updated_at"] * 1_000_000


def test_aliases_with_characters_urls_escape_reach_the_right_user(
        make_server, make_mount):
    server = make_server(users=3)
    user = server.put("users", {
        "id": "user_2TstEsc0001", "first_name": "Eve",
        "email_addresses": ["eve+tag&x=1@example.com", "o'neil%20@x.io"],
        "username": "eve.o-k_2"})
    server.put("users", {"id": "user_2TstEsc0002", "first_name": "Not",
                         "email_addresses": ["eve tag@example.com"]})
    mount = make_mount(server)
    server.reset()

    for name in ("eve+tag&x=1@example.com", "O'NEIL%20@x.io", "eve.o-k_2"):
        shown = sh(f"jq -r .id \"users/{name}/profile.json\"",
                   cwd=mount.path)
        assert shown.stdout == user["id"] + "\n", name

    asked = [r["query"] for r in server.requests("GET /v1/users")]
    values = sorted(v.lower() for q in asked
                    for key in ("email_address", "username")
                    for v in q.get(key, []))
    assert values == sorted(["eve+tag&x=1@example.com", "o'neil%20@x.io",
                             "eve.o-k_2"])
    for request in server.requests("GET /v1/users"):
        assert "+" not in request["path"].split("?", 1)[-1], request
