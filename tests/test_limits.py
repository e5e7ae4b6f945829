"""Limits: the cache budget, single-flight fetches, parallel pages, the
rate limiter's defaults, paging within the API's limit, and spooling of
large search results (DESIGN.md, "Cache, rate limiting, retries" and
"Search directories"; CASES.md B16).

A person reads many profiles at once, lists a large instance over a slow
network or greps every profile with a small cache, and expects right
answers without the requests piling up: each test acts with real tools
and then checks what the server received, and how long it took only with
a bound generous enough for a loaded machine.
"""

import math
import os
import time

from helpers import routes, sh

USER = "GET /v1/users/{user_id}"
USERS = "GET /v1/users"
MEMBERS = "GET /v1/organizations/{organization_id}/memberships"
BIG_ORG = "org_2TstBig0016"


def user_ids(server, count):
    """The ids of the newest users, asked of the server directly (call it
    before the server's counters are reset)."""
    status, users = server.api("GET", "/users", query={"limit": count})
    assert status == 200, users
    return [u["id"] for u in users]


def stats(mount):
    """.clerkfs/stats as a dict of its two-column lines."""
    lines = (mount.path / ".clerkfs/stats").read_text().splitlines()
    return dict(line.split("\t") for line in lines
                if line.count("\t") == 1)


# ---- one request in flight per object -------------------------------------

def test_sixteen_readers_of_one_profile_cost_one_request(make_server,
                                                         make_mount):
    server = make_server(users=20, latency_ms=300)
    uid = user_ids(server, 1)[0]
    mount = make_mount(server)
    server.reset()

    result = sh(f"for i in $(seq 16); do cat users/{uid}/profile.json & "
                f"done; wait", cwd=mount.path)

    assert result.stdout.count(f'\n  "id": "{uid}",') == 16
    assert routes(server) == {USER: 1}


def test_xargs_reads_sixteen_profiles_at_once(make_server, make_mount):
    latency = 0.3
    server = make_server(users=20, latency_ms=latency * 1000)
    ids = user_ids(server, 16)
    mount = make_mount(server)
    server.reset()

    started = time.monotonic()
    result = sh("xargs -P 16 -n 1 cat", cwd=mount.path,
                input="".join(f"users/{uid}/profile.json\n" for uid in ids))
    took = time.monotonic() - started

    for uid in ids:
        assert result.stdout.count(f'\n  "id": "{uid}",') == 1, uid
    assert routes(server) == {USER: 16}
    # One after another would take 16 x latency; at once, about one (the
    # kernel sends the lookups in users/ in parallel).
    assert took < 8 * latency, took


# ---- the rate limit the key chooses ---------------------------------------

def test_a_production_key_paces_at_1000_per_10_s_without_a_rate_option(
        make_server, make_mount):
    server = make_server(users=150, production=True, rate="1000/10")
    mount = make_mount(server, page_size=1)
    server.reset()

    names = os.listdir(mount.path / "users")

    # 151 requests in a moment: more than a development key's 100 per 10 s,
    # yet none waited and the server refused none.
    shown = stats(mount)
    assert len(names) == 150
    assert server.stats()["total"] == 151
    assert server.stats()["rate_limited"] == 0
    assert (shown["rate_max"], shown["rate_window"]) == ("1000", "10")
    assert shown["limiter_waits"] == "0"
    assert (shown["create_rate_max"], shown["create_rate_window"]) == \
        ("20", "10")


def test_a_development_key_defaults_to_100_per_10_s(make_server,
                                                    make_mount):
    server = make_server(users=2)

    mount = make_mount(server)

    assert server.key.startswith("sk_test_")
    assert stats(mount)["rate_max"] == "100"
    assert stats(mount)["rate_window"] == "10"
    given = stats(make_mount(server, rate="7/2.5"))
    assert (given["rate_max"], given["rate_window"]) == ("7", "2.5")


# ---- paging ---------------------------------------------------------------

def test_ls_fetches_the_pages_of_a_long_listing_in_parallel(make_server,
                                                            make_mount):
    latency, users, page = 0.2, 100, 10
    server = make_server(users=users, latency_ms=latency * 1000)
    mount = make_mount(server, page_size=page)
    server.reset()

    started = time.monotonic()
    names = os.listdir(mount.path / "users")
    took = time.monotonic() - started

    pages = math.ceil(users / page)
    sent = routes(server)
    assert len(names) == users
    # Every page once, and the count that lets them go at once; no empty
    # page after the last full one.
    assert sent == {USERS: pages, "GET /v1/users/count": 1}
    assert sorted(int(r["query"]["offset"][0])
                  for r in server.requests(USERS)) == \
        list(range(0, users, page))
    # One after another would take (pages + 1) x latency.
    assert took < pages * latency, took


def test_b16_a_750_member_organization_lists_in_two_pages(big):
    server, mount = big

    count = sh(f"ls orgs/{BIG_ORG}/members | wc -l", cwd=mount.path).stdout

    assert count == "750\n"
    pages = server.requests(MEMBERS)
    assert len(pages) == 2
    assert all(r["path"] == f"/v1/organizations/{BIG_ORG}/memberships"
               for r in pages)
    assert all(1 <= int(r["query"]["limit"][0]) <= 500 for r in pages)
    assert sorted(int(r["query"].get("offset", ["0"])[0])
                  for r in pages) == [0, 500]


# ---- search results in a temporary file -----------------------------------

def test_a_large_search_result_is_spooled_to_a_deleted_file(big):
    server, mount = big
    fds = f"/proc/{mount.pid}/fd"

    with open(mount.path / "search/users/results.csv", "rb") as held:
        size = os.fstat(held.fileno()).st_size
        first = held.readline()
        spools = {}
        for fd in os.listdir(fds):
            target = os.readlink(f"{fds}/{fd}")
            if target.endswith(" (deleted)"):
                spools[target] = os.stat(f"{fds}/{fd}").st_size

    assert first.startswith(b"id,username,first_name,last_name,")
    assert size > 1234 * 100
    # The CSV bytes are in an unlinked file of the daemon, not in memory.
    assert size in spools.values(), (size, spools)
    assert routes(server)[USERS] == 3


# ---- a small cache --------------------------------------------------------

def test_grep_r_twice_with_a_small_cache_evicts_and_stays_right(make_server,
                                                                make_mount):
    server = make_server(users=2000)
    expected = sorted(u["id"] for offset in range(0, 2000, 500)
                      for u in server.api("GET", "/users", query={
                          "limit": 500, "offset": offset})[1]
                      if u["last_name"] == "Dubois")
    # No pacing: the point is what the cache keeps, not the limiter.
    mount = make_mount(server, cache_max="1M", rate="100000/10")
    server.reset()

    grep = ("grep -rl --include=profile.json '\"last_name\": \"Dubois\"' "
            "users | cut -d/ -f2 | sort")
    first = sh(grep, cwd=mount.path, timeout=300).stdout.split()
    second = sh(grep, cwd=mount.path, timeout=300).stdout.split()

    shown = stats(mount)
    assert expected and first == expected
    assert second == expected
    assert int(shown["cache_evictions"]) > 0
    assert int(shown["cache_bytes"]) <= 1 << 20
    assert shown["cache_max"] == str(1 << 20)
    # Each pass lists users/ (4 pages) and brings back what was evicted a
    # hundred profiles per request, never one GET per profile.
    sent = routes(server)
    assert USER not in sent
    assert sent[USERS] <= 2 * (4 + 2000 // 100)
