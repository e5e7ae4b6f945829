"""Listings while the instance changes, and profiles read many at once
(DESIGN.md, "The Clerk Backend API": lists are newest first, offset pages
repeat or skip entries during concurrent creation; "Cache, rate limiting,
retries": one request in flight per object).

A person lists users while a sign-up form creates accounts, and expects
every user who was there all along to be listed; another stats forty
profiles at once after the cache went stale, and expects each user to be
asked for once. Each test slows one page down on the local server, acts
with real tools while objects are created, and checks what the files show
and what the server received.
"""

import json
import os
import subprocess
import time

from helpers import routes, sh

USERS = "GET /v1/users"
ORGS = "GET /v1/organizations"


def every_id(server, path):
    """Every id of a listing, as the API pages it at 500."""
    ids, offset = [], 0
    while True:
        status, page = server.api("GET", path,
                                  query={"limit": 500, "offset": offset})
        assert status == 200, page
        items = page["data"] if isinstance(page, dict) else page
        ids += [item["id"] for item in items]
        if len(items) < 500:
            return ids
        offset += 500


def while_creating(server, mount, command, kind, make, count=5):
    """Runs command in the mount while `count` objects are created as its
    slowed third page waits; returns what the command printed."""
    listing = subprocess.Popen(["bash", "-c", command], cwd=mount.path,
                               text=True, stdout=subprocess.PIPE)
    time.sleep(0.7)
    for i in range(count):
        server.put(kind, make(i))
    out, _ = listing.communicate(timeout=60)
    assert listing.returncode == 0
    return out


def new_user(i):
    return {"email_addresses": [f"shift{i}@example.com"]}


# ---- listing while objects are created ------------------------------------

def test_ls_users_keeps_every_old_user_while_others_sign_up(make_server,
                                                           make_mount):
    server = make_server(users=338)
    before = every_id(server, "/users")
    mount = make_mount(server, page_size=100, cache_ttl=2)
    server.reset()
    server.faults(route=USERS, match="offset=200", latency_ms=2000)

    listed = while_creating(server, mount, "ls users", "users",
                            new_user).split()

    assert len(listed) == len(set(listed))
    assert set(before) - set(listed) == set()
    # The offset pages and their count, then one consistent pass by cursor.
    cursor = [r for r in server.requests(USERS)
              if "starting_after" in r["query"]]
    assert len(cursor) == 3


def test_search_results_keep_every_old_user_while_others_sign_up(
        make_server, make_mount):
    server = make_server(users=338)
    before = every_id(server, "/users")
    mount = make_mount(server, page_size=100, cache_ttl=2)
    server.reset()
    server.faults(route=USERS, match="offset=200", latency_ms=2000)

    out = while_creating(server, mount, "cat search/users/results.json",
                         "users", new_user)

    listed = [user["id"] for user in json.loads(out)]
    assert len(listed) == len(set(listed))
    assert set(before) - set(listed) == set()


def test_ls_orgs_keeps_every_old_organization_while_others_are_made(
        make_server, make_mount):
    server = make_server(users=10, orgs=38)
    before = every_id(server, "/organizations")
    mount = make_mount(server, page_size=10, cache_ttl=2)
    server.reset()
    server.faults(route=ORGS, match="offset=20", latency_ms=2000)

    listed = while_creating(server, mount, "ls orgs", "organizations",
                            lambda i: {"name": f"Shift {i}"}).split()

    assert len(set(before)) == 38
    assert set(before) - set(listed) == set()


def test_a_listing_nobody_changes_costs_its_pages_and_a_count(make_server,
                                                              make_mount):
    server = make_server(users=338)
    mount = make_mount(server, page_size=100)
    server.reset()

    names = os.listdir(mount.path / "users")

    assert len(names) == 338
    assert routes(server) == {USERS: 4, "GET /v1/users/count": 1}


# ---- profiles read at once ------------------------------------------------

def batch_ids(server):
    """The user_id values of each batch GET /users since the last reset."""
    return [r["query"]["user_id"] for r in server.requests(USERS)
            if "user_id" in r["query"]]


def test_forty_stats_at_once_ask_for_each_user_once(make_server,
                                                    make_mount):
    server = make_server(users=400, latency_ms=100)
    mount = make_mount(server, cache_ttl=1)
    order = sh("ls -f users", cwd=mount.path).stdout.split()
    names = [n for n in order if n.startswith("user_")]
    time.sleep(1.5)
    server.reset()

    stats = " ".join(f"stat users/{uid}/profile.json >/dev/null &"
                     for uid in names[100:141])
    sh(f"{stats} wait", cwd=mount.path)

    batches = batch_ids(server)
    asked = [uid for batch in batches for uid in batch]
    # Each user once, in a few batches (not one per stat, that overlap).
    assert asked and len(asked) == len(set(asked))
    assert len(batches) < 10
    assert set(names[100:141]) <= set(asked) | {
        r["path"].rsplit("/", 1)[1]
        for r in server.requests("GET /v1/users/{user_id}")}
