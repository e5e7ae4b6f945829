"""The man page tells the truth about creating, deleting and searching.

A person reads clerkfs(1) to learn which command creates or deletes what,
which option allows deletes, which parameters a search directory takes and
which columns its CSV has. Each test reads the page as text and holds it
against the thing itself: the API's own list of parameters, a mount that
accepts them, and the header of the CSV that the mount generates.
"""

import csv
import os
import re

import pytest
import yaml

from helpers import routes
from mountctl import REPO

MAN_PAGE = REPO / "man" / "clerkfs.1"
SPEC_PATH = REPO.parent / "shared" / "clerk" / "2026-05-12.yml"

FONT = re.compile(r"\\f[BIRP]")
ARGUMENT = re.compile(r'"([^"]*)"|(\S+)')
JOINED = {".BR", ".RB", ".BI", ".IB", ".IR", ".RI"}
SPACED = {".B", ".I", ".SH", ".SS", ".TP"}


def unescape(text):
    text = FONT.sub("", text).replace("\\-", "-").replace("\\&", "")
    return text.replace("\\(em", "\u2014").replace("\\e", "\\")


def macro_text(line):
    """The words a macro line prints; "" for a layout macro."""
    name, _, rest = line.partition(" ")
    words = [quoted or bare for quoted, bare in ARGUMENT.findall(rest)]
    if name in JOINED:
        return "".join(words)
    if name in SPACED:
        return " ".join(words)
    return ""


def squeeze(parts):
    return " ".join(" ".join(parts).split())


def sections():
    """{heading: [(tag, text)]}: each .TP item as its tag and its text
    (tag included), each paragraph with an empty tag."""
    result, items = {}, None
    for line in MAN_PAGE.read_text(encoding="utf-8").splitlines():
        name = line.split(" ")[0] if line.startswith(".") else ""
        if name in (".SH", ".SS"):
            items = result.setdefault(unescape(macro_text(line)), [])
            items.append({"tag": "", "lines": []})
            continue
        if items is None:
            continue
        if name in (".TP", ".PP"):
            items.append({"tag": None if name == ".TP" else "",
                          "lines": []})
            continue
        text = unescape(macro_text(line) if name else line)
        if not text:
            continue
        item = items[-1]
        if item["tag"] is None:
            item["tag"] = squeeze([text])
        item["lines"].append(text)
    return {heading: [(item["tag"] or "", squeeze(item["lines"]))
                      for item in items if item["lines"]]
            for heading, items in result.items()}


def entry(section, tag):
    """The text of the one .TP entry of section whose tag is tag."""
    found = [text for item_tag, text in sections()[section]
             if item_tag == tag]
    assert len(found) == 1, (section, tag, sections()[section])
    return found[0]


# ---- creating and deleting (issue 4) -------------------------------------

CREATES_AND_DELETES = [
    ("mkdir users/email, mkdir users/+phone", ["POST /users",
                                              "skip_password_requirement",
                                              "Invalid argument"]),
    ("cp new-user.json users/", ["POST /users", "create_rate"]),
    ("rmdir users/id-or-alias", ["DELETE /users/{id}", "allow_delete",
                                 "Operation not permitted",
                                 "rm -r users/id deletes nothing"]),
    ("mkdir orgs/slug, cp org.json orgs/", ["POST /organizations"]),
    ("rmdir orgs/id-or-slug", ["DELETE /organizations/{id}",
                               "allow_delete"]),
    ("echo org:admin > members/org/user_id", [
        "POST /organizations/{org}/memberships",
        "PATCH /organizations/{org}/memberships/{user_id}",
        "org:member", "orgs/id/members"]),
    ("rm members/org/user_id", [
        "DELETE /organizations/{org}/memberships/{user_id}"]),
    ("touch email_addresses/user/address", [
        "POST /email_addresses", "verified: true", "primary: false",
        "users/id/email_addresses"]),
    ("rm email_addresses/user/address", ["DELETE /email_addresses/{id}"]),
    ("touch sessions/user/name", ["POST /sessions",
                                  "Operation not supported"]),
    ("rm sessions/user/sess.json, rm sessions/sess.json", [
        "POST /sessions/{id}/revoke", "No such file or directory"]),
]


@pytest.mark.parametrize("action, says", CREATES_AND_DELETES,
                         ids=[a for a, _ in CREATES_AND_DELETES])
def test_every_create_and_delete_is_documented_with_its_call(action, says):
    text = entry("CREATING AND DELETING", action)

    for words in says:
        assert words in text, (action, words, text)


def test_allow_delete_is_an_option_that_lets_rmdir_delete():
    text = entry("OPTIONS", "allow_delete")

    assert "rmdir" in text and "users" in text and "organizations" in text


# ---- the search tree (issue 5) -------------------------------------------

PAGING = {"limit", "offset", "starting_after", "paginated"}
LIST_PATHS = {"users": "/users", "orgs": "/organizations",
              "sessions": "/sessions"}
# Parameters that need another beside them to make a valid query.
COMPANIONS = {
    ("users", "provider"): "provider_user_id=x",
    ("users", "provider_user_id"): "provider=oauth_google",
    ("sessions", "status"): "user_id=user_x",
}
VALUES = {"order_by": {"users": "-created_at", "orgs": "name"},
          "status": {"sessions": "active"}}


def spec_parameters():
    """{resource: {name: type}} of the API's list endpoints, paging
    left out."""
    if not SPEC_PATH.exists():
        pytest.skip(f"OpenAPI description not found at {SPEC_PATH}")
    with open(SPEC_PATH, encoding="utf-8") as f:
        spec = yaml.load(f, Loader=getattr(yaml, "CSafeLoader",
                                           yaml.SafeLoader))
    shared = spec["components"]["parameters"]
    result = {}
    for resource, path in LIST_PATHS.items():
        params = {}
        for param in spec["paths"][path]["get"].get("parameters", []):
            if "$ref" in param:
                param = shared[param["$ref"].split("/")[-1]]
            if param["name"] not in PAGING:
                params[param["name"]] = param["schema"].get("type")
        result[resource] = params
    return result


def query_for(resource, name, kind):
    value = VALUES.get(name, {}).get(resource) or {
        "boolean": "true", "integer": "1767225600000"}.get(kind, "x")
    pair = f"{name}={value}"
    companion = COMPANIONS.get((resource, name))
    return f"{pair}&{companion}" if companion else pair


def test_every_list_parameter_is_documented_and_accepted(small):
    server, mount = small
    search = " ".join(text for _, text in sections()["SEARCH"])
    words = set(re.findall(r"[a-z0-9_]+", search))
    params = spec_parameters()

    for resource, names in params.items():
        for name, kind in names.items():
            query = query_for(resource, name, kind)
            folder = mount.path / "search" / resource / query
            assert name in words, (resource, name)
            assert folder.is_dir(), (resource, query, mount.log())
    for name in PAGING:
        assert name in words, name
    assert routes(server) == {}                 # lookups run no search
    assert sum(len(names) for names in params.values()) >= 30


def test_the_result_files_are_the_ones_documented(small):
    server, mount = small
    documented = {tag for tag, _ in sections()["SEARCH"] if tag}

    listed = os.listdir(mount.path / "search" / "users")

    assert documented == set(listed) == {
        "results.json", "results.ndjson", "first.json", "results.csv",
        "count"}
    assert routes(server) == {}


def documented_columns():
    """{resource: [columns]} from the CSV subsection's "Columns:"."""
    text = " ".join(text for _, text in sections()["CSV"])
    listing = re.search(r"Columns: (.*?)\.( |$)", text)[1]
    listing = re.sub(r" \([^)]*\)", "", listing)
    columns = {}
    for part in listing.split("; "):
        name, _, names = part.partition(" \u2014 ")
        columns[{"users": "users", "organizations": "orgs",
                 "sessions": "sessions"}[name]] = names.split(", ")
    return columns


def test_the_csv_columns_are_the_ones_documented(small):
    server, mount = small
    status, users = server.api("GET", "/users", query={"limit": 1})
    server.reset()
    paths = {"users": "search/users/results.csv",
             "orgs": "search/orgs/results.csv",
             "sessions": f"search/sessions/user_id={users[0]['id']}/"
                         "results.csv"}

    headers = {}
    for resource, path in paths.items():
        with open(mount.path / path, newline="", encoding="utf-8") as f:
            headers[resource] = next(csv.reader(f))

    assert headers == documented_columns()
    assert routes(server) == {"GET /v1/users": 1,
                              "GET /v1/organizations": 1,
                              "GET /v1/sessions": 1}
