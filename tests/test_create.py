"""Creating and deleting through the tree (issue 4; CASES.md B19, B21).

Each test starts a small instance of its own holding two known users (Ada,
an admin of Acme, and Bo, who belongs to nothing) and the organization
Acme, mounts clerkfs on it, creates or deletes something the way a person
would (mkdir, rmdir, cp, touch, rm, echo >, ln), and then checks what the
tool reported, exactly which calls the server received (its statistics
and the request bodies), and what every path of the tree shows at once.
"""

import errno
import json
import os
import re
import time

import pytest

from helpers import interrupted_after, routes, sh, wait_for

ADA = {
    "id": "user_2TstAda0004",
    "first_name": "Ada",
    "username": "ada_l",
    "email_addresses": ["ada@example.com"],
    "phone_numbers": ["+15550100"],
}
BO = {
    "id": "user_2TstBo0004",
    "first_name": "Bo",
    "email_addresses": ["bo@example.com", "bo.second@example.org"],
}
ACME = {"id": "org_2TstAcme0004", "name": "Acme", "slug": "acme"}
ADA_SESSION = {"id": "sess_2TstAda0004", "user_id": ADA["id"],
               "status": "active"}

CREATE_USER = "POST /v1/users"
DELETE_USER = "DELETE /v1/users/{user_id}"
CREATE_EMAIL = "POST /v1/email_addresses"
DELETE_EMAIL = "DELETE /v1/email_addresses/{email_address_id}"
CREATE_ORG = "POST /v1/organizations"
DELETE_ORG = "DELETE /v1/organizations/{organization_id}"
ADD_MEMBER = "POST /v1/organizations/{organization_id}/memberships"
MEMBER = "/v1/organizations/{organization_id}/memberships/{user_id}"
CHANGE_MEMBER = "PATCH " + MEMBER
REMOVE_MEMBER = "DELETE " + MEMBER
CREATE_SESSION = "POST /v1/sessions"
REVOKE_SESSION = "POST /v1/sessions/{session_id}/revoke"


# ---- an instance holding Ada, Bo and Acme ----------------------------------

class World:
    """A small server with Ada, Bo and Acme, and clerkfs mounted on it."""

    def __init__(self, server, mount):
        self.server = server
        self.mount = mount
        self.root = mount.path

    def sh(self, command, check=False, timeout=60):
        return sh(command, cwd=self.root, check=check, timeout=timeout)

    def writes(self):
        """Requests other than GET since the last reset, by route."""
        return {k: v for k, v in routes(self.server).items()
                if not k.startswith("GET ")}

    def bodies(self, route):
        return [r["body"] for r in self.server.requests(route)]

    def paths(self, route):
        return [r["path"] for r in self.server.requests(route)]

    def ls(self, path):
        return sorted(os.listdir(self.root / path))

    def errno_of(self, path):
        """0 when path exists (without following a last link), else the
        errno that lstat gives."""
        try:
            os.lstat(self.root / path)
            return 0
        except OSError as error:
            return error.errno

    def read(self, path):
        return (self.root / path).read_text()

    def errors(self):
        return self.read(".clerkfs/errors")

    def refusals(self, path):
        """Lines of the daemon's log that name path."""
        return [line for line in self.mount.log().splitlines()
                if path in line]

    def user_ids_with(self, **query):
        """Ids of the server's users matching a list filter (after the
        statistics were checked: this call is counted)."""
        status, users = self.server.api("GET", "/users",
                                        query=dict(query, limit=500))
        assert status == 200, users
        return [u["id"] for u in users]

    def membership(self, org, uid):
        """The server's role of uid in org, or None."""
        status, reply = self.server.api(
            "GET", f"/organizations/{org}/memberships",
            query={"limit": 500})
        assert status == 200, reply
        for m in reply["data"]:
            if m["public_user_data"]["user_id"] == uid:
                return m["role"]
        return None


@pytest.fixture
def world(make_server, make_mount):
    """world(production=False, sessions=(), server_args=(), **options)."""

    def make(production=False, sessions=(), users=(), server_args=(),
             **options):
        server = make_server(users=2, production=production,
                             extra_args=list(server_args))
        for user in (ADA, BO, *users):
            server.put("users", user)
        server.put("organizations", dict(ACME, created_by=ADA["id"]))
        server.put("memberships", {"organization_id": ACME["id"],
                                   "user_id": ADA["id"],
                                   "role": "org:admin"})
        for session in sessions:
            server.put("sessions", session)
        mount = make_mount(server, **options)
        server.reset()
        return World(server, mount)

    return make


def write_json(directory, name, value):
    path = directory / name
    path.write_text(json.dumps(value, ensure_ascii=False))
    return path


# ---- users: mkdir ---------------------------------------------------------

def test_mkdir_of_an_email_creates_the_user_and_shows_it(world):
    w = world()

    shown = w.sh("mkdir users/new.person@example.com && "
                 "cat users/new.person@example.com/profile.json")

    assert shown.returncode == 0, shown.stderr
    profile = json.loads(shown.stdout)
    assert profile["email_addresses"][0]["email_address"] == \
        "new.person@example.com"
    assert w.writes() == {CREATE_USER: 1}
    assert w.bodies(CREATE_USER) == [{
        "email_address": ["new.person@example.com"],
        "skip_password_requirement": True}]
    assert profile["id"] in w.ls("users")
    assert w.server.get("users", profile["id"]) is not None
    assert w.ls(f"users/{profile['id']}") == w.ls(
        "users/new.person@example.com")
    assert w.user_ids_with(email_address="new.person@example.com") == \
        [profile["id"]]


def test_mkdir_of_a_phone_number_creates_the_user(world):
    w = world()

    made = w.sh("mkdir users/+15550177")

    assert made.returncode == 0, made.stderr
    assert w.writes() == {CREATE_USER: 1}
    assert w.bodies(CREATE_USER) == [{"phone_number": ["+15550177"],
                                      "skip_password_requirement": True}]
    profile = json.loads(w.read("users/+15550177/profile.json"))
    assert profile["phone_numbers"][0]["phone_number"] == "+15550177"
    assert profile["id"] in w.ls("users")


@pytest.mark.parametrize("name", ["tmp", "new_folder", "New Folder",
                                  "ada.l"])
def test_mkdir_of_another_name_is_einval_and_creates_nothing(world, name):
    w = world()
    before = w.ls("users")

    made = w.sh(f"mkdir 'users/{name}'")

    assert made.returncode != 0
    assert "Invalid argument" in made.stderr, made.stderr
    assert w.writes() == {}
    assert w.ls("users") == before
    assert w.errno_of(f"users/{name}") == errno.ENOENT
    assert f"users/{name}" in w.errors()
    assert "email address or +phone number" in w.errors()


def test_mkdir_of_an_existing_alias_is_eexist_without_a_post(world):
    w = world()

    made = w.sh("mkdir users/ada@example.com")

    assert made.returncode != 0
    assert "File exists" in made.stderr, made.stderr
    assert w.writes() == {}


def test_mkdir_of_a_taken_email_is_eexist_with_clerks_message(world):
    w = world(negative_ttl=30)
    # The name is looked up and found absent; then another client takes
    # the address: clerkfs sends the create and Clerk refuses it.
    assert w.errno_of("users/taken@example.com") == errno.ENOENT
    other = w.server.put("users", {"email_addresses": ["taken@example.com"]})
    w.server.reset()
    before = w.ls("users")

    made = w.sh("mkdir users/taken@example.com")

    assert made.returncode != 0
    assert "File exists" in made.stderr, made.stderr
    assert w.writes() == {CREATE_USER: 1}
    lines = w.refusals("/users/taken@example.com")
    assert len(lines) == 1, lines
    assert "EEXIST" in lines[0]
    assert "422" in lines[0] and "form_identifier_exists" in lines[0]
    assert "That email address is taken" in lines[0]
    assert "That email address is taken" in w.errors()
    assert set(w.ls("users")) <= set(before) | {other["id"]}
    assert w.user_ids_with(email_address="taken@example.com") == \
        [other["id"]]


# ---- users: a JSON file copied into users/ ---------------------------------

NEW_USER = {
    "email_address": ["grace@example.com"],
    "first_name": "Grace",
    "last_name": "Hopper, \"Amazing\"",
    "username": "grace_h",
    "password": "correct-horse-battery",
    "public_metadata": {"plan": "pro", "seats": 12345678901234567890},
    "private_metadata": {"crm": "G-7"},
}


def test_cp_of_a_json_file_creates_the_user_from_the_whole_body(world,
                                                                 tmp_path):
    w = world()
    source = write_json(tmp_path, "new-user.json", NEW_USER)

    copied = w.sh(f"cp '{source}' users/")

    assert copied.returncode == 0, copied.stderr
    assert w.writes() == {CREATE_USER: 1}
    sent = w.server.requests(CREATE_USER)[0]
    assert sent["body"] == NEW_USER
    assert "12345678901234567890" in sent["raw"]
    assert "new-user.json" not in w.ls("users")
    assert w.errno_of("users/new-user.json") == errno.ENOENT
    profile = json.loads(w.read("users/grace@example.com/profile.json"))
    assert profile["first_name"] == "Grace"
    assert profile["last_name"] == "Hopper, \"Amazing\""
    assert profile["username"] == "grace_h"
    assert profile["id"] in w.ls("users")
    assert '"seats": 12345678901234567890' in w.read(
        f"users/{profile['id']}/public_metadata.json")
    assert json.loads(w.read("users/grace_h/private_metadata.json")) == \
        {"crm": "G-7"}
    assert w.server.get("users", profile["id"])["password_enabled"]


def test_a_refused_password_fails_cp_with_einval_and_leaves_nothing(
        world, tmp_path):
    w = world()
    before = w.ls("users")
    source = write_json(tmp_path, "weak.json",
                        {"email_address": ["weak@example.com"],
                         "password": "short"})

    copied = w.sh(f"cp '{source}' users/")

    assert copied.returncode != 0
    assert "Invalid argument" in copied.stderr, copied.stderr
    assert w.writes() == {CREATE_USER: 1}           # no retry of a 422
    assert "Passwords must be 8 characters or more" in w.errors()
    lines = w.refusals("/users/weak.json")
    assert len(lines) == 1, lines
    assert "EINVAL" in lines[0]
    assert "Passwords must be 8 characters or more" in lines[0]
    assert w.ls("users") == before
    assert w.errno_of("users/weak.json") == errno.ENOENT
    assert w.errno_of("users/weak@example.com") == errno.ENOENT
    assert w.user_ids_with(email_address="weak@example.com") == []


def test_a_refused_create_leaves_no_cache_entry_behind(world, tmp_path):
    # The refused create must not leave its name known as absent: when
    # another client then creates that user, clerkfs shows it at once.
    w = world(cache_ttl=30, negative_ttl=30)
    source = write_json(tmp_path, "late.json",
                        {"email_address": ["late@example.com"],
                         "username": "late_user", "password": "short"})

    copied = w.sh(f"cp '{source}' users/")
    other = w.server.put("users", {"email_addresses": ["late@example.com"],
                                   "username": "late_user"})

    assert "Invalid argument" in copied.stderr, copied.stderr
    for name in ("late@example.com", "late_user"):
        profile = json.loads(w.read(f"users/{name}/profile.json"))
        assert profile["id"] == other["id"]
    assert w.errno_of("users/late.json") == errno.ENOENT
    assert w.writes() == {CREATE_USER: 1}


def test_cp_of_a_taken_email_is_eexist(world, tmp_path):
    w = world()
    source = write_json(tmp_path, "dup.json",
                        {"email_address": ["ada@example.com"],
                         "password": "long-enough-1"})

    copied = w.sh(f"cp '{source}' users/")

    assert copied.returncode != 0
    assert "File exists" in copied.stderr, copied.stderr
    assert w.writes() == {CREATE_USER: 1}
    assert "form_identifier_exists" in w.errors()
    assert "dup.json" not in w.ls("users")
    assert w.user_ids_with(email_address="ada@example.com") == [ADA["id"]]


def test_invalid_json_copied_into_users_sends_nothing(world, tmp_path):
    w = world()
    source = tmp_path / "broken.json"
    source.write_text('{"email_address": ["x@example.com"],')

    copied = w.sh(f"cp '{source}' users/")

    assert copied.returncode != 0
    assert "Invalid argument" in copied.stderr, copied.stderr
    assert w.writes() == {}
    assert "broken.json" not in w.ls("users")
    assert "line 1" in w.errors()


def test_fifty_cp_creations_keep_to_the_creation_rate(world, tmp_path):
    # Issue 4: the server refuses a 21st creation in 10 s; clerkfs waits
    # for room instead, so a shell loop of 50 cp all succeed (in ~20 s).
    w = world(server_args=["--create-rate", "20/10"], create_rate="20/10")
    for i in range(50):
        write_json(tmp_path, f"u{i:02}.json",
                   {"email_address": [f"paced{i:02}@example.com"],
                    "password": "correct-horse-battery"})

    copied = w.sh(f"for f in '{tmp_path}'/u*.json; do cp \"$f\" users/ "
                  f"|| exit 1; done", timeout=120)

    assert copied.returncode == 0, copied.stderr
    sent = w.server.requests(CREATE_USER)
    assert len(sent) == 50
    assert [r["status"] for r in sent] == [200] * 50
    assert w.server.stats()["rate_limited"] == 0
    times = sorted(r["t"] for r in sent)
    for first, twenty_first in zip(times, times[20:]):
        assert twenty_first - first >= 10.0 - 0.05    # arrival jitter
    assert len(w.user_ids_with(email_address_query="paced")) == 50


def test_creations_also_keep_to_the_general_rate(world):
    # Creating users counts against the general limit too: with the
    # server and clerkfs both at 3 requests a second, six mkdir (a lookup
    # and a create each) wait for room and none is refused.
    w = world(server_args=["--rate", "3/1"], rate="3/1",
              create_rate="20/10")
    names = [f"users/rated{i}@example.com" for i in range(6)]

    made = w.sh(" && ".join(f"mkdir {name}" for name in names), timeout=60)

    assert made.returncode == 0, made.stderr
    sent = w.server.requests(CREATE_USER)
    assert [r["status"] for r in sent] == [200] * 6
    assert w.server.stats()["rate_limited"] == 0
    stats = w.read(".clerkfs/stats")
    assert int(re.search(r"^limiter_waits\t(\d+)$", stats, re.M)[1]) > 0
    assert len(w.user_ids_with(email_address_query="rated")) == 6


# ---- users: rmdir ----------------------------------------------------------

def test_rmdir_without_allow_delete_is_eperm_and_names_the_option(world):
    w = world()

    removed = w.sh(f"rmdir users/{ADA['id']}; rmdir users/ada@example.com")

    assert "Operation not permitted" in removed.stderr, removed.stderr
    assert removed.stderr.count("Operation not permitted") == 2
    assert w.writes() == {}
    assert w.server.get("users", ADA["id"]) is not None
    assert ADA["id"] in w.ls("users")
    lines = w.refusals(f"/users/{ADA['id']}")
    assert len(lines) == 1, lines
    assert "allow_delete" in lines[0]
    assert "allow_delete" in w.errors()


ADA_NAMES = [ADA["id"], "ada@example.com", "ADA@Example.com", "ada_l",
             "+15550100"]


@pytest.mark.parametrize("name", ADA_NAMES)
def test_rmdir_deletes_the_user_once_and_every_name_goes(world, name):
    w = world(allow_delete=True)
    for seen in ADA_NAMES:                  # every name known beforehand
        assert w.read(f"users/{seen}/profile.json")
    assert ADA["id"] in w.ls("users")
    w.server.reset()

    removed = w.sh(f"rmdir 'users/{name}'")

    assert removed.returncode == 0, removed.stderr
    assert w.writes() == {DELETE_USER: 1}
    assert w.paths(DELETE_USER) == [f"/v1/users/{ADA['id']}"]
    assert w.server.get("users", ADA["id"]) is None
    assert ADA["id"] not in w.ls("users")
    for gone in ADA_NAMES:
        assert w.errno_of(f"users/{gone}") == errno.ENOENT, gone
    assert w.errno_of(f"email_addresses/{ADA['id']}") == errno.ENOENT
    assert ADA["id"] not in w.ls(f"members/{ACME['id']}")


@pytest.mark.parametrize("target", [f"users/{ADA['id']}",
                                    f"orgs/{ACME['id']}", "orgs/acme"])
def test_rm_r_of_an_object_directory_deletes_nothing(world, target):
    w = world(allow_delete=True)

    removed = w.sh(f"rm -r {target}; rm -rf {target}")

    assert removed.returncode != 0
    assert "Operation not permitted" in removed.stderr, removed.stderr
    assert w.writes() == {}
    assert DELETE_USER not in routes(w.server)
    assert w.server.get("users", ADA["id"]) is not None
    assert w.server.get("organizations", ACME["id"]) is not None
    assert w.membership(ACME["id"], ADA["id"]) == "org:admin"
    assert w.ls(f"email_addresses/{ADA['id']}") == ["ada@example.com"]
    assert w.ls(f"users/{ADA['id']}/organizations") == [ACME["id"]]


# ---- email addresses -------------------------------------------------------

@pytest.mark.parametrize("directory", [
    f"email_addresses/{ADA['id']}", f"users/{ADA['id']}/email_addresses",
    "users/ada_l/email_addresses"])
def test_touch_adds_a_verified_address_that_is_not_primary(world,
                                                           directory):
    w = world()
    assert w.ls(directory) == ["ada@example.com"]

    touched = w.sh(f"touch {directory}/ada.work@example.org")

    assert touched.returncode == 0, touched.stderr
    assert w.writes() == {CREATE_EMAIL: 1}
    assert w.bodies(CREATE_EMAIL) == [{
        "user_id": ADA["id"], "email_address": "ada.work@example.org",
        "verified": True, "primary": False}]
    assert w.ls(f"email_addresses/{ADA['id']}") == [
        "ada.work@example.org", "ada@example.com"]
    shown = json.loads(w.read(
        f"email_addresses/{ADA['id']}/ada.work@example.org"))
    assert shown["verification"]["status"] == "verified"
    profile = json.loads(w.read(f"users/{ADA['id']}/profile.json"))
    addresses = {e["email_address"]: e["id"]
                 for e in profile["email_addresses"]}
    assert "ada.work@example.org" in addresses
    assert profile["primary_email_address_id"] == addresses[
        "ada@example.com"]
    assert w.read("users/ada.work@example.org/profile.json")


def test_a_json_body_makes_the_new_address_primary(world):
    w = world()

    w.sh(f"echo '{{\"primary\": true}}' > "
         f"email_addresses/{ADA['id']}/ada.new@example.com", check=True)

    assert w.writes() == {CREATE_EMAIL: 1}
    assert w.bodies(CREATE_EMAIL) == [{
        "primary": True, "user_id": ADA["id"],
        "email_address": "ada.new@example.com", "verified": True}]
    user = w.server.get("users", ADA["id"])
    new = [e for e in user["email_addresses"]
           if e["email_address"] == "ada.new@example.com"][0]
    assert user["primary_email_address_id"] == new["id"]
    profile = json.loads(w.read(f"users/{ADA['id']}/profile.json"))
    assert profile["primary_email_address_id"] == new["id"]
    assert "ada.new@example.com" in w.ls(f"email_addresses/{ADA['id']}")


def test_a_json_body_adds_an_unverified_address(world):
    w = world()
    path = f"users/{BO['id']}/email_addresses/bo.new@example.net"

    w.sh(f"printf '%s\\n' '{{\"verified\": false}}' > {path}", check=True)

    assert w.writes() == {CREATE_EMAIL: 1}
    assert w.bodies(CREATE_EMAIL) == [{
        "verified": False, "user_id": BO["id"],
        "email_address": "bo.new@example.net", "primary": False}]
    shown = json.loads(w.read(path))
    assert shown["verification"] is None      # not verified
    user = w.server.get("users", BO["id"])
    stored = [e for e in user["email_addresses"]
              if e["email_address"] == "bo.new@example.net"]
    assert stored == [shown]
    assert user["primary_email_address_id"] != shown["id"]


def test_rm_deletes_the_address_once(world):
    w = world()
    idn = [e["id"] for e in w.server.get("users", BO["id"])[
        "email_addresses"] if e["email_address"] == "bo.second@example.org"]
    assert w.read(f"users/{BO['id']}/profile.json")
    w.server.reset()

    removed = w.sh(f"rm email_addresses/{BO['id']}/bo.second@example.org")

    assert removed.returncode == 0, removed.stderr
    assert w.writes() == {DELETE_EMAIL: 1}
    assert w.paths(DELETE_EMAIL) == [f"/v1/email_addresses/{idn[0]}"]
    assert w.ls(f"email_addresses/{BO['id']}") == ["bo@example.com"]
    assert w.errno_of(f"email_addresses/{BO['id']}/bo.second@example.org") \
        == errno.ENOENT
    profile = w.read(f"users/{BO['id']}/profile.json")
    assert "bo.second@example.org" not in profile
    assert w.errno_of("users/bo.second@example.org") == errno.ENOENT


def test_a_removed_address_stops_naming_its_user_at_once(world):
    w = world()
    alias = "users/bo.second@example.org"
    assert json.loads(w.read(f"{alias}/profile.json"))["id"] == BO["id"]

    removed = w.sh(f"rm email_addresses/{BO['id']}/bo.second@example.org")

    assert removed.returncode == 0, removed.stderr
    assert w.errno_of(alias) == errno.ENOENT
    assert w.errno_of(f"{alias}/profile.json") == errno.ENOENT
    assert json.loads(w.read("users/bo@example.com/profile.json"))["id"] \
        == BO["id"]


def test_a_changed_username_stops_naming_its_user_at_once(world):
    w = world()
    assert json.loads(w.read("users/ada_l/profile.json"))["id"] == ADA["id"]

    renamed = w.sh("sed -i 's/\"ada_l\"/\"ada_lovelace\"/' "
                   "users/ada_l/profile.json")

    assert renamed.returncode == 0, renamed.stderr
    assert w.server.get("users", ADA["id"])["username"] == "ada_lovelace"
    assert w.errno_of("users/ada_l") == errno.ENOENT
    assert json.loads(w.read("users/ada_lovelace/profile.json"))["id"] \
        == ADA["id"]


def test_a_new_address_names_its_user_at_once_after_a_failed_lookup(world):
    w = world()
    alias = "users/bo.third@example.net"
    assert w.errno_of(alias) == errno.ENOENT

    added = w.sh(f"touch email_addresses/{BO['id']}/bo.third@example.net")

    assert added.returncode == 0, added.stderr
    assert json.loads(w.read(f"{alias}/profile.json"))["id"] == BO["id"]


def test_a_users_organization_links_follow_membership_changes_at_once(
        world):
    w = world()
    link = f"users/{BO['id']}/organizations/{ACME['id']}"
    assert w.errno_of(link) == errno.ENOENT

    added = w.sh(f"echo org:member > members/{ACME['id']}/{BO['id']}")

    assert added.returncode == 0, added.stderr
    assert os.readlink(w.root / link) == f"../../../orgs/{ACME['id']}"
    # A listing hands the link out with its attributes (READDIRPLUS):
    # the kernel must not keep that entry either.
    assert w.ls(f"users/{BO['id']}/organizations") == [ACME["id"]]

    removed = w.sh(f"rm members/{ACME['id']}/{BO['id']}")

    assert removed.returncode == 0, removed.stderr
    assert w.errno_of(link) == errno.ENOENT


def test_touch_of_a_taken_address_is_eexist(world):
    w = world()

    touched = w.sh(f"touch email_addresses/{BO['id']}/ada@example.com")

    assert touched.returncode != 0
    assert "File exists" in touched.stderr, touched.stderr
    assert w.writes() == {CREATE_EMAIL: 1}
    assert w.ls(f"email_addresses/{BO['id']}") == [
        "bo.second@example.org", "bo@example.com"]
    assert "That email address is taken" in w.errors()


def test_touch_of_a_name_that_is_not_an_address_is_eacces(world):
    w = world()

    touched = w.sh(f"touch email_addresses/{BO['id']}/notes.txt")

    assert touched.returncode != 0
    assert "Permission denied" in touched.stderr, touched.stderr
    assert w.writes() == {}
    assert "must be the new email address" in w.errors()


# ---- organizations ---------------------------------------------------------

def test_mkdir_of_a_slug_creates_the_organization(world):
    w = world()

    made = w.sh("mkdir orgs/new-team && cat orgs/new-team/organization.json")

    assert made.returncode == 0, made.stderr
    org = json.loads(made.stdout)
    assert org["slug"] == "new-team"
    assert w.writes() == {CREATE_ORG: 1}
    assert w.bodies(CREATE_ORG) == [{"name": "new-team",
                                     "slug": "new-team"}]
    assert org["id"] in w.ls("orgs")
    assert org["id"] in w.ls("members")
    assert w.server.get("organizations", org["id"])["slug"] == "new-team"


def test_cp_of_an_org_json_creates_it_from_the_whole_body(world, tmp_path):
    w = world()
    body = {"name": "Zoë & Co, \"Ltd\"", "slug": "zoe-co",
            "public_metadata": {"tier": "gold", "id": 9007199254740993},
            "max_allowed_memberships": 5}
    source = write_json(tmp_path, "org.json", body)

    copied = w.sh(f"cp '{source}' orgs/")

    assert copied.returncode == 0, copied.stderr
    assert w.writes() == {CREATE_ORG: 1}
    sent = w.server.requests(CREATE_ORG)[0]
    assert sent["body"] == body
    assert "9007199254740993" in sent["raw"]
    assert "org.json" not in w.ls("orgs")
    org = json.loads(w.read("orgs/zoe-co/organization.json"))
    assert org["name"] == "Zoë & Co, \"Ltd\""
    assert org["id"] in w.ls("orgs")
    assert '"id": 9007199254740993' in w.read(
        f"orgs/{org['id']}/public_metadata.json")


def test_b19_mkdir_of_a_name_that_is_no_slug_sends_nothing(world):
    w = world()
    before = w.ls("orgs")
    w.server.reset()

    made = w.sh("mkdir 'orgs/1234567 B.C. Ltd'")

    assert made.returncode != 0
    assert "Invalid argument" in made.stderr, made.stderr
    assert routes(w.server) == {}
    assert w.ls("orgs") == before
    assert w.errno_of("orgs/1234567 B.C. Ltd") == errno.ENOENT
    assert "slug" in w.errors()


def test_a_taken_slug_is_eexist(world, tmp_path):
    w = world()
    source = write_json(tmp_path, "other.json",
                        {"name": "Other Acme", "slug": "acme"})

    made = w.sh("mkdir orgs/acme")
    copied = w.sh(f"cp '{source}' orgs/")

    assert "File exists" in made.stderr, made.stderr
    assert copied.returncode != 0
    assert "File exists" in copied.stderr, copied.stderr
    assert w.writes() == {CREATE_ORG: 1}        # the cp; mkdir saw acme
    assert "That slug is taken" in w.errors()
    assert "other.json" not in w.ls("orgs")
    status, reply = w.server.api("GET", "/organizations",
                                 query={"limit": 500})
    assert [o["name"] for o in reply["data"] if o["slug"] == "acme"] == \
        ["Acme"]


def test_rmdir_of_an_org_without_allow_delete_is_eperm(world):
    w = world()

    removed = w.sh("rmdir orgs/acme")

    assert "Operation not permitted" in removed.stderr, removed.stderr
    assert w.writes() == {}
    assert "allow_delete" in w.errors()
    assert w.server.get("organizations", ACME["id"]) is not None


@pytest.mark.parametrize("name", [ACME["id"], "acme"])
def test_rmdir_deletes_the_org_once_and_every_path_forgets_it(world, name):
    w = world(allow_delete=True)
    assert w.read("orgs/acme/organization.json")
    assert w.ls(f"users/{ADA['id']}/organizations") == [ACME["id"]]
    assert w.ls(f"members/{ACME['id']}") == [ADA["id"]]
    w.server.reset()

    removed = w.sh(f"rmdir orgs/{name}")

    assert removed.returncode == 0, removed.stderr
    assert w.writes() == {DELETE_ORG: 1}
    assert w.paths(DELETE_ORG) == [f"/v1/organizations/{ACME['id']}"]
    assert w.server.get("organizations", ACME["id"]) is None
    assert ACME["id"] not in w.ls("orgs")
    assert ACME["id"] not in w.ls("members")
    for gone in (f"orgs/{ACME['id']}", "orgs/acme", f"members/{ACME['id']}"):
        assert w.errno_of(gone) == errno.ENOENT, gone
    assert w.ls(f"users/{ADA['id']}/organizations") == []


# ---- members ----------------------------------------------------------------

MEMBER_DIRS = [f"members/{ACME['id']}", f"orgs/{ACME['id']}/members",
               "orgs/acme/members"]


@pytest.mark.parametrize("directory", MEMBER_DIRS)
def test_echo_a_role_adds_the_member_with_one_post(world, directory):
    w = world()
    assert w.ls(f"users/{BO['id']}/organizations") == []

    added = w.sh(f"echo org:admin > {directory}/{BO['id']}")

    assert added.returncode == 0, added.stderr
    assert w.writes() == {ADD_MEMBER: 1}
    assert w.bodies(ADD_MEMBER) == [{"user_id": BO["id"],
                                     "role": "org:admin"}]
    assert w.read(f"{directory}/{BO['id']}") == "org:admin\n"
    assert w.ls(f"members/{ACME['id']}") == sorted([ADA["id"], BO["id"]])
    assert w.ls(f"users/{BO['id']}/organizations") == [ACME["id"]]
    assert os.readlink(w.root / f"users/{BO['id']}/organizations" /
                       ACME["id"]) == f"../../../orgs/{ACME['id']}"
    assert w.membership(ACME["id"], BO["id"]) == "org:admin"


@pytest.mark.parametrize("text, role", [("member", "org:member"),
                                        ("org:member\n", "org:member"),
                                        ("org:billing_manager  ",
                                         "org:billing_manager")])
def test_echo_a_role_to_a_member_changes_it_with_one_patch(world, text,
                                                           role):
    w = world()
    path = f"members/{ACME['id']}/{ADA['id']}"
    assert w.read(path) == "org:admin\n"

    changed = w.sh(f"printf '{text}' > {path}")

    assert changed.returncode == 0, changed.stderr
    assert w.writes() == {CHANGE_MEMBER: 1}
    assert w.bodies(CHANGE_MEMBER) == [{"role": role}]
    assert w.paths(CHANGE_MEMBER) == [
        f"/v1/organizations/{ACME['id']}/memberships/{ADA['id']}"]
    assert w.read(path) == role + "\n"
    assert w.read(f"orgs/acme/members/{ADA['id']}") == role + "\n"
    assert w.membership(ACME["id"], ADA["id"]) == role


def test_a_bare_role_adds_the_member_with_org_in_front(world):
    w = world()

    added = w.sh(f"echo admin > orgs/acme/members/{BO['id']}")

    assert added.returncode == 0, added.stderr
    assert w.writes() == {ADD_MEMBER: 1}
    assert w.bodies(ADD_MEMBER) == [{"user_id": BO["id"],
                                     "role": "org:admin"}]
    assert w.read(f"members/{ACME['id']}/{BO['id']}") == "org:admin\n"
    assert w.membership(ACME["id"], BO["id"]) == "org:admin"


def test_touch_of_a_new_member_adds_it_as_org_member(world):
    w = world()

    touched = w.sh(f"touch members/{ACME['id']}/{BO['id']}")

    assert touched.returncode == 0, touched.stderr
    assert w.writes() == {ADD_MEMBER: 1}
    assert w.bodies(ADD_MEMBER) == [{"user_id": BO["id"],
                                     "role": "org:member"}]
    assert w.read(f"members/{ACME['id']}/{BO['id']}") == "org:member\n"
    assert w.ls(f"users/{BO['id']}/organizations") == [ACME["id"]]


def test_rm_of_a_member_removes_it_once(world):
    w = world()
    assert w.ls(f"users/{ADA['id']}/organizations") == [ACME["id"]]
    w.server.reset()

    removed = w.sh(f"rm orgs/acme/members/{ADA['id']}")

    assert removed.returncode == 0, removed.stderr
    assert w.writes() == {REMOVE_MEMBER: 1}
    assert w.paths(REMOVE_MEMBER) == [
        f"/v1/organizations/{ACME['id']}/memberships/{ADA['id']}"]
    assert w.ls(f"members/{ACME['id']}") == []
    assert w.ls(f"users/{ADA['id']}/organizations") == []
    assert w.errno_of(f"members/{ACME['id']}/{ADA['id']}") == errno.ENOENT
    assert w.membership(ACME["id"], ADA["id"]) is None


def test_an_unknown_user_in_members_is_enoent(world):
    w = world()

    added = w.sh(f"echo org:admin > members/{ACME['id']}/user_2TstNobody04")

    assert added.returncode != 0
    assert "No such file or directory" in added.stderr, added.stderr
    assert w.writes() == {ADD_MEMBER: 1}
    lines = w.refusals(f"members/{ACME['id']}/user_2TstNobody04")
    assert len(lines) == 1, lines
    assert "ENOENT" in lines[0] and "User not found" in lines[0]
    assert "User not found" in w.errors()
    assert w.ls(f"members/{ACME['id']}") == [ADA["id"]]
    assert w.errno_of(f"members/{ACME['id']}/user_2TstNobody04") == \
        errno.ENOENT


def test_an_unknown_role_is_einval(world):
    w = world()

    added = w.sh(f"echo org:emperor > members/{ACME['id']}/{BO['id']}")

    assert added.returncode != 0
    assert "Invalid argument" in added.stderr, added.stderr
    assert w.membership(ACME["id"], BO["id"]) is None
    assert w.ls(f"members/{ACME['id']}") == [ADA["id"]]


def test_a_member_added_meanwhile_elsewhere_is_eexist(world):
    w = world()
    assert w.ls(f"members/{ACME['id']}") == [ADA["id"]]   # now cached
    w.server.put("memberships", {"organization_id": ACME["id"],
                                 "user_id": BO["id"], "role": "org:member"})
    w.server.reset()

    added = w.sh(f"echo org:admin > members/{ACME['id']}/{BO['id']}")

    assert added.returncode != 0
    assert "File exists" in added.stderr, added.stderr
    assert w.writes() == {ADD_MEMBER: 1}
    assert "already a member" in w.errors()
    assert w.membership(ACME["id"], BO["id"]) == "org:member"


def test_rm_in_users_organizations_is_eperm_and_points_to_members(world):
    w = world()
    directory = f"users/{ADA['id']}/organizations"

    removed = w.sh(f"rm {directory}/{ACME['id']}")

    assert removed.returncode != 0
    assert "Operation not permitted" in removed.stderr, removed.stderr
    assert w.writes() == {}
    lines = w.refusals(f"{directory}/{ACME['id']}")
    assert len(lines) == 1, lines
    assert "members/" in lines[0]
    assert w.ls(directory) == [ACME["id"]]
    assert w.membership(ACME["id"], ADA["id"]) == "org:admin"


@pytest.mark.parametrize("command", [
    "ln -s ../../../orgs/{org} users/{bo}/organizations/{org}",
    "ln orgs/{org}/organization.json users/{bo}/organizations/{org}",
], ids=["symlink", "hard link"])
def test_ln_in_users_organizations_is_eperm_and_points_to_members(world,
                                                                  command):
    w = world()
    target = f"users/{BO['id']}/organizations/{ACME['id']}"

    linked = w.sh(command.format(org=ACME["id"], bo=BO["id"]))

    assert linked.returncode != 0
    assert "Operation not permitted" in linked.stderr, linked.stderr
    assert w.writes() == {}
    assert w.ls(f"users/{BO['id']}/organizations") == []
    assert w.membership(ACME["id"], BO["id"]) is None
    lines = w.refusals(target)
    assert len(lines) == 1, w.mount.log()
    assert "members/" in lines[0]


# ---- sessions ---------------------------------------------------------------

@pytest.mark.parametrize("directory", [f"sessions/{ADA['id']}",
                                       f"users/{ADA['id']}/sessions"])
def test_touch_in_a_users_sessions_creates_one_session(world, directory):
    w = world()
    assert w.ls(directory) == []

    touched = w.sh(f"touch {directory}/x")

    assert touched.returncode == 0, touched.stderr
    assert w.writes() == {CREATE_SESSION: 1}
    assert w.bodies(CREATE_SESSION) == [{"user_id": ADA["id"]}]
    listed = w.ls(directory)
    assert len(listed) == 1 and re.fullmatch(r"sess_\w+\.json", listed[0])
    assert "x" not in listed
    session = json.loads(w.read(f"sessions/{listed[0]}"))
    assert session["status"] == "active"
    assert session["user_id"] == ADA["id"]
    assert w.server.get("sessions", listed[0][:-5])["status"] == "active"


def test_a_session_on_a_production_instance_is_eopnotsupp(world):
    w = world(production=True)
    assert w.ls(f"sessions/{ADA['id']}") == []
    w.server.reset()

    touched = w.sh(f"touch sessions/{ADA['id']}/x")

    assert touched.returncode != 0
    assert "Operation not supported" in touched.stderr, touched.stderr
    assert w.writes() == {}
    assert w.ls(f"sessions/{ADA['id']}") == []
    assert "development" in w.errors()


@pytest.mark.parametrize("where", ["per-user", "by-id"])
def test_rm_revokes_a_session_once_and_again_is_enoent(world, where):
    w = world(sessions=[ADA_SESSION])
    sid = ADA_SESSION["id"]
    path = (f"sessions/{ADA['id']}/{sid}.json" if where == "per-user"
            else f"sessions/{sid}.json")
    assert w.ls(f"sessions/{ADA['id']}") == [f"{sid}.json"]
    w.server.reset()

    first = w.sh(f"rm {path}")
    again = w.sh(f"rm {path}")

    assert first.returncode == 0, first.stderr
    assert again.returncode != 0
    assert "No such file or directory" in again.stderr, again.stderr
    assert "Input/output error" not in again.stderr
    assert w.writes() == {REVOKE_SESSION: 1}
    assert w.paths(REVOKE_SESSION) == [f"/v1/sessions/{sid}/revoke"]
    assert w.ls(f"sessions/{ADA['id']}") == []
    assert json.loads(w.read(f"sessions/{sid}.json"))["status"] == "revoked"
    assert w.server.get("sessions", sid)["status"] == "revoked"


B21_USER = {"id": "user_2TstSes0021", "first_name": "Sam"}
B21_SESSIONS = [
    {"id": "sess_2TstAct0021", "user_id": "user_2TstSes0021",
     "status": "active"},
    {"id": "sess_2TstRev0021", "user_id": "user_2TstSes0021",
     "status": "revoked"},
    {"id": "sess_2TstExp0021", "user_id": "user_2TstSes0021",
     "status": "expired"},
]


def test_b21_sessions_listed_looked_up_and_revoked(world):
    w = world(users=[B21_USER], sessions=B21_SESSIONS)
    user_dir = f"sessions/{B21_USER['id']}"

    listed = w.ls(user_dir)
    shown = {s["id"]: w.read(f"sessions/{s['id']}.json")
             for s in B21_SESSIONS}
    revoked = w.sh("rm sessions/sess_2TstAct0021.json")
    after = w.ls(user_dir)
    repeated = w.sh("rm sessions/sess_2TstAct0021.json")
    other = w.sh("rm sessions/sess_2TstExp0021.json")

    assert listed == ["sess_2TstAct0021.json"]
    for session in B21_SESSIONS:
        assert f'"status": "{session["status"]}"' in shown[session["id"]]
    assert revoked.returncode == 0, revoked.stderr
    assert after == []
    assert "No such file or directory" in repeated.stderr, repeated.stderr
    assert "No such file or directory" in other.stderr, other.stderr
    assert w.writes() == {REVOKE_SESSION: 1}
    for request in w.server.requests("GET /v1/sessions"):
        assert "user_id" in request["query"] or \
            "client_id" in request["query"], request
    assert w.server.get("sessions", "sess_2TstAct0021")["status"] == \
        "revoked"
    assert w.server.get("sessions", "sess_2TstExp0021")["status"] == \
        "expired"


# ---- a new object shows at once, even after a lookup that failed ----------

def test_new_objects_show_at_once_after_a_failed_lookup(world, tmp_path):
    w = world(cache_ttl=30, negative_ttl=30)
    missing = ["users/late@example.com", "users/late_user",
               "orgs/late-team", f"members/{ACME['id']}/{BO['id']}",
               f"email_addresses/{BO['id']}/bo.late@example.com"]
    for path in missing:
        assert w.errno_of(path) == errno.ENOENT, path
    users_before = w.ls("users")
    orgs_before = w.ls("orgs")
    user = write_json(tmp_path, "late.json",
                      {"email_address": ["late@example.com"],
                       "username": "late_user",
                       "skip_password_requirement": True})
    org = write_json(tmp_path, "late-org.json",
                     {"name": "Late Team", "slug": "late-team"})

    w.sh(f"cp '{user}' users/ && cp '{org}' orgs/ && "
         f"echo admin > members/{ACME['id']}/{BO['id']} && "
         f"touch email_addresses/{BO['id']}/bo.late@example.com", check=True)

    still_missing = [path for path in missing if w.errno_of(path) != 0]
    assert still_missing == []
    new_user = json.loads(w.read("users/late_user/profile.json"))["id"]
    new_org = json.loads(w.read("orgs/late-team/organization.json"))["id"]
    assert sorted(w.ls("users")) == sorted(users_before + [new_user])
    assert sorted(w.ls("orgs")) == sorted(orgs_before + [new_org])
    assert new_org in w.ls("members")
    assert w.ls(f"users/{BO['id']}/organizations") == [ACME["id"]]
    assert "bo.late@example.com" in w.read(f"users/{BO['id']}/profile.json")


# ---- a create whose outcome is unknown -------------------------------------

@pytest.mark.parametrize("fault, options", [
    ({"reset_after_apply": True}, {}),
    ({"hang_after_apply": True}, {"timeout": 3}),
], ids=["reset", "hang"])
def test_an_unknown_outcome_create_is_looked_up_not_repeated(world, fault,
                                                             options):
    w = world(**options)
    w.server.faults(route=CREATE_USER, **fault)

    made = w.sh("mkdir users/once@example.com", timeout=60)
    w.server.clear_faults()

    assert made.returncode == 0, made.stderr
    assert routes(w.server)[CREATE_USER] == 1
    lookups = [r["query"] for r in w.server.requests("GET /v1/users")]
    assert any("once@example.com" in json.dumps(q) for q in lookups), \
        lookups
    ids = w.user_ids_with(email_address="once@example.com")
    assert len(ids) == 1
    assert ids[0] in w.ls("users")
    assert json.loads(w.read("users/once@example.com/profile.json"))[
        "id"] == ids[0]


def test_an_unknown_outcome_session_is_eio_and_not_sent_again(world):
    w = world(timeout=5)
    w.server.faults(route=CREATE_SESSION, reset_after_apply=True)

    touched = w.sh(f"touch sessions/{ADA['id']}/x")

    assert touched.returncode != 0
    assert "Input/output error" in touched.stderr, touched.stderr
    assert routes(w.server)[CREATE_SESSION] == 1
    assert "not sent again" in w.errors()


# ---- B19: error bodies ------------------------------------------------------

def test_b19_an_html_502_is_eio_and_logged_once(world, tmp_path):
    w = world(timeout=4)
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    w.server.faults(route=CREATE_ORG, status=502, body=page)
    source = write_json(tmp_path, "org.json", {"name": "Gateway Co"})

    copied = w.sh(f"cp '{source}' orgs/")

    assert copied.returncode != 0
    assert "Input/output error" in copied.stderr, copied.stderr
    assert w.writes() == {CREATE_ORG: 1}        # a POST is not resent
    lines = w.refusals("/orgs/org.json")
    assert len(lines) == 1, lines
    assert "502" in lines[0] and "EIO" in lines[0]
    assert "<html>" not in w.mount.log()
    assert w.server.key not in w.mount.log()
    assert "org.json" not in w.ls("orgs")
    assert w.ls("orgs/acme")                    # still serving


def test_b19_a_422_without_meta_is_einval_and_the_daemon_keeps_serving(
        world, tmp_path):
    w = world()
    body = {"errors": [{"message": "is invalid",
                        "long_message": "The organization name may not "
                                        "look like a URL.",
                        "code": "form_param_value_invalid"}],
            "clerk_trace_id": "trace0b19"}
    w.server.faults(route=CREATE_ORG, status=422, body=body)
    source = write_json(tmp_path, "org.json", {"name": "1234567 B.C. LTD."})
    before = w.ls("orgs")

    copied = w.sh(f"cp '{source}' orgs/")

    assert copied.returncode != 0
    assert "Invalid argument" in copied.stderr, copied.stderr
    assert w.writes() == {CREATE_ORG: 1}
    lines = w.refusals("/orgs/org.json")
    assert len(lines) == 1, lines
    for part in ("422", "form_param_value_invalid",
                 "may not look like a URL", "trace0b19", "EINVAL"):
        assert part in lines[0], lines[0]
    assert w.server.key not in w.mount.log()
    assert w.mount.proc.poll() is None
    assert w.ls("orgs") == before
    assert json.loads(w.read("orgs/acme/organization.json"))["name"] == \
        "Acme"


def test_b19_a_duplicate_email_is_eexist_and_logged_with_its_trace(world):
    w = world(users=[{"id": "user_2TstAdaT019",
                      "email_addresses": ["ada.test@example.com"]}])
    body = {"email_address": ["ada.test@example.com"],
            "skip_password_requirement": True}
    before = w.ls("users")

    copied = w.sh(f"printf '%s' '{json.dumps(body)}' | "
                  "dd of=users/second.json status=none")

    assert copied.returncode != 0
    assert "File exists" in copied.stderr, copied.stderr
    lines = w.refusals("/users/second.json")
    assert len(lines) == 1, lines
    assert re.search(r"HTTP 422 form_identifier_exists: .*taken.* "
                     r"\(trace \w+\)", lines[0]), lines[0]
    assert w.server.key not in w.mount.log()
    assert w.ls("users") == before


# ---- editors' helper files in directories of new objects -----------------

def test_vim_in_a_sessions_folder_creates_no_session(world):
    w = world(sessions=[ADA_SESSION])
    where = f"sessions/{ADA['id']}"
    name = w.ls(where)[0]
    w.server.reset()

    edited = w.sh(f"cd {where} && vim -u NONE -n -es -c 'normal! x' "
                  f"-c 'q!' {name} </dev/null; "
                  f"vim -u NONE -c 'normal! x' -c 'q!' {name} "
                  f"</dev/null >/dev/null 2>&1", timeout=30)

    assert edited.returncode == 0, edited.stderr
    assert w.writes() == {}
    assert w.ls(where) == [name]
    assert w.errors() == ""


@pytest.mark.parametrize("name", [".x.json.swp", "4913", "x.json~"])
@pytest.mark.parametrize("kind", ["sessions", "email_addresses"])
def test_an_editors_helper_name_is_eacces_unlogged_and_sent_nowhere(
        world, kind, name):
    w = world()
    path = w.root / kind / ADA["id"] / name

    with pytest.raises(OSError) as raised:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))

    assert raised.value.errno == errno.EACCES
    assert w.writes() == {}
    assert w.errors() == ""
    assert name not in w.ls(f"{kind}/{ADA['id']}")


def test_vim_opening_an_email_file_logs_nothing(world):
    w = world()
    where = f"email_addresses/{ADA['id']}"

    w.sh(f"cd {where} && vim -u NONE -c 'q!' ada@example.com "
         f"</dev/null >/dev/null 2>&1", timeout=30)

    assert w.writes() == {}
    assert w.errors() == ""



# ---- creates made with open and close report their failure at close --------

def test_cp_dev_null_to_a_refused_member_fails_cp(world):
    w = world()
    w.server.faults(route=ADD_MEMBER, status=422)

    copied = w.sh(f"cp /dev/null members/{ACME['id']}/{BO['id']}; "
                  f"echo status=$?")

    assert "status=0" not in copied.stdout, copied.stdout
    assert w.writes() == {ADD_MEMBER: 1}
    assert w.membership(ACME["id"], BO["id"]) is None


def test_cp_dev_null_adds_a_member_before_cp_returns(world):
    w = world()

    copied = w.sh(f"cp /dev/null members/{ACME['id']}/{BO['id']}")

    assert copied.returncode == 0, copied.stderr
    assert w.writes() == {ADD_MEMBER: 1}
    assert w.membership(ACME["id"], BO["id"]) == "org:member"


def test_open_and_close_of_a_new_session_reports_a_500_at_close(world):
    w = world(timeout=5)
    w.server.faults(route=CREATE_SESSION, status=500)
    path = w.root / "sessions" / ADA["id"] / "q"
    fd = os.open(path, os.O_CREAT | os.O_WRONLY)

    with pytest.raises(OSError) as raised:
        os.close(fd)

    assert raised.value.errno == errno.EIO
    assert w.writes() == {CREATE_SESSION: 1}


def test_a_redirection_still_sends_the_body_written_after_its_dup(world):
    w = world()

    w.sh(f"exec 3>sessions/{ADA['id']}/s; echo '{{}}' >&3; exec 3>&-",
         check=True)

    assert w.writes() == {CREATE_SESSION: 1}


# ---- interrupted creates -----------------------------------------------------

def test_an_interrupted_mkdir_is_eintr_and_the_user_then_shows(world):
    w = world(cache_ttl=5, negative_ttl=60)
    name = "intr.test@example.com"
    assert w.errno_of(f"users/{name}") == errno.ENOENT
    w.server.faults(route=CREATE_USER, latency_ms=3000)

    code = interrupted_after(1, lambda: os.mkdir(w.root / "users" / name))
    w.errno_of(f"users/{name}")               # before the server made it

    assert code == errno.EINTR
    assert wait_for(lambda: w.user_ids_with(email_address=name))
    assert w.errno_of(f"users/{name}") == 0
    assert "may have been applied" in w.errors()


# ---- malformed answers to a create -------------------------------------------

def test_a_create_answered_with_broken_json_is_found_by_its_email(world):
    w = world(negative_ttl=60)
    name = "malformed@example.com"
    assert w.errno_of(f"users/{name}") == errno.ENOENT
    w.server.faults(route=CREATE_USER, malformed=True)

    made = w.sh(f"mkdir users/{name}")

    assert made.returncode == 0, made.stderr
    assert w.writes() == {CREATE_USER: 1}            # not sent again
    uid = w.user_ids_with(email_address=name)
    assert len(uid) == 1
    assert json.loads(w.read(f"users/{name}/profile.json"))["id"] == uid[0]


@pytest.mark.parametrize("body", [[], {"id": "../../etc"}, {"id": ""},
                                  {"object": "user"}],
                         ids=["array", "path", "empty", "no id"])
def test_a_create_answered_without_a_valid_id_is_eio_with_a_reason(world,
                                                                     body):
    w = world()
    name = "noid@example.com"
    w.server.faults(route=CREATE_USER, status=200, body=body)

    made = w.sh(f"mkdir users/{name}")

    assert made.returncode != 0
    assert "Input/output error" in made.stderr, made.stderr
    assert w.writes() == {CREATE_USER: 1}
    assert w.errno_of(f"users/{name}") == errno.ENOENT
    lines = w.refusals(f"/users/{name}")
    assert len(lines) == 1, lines
    assert "valid user id" in lines[0], lines[0]
    assert "../../etc" not in os.listdir(w.root / "users")


def test_vim_saves_an_email_file_in_place_without_helper_files(world):
    w = world()
    where = f"email_addresses/{BO['id']}"

    saved = w.sh(f"cd {where} && vim -u NONE -es "
                 f"-c '1s/^{{/{{\"verified\": false,/' -c 'wq' "
                 f"bo.second@example.org </dev/null", timeout=30)

    assert saved.returncode == 0, saved.stdout + saved.stderr
    assert w.writes() == {"PATCH /v1/email_addresses/{email_address_id}": 1}
    shown = json.loads(w.read(f"{where}/bo.second@example.org"))
    assert shown["verification"] is None      # not verified
    assert w.ls(where) == ["bo.second@example.org", "bo@example.com"]
    assert w.errors() == ""
