"""Mounting clerkfs: options, the secret key, errors at startup, unmount.

A person starts clerkfs with a key and a mount point, and expects it
either to mount or to exit at once with a message naming the cause: a key
that is missing, refused or stored in a file others can read; an API that
cannot be reached; a plain-http URL that would send the key in clear.
Once mounted, the options shape what it does (page size, rate, timeout,
read-only, allow_other), and unmounting ends the process cleanly.
"""

import collections
import os
import pathlib
import re
import signal
import stat
import subprocess
import tempfile
import time

import pytest

from helpers import routes, sh
from mountctl import BINARY, is_mounted, run_clerkfs
from serverctl import start_server

EXIT_WAIT_S = 30


@pytest.fixture
def mountpoint():
    path = pathlib.Path(tempfile.mkdtemp(prefix="clerkfs-test-mnt-"))
    yield path
    if is_mounted(path):
        subprocess.run(["fusermount3", "-uz", str(path)], check=False)
    try:
        path.rmdir()
    except OSError:
        pass


@pytest.fixture
def key_file():
    """A file holding a key, removed after the test."""
    files = []

    def make(key, mode):
        fd, name = tempfile.mkstemp(prefix="clerkfs-key-")
        os.write(fd, (key + "\n").encode())
        os.close(fd)
        os.chmod(name, mode)
        files.append(name)
        return name

    yield make
    for name in files:
        os.unlink(name)


def finish(proc, timeout=EXIT_WAIT_S):
    """Waits for a clerkfs that should exit; returns (code, its log)."""
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.wait(timeout=10)
        raise AssertionError(f"clerkfs still running after {timeout} s")
    return code, pathlib.Path(proc.log_path).read_text(errors="replace")


def mount_line(path):
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            fields = line.split()
            if fields[1] == os.path.realpath(path):
                return fields
    return None


def wait_mounted(path, proc=None, timeout=30):
    deadline = time.monotonic() + timeout
    while not is_mounted(path):
        if proc is not None and proc.poll() is not None:
            return False
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def daemon_pids(path):
    """Pids of clerkfs processes serving path (found in /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if str(path).encode() in args and args[0].endswith(b"clerkfs"):
            pids.append(int(entry))
    return pids


def wait_gone(pids, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not [p for p in pids if os.path.exists(f"/proc/{p}")
                and _state(p) != "Z"]:
            return True
        time.sleep(0.1)
    return False


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


# ---- mounting and unmounting ---------------------------------------------

def test_mount_shows_the_tree_and_unmounts_cleanly(make_server, mountpoint):
    server = make_server(users=5, orgs=2)
    proc = run_clerkfs(server, mountpoint)
    assert wait_mounted(mountpoint, proc), finish(proc)[1]

    fields = mount_line(mountpoint)
    top = sorted(os.listdir(mountpoint))
    unmount = subprocess.run(["fusermount3", "-u", str(mountpoint)],
                             capture_output=True, text=True)
    code, log = finish(proc)

    assert fields[2] == "fuse.clerkfs"
    assert "127.0.0.1" in fields[0]
    assert top == sorted([".clerkfs", "users", "orgs", "members",
                          "email_addresses", "sessions", "search"])
    assert unmount.returncode == 0, unmount.stderr
    assert code == 0, log
    assert not is_mounted(mountpoint)
    assert os.listdir(mountpoint) == []


def test_sigterm_unmounts_and_exits(make_server, mountpoint):
    server = make_server(users=5)
    proc = run_clerkfs(server, mountpoint)
    assert wait_mounted(mountpoint, proc), finish(proc)[1]
    assert len(os.listdir(mountpoint / "users")) == 5

    proc.send_signal(signal.SIGTERM)
    code, log = finish(proc)

    # It ends by itself (libfuse's loop returns non-zero after a signal,
    # as sshfs does), not killed by the signal, and leaves no mount.
    assert code >= 0, log
    assert "mounted" in log
    assert not is_mounted(mountpoint)
    assert os.listdir(mountpoint) == []


def test_background_mount_checks_the_key_before_detaching(make_server,
                                                          mountpoint):
    server = make_server(users=4)
    env = dict(os.environ, CLERK_SECRET_KEY="sk_test_not_the_key")

    refused = subprocess.run(
        [str(BINARY), "-o", f"api_url={server.url}", str(mountpoint)],
        env=env, capture_output=True, text=True, timeout=EXIT_WAIT_S)

    assert refused.returncode != 0
    assert "refused" in refused.stderr
    assert not is_mounted(mountpoint)

    env["CLERK_SECRET_KEY"] = server.key
    started = subprocess.run(
        [str(BINARY), "-o", f"api_url={server.url}", str(mountpoint)],
        env=env, capture_output=True, text=True, timeout=EXIT_WAIT_S)
    assert started.returncode == 0, started.stderr
    assert is_mounted(mountpoint)
    pids = daemon_pids(mountpoint)
    try:
        assert len(os.listdir(mountpoint / "users")) == 4
    finally:
        subprocess.run(["fusermount3", "-u", str(mountpoint)], check=False)
        gone = wait_gone(pids)
        for pid in pids:
            if not gone and os.path.exists(f"/proc/{pid}"):
                os.kill(pid, signal.SIGTERM)
    assert gone, "the background clerkfs did not exit after unmount"


def test_mount_fuse3_mounts_from_an_fstab_line(make_server, mountpoint,
                                               key_file):
    server = make_server(users=3)
    key = key_file(server.key, 0o600)
    options = f"key_file={key},api_url={server.url},nofail"

    result = subprocess.run(
        ["env", "-i", "/sbin/mount.fuse3", f"{BINARY}#clerk",
         str(mountpoint), "-o", options],
        capture_output=True, text=True, timeout=EXIT_WAIT_S)
    pids = daemon_pids(mountpoint)
    try:
        assert result.returncode == 0, result.stderr
        assert mount_line(mountpoint)[2] == "fuse.clerkfs"
        assert len(os.listdir(mountpoint / "users")) == 3
    finally:
        subprocess.run(["fusermount3", "-u", str(mountpoint)], check=False)
        gone = wait_gone(pids)
        for pid in pids:
            if not gone and os.path.exists(f"/proc/{pid}"):
                os.kill(pid, signal.SIGTERM)
    assert gone


# ---- the key and the API at startup ---------------------------------------

def test_wrong_key_exits_saying_the_key_was_refused(make_server,
                                                     mountpoint):
    server = make_server(users=2)
    wrong = "sk_test_wrong_key_0000"

    proc = run_clerkfs(server, mountpoint, key=wrong)
    code, log = finish(proc)

    assert code != 0
    assert "refused" in log.lower() and "key" in log.lower(), log
    assert wrong not in log         # the key is never logged
    assert not is_mounted(mountpoint)
    assert routes(server) == {"GET /v1/users": 1}


def test_missing_key_exits_naming_the_cause(make_server, mountpoint):
    server = make_server()

    proc = run_clerkfs(server, mountpoint, key=False)
    code, log = finish(proc)

    assert code != 0
    assert "CLERK_SECRET_KEY" in log, log
    assert not is_mounted(mountpoint)
    assert routes(server) == {}


def test_unreachable_server_exits_saying_so(mountpoint):
    gone = start_server()
    url = gone.url
    gone.stop()
    closed = type("Closed", (), {"url": url, "key": "sk_test_clerkfs"})

    started = time.monotonic()
    proc = run_clerkfs(closed, mountpoint, timeout=5)
    code, log = finish(proc)

    assert code != 0
    assert "cannot reach" in log, log
    assert time.monotonic() - started < 15
    assert not is_mounted(mountpoint)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644], ids=oct)
def test_key_file_readable_by_others_is_refused(make_server, mountpoint,
                                                key_file, mode):
    server = make_server()
    path = key_file(server.key, mode)

    proc = run_clerkfs(server, mountpoint, key=False, key_file=path)
    code, log = finish(proc)

    assert code != 0
    assert "readable by group or others" in log, log
    assert server.key not in log
    assert not is_mounted(mountpoint)
    assert routes(server) == {}


def test_wrong_key_is_reported_once(make_server, mountpoint):
    server = make_server(users=2)

    code, log = finish(run_clerkfs(server, mountpoint, key="sk_test_no"))

    assert code != 0
    assert len([line for line in log.splitlines() if "refused" in line]) \
        == 1, log


def test_unreachable_server_is_reported_once(mountpoint):
    gone = start_server()
    url = gone.url
    gone.stop()
    closed = type("Closed", (), {"url": url, "key": "sk_test_clerkfs"})

    code, log = finish(run_clerkfs(closed, mountpoint, timeout=3))

    assert code != 0
    assert len(log.strip().splitlines()) == 1, log
    assert "cannot reach" in log, log


def test_key_file_that_is_a_directory_is_not_a_regular_file(
        make_server, mountpoint, tmp_path):
    server = make_server()
    tmp_path.chmod(0o777)

    code, log = finish(run_clerkfs(server, mountpoint, key=False,
                                   key_file=tmp_path))

    assert code != 0
    assert "not a regular file" in log, log
    assert "chmod" not in log
    assert routes(server) == {}


def test_empty_key_file_is_refused_before_any_request(make_server,
                                                      mountpoint, key_file):
    server = make_server()
    path = key_file("  ", 0o600)

    code, log = finish(run_clerkfs(server, mountpoint, key=False,
                                   key_file=path))

    assert code != 0
    assert "the key file is empty" in log, log
    assert "refused" not in log
    assert routes(server) == {}


@pytest.mark.parametrize("bad", ["\r\nX-Evil: 1", "\nX-Evil: 1", "\t1",
                                 "\x1b[0m"], ids=repr)
def test_key_with_control_characters_is_never_sent(make_server, mountpoint,
                                                   bad):
    server = make_server()
    key = server.key + bad

    code, log = finish(run_clerkfs(server, mountpoint, key=key))

    assert code != 0
    assert "control character" in log, log
    assert key not in log and server.key not in log
    assert routes(server) == {}
    assert not is_mounted(mountpoint)


@pytest.mark.parametrize("mode", [0o600, 0o400], ids=oct)
def test_key_file_of_the_owner_alone_mounts(make_server, make_mount,
                                            key_file, mode):
    server = make_server(users=3)
    path = key_file(server.key, mode)

    mount = make_mount(server, key=False, key_file=path)

    assert len(os.listdir(mount.path / "users")) == 3
    assert server.key not in mount.log()


@pytest.mark.parametrize("url", ["http://192.0.2.10/v1",
                                 "http://api.example.com:8080/v1",
                                 "http://127.example.com/v1"])
def test_plain_http_to_another_host_is_refused(make_server, mountpoint,
                                               url):
    server = make_server()
    remote = type("Remote", (), {"url": url, "key": server.key})

    proc = run_clerkfs(remote, mountpoint)
    code, log = finish(proc, timeout=10)

    assert code != 0
    assert "plain http" in log, log
    assert not is_mounted(mountpoint)


def test_plain_http_to_localhost_is_allowed(make_server, make_mount):
    server = make_server(users=2)
    local = type("Local", (), {
        "url": f"http://localhost:{server.port}/v1", "key": server.key})

    mount = make_mount(local)

    assert len(os.listdir(mount.path / "users")) == 2


@pytest.mark.parametrize("option", ["page_size=0", "page_size=501",
                                    "rate=ten", "cache_max=lots",
                                    "cache_ttl=-1", "connect_timeout=-3",
                                    "negative_ttl=1e9", "cache_ttl=nan",
                                    "cache_ttl=99999999999", "timeout=0",
                                    "connect_timeout=0", "timeout=7200",
                                    "page_size=7x", "cache_ttl=2junk",
                                    "cache_ttl=0x10", "cache_ttl= 5",
                                    "timeout=1e3"])
def test_bad_option_values_exit_naming_the_option(make_server, mountpoint,
                                                  option):
    server = make_server()
    name, value = option.split("=")

    proc = run_clerkfs(server, mountpoint, **{name: value})
    code, log = finish(proc)

    assert code != 0
    assert name in log, log
    assert not is_mounted(mountpoint)


@pytest.mark.parametrize("option, allowed", [
    ("cache_ttl=-1", "0 to 86400 seconds"),
    ("negative_ttl=1e9", "0 to 86400 seconds"),
    ("timeout=0", "more than 0 and at most 3600 seconds"),
    ("connect_timeout=-3", "more than 0 and at most 3600 seconds"),
])
def test_out_of_range_times_name_the_allowed_range(make_server, mountpoint,
                                                   option, allowed):
    server = make_server()
    name, value = option.split("=")

    code, log = finish(run_clerkfs(server, mountpoint, **{name: value}))

    assert code != 0
    assert f"{name} must be {allowed}" in log, log
    assert routes(server) == {}


def test_help_and_version():
    helped = subprocess.run([str(BINARY), "--help"], capture_output=True,
                            text=True, timeout=10)
    version = subprocess.run([str(BINARY), "--version"],
                             capture_output=True, text=True, timeout=10)

    assert helped.returncode == 0
    for option in ("key_file", "api_url", "cache_ttl", "negative_ttl",
                   "timeout", "rate", "page_size", "ro", "allow_other",
                   "allow_delete", "-f ", "-d "):
        assert option in helped.stdout
    assert version.returncode == 0
    assert version.stdout.startswith("clerkfs ")


# ---- options -------------------------------------------------------------

def test_page_size_sets_the_list_limit(make_server, make_mount):
    server = make_server(users=30)
    mount = make_mount(server, page_size=7)
    server.reset()

    names = os.listdir(mount.path / "users")

    assert len(names) == 30
    sent = routes(server)
    assert sent["GET /v1/users"] == 5, sent     # 7+7+7+7+2
    assert sent.get("GET /v1/users/count", 0) <= 1
    for request in server.requests("GET /v1/users"):
        assert request["query"]["limit"] == ["7"], request


def test_rate_paces_requests_in_a_sliding_window(make_server, make_mount):
    server = make_server(users=20, rate="6/2")
    mount = make_mount(server, rate="5/2", page_size=2)
    time.sleep(2.1)                 # let the key check leave the window
    server.reset()

    started = time.monotonic()
    names = os.listdir(mount.path / "users")
    took = time.monotonic() - started

    assert len(names) == 20
    stats = server.stats()
    assert stats["routes"]["GET /v1/users"] in (10, 11)
    assert stats["rate_limited"] == 0
    arrivals = [r["t"] for r in server.requests()]
    for first, sixth in zip(arrivals, arrivals[5:]):
        assert sixth - first >= 2.0 - 0.05     # arrival jitter allowed
    assert took >= 2.0              # ten requests, five per two seconds


def test_read_only_mount_refuses_every_change(make_server, make_mount):
    server = make_server(users=3)
    mount = make_mount(server, ro=True)
    uid = sorted(os.listdir(mount.path / "users"))[0]
    server.reset()
    home = f"users/{uid}"

    fields = mount_line(mount.path)
    commands = [
        f"echo '{{}}' > {home}/public_metadata.json",
        f"echo true > {home}/banned",
        f"touch {home}/scratch",
        "mkdir users/new@example.com",
        f"rm {home}/profile.json",
    ]
    for command in commands:
        result = sh(command, cwd=mount.path, check=False)
        assert result.returncode != 0, command
        assert "Read-only file system" in result.stderr, command

    assert "ro" in fields[3].split(",")
    assert not [k for k in routes(server) if not k.startswith("GET ")]
    assert (mount.path / home / "banned").read_text() == "false\n"


def test_read_only_mount_shows_no_write_permission(make_server, make_mount):
    server = make_server(users=1, orgs=1)
    mount = make_mount(server, ro=True)
    uid = os.listdir(mount.path / "users")[0]

    modes = {path: stat.S_IMODE(os.stat(mount.path / path).st_mode)
             for path in ("", "users", f"users/{uid}", "orgs",
                          f"users/{uid}/profile.json",
                          f"users/{uid}/public_metadata.json",
                          f"users/{uid}/banned")}
    listed = sh("ls -l", cwd=mount.path / "users" / uid).stdout

    for path, mode in modes.items():
        is_dir = os.path.isdir(mount.path / path)
        assert mode == (0o500 if is_dir else 0o400), (path, oct(mode))
    assert "-rw-" not in listed and "drwx" not in listed, listed


def test_allow_other_turns_on_default_permissions(make_server, make_mount):
    server = make_server(users=2)

    mount = make_mount(server, allow_other=True)

    options = mount_line(mount.path)[3].split(",")
    assert "allow_other" in options
    assert "default_permissions" in options


def test_stopped_server_fails_within_timeout_then_recovers(make_server,
                                                           make_mount):
    first = make_server(users=12, seed=3)
    mount = make_mount(first, timeout=2)
    port = first.port
    first.stop()

    started = time.monotonic()
    failed = sh("ls users", cwd=mount.path, check=False, timeout=60)
    took = time.monotonic() - started

    # A refused connection is EIO once no retry fits before the deadline,
    # never ETIMEDOUT: nothing was waited for but the backoff.
    assert failed.returncode != 0
    assert "Input/output error" in failed.stderr, failed.stderr
    assert took < 2 + 1, took
    assert "GET /users failed: cannot reach the API" in mount.log()

    second = make_server(port=port, users=12, seed=3)
    again = sh("ls users | wc -l", cwd=mount.path, check=False)
    assert again.stdout.strip() == "12", again.stderr
    assert routes(second).get("GET /v1/users", 0) >= 1
    assert is_mounted(mount.path)


def test_debug_logs_each_request_and_never_the_key(make_server,
                                                   make_mount):
    server = make_server(users=12, orgs=3)
    mount = make_mount(server, page_size=5, extra_args=["-d"])
    server.faults(route="GET /v1/organizations", status=503, count=1)

    sh("ls users orgs > /dev/null; cat users/user_doesnotexist/profile.json",
       cwd=mount.path, check=False)

    log = mount.log()
    logged = collections.Counter(
        (method, "/v1" + route, int(status)) for method, route, status in
        re.findall(r"^clerkfs: debug: ([A-Z]+) (/\S+): HTTP (\d+) in "
                   r"\d+ ms", log, re.M))
    received = collections.Counter(
        (r["method"], r["route"].split(" ", 1)[1], r["status"])
        for r in server.requests())     # the key check at startup too
    assert logged == received
    assert logged[("GET", "/v1/organizations", 503)] == 1
    assert logged[("GET", "/v1/users/{user_id}", 404)] == 1
    assert "(retry 1)" in log
    assert server.key not in log
