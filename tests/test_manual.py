"""The manual, clerkfs(1), says what clerkfs does, and clerkfs does it.

A person reads `man clerkfs` to learn the tree, the options, how a save
works, which fields of profile.json and organization.json can be edited,
and what each error means.  These tests read the page as man prints it,
check that it names what `clerkfs --help` offers and every errno of the
design, and then edit, on a real mount, every field of a user and of an
organization: a field the page calls editable is sent by itself in one
PATCH, any other is refused with EPERM and nothing is sent.
"""

import errno
import json
import os
import re
import subprocess

import pytest

from mountctl import BINARY, REPO
from test_write import ORG, PATCH_ROUTE, instance, python_save  # noqa

MANUAL = REPO / "man" / "clerkfs.1"


def rendered():
    """The page as man prints it, on long lines, without hyphenation."""
    env = dict(os.environ, MANWIDTH="4000", LC_ALL="C.UTF-8")
    result = subprocess.run(["man", "--nh", "--nj", "-l", str(MANUAL)],
                            env=env, capture_output=True, text=True,
                            timeout=60, check=True)
    return result.stdout


def section(text, name):
    """The body of the section called name (up to the next heading)."""
    found = re.search(rf"^{re.escape(name)}\n(.*?)(?=^\S)", text,
                      re.M | re.S)
    assert found, f"no section {name}"
    return found.group(1)


def editable(text, file_name, route):
    """The fields the page says a save of file_name sends through route."""
    paragraph = re.search(rf"^\s+{re.escape(file_name)}\n\s+(.*?)$",
                          text, re.M).group(1)
    listed = re.search(rf"(?:owns it: |{re.escape(file_name)}: )?"
                       rf"([a-z0-9_, ]+?) through {re.escape(route)}",
                       paragraph)
    assert listed, paragraph
    names = re.split(r", | and ", listed.group(1).split(": ")[-1])
    return {name.strip() for name in names if name.strip()}


# ---- what the page holds -------------------------------------------------

def test_the_page_has_the_sections_a_person_looks_for():
    text = rendered()

    for name in ("NAME", "SYNOPSIS", "DESCRIPTION", "THE TREE", "SAVING",
                 "CREATING AND DELETING", "SEARCH", "OPTIONS", "ERRORS",
                 "FILES", "ENVIRONMENT", "EXAMPLES", "BUGS", "SEE ALSO"):
        assert re.search(rf"^{name}$", text, re.M), name
    saving = section(text, "SAVING")
    for words in ("When a write takes effect", "What each file sends",
                  "Editors and scratch files", "fsync", "rename",
                  ".clerkfs/errors", "O_TRUNC"):
        assert words in saving, words


def test_every_option_of_help_is_in_the_options_section():
    helped = subprocess.run([str(BINARY), "--help"], capture_output=True,
                            text=True, timeout=10, check=True).stdout
    options = set(re.findall(r"-o ([a-z_]+)", helped)) - {"opt"}
    assert {"key_file", "api_url", "ro", "timeout"} <= options

    text = section(rendered(), "OPTIONS")

    for option in sorted(options):
        assert re.search(rf"^\s+{option}\b", text, re.M), option
    for flag in ("-f", "-d", "allow_other"):
        assert flag in text, flag


def test_every_errno_of_the_design_is_explained():
    text = section(rendered(), "ERRORS")

    for name in ("ENOENT", "EACCES", "EOPNOTSUPP", "EEXIST", "EBUSY",
                 "EINVAL", "EPERM", "EROFS", "EAGAIN", "EIO", "ETIMEDOUT",
                 "EINTR", "EFBIG", "EXDEV"):
        assert re.search(rf"^\s+{name}\b", text, re.M), name


def test_the_page_warns_of_what_surprises_users():
    text = rendered()
    options = section(text, "OPTIONS")
    notes = section(text, "NOTES")
    errors = section(text, "ERRORS")

    for words in ("86400", "3600", "regular file", "control character",
                  "libfuse's own trace", "0400", "0500"):
        assert words in options, words
    for words in ("grep -rl pattern users/", "GET /sessions per user",
                  "skip_password_requirement", "password",
                  "cp -p", "Operation not permitted", "revokes the session",
                  "EXDEV"):
        assert words in notes, words
    assert "16 MiB" in errors


def test_the_tree_names_every_file():
    text = rendered()
    tree = section(text, "THE TREE")

    for name in ("users/", "orgs/", "profile.json", "public_metadata.json",
                 "private_metadata.json", "unsafe_metadata.json", "banned",
                 "locked", "organizations/", "organization.json", "members",
                 "email_addresses", "sessions", "search/", ".clerkfs/",
                 "stats", "errors"):
        assert name in tree, name
    for name in ("results.csv", "results.json", "results.ndjson",
                 "first.json", "count"):
        assert name in section(text, "SEARCH"), name


# ---- what the page says can be edited, edited ----------------------------

# Values the local server takes for the fields whose form it checks.
# Times are written as the files show them, in Unix ms, and go out as the
# RFC 3339 times the API takes.
USER_VALUES = {
    "first_name": "Adaline", "last_name": "Byron", "username": "ada_b",
    "external_id": "crm-7", "locale": "fr-FR", "created_at": 1600000000123,
    "legal_accepted_at": 1700000000000, "create_organizations_limit": 3,
}
ORG_VALUES = {"name": "Acme Ltd", "slug": "acme-ltd",
              "max_allowed_memberships": 9, "created_at": 1600000000000,
              "role_set_key": "role_set:basic"}
SENT_AS = {1600000000123: "2020-09-13T12:26:40.123Z",
           1600000000000: "2020-09-13T12:26:40.000Z",
           1700000000000: "2023-11-14T22:13:20.000Z"}
NOT_FIELDS = {"public_metadata", "private_metadata", "unsafe_metadata",
              "banned", "locked"}


def other_value(value):
    """A value of the same kind that differs from value."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return value + [{"x": 1}] if not value else []
    if isinstance(value, dict):
        return dict(value, x=1)
    return "x"


def edit_each_field(home, name, fields, values, route, server):
    """Edits every field of home/name alone; returns what each caused:
    {field: (errno of the save, bodies sent through route, writes)}."""
    outcome = {}
    path = home / name
    for field in fields:
        doc = json.loads(path.read_text())
        doc[field] = values.get(field, other_value(doc[field]))
        server.reset()
        code = python_save(path, json.dumps(doc, indent=2,
                                            ensure_ascii=False))
        writes = {k: v for k, v in server.stats()["routes"].items()
                  if not k.startswith("GET ")}
        bodies = [r["body"] for r in server.requests(route)]
        outcome[field] = (code, bodies, writes)
    return outcome


def check_outcome(outcome, listed, values, route):
    for field, (code, bodies, writes) in outcome.items():
        if field in listed:
            assert writes == {route: 1}, (field, writes)
            assert len(bodies) == 1 and list(bodies[0]) == [field], \
                (field, bodies)
            if field in values:
                assert code == 0, (field, errno.errorcode.get(code))
                value = values[field]
                if field.endswith("_at"):
                    value = SENT_AS[value]
                assert bodies[0][field] == value, field
        else:
            assert code == errno.EPERM, (field, code)
            assert writes == {}, (field, writes)


def test_profile_fields_the_page_calls_editable_are_the_ones_sent(
        instance):
    listed = editable(rendered(), "profile.json", "PATCH /users/{id}")
    ada = instance()
    fields = [k for k in json.loads(ada.read("profile.json"))
              if k not in NOT_FIELDS]
    assert set(USER_VALUES) <= listed <= set(fields), listed

    outcome = edit_each_field(ada.home, "profile.json", fields, USER_VALUES,
                              PATCH_ROUTE, ada.server)

    check_outcome(outcome, listed, USER_VALUES, PATCH_ROUTE)
    refused = [f for f in fields if f not in listed]
    assert len(listed) == 14 and len(refused) > 15, (listed, refused)
    assert {"id", "object", "updated_at", "email_addresses",
            "last_sign_in_at"} <= set(refused)
    for field in refused:
        assert f"'{field}'" in ada.errors(), field
    user = ada.user()
    for field, value in USER_VALUES.items():
        assert user[field] == value, field
    assert json.loads(ada.read("profile.json")) == user


def test_organization_fields_the_page_calls_editable_are_the_ones_sent(
        instance):
    route = "PATCH /v1/organizations/{organization_id}"
    listed = editable(rendered(), "organization.json",
                      "PATCH /organizations/{id}")
    ada = instance()
    home = ada.root / "orgs" / ORG["id"]
    fields = [k for k in json.loads((home / "organization.json").read_text())
              if k not in NOT_FIELDS]
    assert set(ORG_VALUES) <= listed <= set(fields), listed

    outcome = edit_each_field(home, "organization.json", fields, ORG_VALUES,
                              route, ada.server)

    check_outcome(outcome, listed, ORG_VALUES, route)
    remote = ada.server.get("organizations", ORG["id"])
    for field, value in ORG_VALUES.items():
        assert remote[field] == value, field
    assert json.loads((home / "organization.json").read_text()) == remote
