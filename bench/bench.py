"""bench/bench.py - the clerkfs benchmark of issue 6; run it with bench/run.

    bench/run [--users 10000] [--latency-ms 50] [--rate 100/10 | --scaled]
              [--workloads 1,2,3,4,5,6] [--memory] [--out FILE] ...

It starts the local Clerk server (tests/serverctl.py) seeded with N users,
with a latency and a rate limit, puts a byte-counting relay (proxy.py) in
front of it, and runs each workload three times: with clerkfs mounted on
the relay, with the @clerk/backend peer (peers/sdk-peer.mjs) and with the
curl + jq peer (peers/curl-peer.sh).  Each run starts from a fresh mount
and a server whose counters were reset (and whose data was reseeded when a
workload changed it).  Each side's result is checked against the data the
runner read from the server beforehand, and against the other sides.

It prints, and writes to bench/results/<timestamp>.md, one table per
workload (requests, 429s, wall time, peak RSS, bytes, result), requests by
route, the ratios clerkfs / peer, the issue's goals with PASS or FAIL, and
two figures: the kernel cache (10,000 cached profiles read again, against
the same bytes on local disk) and memory (100,000 users listed with
cache_max=64M; with --users 100000 or --memory).

The benchmark is not part of the test suite: it reports, it never fails a
build.  It exits non-zero only when it could not run.
"""

import argparse
import contextlib
import csv
import datetime
import io
import json
import math
import os
import pathlib
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(HERE))

from mountctl import mount_clerkfs  # noqa: E402
from proxy import CountingRelay  # noqa: E402
from serverctl import start_server  # noqa: E402

PAGE = 500
SDK = "@clerk/backend"
CURL = "curl + jq"
SIDES = ("clerkfs", SDK, CURL)
REAL_RATES = ("100/10", "1000/10")
COMMAND_TIMEOUT_S = 3600
MEMORY_USERS = 100_000
MEMORY_CACHE_MAX = "64M"
MEMORY_BOUND_MIB = 128
KERNEL_CACHE_FILES = 10_000
KERNEL_CACHE_BOUND = 2.0
LIMIT_SLACK = 1.10

WORKLOADS = {
    1: "full scan",
    2: "export all users to CSV",
    3: "find one user by email",
    4: "read one profile twice",
    5: "set public_metadata.tier on many users",
    6: "ls -l users and stat of every profile",
}


# ---- command line -------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="bench/run",
        description="Benchmark clerkfs against the @clerk/backend SDK and "
        "curl + jq on the local Clerk server (issue 6).")
    p.add_argument("--users", type=int, default=10_000,
                   help="users seeded in the server (default 10000)")
    p.add_argument("--orgs", type=int, default=0,
                   help="organizations seeded (default 0)")
    p.add_argument("--latency-ms", type=float, default=50,
                   help="server latency per request (default 50)")
    p.add_argument("--rate", default="100/10",
                   help="rate limit N/S of the server and of clerkfs "
                   "(default 100/10, a development instance's)")
    p.add_argument("--scaled", action="store_true",
                   help="use the scaled limit 100/1 (ten times the real "
                   "one) to keep runs short; said in the output")
    p.add_argument("--workloads", default="1,2,3,4,5,6",
                   help="comma-separated workload numbers (default all)")
    p.add_argument("--peers", default="sdk,curl",
                   help="peers to run: sdk, curl (default both)")
    p.add_argument("--needle", default="churn-risk",
                   help="text searched by workload 1 (default churn-risk)")
    p.add_argument("--updates", type=int, default=1000,
                   help="users updated by workload 5 (default 1000)")
    p.add_argument("--update-jobs", type=int, default=0,
                   help="writers at once in workload 5 (default: 1 when "
                   "the rate limit, not the latency, bounds a serial loop; "
                   "else enough to reach the limit)")
    p.add_argument("--update-ttl", type=float, default=600,
                   help="clerkfs cache_ttl in workload 5 and the "
                   "kernel-cache figure, so that the listing stays cached "
                   "for the whole run (default 600)")
    p.add_argument("--memory", action="store_true",
                   help="measure the memory figure (100,000 users, "
                   "cache_max=64M) even when --users is smaller")
    p.add_argument("--no-kernel-cache", action="store_true",
                   help="skip the kernel-cache figure")
    p.add_argument("--no-relay", action="store_true",
                   help="talk to the server directly (bytes: n/a)")
    p.add_argument("-o", "--clerkfs-opt", action="append", default=[],
                   metavar="KEY[=VALUE]",
                   help="extra clerkfs mount option for every mount")
    p.add_argument("--out", help="report file (default "
                   "bench/results/<timestamp>.md)")
    p.add_argument("--keep", action="store_true",
                   help="keep the work directory with every output")
    args = p.parse_args(argv)
    if args.scaled:
        args.rate = "100/1"
    args.rate_n, args.rate_s = parse_rate(args.rate)
    args.workloads = sorted({int(w) for w in args.workloads.split(",")
                             if w.strip()})
    bad = [w for w in args.workloads if w not in WORKLOADS]
    if bad:
        p.error(f"no workload {bad[0]}; they are 1 to 6")
    names = {"sdk": SDK, "curl": CURL}
    args.peers = [names[x.strip()] for x in args.peers.split(",")
                  if x.strip()]
    args.updates = max(1, min(args.updates, args.users))
    if args.users < 1:
        p.error("--users must be at least 1")
    return args


def parse_rate(text):
    count, _, seconds = text.partition("/")
    try:
        n, s = int(count), float(seconds)
    except ValueError:
        raise SystemExit(f"bench: --rate {text!r} is not N/SECONDS")
    if n < 1 or s <= 0:
        raise SystemExit(f"bench: --rate {text!r} is not N/SECONDS")
    return n, s


def extra_options(args):
    options = {}
    for item in args.clerkfs_opt:
        key, sep, value = item.partition("=")
        options[key] = value if sep else True
    return options


# ---- running a command, measured ----------------------------------------

class Run:
    """What one command did: exit status, wall time, peak RSS, output."""

    def __init__(self, code, wall, maxrss_kib, stdout, stderr):
        self.code = code
        self.wall = wall
        self.maxrss_kib = maxrss_kib
        self.stdout = stdout
        self.stderr = stderr


def run_measured(argv, cwd=None, env=None, timeout=COMMAND_TIMEOUT_S):
    """Runs argv in its own process group and reaps it with wait4, so the
    peak RSS of its largest process is known.  A command still running at
    the timeout is killed (its own group only)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out,
                                stderr=err, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        timer = threading.Timer(timeout, _kill_group, (proc.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(proc.returncode, wall, usage.ru_maxrss,
                   out.read().decode(errors="replace"),
                   err.read().decode(errors="replace"))


def _kill_group(pgid):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def shell(command, cwd=None, env=None):
    return run_measured(["bash", "-c", command], cwd=cwd, env=env)


def vm_hwm_kib(pid):
    """Peak resident set size of a live process, from /proc."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# ---- one side's measurement ------------------------------------------------

class Row:
    """One side of one workload."""

    def __init__(self, side):
        self.side = side
        self.status = "ok"        # ok, n/a (not available), failed
        self.note = ""
        self.requests = None
        self.routes = {}
        self.rate_limited = None
        self.wall = None
        self.rss_kib = None
        self.rss_of = ""
        self.bytes = None
        self.connections = None
        self.result = ""
        self.correct = None       # True, False, None (not checked)
        self.detail = ""          # clerkfs's own counters, etc.

    @property
    def measured(self):
        return self.status == "ok"


class Bench:
    """The server, the relay, the facts read beforehand, and the runs."""

    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.server = None
        self.relay = None
        self.dirty = False
        self.users = []           # every user, as the server served them
        self.env = None

    # -- set up ----------------------------------------------------------

    def start(self):
        a = self.args
        say(f"starting the local server: {a.users} users, "
            f"{a.latency_ms:g} ms latency, rate {a.rate}")
        self.server = start_server(users=a.users, orgs=a.orgs,
                                   latency_ms=a.latency_ms, rate=a.rate,
                                   extra_args=["--quiet"])
        if a.no_relay:
            self.base = self.server.base
        else:
            self.relay = CountingRelay("127.0.0.1", self.server.port).start()
            self.base = self.relay.base
        self.env = dict(os.environ, CLERK_API_URL=self.base,
                        CLERK_SECRET_KEY=self.server.key)
        self.env.pop("http_proxy", None)
        self.env.pop("HTTP_PROXY", None)
        self.read_facts()

    def stop(self):
        if self.relay:
            self.relay.stop()
        if self.server:
            self.server.stop()
            keep_log(self.server.log_path, self.work)

    def read_facts(self):
        """Every user, read once through the API before anything is
        measured: the reference for every side's result."""
        say("reading the reference data")
        users, offset = [], 0
        while True:
            status, page = self.server.api(
                "GET", "/users", query={"limit": PAGE, "offset": offset})
            if status == 429:
                time.sleep(1)
                continue
            if status != 200:
                raise SystemExit(f"bench: listing users: {status} {page}")
            users += page
            if len(page) < PAGE:
                break
            offset += PAGE
        self.users = users
        self.ids = sorted(u["id"] for u in users)
        needle = self.args.needle
        self.expected_matches = {
            u["id"] for u in users
            if needle in json.dumps(u, ensure_ascii=False,
                                    separators=(",", ":"))}
        middle = [u for u in users[len(users) // 2:] if primary_email(u)]
        pick = middle[0] if middle else next(
            (u for u in users if primary_email(u)), None)
        self.email_user = pick
        self.profile_user = users[len(users) // 3]
        self.update_ids = self.ids[:self.args.updates]
        by_id = {u["id"]: u for u in users}
        self.update_before = {i: by_id[i]["public_metadata"] or {}
                              for i in self.update_ids}
        write_lines(self.work / "update-ids.txt", self.update_ids)
        self.server.reset()

    def mount(self, **options):
        opts = {"api_url": self.base + "/v1", "rate": self.args.rate}
        opts.update(extra_options(self.args))
        opts.update(options)
        return mounted(self.server, self.work, **opts)

    def reset(self, state=False):
        self.server.reset(state=state)
        if self.relay:
            self.relay.reset()

    def clean(self):
        """Reseed if an earlier run changed the data."""
        if self.dirty:
            self.reset(state=True)
            self.dirty = False
        else:
            self.reset()

    # -- measuring ---------------------------------------------------------

    def collect(self, row, run=None):
        """Server and relay counters into row, after a short settle so
        that requests still in flight are counted."""
        time.sleep(0.3)
        stats = self.server.stats()
        row.requests = stats["total"]
        row.routes = stats["routes"]
        row.rate_limited = stats["rate_limited"]
        if self.relay:
            sent, received, conns = self.relay.counts()
            row.bytes = sent + received
            row.connections = conns
        if run is not None:
            row.wall = run.wall

    def peer(self, side, workload, outdir, *params):
        outdir.mkdir(parents=True, exist_ok=True)
        if side == SDK:
            argv = ["node", str(HERE / "peers" / "sdk-peer.mjs")]
        else:
            argv = ["bash", str(HERE / "peers" / "curl-peer.sh")]
        return run_measured(argv + [workload, str(outdir), *params],
                            env=self.env)

    def run_peer(self, row, workload, outdir, *params):
        run = self.peer(row.side, workload, outdir, *params)
        self.collect(row, run)
        row.rss_kib = run.maxrss_kib
        row.rss_of = "node" if row.side == SDK else "largest process"
        if run.code != 0:
            row.status = "failed"
            row.note = last_line(run.stderr) or f"exit {run.code}"
        return run

    def run_clerkfs(self, row, mount, command, cwd=None):
        run = shell(command, cwd=cwd or mount.path, env=self.env)
        self.collect(row, run)
        row.rss_kib = vm_hwm_kib(mount.pid)
        row.rss_of = "clerkfs"
        row.detail = clerkfs_counters(mount)
        return run


# ---- the workloads ----------------------------------------------------------

def workload_scan(bench):
    a, rows = bench.args, []
    needle = a.needle
    command = f"grep -rl --include=profile.json {shlex.quote(needle)} users/"
    title = f"`{command}`"
    expected = bench.expected_matches

    def check(row, found):
        row.result = f"{len(found):,} matches"
        row.correct = found == expected
        if not row.correct:
            row.result += diff_note(found, expected)

    row = Row("clerkfs")
    with bench.mount() as mount:
        bench.clean()
        out = bench.work / "w1-clerkfs.txt"
        run = bench.run_clerkfs(row, mount, command + f" > {out}")
        if run.code not in (0, 1):
            fail(row, run)
        else:
            check(row, {p.split("/")[1] for p in read_lines(out)})
    rows.append(row)
    for side in a.peers:
        row = Row(side)
        bench.clean()
        outdir = bench.work / f"w1-{slug(side)}"
        bench.run_peer(row, "scan", outdir, f"needle={needle}")
        if row.measured:
            check(row, set(read_lines(outdir / "matches.txt")))
        rows.append(row)
    return title, rows


def workload_csv(bench):
    a, rows = bench.args, []
    command = "cp search/users/results.csv"
    expected = set(bench.ids)
    tables = {}

    def check(row, path):
        try:
            table = read_csv(path)
        except (OSError, ValueError) as error:
            row.status, row.note = "failed", f"unreadable CSV: {error}"
            return
        tables[row.side] = table
        ids = {r[0] for r in table[1:] if r}
        row.result = f"{len(table) - 1:,} rows"
        row.correct = (len(table) - 1 == len(expected) and ids == expected
                       and table[0][:1] == ["id"])
        if not row.correct:
            row.result += diff_note(ids, expected)

    row = Row("clerkfs")
    with bench.mount() as mount:
        bench.clean()
        out = bench.work / "w2-clerkfs.csv"
        run = bench.run_clerkfs(row, mount, f"{command} {out}")
        if run.code != 0:
            unavailable_or_failed(row, run)
        else:
            check(row, out)
    rows.append(row)
    for side in a.peers:
        row = Row(side)
        bench.clean()
        outdir = bench.work / f"w2-{slug(side)}"
        bench.run_peer(row, "csv", outdir)
        if row.measured:
            check(row, outdir / "users.csv")
        rows.append(row)
    cells_note(rows, tables)
    return f"`{command} users.csv`", rows


def workload_email(bench):
    a, rows = bench.args, []
    user = bench.email_user
    if user is None:
        return "no user has an email address", []
    email = primary_email(user)
    path = f"search/users/email_address={email}/first.json"
    command = f"cat {shlex.quote(path)}"

    def check(row, found):
        row.result = found or "nothing found"
        row.correct = found == user["id"]

    row = Row("clerkfs")
    with bench.mount() as mount:
        bench.clean()
        out = bench.work / "w3-clerkfs.json"
        run = bench.run_clerkfs(row, mount, f"{command} > {out}")
        if run.code != 0:
            unavailable_or_failed(row, run)
        else:
            check(row, json_id(out))
    rows.append(row)
    for side in a.peers:
        row = Row(side)
        bench.clean()
        outdir = bench.work / f"w3-{slug(side)}"
        bench.run_peer(row, "email", outdir, f"email={email}")
        if row.measured:
            found = read_lines(outdir / "found.txt")
            check(row, found[0] if found else "")
        rows.append(row)
    return f"`{command}`", rows


def workload_profile(bench):
    a, rows = bench.args, []
    uid = bench.profile_user["id"]
    path = f"users/{uid}/profile.json"
    command = f"cat {path} > /dev/null; cat {path}"

    def check(row, found):
        row.result = "the profile" if found == uid else f"got {found!r}"
        row.correct = found == uid

    row = Row("clerkfs")
    with bench.mount() as mount:
        bench.clean()
        out = bench.work / "w4-clerkfs.json"
        run = bench.run_clerkfs(row, mount, f"{command} > {out}")
        if run.code != 0:
            fail(row, run)
        else:
            check(row, json_id(out))
    rows.append(row)
    for side in a.peers:
        row = Row(side)
        bench.clean()
        outdir = bench.work / f"w4-{slug(side)}"
        bench.run_peer(row, "profile", outdir, f"id={uid}")
        if row.measured:
            check(row, json_id(outdir / "profile.json"))
        rows.append(row)
    return f"`{command}`", rows


SET_TIER_SED = (r"""sed -e '1s/^{}$/{\n  "tier": "TIER"\n}/' """
                r"""-e '1s/^{$/{\n  "tier": "TIER",/' "$f" > "$t" """
                r"""&& cat "$t" > "$f" && rm -f "$t" """)


def update_jobs(args):
    """Writers at once: a plain loop when the limit is slower than one
    request's latency, else enough writers to reach the limit."""
    if args.update_jobs > 0:
        return args.update_jobs
    per_request_s = args.rate_s / args.rate_n
    latency_s = max(args.latency_ms, 1) / 1000 * 1.5
    return max(1, min(16, math.ceil(latency_s / per_request_s)))


def workload_update(bench):
    a, rows = bench.args, []
    tier = "gold"
    jobs = update_jobs(a)
    ids_file = bench.work / "update-ids.txt"
    one = SET_TIER_SED.replace("TIER", tier)
    if jobs == 1:
        loop = (f"while read -r id; do f=users/$id/public_metadata.json; "
                f"t=$TMPD/$id; {one}|| echo \"failed: $id\" >&2; "
                f"done < {ids_file}")
    else:
        loop = (f"set_tier() {{ f=users/$1/public_metadata.json; "
                f"t=$TMPD/$1; {one}|| echo \"failed: $1\" >&2; }}; "
                f"export -f set_tier; export TMPD; "
                f"xargs -P {jobs} -I{{}} bash -c 'set_tier \"$1\"' _ {{}} "
                f"< {ids_file}")
    shown = (f"sed -e '1s/^{{$/{{\\n  \"tier\": \"{tier}\",/' ... "
             f"users/$id/public_metadata.json > $t && cat $t > "
             f"users/$id/public_metadata.json")
    title = (f"{len(bench.update_ids):,} users, "
             + ("a shell loop" if jobs == 1 else f"xargs -P {jobs}")
             + f": `{shown}`")

    def check(row):
        wrong = 0
        for uid in bench.update_ids:
            now = bench.server.get("users", uid) or {}
            want = dict(bench.update_before[uid], tier=tier)
            if now.get("public_metadata") != want:
                wrong += 1
        row.correct = wrong == 0
        row.result = (f"{len(bench.update_ids) - wrong:,} updated"
                      + (f", {wrong:,} wrong" if wrong else ""))

    row = Row("clerkfs")
    row.jobs = jobs
    with bench.mount(cache_ttl=a.update_ttl) as mount:
        bench.clean()
        bench.dirty = True
        listed = bench.work / "w5-listed.txt"
        setup = shell(f"ls users | head -n {len(bench.update_ids)} "
                      f"> {listed}", cwd=mount.path)
        if setup.code != 0 or read_lines(listed) != bench.update_ids:
            fail(row, setup, "the listing before the loop")
        else:
            # One rate window, so that clerkfs's limiter starts as empty
            # as the server's after the reset.
            time.sleep(a.rate_s)
            bench.reset()
            tmpd = tempfile.mkdtemp(prefix="bench-tier-", dir=bench.work)
            env = dict(bench.env, TMPD=tmpd)
            run = shell(loop, cwd=mount.path, env=env)
            bench.collect(row, run)
            row.rss_kib = vm_hwm_kib(mount.pid)
            row.rss_of = "clerkfs"
            row.detail = clerkfs_counters(mount)
            if run.code != 0 or "failed:" in run.stderr:
                fail(row, run)
            check(row)
    rows.append(row)
    for side in a.peers:
        row = Row(side)
        row.jobs = jobs
        bench.clean()
        bench.dirty = True
        outdir = bench.work / f"w5-{slug(side)}"
        if side == CURL:
            setup = bench.peer(side, "prepare", outdir, f"ids={ids_file}")
            if setup.code != 0:
                fail(row, setup, "the listing before the loop")
                rows.append(row)
                continue
            bench.reset()
        bench.run_peer(row, "update", outdir, f"ids={ids_file}",
                       f"tier={tier}", f"jobs={jobs}")
        if row.measured:
            check(row)
        rows.append(row)
    return title, rows


def workload_stat(bench):
    a, rows = bench.args, []
    command = ("ls -l users > ls.txt; ls users | sed 's|.*|users/&/"
               "profile.json|' | xargs -d '\\n' stat -c '%s %Y %n' > stat.txt")
    expected = set(bench.ids)

    def check(row, ids):
        row.result = f"{len(ids):,} users"
        row.correct = ids == expected
        if not row.correct:
            row.result += diff_note(ids, expected)

    row = Row("clerkfs")
    with bench.mount() as mount:
        bench.clean()
        outdir = bench.work / "w6-clerkfs"
        outdir.mkdir()
        cmd = command.replace("ls.txt", str(outdir / "ls.txt")).replace(
            "stat.txt", str(outdir / "stat.txt"))
        run = bench.run_clerkfs(row, mount, cmd)
        if run.code != 0:
            fail(row, run)
        else:
            listed = [ln.split()[-1] for ln in read_lines(outdir / "ls.txt")
                      if not ln.startswith("total")]
            stated = [ln.split()[-1].split("/")[1]
                      for ln in read_lines(outdir / "stat.txt")
                      if ln.split()[0] != "0"]
            check(row, set(stated))
            if set(listed) != set(stated):
                row.correct = False
                row.result += f" (ls -l showed {len(listed):,})"
    rows.append(row)
    for side in a.peers:
        row = Row(side)
        bench.clean()
        outdir = bench.work / f"w6-{slug(side)}"
        bench.run_peer(row, "stat", outdir)
        if row.measured:
            check(row, {ln.split()[0] for ln in
                        read_lines(outdir / "stat.txt")})
        rows.append(row)
    return f"`{command}`", rows


RUNNERS = {1: workload_scan, 2: workload_csv, 3: workload_email,
           4: workload_profile, 5: workload_update, 6: workload_stat}


# ---- the two figures --------------------------------------------------------

def kernel_cache_figure(bench):
    """10,000 cached profiles read a second time with one xargs cat,
    against the same bytes in a copy on local disk read the same way."""
    a = bench.args
    count = min(KERNEL_CACHE_FILES, len(bench.ids))
    figure = {"files": count, "ttl": a.update_ttl}
    bench.clean()
    local = pathlib.Path(tempfile.mkdtemp(prefix="bench-local-",
                                          dir=bench.work))
    with bench.mount(cache_ttl=a.update_ttl) as mount:
        bench.reset()
        listing = shell("ls users > /dev/null", cwd=mount.path)
        paths = [f"users/{uid}/profile.json" for uid in bench.ids[:count]]
        write_lines(local / "paths.txt", paths)
        figure["listing_requests"] = bench.server.stats()["total"]
        # The first read, through clerkfs, which also makes the copy.
        copy = shell(f"xargs -a {local}/paths.txt cp --parents -t {local}",
                     cwd=mount.path)
        if listing.code != 0 or copy.code != 0:
            figure["error"] = last_line(copy.stderr or listing.stderr)
            return figure
        bench.reset()
        read = f"xargs -a {local}/paths.txt cat > /dev/null"
        figure["mount_s"] = best_of(read, mount.path)
        figure["mount_requests"] = bench.server.stats()["total"]
        figure["bytes"] = sum((local / p).stat().st_size for p in paths)
        figure["round_trip_us"] = fuse_round_trip_us(mount.path)
    shell(read, cwd=local)
    figure["local_s"] = best_of(read, local)
    shutil.rmtree(local, ignore_errors=True)
    figure["ratio"] = figure["mount_s"] / max(figure["local_s"], 1e-6)
    figure["pass"] = (figure["ratio"] <= KERNEL_CACHE_BOUND
                      and figure["mount_requests"] == 0)
    return figure


def fuse_round_trip_us(root, calls=20000):
    """What one request to the daemon costs on this machine: stat of
    .clerkfs/stats, whose attributes are never cached by the kernel, is
    one GETATTR each.  A cat of a cached file costs at least one (its
    OPEN), which bounds how close to local disk any FUSE mount can come."""
    path = os.path.join(root, ".clerkfs", "stats")
    os.stat(path)
    started = time.perf_counter()
    for _ in range(calls):
        os.stat(path)
    return (time.perf_counter() - started) / calls * 1e6


def best_of(command, cwd, times=3):
    """The median of three timed runs (the page cache is warm)."""
    walls = []
    for _ in range(times):
        run = shell(command, cwd=cwd)
        if run.code != 0:
            raise RuntimeError(f"{command}: {last_line(run.stderr)}")
        walls.append(run.wall)
    return statistics.median(walls)


def memory_figure(bench):
    """100,000 users listed with cache_max=64M: clerkfs's peak RSS."""
    a = bench.args
    own = a.users < MEMORY_USERS
    server = bench.server
    if own:
        say(f"starting a second server with {MEMORY_USERS:,} users for the "
            "memory figure")
        server = start_server(users=MEMORY_USERS, latency_ms=a.latency_ms,
                              rate=a.rate, extra_args=["--quiet"])
    figure = {"users": MEMORY_USERS, "cache_max": MEMORY_CACHE_MAX}
    try:
        if not own:
            bench.clean()
        opts = {"api_url": server.url, "rate": a.rate,
                "cache_max": MEMORY_CACHE_MAX}
        opts.update(extra_options(a))
        with mounted(server, bench.work, **opts) as mount:
            server.reset()
            run = shell("ls users | wc -l", cwd=mount.path)
            time.sleep(0.3)
            stats = server.stats()
            figure.update(
                listed=int(run.stdout.strip() or 0) if run.code == 0 else 0,
                wall=run.wall, requests=stats["total"],
                rate_limited=stats["rate_limited"],
                rss_mib=(vm_hwm_kib(mount.pid) or 0) / 1024,
                counters=clerkfs_counters(mount))
            if run.code != 0:
                figure["error"] = last_line(run.stderr)
    finally:
        if own:
            server.stop()
            keep_log(server.log_path, bench.work)
    figure["pass"] = (figure.get("rss_mib", 1e9) < MEMORY_BOUND_MIB
                      and figure.get("listed") == MEMORY_USERS)
    return figure


# ---- checks and small helpers -------------------------------------------------

@contextlib.contextmanager
def mounted(server, work, **options):
    """clerkfs mounted on server; unmounted after, its log kept in work."""
    mount = mount_clerkfs(server, **options)
    try:
        yield mount
    finally:
        mount.unmount()
        keep_log(mount.log_path, work)


def keep_log(path, work):
    """Moves a log out of /tmp into the work directory."""
    with contextlib.suppress(OSError):
        shutil.move(path, work / os.path.basename(path))


def primary_email(user):
    pid = user.get("primary_email_address_id")
    for entry in user.get("email_addresses") or []:
        if entry.get("id") == pid:
            return entry.get("email_address")
    return None


def fail(row, run, what=None):
    row.status = "failed"
    row.note = (f"{what}: " if what else "") + (
        last_line(run.stderr) or f"exit {run.code}")


NOT_AVAILABLE = ("No such file or directory", "Function not implemented",
                 "Operation not supported")


def unavailable_or_failed(row, run):
    """A search file that does not exist yet is "not available"."""
    fail(row, run)
    if any(text in run.stderr for text in NOT_AVAILABLE):
        row.status = "n/a"
        row.note = "not available: " + last_line(run.stderr)


def cells_note(rows, tables):
    """For the CSV: how many cells differ from clerkfs's (information)."""
    mine = tables.get("clerkfs")
    if not mine:
        return
    index = {r[0]: r for r in mine[1:] if r}
    header = mine[0]
    for row in rows:
        other = tables.get(row.side)
        if row.side == "clerkfs" or not other:
            continue
        columns = [header[i] for r in other[1:] if r
                   for i, (x, y) in enumerate(zip(r, index.get(r[0], [])))
                   if x != y and i < len(header)]
        if columns:
            where = ", ".join(sorted(set(columns)))
            row.result += (f"; {len(columns):,} cells differ from "
                           f"clerkfs's (in {where})")


def diff_note(found, expected):
    missing, extra = len(expected - found), len(found - expected)
    return f" ({missing:,} missing, {extra:,} extra)"


def json_id(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f).get("id", "")
    except (OSError, ValueError, AttributeError):
        return ""


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def read_lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [ln.rstrip("\n") for ln in f if ln.strip()]
    except OSError:
        return []


def write_lines(path, items):
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(f"{item}\n" for item in items)


def last_line(text):
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


def slug(side):
    return {"clerkfs": "clerkfs", SDK: "sdk", CURL: "curl"}[side]


def clerkfs_counters(mount):
    """clerkfs's own view (.clerkfs/stats), for the notes."""
    try:
        text = (mount.path / ".clerkfs" / "stats").read_text()
    except OSError:
        return ""
    keep = ("cache_hits", "cache_misses", "cache_waits", "limiter_waits",
            "retries", "rate_limited", "cache_evictions", "cache_bytes")
    values = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and parts[0] in keep:
            values[parts[0]] = parts[1]
    return ", ".join(f"{k} {values[k]}" for k in keep if k in values)


def say(text):
    print(f"bench: {text}", file=sys.stderr, flush=True)


# ---- the report -----------------------------------------------------------

def fmt_int(n):
    return "–" if n is None else f"{n:,}"


def fmt_s(s):
    return "–" if s is None else f"{s:.2f}"


def fmt_mib(kib, of=""):
    if kib is None:
        return "–"
    return f"{kib / 1024:.1f} MiB" + (f" ({of})" if of else "")


def fmt_bytes(n):
    if n is None:
        return "n/a"
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e3:.1f} kB"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}"


def workload_table(number, title, rows):
    out = [f"### {number}. {WORKLOADS[number]}: {title}", ""]
    out += ["| side | requests | 429s | wall (s) | peak RSS | bytes | "
            "result |",
            "|---|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        if not row.measured:
            out.append(f"| {row.side} | – | – | – | – | – | "
                       f"**{row.status}**: {md(row.note)} |")
            continue
        mark = {True: " ✓", False: " ✗ WRONG", None: ""}[row.correct]
        out.append(f"| {row.side} | {fmt_int(row.requests)} | "
                   f"{fmt_int(row.rate_limited)} | {fmt_s(row.wall)} | "
                   f"{fmt_mib(row.rss_kib, row.rss_of)} | "
                   f"{fmt_bytes(row.bytes)} | {md(row.result)}{mark} |")
    mine = rows[0] if rows and rows[0].measured else None
    for row in rows[1:]:
        if mine and row.measured:
            out.append(f"| clerkfs / {row.side} | "
                       f"{ratio(mine.requests, row.requests)} | | "
                       f"{ratio(mine.wall, row.wall)} | "
                       f"{ratio(mine.rss_kib, row.rss_kib)} | "
                       f"{ratio(mine.bytes, row.bytes)} | |")
    out += ["", "Requests by route:", ""]
    for row in rows:
        if row.measured:
            routes = ", ".join(f"{k} ×{v}" for k, v in
                               sorted(row.routes.items())) or "none"
            conns = (f"; {row.connections:,} connections"
                     if row.connections is not None else "")
            out.append(f"- {row.side}: {routes}{conns}")
            if row.detail:
                out.append(f"  (clerkfs's counters: {row.detail})")
    out.append("")
    return out


def md(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def goals(args, results):
    """The issue's goals, each (text, verdict) with verdict PASS, FAIL or
    n/a."""
    n = args.users
    bound = math.ceil(n / PAGE) + 1
    found = []
    for number, (title, rows) in results.items():
        by = {r.side: r for r in rows}
        mine, sdk = by.get("clerkfs"), by.get(SDK)
        ok = mine is not None and mine.measured

        def add(text, verdict, why=""):
            found.append((number, text, verdict, why))

        if mine is not None and mine.correct is False:
            add("clerkfs's result is right", "FAIL", mine.result)
        if number in (1, 2, 6):
            if not ok:
                add(f"at most ceil(N/500)+1 = {bound} requests", "n/a",
                    mine.note if mine else "")
                continue
            add(f"at most ceil(N/500)+1 = {bound} requests",
                verdict(mine.requests <= bound), f"{mine.requests}")
            if sdk and sdk.measured:
                add(f"fewer requests than {SDK}",
                    verdict(mine.requests < sdk.requests),
                    f"{mine.requests} vs {sdk.requests}")
                if number in (1, 2):
                    add(f"faster than {SDK}", verdict(mine.wall < sdk.wall),
                        f"{mine.wall:.2f} s vs {sdk.wall:.2f} s")
        if number == 4 and ok:
            add("one request", verdict(mine.requests == 1),
                f"{mine.requests}")
        if number == 5 and ok:
            add("no 429", verdict(mine.rate_limited == 0),
                f"{mine.rate_limited}")
            allowed = mine.requests * args.rate_s / args.rate_n
            add(f"within 10 % of the time the limit allows for its "
                f"requests ({mine.requests} × {args.rate_s:g}/{args.rate_n} "
                f"= {allowed:.1f} s)",
                verdict(mine.wall <= allowed * LIMIT_SLACK),
                f"{mine.wall:.1f} s")
    return found


def verdict(ok):
    return "PASS" if ok else "FAIL"


def summary_table(results):
    out = ["| workload | clerkfs req | " + " | ".join(
        f"{s} req" for s in SIDES[1:]) + " | clerkfs s | " + " | ".join(
        f"{s} s" for s in SIDES[1:]) + " |",
        "|---|" + "---:|" * 6]
    for number, (title, rows) in results.items():
        by = {r.side: r for r in rows}
        reqs, walls = [], []
        for side in SIDES:
            row = by.get(side)
            ok = row is not None and row.measured
            reqs.append(fmt_int(row.requests) if ok else
                        (row.status if row else "–"))
            walls.append(fmt_s(row.wall) if ok else "–")
        out.append(f"| {number}. {WORKLOADS[number]} | " + " | ".join(reqs)
                   + " | " + " | ".join(walls) + " |")
    return out


def report(args, results, kernel, memory, started, elapsed):
    scaled = f"{args.rate_n}/{args.rate_s:g}" not in REAL_RATES
    bytes_how = ("n/a (--no-relay)" if args.no_relay else
                 "HTTP bytes both ways, counted by a relay in front of the "
                 "server")
    lines = ["# clerkfs benchmark", ""]
    lines.append(f"Command: `bench/run {' '.join(sys.argv[1:])}`".rstrip())
    lines += ["", "| | |", "|---|---|",
              f"| date | {started:%Y-%m-%d %H:%M:%S %Z} |",
              f"| clerkfs | {os.environ.get('CLERKFS_BIN', '(default)')}, "
              f"commit {git_commit()} |",
              f"| users | {args.users:,} (orgs {args.orgs}) |",
              f"| latency | {args.latency_ms:g} ms per request |",
              f"| rate limit | {args.rate} on the server and in clerkfs"
              + (" — **scaled**: the real limits are 100/10 s "
                 "(development) and 1000/10 s (production); wall times "
                 "of rate-bound work are shorter than on a real instance"
                 if scaled else "") + " |",
              f"| peers | {SDK} {sdk_version()} on node "
              f"{tool_version(['node', '--version'])}; curl "
              f"{tool_version(['curl', '--version']).split()[1]} + "
              f"{tool_version(['jq', '--version'])} |",
              f"| machine | {os.cpu_count()} CPUs, {platform.machine()}, "
              f"Linux {platform.release()} |",
              f"| bytes | {bytes_how} |",
              f"| total time | {elapsed / 60:.1f} min |", ""]
    if results:
        lines += ["## Summary", ""] + summary_table(results) + [""]
        lines += ["## Workloads", ""]
        for number, (title, rows) in results.items():
            lines += workload_table(number, title, rows)
            if number == 5:
                jobs = getattr(rows[0], "jobs", 1) if rows else 1
                lines += [f"Each side starts from the seeded data and sends "
                          f"{jobs} request(s) at a time. clerkfs is mounted "
                          f"with cache_ttl={args.update_ttl:g} so that the "
                          f"listing before the loop stays cached, and the "
                          f"loop starts one rate window after it; the curl "
                          f"peer lists first too (for PUT it needs each "
                          f"user's metadata; not counted); {SDK} needs no "
                          f"listing (PATCH merges).", ""]
    lines += ["## Figures", ""]
    lines += kernel_lines(kernel) + memory_lines(args, memory)
    found = goals(args, results)
    lines += ["## Goals of issue 6", "",
              "| workload | goal | measured | verdict |",
              "|---|---|---|---|"]
    for number, text, result, why in found:
        lines.append(f"| {number} | {text} | {md(why)} | {result} |")
    for name, fig, key in (("kernel cache", kernel, "ratio"),
                           ("memory", memory, "rss_mib")):
        if fig and key in fig:
            lines.append(f"| – | {name} figure | "
                         f"{fig[key]:.2f} | {verdict(fig['pass'])} |")
    lines.append("")
    missed = [f for f in found if f[2] == "FAIL"] + [
        (None, name, "FAIL", "") for name, fig in
        (("kernel-cache figure", kernel), ("memory figure", memory))
        if fig and not fig.get("pass", True)]
    lines.append(f"Goals missed: {len(missed)}." if missed else
                 "Every goal measured was met.")
    lines.append("")
    return "\n".join(lines)


def kernel_lines(fig):
    if not fig:
        return ["Kernel cache: not measured (--no-kernel-cache).", ""]
    if "error" in fig:
        return [f"Kernel cache: failed: {fig['error']}", ""]
    return [f"**Kernel cache** — {fig['files']:,} cached profiles "
            f"({fig['bytes'] / 1e6:.1f} MB) read a second time with "
            f"`xargs cat` (median of three warm runs; cache_ttl="
            f"{fig['ttl']:g}): clerkfs {fig['mount_s']:.3f} s, local disk "
            f"{fig['local_s']:.3f} s, ratio {fig['ratio']:.2f} (bound "
            f"≤ {KERNEL_CACHE_BOUND:g}); requests during the timed reads: "
            f"{fig['mount_requests']} → **{verdict(fig['pass'])}**. "
            f"Per file: clerkfs {fig['mount_s'] / fig['files'] * 1e6:.0f} µs,"
            f" local disk {fig['local_s'] / fig['files'] * 1e6:.0f} µs; one "
            f"request to a FUSE daemon costs {fig['round_trip_us']:.0f} µs "
            f"on this machine (20,000 `stat` calls of `.clerkfs/stats`), "
            f"and each `cat` needs at least one (its open).", ""]


def memory_lines(args, fig):
    if not fig:
        return [f"Memory: not measured (run with --users {MEMORY_USERS} or "
                "--memory).", ""]
    text = (f"**Memory** — {fig.get('listed', 0):,} of {fig['users']:,} "
            f"users listed (`ls users`) with cache_max={fig['cache_max']}: "
            f"peak RSS {fig.get('rss_mib', 0):.1f} MiB (bound < "
            f"{MEMORY_BOUND_MIB} MiB), {fig.get('requests', 0):,} requests, "
            f"{fig.get('rate_limited', 0)} 429s, "
            f"{fig.get('wall', 0):.1f} s → **{verdict(fig['pass'])}**")
    if fig.get("error"):
        text += f" (error: {fig['error']})"
    if fig.get("counters"):
        text += f" (clerkfs's counters: {fig['counters']})"
    return [text, ""]


def git_commit():
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse",
                               "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def sdk_version():
    try:
        meta = HERE / "node_modules" / "@clerk" / "backend" / "package.json"
        return json.loads(meta.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "(not installed)"


def tool_version(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True
                              ).stdout.split("\n")[0].strip()
    except OSError:
        return "(missing)"


# ---- main -----------------------------------------------------------------

def preflight(args):
    needed = ["fusermount3", "jq", "curl", "grep", "xargs"]
    if args.peers:
        needed.append("node")
    missing = [tool for tool in needed if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"bench: missing tools: {' '.join(missing)}")
    if SDK in args.peers and sdk_version() == "(not installed)":
        raise SystemExit("bench: @clerk/backend is not installed; run "
                         "`npm ci` in bench/ (bench/run does)")
    binary = os.environ.get("CLERKFS_BIN", str(REPO / "build" / "clerkfs"))
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"bench: no clerkfs binary at {binary}; set "
                         "CLERKFS_BIN or build it (bench/run does)")


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    preflight(args)
    started = datetime.datetime.now().astimezone()
    t0 = time.monotonic()
    out = pathlib.Path(args.out) if args.out else (
        HERE / "results" / f"{started:%Y%m%d-%H%M%S}.md")
    work = pathlib.Path(tempfile.mkdtemp(prefix="clerkfs-bench-"))
    bench = Bench(args, work)
    results, kernel, memory = {}, None, None
    try:
        bench.start()
        for number in args.workloads:
            say(f"workload {number}: {WORKLOADS[number]}")
            results[number] = RUNNERS[number](bench)
        if not args.no_kernel_cache:
            say("kernel-cache figure")
            kernel = kernel_cache_figure(bench)
        if args.memory or args.users >= MEMORY_USERS:
            say("memory figure")
            memory = memory_figure(bench)
    finally:
        bench.stop()
        if args.keep:
            say(f"outputs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    text = report(args, results, kernel, memory, started,
                  time.monotonic() - t0)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(text)
    say(f"report written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
