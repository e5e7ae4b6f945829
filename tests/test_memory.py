"""B14: a daemon mounted for weeks under grep -r must plateau.

The cache is bounded by cache_max and evicts the least recently used
first; cJSON trees, curl handles and nodes are freed.  Repeated scans past
the TTL must not make the daemon grow, and valgrind must find no block
definitely lost.
"""

import os
import pathlib
import re
import subprocess
import tempfile
import time

import pytest

from helpers import routes, sh
from mountctl import BINARY, is_mounted

SANITIZED = os.environ.get("CLERKFS_SANITIZED") == "1"
NEEDLE = "example.org"


def rss_kib(pid):
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))


def stats(root):
    text = (root / ".clerkfs" / "stats").read_text()
    return {k: int(v) for k, v in re.findall(r"^(\w+)\t(\d+)$", text, re.M)}


def scan(root):
    return sh(f"grep -r --include=profile.json -l {NEEDLE} users | wc -l",
              cwd=root).stdout.strip()


@pytest.mark.skipif(SANITIZED, reason="the sanitizers' own allocator "
                    "quarantines freed memory, so RSS is no measure")
def test_b14_rss_plateaus_over_scans_past_the_ttl(make_server, make_mount):
    server = make_server(users=3000)
    mount = make_mount(server, cache_max="2M", cache_ttl=2, negative_ttl=1)
    server.reset()
    pid = mount.proc.pid

    matches = []
    rss = []
    for _ in range(8):
        matches.append(scan(mount.path))
        rss.append(rss_kib(pid))
        assert stats(mount.path)["cache_bytes"] <= 2 << 20
        time.sleep(2.5)                 # past the TTL: everything again

    assert len(set(matches)) == 1 and int(matches[0]) > 0, matches
    assert stats(mount.path)["cache_evictions"] > 0
    # A pass costs the listing (6 pages and a count), the memberships
    # listing, and one GET /users per hundred profiles the cache lost,
    # not one request per profile.
    sent = routes(server)
    assert sum(sent.values()) <= 8 * (6 + 1 + 1 + 31 + 4), sent
    assert sent.get("GET /v1/users/{user_id}", 0) <= 8 * 4, sent
    # The first passes also start the worker threads and the connection
    # pool, and malloc's free lists settle over the first four or so
    # (the same before and after any change: heap, not a leak, which
    # valgrind checks below); from then on the cache only churns within
    # cache_max.  RSS moves a little with the machine's load: the bound
    # is the case's 20 %, over the largest of the third to fifth passes.
    assert rss[-1] <= max(rss[2:5]) * 1.2, rss


@pytest.mark.skipif(SANITIZED, reason="valgrind cannot run a binary built "
                    "with AddressSanitizer; LeakSanitizer checks that pass")
def test_b14_valgrind_finds_nothing_definitely_lost(make_server):
    server = make_server(users=300)
    mnt = pathlib.Path(tempfile.mkdtemp(prefix="clerkfs-mnt-"))
    log = mnt.with_suffix(".valgrind")
    env = dict(os.environ, CLERK_SECRET_KEY=server.key)
    proc = subprocess.Popen(
        ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
         f"--log-file={log}", str(BINARY), "-f", "-o",
         f"api_url={server.url},cache_max=1M,cache_ttl=1", str(mnt)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not is_mounted(mnt):
            assert proc.poll() is None and time.monotonic() < deadline, \
                log.read_text() if log.exists() else "no valgrind log"
            time.sleep(0.1)
        first = scan(mnt)
        time.sleep(1.2)
        assert scan(mnt) == first
        sh(f"cat users/$(ls users | head -1)/profile.json >/dev/null",
           cwd=mnt)
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)], capture_output=True)
        proc.wait(timeout=120)
        os.rmdir(mnt)

    report = log.read_text()
    log.unlink()
    lost = re.search(r"definitely lost: ([\d,]+) bytes", report)
    assert lost is None or lost.group(1) == "0", report[-3000:]
    assert "ERROR SUMMARY: 0 errors" in report, report[-3000:]
