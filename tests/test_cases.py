"""The cases of CASES.md that the read and write sides must pass.

Each test is one case (B01, B02, B04, the profile.json half of B06, B08,
B09, B10, B12, the Retry-After half of B17, B18, the lookup half of B21,
the file-time half of B24): the state the case seeds in the local server,
the commands a person runs on the mount, and the results the case names.
Ids, names and values are the case's own.
"""

import errno
import json
import os
import re
import subprocess
import time

import pytest

from helpers import routes, sh
from mountctl import is_mounted, run_clerkfs
from test_write import canonical, python_save, run_vim

METADATA_ROUTE = "PUT /v1/users/{user_id}/metadata"
USER_ROUTE = "GET /v1/users/{user_id}"


class Case:
    """A small server seeded for one case, and clerkfs mounted on it."""

    def __init__(self, server, mount):
        self.server = server
        self.mount = mount
        self.root = mount.path

    def home(self, uid):
        return self.root / "users" / uid

    def sh(self, command, cwd=None, check=True, timeout=60):
        return sh(command, cwd=cwd or self.root, check=check,
                  timeout=timeout)

    def writes(self):
        return {k: v for k, v in routes(self.server).items()
                if not k.startswith("GET ")}

    def bodies(self, route):
        return [r["body"] for r in self.server.requests(route)]

    def public(self, uid):
        return self.server.get("users", uid)["public_metadata"]


@pytest.fixture
def case(make_server, make_mount):
    """case(users=[...], sessions=[...], server_args=[...], **options)."""

    def make(users=(), sessions=(), server_args=(), **options):
        server = make_server(users=2, extra_args=list(server_args))
        for user in users:
            server.put("users", user)
        for session in sessions:
            server.put("sessions", session)
        mount = make_mount(server, **options)
        server.reset()
        return Case(server, mount)

    return make


def stat_and_read(path):
    """(size from stat, mtime in ns, the bytes cat reads) of one file."""
    out = sh(f"stat -c '%s' '{path}'").stdout
    stamp = os.stat(path).st_mtime_ns
    data = subprocess.run(["cat", str(path)], capture_output=True,
                          check=True).stdout
    return int(out), stamp, data


# ---- B01: vim's :w sequence ----------------------------------------------

B01_USER = {"id": "user_2TstAda0001", "first_name": "Ada",
            "public_metadata": {"plan": "free"}}


@pytest.mark.parametrize("setup", [
    None, "set backupskip= backup writebackup backupcopy=no"],
    ids=["plain", "backup"])
def test_b01_vim_save_in_an_object_directory(case, setup):
    c = case(users=[B01_USER])
    home = c.home(B01_USER["id"])

    vim = run_vim(home, "public_metadata.json", "%s/free/pro/", "wq",
                  setup=setup)
    listing = c.sh("ls -a", cwd=home).stdout.split()

    assert vim.returncode == 0, vim.stdout
    for message in ("E667", "E212", "E72"):
        assert message not in vim.stdout, vim.stdout
    assert c.public(B01_USER["id"]) == {"plan": "pro"}
    assert "4913" not in listing
    assert ".public_metadata.json.swp" not in listing
    assert ("public_metadata.json~" in listing) == bool(setup)
    assert c.writes() == {METADATA_ROUTE: 1}
    for request in c.server.requests():
        assert not re.search(r"4913|swp|~|%7E", request["path"], re.I)


def test_b01_fsync_returns_after_the_remote_write(case):
    c = case(users=[B01_USER])
    home = c.home(B01_USER["id"])

    fd = os.open(home / "public_metadata.json", os.O_RDWR | os.O_TRUNC)
    os.write(fd, b'{"plan": "pro"}\n')
    os.fsync(fd)
    remote_at_fsync = c.public(B01_USER["id"])
    writes_at_fsync = c.writes()
    os.close(fd)

    scratch = os.open(home / ".public_metadata.json.swp",
                      os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    os.write(scratch, b"vim swap bytes")
    os.fsync(scratch)
    os.close(scratch)
    os.unlink(home / ".public_metadata.json.swp")

    assert remote_at_fsync == {"plan": "pro"}
    assert writes_at_fsync == {METADATA_ROUTE: 1}
    assert c.writes() == {METADATA_ROUTE: 1}     # close and scratch: none


# ---- B02: sed -i's temporary file, fchown and rename ----------------------

B02_USER = {"id": "user_2TstBo0002", "first_name": "Bo",
            "public_metadata": {"tier": "free", "seats": 3}}


def test_b02_sed_i_renames_its_temporary_file_over_the_original(case):
    c = case(users=[B02_USER])
    home = c.home(B02_USER["id"])
    path = home / "public_metadata.json"
    owner_mode = c.sh(f"stat -c '%U %a' '{path}'").stdout

    result = c.sh(f"sed -i 's/\"free\"/\"team\"/' '{path}'; echo rc=$?; "
                  f"ls -a '{home}'")

    assert result.stdout.startswith("rc=0\n")
    assert result.stderr == ""
    assert c.public(B02_USER["id"]) == {"tier": "team", "seats": 3}
    assert c.writes() == {METADATA_ROUTE: 1}
    assert not [n for n in result.stdout.split() if n.startswith("sed")]
    assert c.sh(f"stat -c '%U %a' '{path}'").stdout == owner_mode

    perl = c.sh(f"perl -pi -e 's/team/pro/' '{path}'; echo rc=$?")
    assert perl.stdout == "rc=0\n" and perl.stderr == ""
    assert c.public(B02_USER["id"]) == {"tier": "pro", "seats": 3}
    assert c.writes() == {METADATA_ROUTE: 2}
    assert c.sh(f"stat -c '%U %a' '{path}'").stdout == owner_mode


def test_b02_the_write_is_sent_at_the_rename(case):
    """sed's steps one by one: nothing reaches the API before rename."""
    c = case(users=[B02_USER])
    home = c.home(B02_USER["id"])
    temp = home / "sedAb12Cd"

    fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    os.write(fd, b'{\n  "tier": "team",\n  "seats": 3\n}\n')
    os.fchown(fd, os.getuid(), os.getgid())
    os.fchmod(fd, 0o600)
    os.close(fd)
    before_rename = c.writes()
    os.rename(temp, home / "public_metadata.json")

    assert before_rename == {}
    assert c.writes() == {METADATA_ROUTE: 1}
    assert c.public(B02_USER["id"]) == {"tier": "team", "seats": 3}
    assert "sedAb12Cd" not in os.listdir(home)


# ---- B04: shrinking a file, chunked writes --------------------------------

B04_TAGS = [f"short-tag-value-{i:03d}" for i in range(200)]
B04_USER = {"id": "user_2TstDi0004", "first_name": "Di",
            "public_metadata": {"tags": B04_TAGS}}


@pytest.fixture
def b04(case):
    c = case(users=[B04_USER])
    path = c.home(B04_USER["id"]) / "public_metadata.json"
    assert os.stat(path).st_size > 5000
    return c, path


def test_b04_printf_of_a_shorter_document(b04):
    c, path = b04

    c.sh(f"printf '{{\"tags\":[]}}' > '{path}'")

    assert c.public(B04_USER["id"]) == {"tags": []}
    size, _, data = stat_and_read(path)
    assert data == b'{\n  "tags": []\n}\n'
    assert size == len(data)


def test_b04_write_at_zero_then_ftruncate(b04):
    c, path = b04

    with open(path, "r+b") as f:
        f.write(b'{"tags":[]}')
        f.truncate(11)

    assert c.public(B04_USER["id"]) == {"tags": []}
    assert c.writes() == {METADATA_ROUTE: 1}
    size, _, data = stat_and_read(path)
    assert data == b'{\n  "tags": []\n}\n' and size == len(data)


def test_b04_dd_in_chunks_sends_one_full_body(b04, tmp_path):
    c, path = b04
    value = {"tags": [f"{t.upper()}-EXTRA" for t in B04_TAGS]}
    source = tmp_path / "big.json"
    source.write_text(canonical(value))
    assert source.stat().st_size > 6000

    c.sh(f"dd if='{source}' of='{path}' bs=1024 status=none")

    assert c.writes() == {METADATA_ROUTE: 1}
    assert c.bodies(METADATA_ROUTE) == [{"public_metadata": value}]
    assert c.public(B04_USER["id"]) == value
    assert json.loads(path.read_text()) == value


def test_b04_o_trunc_alone_changes_nothing_and_ftruncate_is_einval(b04):
    c, path = b04
    before = path.read_bytes()

    c.sh(f": > '{path}'")
    nothing = c.writes()
    kept = path.read_bytes()
    truncate = c.sh(f"truncate -s 0 '{path}'", check=False)

    assert nothing == {} and kept == before
    assert truncate.returncode != 0
    assert "Invalid argument" in truncate.stderr
    assert c.writes() == {}
    assert c.public(B04_USER["id"]) == {"tags": B04_TAGS}
    assert path.read_bytes() == before


def test_b04_truncate_by_path_acts_as_on_a_local_file(b04):
    c, path = b04
    before = path.read_bytes()

    errors = []
    for size in (1 << 40, len(before) + 100, 11):
        try:
            os.truncate(path, size)
            errors.append(0)
        except OSError as error:
            errors.append(error.errno)

    # Past the document limit; grown with zero bytes; cut mid-document:
    # none is a JSON document, so nothing is sent and nothing changes.
    assert errors == [errno.EFBIG, errno.EINVAL, errno.EINVAL]
    assert c.writes() == {}
    assert c.public(B04_USER["id"]) == {"tags": B04_TAGS}
    assert path.read_bytes() == before


# ---- B06: st_size of profile.json -----------------------------------------

B06_USER = {"id": "user_2TstZoe0006", "first_name": "Zoë",
            "last_name": "Ñúñez", "email_addresses": ["zoe@example.org"],
            "public_metadata": {"bio": "Café ☕ " * 300}}


def test_b06_profile_size_equals_the_bytes_read(case, tmp_path):
    c = case(users=[B06_USER], cache_ttl=1)
    path = c.home(B06_USER["id"]) / "profile.json"
    copy = tmp_path / "x.json"

    result = c.sh(f"f='{path}'; stat -c %s \"$f\"; cat \"$f\" | wc -c; "
                  f"cp \"$f\" '{copy}'; cmp <(cat \"$f\") '{copy}' && "
                  f"echo same")
    size, read, same = result.stdout.split()
    tail = subprocess.run(["tail", "-c", "40", str(path)],
                          capture_output=True, check=True).stdout

    data = path.read_bytes()
    assert int(size) == int(read) == len(data) == copy.stat().st_size
    assert len(data) > 4096             # more than one page
    assert '"first_name": "Zoë"' in data.decode()
    assert '"last_name": "Ñúñez"' in data.decode()
    assert same == "same"
    assert tail == data[-40:]

    c.server.patch("users", B06_USER["id"],
                   {"first_name": "Zoë-Éléonore"})
    time.sleep(1.5)
    size_before, stamp, data = stat_and_read(path)
    size_after = int(c.sh(f"stat -c %s '{path}'").stdout)
    remote = c.server.get("users", B06_USER["id"])

    assert '"first_name": "Zoë-Éléonore"' in data.decode()
    assert size_before == size_after == len(data)
    assert stamp == remote["updated_at"] * 1_000_000


# ---- B08: every cache layer expires with the TTL --------------------------

B08_OLD = {"id": "user_2TstOld0008", "first_name": "Ada",
           "email_addresses": ["ada.old@example.com"],
           "public_metadata": {"plan": "free"}}
B08_NEW = {"id": "user_2TstNew0008", "first_name": "Nia"}
TTL = 2


def test_b08_remote_creation_and_change_show_after_the_ttl(case):
    c = case(users=[B08_OLD], cache_ttl=TTL, negative_ttl=TTL)
    new = c.home(B08_NEW["id"])
    old = c.home(B08_OLD["id"]) / "profile.json"
    c.sh("ls users > /dev/null")
    missing = c.sh(f"stat '{new}'", check=False)
    assert "No such file or directory" in missing.stderr
    first = old.read_text()
    c.server.put("users", B08_NEW)
    c.server.patch("users", B08_OLD["id"], {"first_name": "Adaline"})

    early_size, early_stamp, early = stat_and_read(old)
    time.sleep(TTL + 1)
    listed = c.sh(f"ls users | grep -c {B08_NEW['id']}", check=False)
    created = c.sh(f"cat '{new}/profile.json'", check=False)
    size, stamp, data = stat_and_read(old)
    remote = c.server.get("users", B08_OLD["id"])

    assert early_size == len(early)
    if b"Adaline" not in early:             # still cached: old and whole
        assert early.decode() == first
    assert listed.stdout.strip() == "1"
    assert json.loads(created.stdout)["id"] == B08_NEW["id"]
    assert '"first_name": "Adaline"' in data.decode()
    assert size == len(data)
    assert stamp == remote["updated_at"] * 1_000_000


def test_b08_a_write_through_clerkfs_is_read_back_at_once(case):
    c = case(users=[B08_OLD], cache_ttl=60)
    by_id = c.home(B08_OLD["id"])
    by_email = c.home("ada.old@example.com")
    assert "free" in (by_id / "public_metadata.json").read_text()
    assert "free" in (by_email / "public_metadata.json").read_text()

    c.sh(f"echo '{{\"plan\": \"pro\"}}' > '{by_email}/public_metadata.json'")

    for home in (by_id, by_email):
        assert (home / "public_metadata.json").read_text() == \
            canonical({"plan": "pro"})
        assert json.loads((home / "profile.json").read_text())[
            "public_metadata"] == {"plan": "pro"}


# ---- B09: HTTP status -> errno ---------------------------------------------

B09_USER = {"id": "user_2TstErr0009", "first_name": "Err",
            "public_metadata": {"a": 1}}
B09_PROFILE = f"users/{B09_USER['id']}/profile.json"


def test_b09_404_is_enoent_without_retries(case):
    c = case()

    cat = c.sh(f"cat {B09_PROFILE}", check=False)
    test_e = c.sh(f"test -e {B09_PROFILE}", check=False)
    ls = c.sh("ls users/user_2TstNope", check=False)

    assert "No such file or directory" in cat.stderr
    assert test_e.returncode == 1
    assert "No such file or directory" in ls.stderr
    assert routes(c.server)[USER_ROUTE] == 2     # one per name, no retry


@pytest.mark.parametrize("status, message", [
    (401, "Permission denied"),
    (403, "Permission denied"),
    (500, "Input/output error"),
    (502, "Input/output error"),
    (503, "Input/output error"),
])
def test_b09_error_statuses_map_to_errno(case, status, message):
    c = case(users=[B09_USER], timeout=8)
    c.server.faults(route=USER_ROUTE, status=status, count=-1)

    cat = c.sh(f"cat {B09_PROFILE}", check=False)
    c.server.clear_faults()
    again = c.sh(f"cat {B09_PROFILE}", check=False)

    assert message in cat.stderr, cat.stderr
    assert again.returncode == 0, again.stderr     # failures not cached
    log = c.mount.log()
    assert c.server.key not in log
    if status == 401:
        assert re.search(r"check the (secret )?key", log, re.I), log


def test_b09_429_is_sent_again_until_the_deadline(case):
    c = case(users=[B09_USER], timeout=8)
    c.server.faults(route=USER_ROUTE, status=429, retry_after=1, count=-1)

    started = time.monotonic()
    cat = c.sh(f"cat {B09_PROFILE}", check=False)
    took = time.monotonic() - started
    c.server.clear_faults()

    # Not five attempts and out: a refusal is waited out while the
    # deadline allows, and only then is it EAGAIN.
    assert "Resource temporarily unavailable" in cat.stderr, cat.stderr
    assert 8 - 1.5 <= took < 8 + 3, took
    assert routes(c.server)[USER_ROUTE] >= 6


def test_b09_a_429_that_lifts_before_the_deadline_is_no_error(case):
    c = case(users=[B09_USER])
    c.server.faults(route=USER_ROUTE, status=429, retry_after=1, count=6)

    cat = c.sh(f"cat {B09_PROFILE}", check=False)

    assert cat.returncode == 0, cat.stderr
    assert json.loads(cat.stdout)["id"] == B09_USER["id"]
    assert routes(c.server)[USER_ROUTE] == 7


def test_b09_422_on_a_save_is_einval(case):
    c = case(users=[B09_USER])
    c.server.faults(route=METADATA_ROUTE, status=422)

    code = python_save(c.home(B09_USER["id"]) / "public_metadata.json",
                       '{"a": 2}')

    assert code == errno.EINVAL
    assert c.writes() == {METADATA_ROUTE: 1}


def test_b09_refused_connection_is_eio(case):
    c = case(users=[B09_USER], timeout=5)
    c.server.stop()

    cat = c.sh(f"cat {B09_PROFILE}", check=False)

    assert "Input/output error" in cat.stderr, cat.stderr


# ---- B10: refused saves surface at close and fsync ------------------------

B10_USER = {"id": "user_2TstGo0010", "first_name": "Go",
            "public_metadata": {"a": 1}}
OVERSIZED = json.dumps({"blob": "y" * 9000})


def test_b10_invalid_json_from_printf_fails_in_the_shell(case):
    c = case(users=[B10_USER])
    home = c.home(B10_USER["id"])

    result = c.sh(f"/usr/bin/printf '{{\"broken\": ' > "
                  f"'{home}/public_metadata.json'; echo rc=$?")

    assert "Invalid argument" in result.stderr
    assert result.stdout != "rc=0\n"
    assert c.writes() == {}
    assert c.public(B10_USER["id"]) == {"a": 1}
    assert (home / "public_metadata.json").read_text() == \
        canonical({"a": 1})


def test_b10_oversized_json_fails_close_and_fsync_with_einval(case):
    c = case(users=[B10_USER])
    path = c.home(B10_USER["id"]) / "public_metadata.json"

    at_close = python_save(path, OVERSIZED)
    one_close = c.writes()
    at_fsync = python_save(path, OVERSIZED, fsync=True)

    assert at_close == errno.EINVAL
    assert one_close == {METADATA_ROUTE: 1}      # no retry storm on a 4xx
    assert at_fsync == errno.EINVAL
    assert c.public(B10_USER["id"]) == {"a": 1}
    assert path.read_text() == canonical({"a": 1})
    for request in c.server.requests(METADATA_ROUTE):
        assert request["status"] == 422


def test_b10_vim_reports_the_refused_save(case, tmp_path):
    c = case(users=[B10_USER])
    home = c.home(B10_USER["id"])
    source = tmp_path / "big.json"
    source.write_text(OVERSIZED + "\n")

    vim = run_vim(home, "public_metadata.json", "%d", f"r {source}", "1d",
                  "wq")

    assert vim.returncode != 0
    assert re.search(r"E\d+:", vim.stdout), vim.stdout
    assert c.public(B10_USER["id"]) == {"a": 1}
    assert (home / "public_metadata.json").read_text() == \
        canonical({"a": 1})
    assert 1 <= c.writes().get(METADATA_ROUTE, 0) <= 2   # fsync, close


# ---- B12: an API that stops answering -------------------------------------

B12_HUNG = {"id": "user_2TstHng0012", "first_name": "Hung"}
B12_CACHED = {"id": "user_2TstOk0012", "first_name": "Cached"}


def test_b12_hung_api_fails_in_time_and_unmount_still_works(case):
    c = case(users=[B12_HUNG, B12_CACHED], timeout=5)
    cached = c.home(B12_CACHED["id"]) / "profile.json"
    cached.read_text()
    c.server.faults(route=USER_ROUTE, hang=True, count=-1)

    started = time.monotonic()
    hung = c.sh(f"ls users/{B12_HUNG['id']}/", check=False, timeout=60)
    took = time.monotonic() - started
    fast = time.monotonic()
    still = cached.read_text()
    cached_took = time.monotonic() - fast

    assert hung.returncode != 0
    assert ("Input/output error" in hung.stderr
            or "Connection timed out" in hung.stderr), hung.stderr
    assert took <= 5 + 2, took
    assert '"first_name": "Cached"' in still and cached_took < 1

    inside = subprocess.Popen(["sleep", "60"], cwd=c.root / "users")
    try:
        busy = subprocess.run(["fusermount3", "-u", str(c.root)],
                              capture_output=True, text=True)
        assert busy.returncode != 0
        assert "busy" in busy.stderr.lower(), busy.stderr
        assert is_mounted(c.root)
        assert B12_CACHED["id"] in os.listdir(c.root / "users")

        lazy = subprocess.run(["fusermount3", "-uz", str(c.root)],
                              capture_output=True, text=True)
        assert lazy.returncode == 0, lazy.stderr
        assert not is_mounted(c.root)
    finally:
        inside.kill()
        inside.wait()
        c.server.clear_faults()
    c.mount.proc.wait(timeout=10)

    again = run_clerkfs(c.server, c.root)
    try:
        deadline = time.monotonic() + 20
        while not is_mounted(c.root) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert is_mounted(c.root)
        assert B12_HUNG["id"] in os.listdir(c.root / "users")
    finally:
        subprocess.run(["fusermount3", "-u", str(c.root)], check=False)
        again.wait(timeout=20)


# ---- B17: a 429's Retry-After holds every request back -------------------

B17_USER = {"id": "user_2TstRet0017", "first_name": "Ret"}
B17_OTHER = {"id": "user_2TstOth0017", "first_name": "Oth"}
B17_WAIT_S = 2


@pytest.mark.parametrize("command, route", [
    (f"cat users/{B17_USER['id']}/profile.json", USER_ROUTE),
    ("ls users", "GET /v1/users"),
], ids=["get", "list"])
def test_b17_retry_after_pauses_the_whole_mount(case, command, route):
    c = case(users=[B17_USER, B17_OTHER])
    c.server.faults(route=route, status=429, retry_after=B17_WAIT_S)

    started = time.monotonic()
    first = subprocess.Popen(["bash", "-c", command], cwd=c.root,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    time.sleep(0.5)                             # inside the window
    other_started = time.monotonic()
    other = c.sh(f"cat users/{B17_OTHER['id']}/profile.json")
    out, err = first.communicate(timeout=30)
    took = time.monotonic() - started

    assert first.returncode == 0, err
    assert B17_USER["id"] in out
    assert json.loads(other.stdout)["id"] == B17_OTHER["id"]
    assert other_started - started < B17_WAIT_S
    assert took >= B17_WAIT_S
    log = c.server.requests()
    refused = [r for r in log if r["status"] == 429]
    assert len(refused) == 1 and refused[0]["route"] == route
    for request in log:
        if request is not refused[0]:
            assert request["t"] >= refused[0]["t"] + B17_WAIT_S - 0.05, \
                request
    assert [r["status"] for r in log].count(200) == len(log) - 1


def test_b17_requests_held_by_a_pause_leave_it_one_by_one(case):
    users = [{"id": f"user_2TstQue{i:04d}", "first_name": "Que"}
             for i in range(6)]
    c = case(users=users)
    c.server.faults(route=USER_ROUTE, status=429, retry_after=B17_WAIT_S)

    first = subprocess.Popen(["cat", f"users/{users[0]['id']}/profile.json"],
                             cwd=c.root, stdout=subprocess.DEVNULL)
    time.sleep(0.5)                             # inside the pause
    c.sh("for u in " + " ".join(u["id"] for u in users[1:]) +
         "; do cat users/$u/profile.json >/dev/null & done; wait")
    assert first.wait(timeout=30) == 0

    # The pause ended once for all six, yet they were sent spread out at
    # the limiter's pace (100 per 10 s: 0.1 s apart), not in one burst.
    times = sorted(r["t"] for r in c.server.requests(USER_ROUTE)
                   if r["status"] == 200)
    assert len(times) == 6
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.05, gaps


# ---- B18: the file is the whole metadata value -----------------------------

B18_USER = {"id": "user_2TstMeta018", "first_name": "Meta",
            "public_metadata": {"plan": "pro",
                                "flags": {"beta": True, "legacy": 1},
                                "tags": ["a", "b", "c"]},
            "private_metadata": {"crm": "X-1"}}


def test_b18_deleted_keys_are_deleted_remotely(case):
    c = case(users=[B18_USER], cache_ttl=1)
    uid = B18_USER["id"]
    home = c.home(uid)
    path = home / "public_metadata.json"

    def after_ttl():
        time.sleep(1.5)
        return json.loads(path.read_text())

    c.sh("sed -i -e 's/\"beta\": true,/\"beta\": true/' "
         "-e '/\"legacy\": 1/d' -e 's/\"a\",/\"a\"/' "
         "-e '/^    \"[bc]\",\\?$/d' public_metadata.json", cwd=home)
    first = {"plan": "pro", "flags": {"beta": True}, "tags": ["a"]}
    assert c.public(uid) == first
    assert c.bodies(METADATA_ROUTE) == [{"public_metadata": first}]
    assert after_ttl() == first

    c.sh("cat > public_metadata.json <<'EOF'\n"
         '{"plan": "pro", "note": null}\nEOF', cwd=home)
    assert c.public(uid) == {"plan": "pro"}
    assert after_ttl() == {"plan": "pro"}

    temp = home / "next.json"
    temp.write_text("{}\n")
    os.replace(temp, path)
    assert c.public(uid) == {}
    assert after_ttl() == {}

    assert c.writes() == {METADATA_ROUTE: 3}
    assert c.server.get("users", uid)["private_metadata"] == {"crm": "X-1"}
    assert (home / "private_metadata.json").read_text() == \
        canonical({"crm": "X-1"})


def test_b18_a_save_replaces_a_key_added_remotely_meanwhile(case):
    c = case(users=[B18_USER])
    uid = B18_USER["id"]
    path = c.home(uid) / "public_metadata.json"

    with open(path, "r+") as f:
        doc = json.loads(f.read())
        c.server.patch("users", uid, {"public_metadata": dict(
            B18_USER["public_metadata"], remote=1)})
        doc["plan"] = "team"
        f.seek(0)
        f.truncate()
        f.write(json.dumps(doc))

    # The file is the whole value: what was saved is what is stored.
    assert c.public(uid) == doc
    assert "remote" not in c.public(uid)


# ---- B21: sessions by user, and by id whatever the status ----------------

B21_USER = {"id": "user_2TstSes0021", "first_name": "Ses"}
B21_SESSIONS = [
    {"id": "sess_2TstAct0021", "user_id": "user_2TstSes0021",
     "status": "active"},
    {"id": "sess_2TstRev0021", "user_id": "user_2TstSes0021",
     "status": "revoked"},
    {"id": "sess_2TstExp0021", "user_id": "user_2TstSes0021",
     "status": "expired"},
]


def test_b21_sessions_listing_and_lookup(case):
    c = case(users=[B21_USER], sessions=B21_SESSIONS)

    listed = c.sh(f"ls sessions/{B21_USER['id']}/").stdout.split()
    shown = {s["id"]: json.loads(c.sh(f"cat sessions/{s['id']}.json").stdout)
             for s in B21_SESSIONS}
    raw = c.sh("cat sessions/sess_2TstRev0021.json").stdout

    assert listed == ["sess_2TstAct0021.json"]
    for session in B21_SESSIONS:
        assert shown[session["id"]]["status"] == session["status"]
    assert '"status": "revoked"' in raw
    for request in c.server.requests("GET /v1/sessions"):
        assert "user_id" in request["query"] or \
            "client_id" in request["query"], request
    missing = c.sh("cat sessions/sess_2TstNope0021.json", check=False)
    assert "No such file or directory" in missing.stderr


# ---- B24: times are milliseconds ------------------------------------------

B24_USER = {"id": "user_2TstTim0024", "first_name": "Tim",
            "created_at": 1700000000123, "updated_at": 1700003600456,
            "last_sign_in_at": None}


def test_b24_file_times_are_milliseconds(case):
    c = case(users=[B24_USER])
    home = f"users/{B24_USER['id']}"

    for path in (f"{home}/profile.json", f"{home}/public_metadata.json",
                 home):
        seconds, stamp = c.sh(f"stat -c '%Y %y' {path}").stdout.split(" ", 1)
        assert seconds == "1700003600", path
        assert ".456000000" in stamp, stamp
    profile = json.loads(c.sh(f"cat {home}/profile.json").stdout)
    assert profile["created_at"] == 1700000000123
    assert profile["last_sign_in_at"] is None
