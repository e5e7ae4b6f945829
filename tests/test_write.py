"""Saving users and organizations with editors and tools (issue 3).

Each test starts a small instance of its own holding a known user (Ada),
mounts clerkfs on it, edits a file the way a person would (vim, sed -i,
perl -pi, nano, cp, tee, a shell redirection, jq and mv, Python), and then
checks three things: what the tool reported, what the server received
(its statistics and the bodies in its request log), and what the files
show afterwards.
"""

import errno
import json
import os
import re
import subprocess
import tempfile
import time

import pytest

from helpers import interrupted_after, routes, sh, wait_for

BIG_INT = 1234567890123456789
METADATA_ROUTE = "PUT /v1/users/{user_id}/metadata"
PATCH_ROUTE = "PATCH /v1/users/{user_id}"
BAN_ROUTE = "POST /v1/users/{user_id}/ban"
ORG_METADATA_ROUTE = "PUT /v1/organizations/{organization_id}/metadata"
MEMBER_ROUTE = "PATCH /v1/organizations/{organization_id}/memberships/" \
    "{user_id}"

ADA = {
    "id": "user_2TstAda0001",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "username": "ada_l",
    "email_addresses": ["ada@example.com", "countess@example.org"],
    "phone_numbers": ["+15550100"],
    "public_metadata": {"plan": "free"},
    "private_metadata": {"crm": "X-1"},
    "created_at": 1700000000123,
    "updated_at": 1700003600456,
}

ORG = {
    "id": "org_2TstAcme0001",
    "name": "Acme, Inc.",
    "slug": "acme",
    "public_metadata": {"tier": "free"},
    "private_metadata": {"billing": "inv-7"},
}


# ---- an instance holding Ada ----------------------------------------------

class Instance:
    """A small server with Ada (and Acme), and clerkfs mounted on it."""

    def __init__(self, server, mount, user):
        self.server = server
        self.mount = mount
        self.root = mount.path
        self.uid = user["id"]
        self.home = mount.path / "users" / user["id"]

    def sh(self, command, check=True, timeout=60):
        return sh(command, cwd=self.home, check=check, timeout=timeout)

    def user(self):
        return self.server.get("users", self.uid)

    def writes(self):
        """Requests other than GET since the last reset, by route."""
        return {k: v for k, v in routes(self.server).items()
                if not k.startswith("GET ")}

    def bodies(self, route):
        return [r["body"] for r in self.server.requests(route)]

    def paths(self):
        return [r["path"] for r in self.server.requests()]

    def read(self, name):
        return (self.home / name).read_text()

    def errors(self):
        return (self.root / ".clerkfs" / "errors").read_text()


@pytest.fixture
def instance(make_server, make_mount):
    """instance(user=ADA, public=..., server_args=[...], **options)."""

    def make(user=None, public=None, private=None, server_args=(),
             **options):
        user = dict(user or ADA)
        if public is not None:
            user["public_metadata"] = public
        if private is not None:
            user["private_metadata"] = private
        server = make_server(users=3, extra_args=list(server_args))
        server.put("users", user)
        server.put("organizations", dict(ORG, created_by=user["id"]))
        server.put("memberships", {"organization_id": ORG["id"],
                                   "user_id": user["id"],
                                   "role": "org:admin"})
        mount = make_mount(server, **options)
        server.reset()
        return Instance(server, mount, user)

    return make


def canonical(value):
    """A value rendered as clerkfs renders JSON files (as jq prints)."""
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def python_save(path, text, fsync=False):
    """Writes text to path with Python; the errno of the first failing
    call (open, write, fsync or close), or 0."""
    try:
        f = open(path, "w", encoding="utf-8")
    except OSError as error:
        return error.errno
    try:
        f.write(text)
        f.flush()
        if fsync:
            os.fsync(f.fileno())
    except OSError as error:
        try:
            f.close()
        except OSError:
            pass
        return error.errno
    try:
        f.close()
    except OSError as error:
        return error.errno
    return 0


# ---- vim -----------------------------------------------------------------

def run_vim(directory, name, *commands, setup=None, timeout=60):
    """vim -u NONE on a pseudo-terminal (through script(1)), as a person
    would run it; the last -c cq makes a failed :wq exit non-zero
    instead of waiting for input."""
    parts = ["vim", "-u", "NONE"]
    if setup:
        parts += ["-c", f"'{setup}'"]
    for command in commands:
        parts += ["-c", f"'{command}'"]
    parts += ["-c", "cq", name]
    env = dict(os.environ, TERM="xterm")
    return subprocess.run(
        ["script", "-qec", " ".join(parts), "/dev/null"], cwd=directory,
        env=env, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL)


VIM_SETUPS = {
    "plain": None,
    "backupcopy=yes": "set backup writebackup backupcopy=yes",
    "backupcopy=no": "set backup writebackup backupcopy=no",
    "backupcopy=auto": "set backup writebackup backupcopy=auto",  # 4913
    "writebackup only": "set nobackup writebackup backupcopy=no",
}
# The mount lives under /tmp, which vim's default 'backupskip' excludes.
NO_SKIP = "set backupskip="


@pytest.mark.parametrize("setup", list(VIM_SETUPS))
def test_vim_saves_metadata_with_one_request(instance, setup):
    ada = instance()

    setup_line = "|".join(filter(None, [NO_SKIP, VIM_SETUPS[setup]]))

    result = run_vim(ada.home, "public_metadata.json", "%s/free/pro/", "wq",
                     setup=setup_line)

    assert result.returncode == 0, result.stdout
    assert not re.search(r"E\d{2,3}:", result.stdout), result.stdout
    assert ada.user()["public_metadata"] == {"plan": "pro"}
    assert ada.writes() == {METADATA_ROUTE: 1}
    assert ada.bodies(METADATA_ROUTE) == [{"public_metadata": {"plan":
                                                               "pro"}}]
    for path in ada.paths():                # no scratch name reached it
        assert not re.search(r"4913|swp|~|%7E", path, re.I), path
    names = os.listdir(ada.home)
    assert "4913" not in names
    assert ".public_metadata.json.swp" not in names
    backup = "public_metadata.json~"
    if "set backup" in (VIM_SETUPS[setup] or ""):
        assert backup in names
        assert ada.read(backup) == canonical({"plan": "free"})
    else:
        assert backup not in names
    assert ada.read("public_metadata.json") == canonical({"plan": "pro"})
    assert ada.user()["private_metadata"] == {"crm": "X-1"}


# ---- sed, perl and nano --------------------------------------------------

@pytest.mark.parametrize("command, backup", [
    ("sed -i 's/free/pro/' public_metadata.json", None),
    ("sed -i.bak 's/free/pro/' public_metadata.json",
     "public_metadata.json.bak"),
    ("perl -pi -e 's/free/pro/' public_metadata.json", None),
    ("perl -pi.bak -e 's/free/pro/' public_metadata.json",
     "public_metadata.json.bak"),
])
def test_in_place_tools_change_the_value_once(instance, command, backup):
    ada = instance()
    mode = ada.sh("stat -c '%U %a' public_metadata.json").stdout

    result = ada.sh(command, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert ada.user()["public_metadata"] == {"plan": "pro"}
    assert ada.writes() == {METADATA_ROUTE: 1}
    assert ada.bodies(METADATA_ROUTE) == [{"public_metadata": {"plan":
                                                               "pro"}}]
    names = set(os.listdir(ada.home))
    assert not [n for n in names if n.startswith("sed")], names
    assert ada.read("public_metadata.json") == canonical({"plan": "pro"})
    assert ada.sh("stat -c '%U %a' public_metadata.json").stdout == mode
    if backup:
        assert backup in names
        assert ada.read(backup) == canonical({"plan": "free"})
        assert ada.user()["public_metadata"] == {"plan": "pro"}
    extra = names - {"profile.json", "public_metadata.json",
                     "private_metadata.json", "unsafe_metadata.json",
                     "banned", "locked", "email_addresses", "sessions",
                     "organizations"}
    assert extra == ({backup} if backup else set())


class Tmux:
    """A private tmux server to drive an interactive program."""

    def __init__(self):
        self.socket = f"clerkfs-test-{os.getpid()}-{time.monotonic_ns()}"

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.socket, *args],
                              capture_output=True, text=True, timeout=30)

    def start(self, command, cwd):
        self.tmux("new-session", "-d", "-x", "100", "-y", "30", "-c",
                  str(cwd), command + "; sleep 0.2")

    def screen(self):
        return self.tmux("capture-pane", "-p").stdout

    def wait_for(self, text, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.screen():
                return True
            time.sleep(0.05)
        return False

    def keys(self, *keys):
        self.tmux("send-keys", *keys)

    def running(self):
        return self.tmux("has-session").returncode == 0

    def wait_exit(self, timeout=15):
        deadline = time.monotonic() + timeout
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.running()

    def stop(self):
        self.tmux("kill-server")


def test_nano_saves_metadata_once(instance):
    ada = instance()
    tmux = Tmux()
    try:
        tmux.start("nano --locking public_metadata.json", ada.home)
        assert tmux.wait_for('"plan": "free"'), tmux.screen()
        lock = ".public_metadata.json.swp" in os.listdir(ada.home)
        tmux.keys("C-\\")                       # replace
        assert tmux.wait_for("Search (to replace)"), tmux.screen()
        tmux.keys("free", "Enter")
        assert tmux.wait_for("Replace with"), tmux.screen()
        tmux.keys("pro", "Enter")
        assert tmux.wait_for("Replace this instance?"), tmux.screen()
        tmux.keys("a")                          # all
        tmux.keys("C-o")                        # write out
        assert tmux.wait_for("File Name to Write"), tmux.screen()
        tmux.keys("Enter")
        assert tmux.wait_for("Wrote"), tmux.screen()
        tmux.keys("C-x")
        assert tmux.wait_exit(), tmux.screen()
    finally:
        tmux.stop()

    assert lock, "nano --locking could not create its lock file"
    assert ada.user()["public_metadata"] == {"plan": "pro"}
    assert ada.writes() == {METADATA_ROUTE: 1}
    assert ".public_metadata.json.swp" not in os.listdir(ada.home)
    assert ada.read("public_metadata.json") == canonical({"plan": "pro"})


# ---- whole-file writers ----------------------------------------------------

NEW = '{"plan": "pro"}'

WRITERS = {
    "cp": f"printf '%s\\n' '{NEW}' > /tmp/new-$$.json && "
          "cp /tmp/new-$$.json public_metadata.json; rc=$?; "
          "rm -f /tmp/new-$$.json; exit $rc",
    "tee": f"echo '{NEW}' | tee public_metadata.json > /dev/null",
    "echo": f"echo '{NEW}' > public_metadata.json",
    "jq and mv": "jq '.plan = \"pro\"' public_metadata.json > tmp "
                 "&& mv tmp public_metadata.json",
    "dd": f"echo '{NEW}' | dd of=public_metadata.json bs=4 status=none",
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_writers_change_the_value_once(instance, writer):
    ada = instance()

    result = ada.sh(WRITERS[writer], check=False)

    assert result.returncode == 0, result.stderr
    assert ada.user()["public_metadata"] == {"plan": "pro"}
    assert ada.writes() == {METADATA_ROUTE: 1}
    assert ada.bodies(METADATA_ROUTE) == [{"public_metadata": {"plan":
                                                               "pro"}}]
    assert "tmp" not in os.listdir(ada.home)
    assert ada.read("public_metadata.json") == canonical({"plan": "pro"})


def test_python_tempfile_and_os_replace(instance):
    ada = instance()
    target = ada.home / "public_metadata.json"

    with tempfile.NamedTemporaryFile("w", dir=ada.home, delete=False,
                                     suffix=".tmp") as tmp:
        json.dump({"plan": "pro"}, tmp)
        tmp.flush()
        os.fsync(tmp.fileno())
    assert ada.writes() == {}              # the temporary file is scratch
    os.replace(tmp.name, target)

    assert ada.user()["public_metadata"] == {"plan": "pro"}
    assert ada.writes() == {METADATA_ROUTE: 1}
    assert not os.path.exists(tmp.name)
    assert target.read_text() == canonical({"plan": "pro"})


def test_deleting_a_key_deletes_it_remotely(instance):
    ada = instance(public={"plan": "free", "beta": True, "flags": {"x": 1}})

    ada.sh("""python3 -c 'import json; p="public_metadata.json"
d = json.load(open(p)); del d["beta"]; del d["flags"]["x"]
open(p, "w").write(json.dumps(d))'""")

    assert ada.user()["public_metadata"] == {"plan": "free", "flags": {}}
    assert ada.user()["private_metadata"] == {"crm": "X-1"}
    assert ada.writes() == {METADATA_ROUTE: 1}
    assert ada.bodies(METADATA_ROUTE) == [
        {"public_metadata": {"plan": "free", "flags": {}}}]


def test_private_and_unsafe_metadata_files_save_their_field(instance):
    ada = instance()

    ada.sh("""echo '{"crm": "X-2"}' > private_metadata.json""")
    ada.sh("""echo '{"theme": "dark"}' > unsafe_metadata.json""")

    user = ada.user()
    assert user["private_metadata"] == {"crm": "X-2"}
    assert user["unsafe_metadata"] == {"theme": "dark"}
    assert user["public_metadata"] == {"plan": "free"}
    assert ada.bodies(METADATA_ROUTE) == [
        {"private_metadata": {"crm": "X-2"}},
        {"unsafe_metadata": {"theme": "dark"}}]


# ---- profile.json --------------------------------------------------------

def test_first_name_edit_sends_one_patch_with_that_field(instance):
    ada = instance()

    ada.sh("""sed -i 's/"first_name": "Ada"/"first_name": "Adaline"/' \
        profile.json""")

    assert ada.user()["first_name"] == "Adaline"
    assert ada.writes() == {PATCH_ROUTE: 1}
    assert ada.bodies(PATCH_ROUTE) == [{"first_name": "Adaline"}]
    assert json.loads(ada.read("profile.json"))["first_name"] == "Adaline"


def test_banned_true_in_profile_bans_the_user(instance):
    ada = instance()

    ada.sh("""sed -i 's/"banned": false/"banned": true/' profile.json""")

    assert ada.user()["banned"] is True
    assert ada.writes() == {BAN_ROUTE: 1}
    assert ada.read("banned") == "true\n"
    assert json.loads(ada.read("profile.json"))["banned"] is True


def test_echo_true_to_banned_bans_at_the_write(instance):
    ada = instance()

    result = ada.sh("echo true > banned; echo rc=$?")

    assert result.stdout == "rc=0\n"
    assert ada.user()["banned"] is True
    assert ada.writes() == {BAN_ROUTE: 1}
    assert ada.read("banned") == "true\n"


def test_white_space_written_after_a_value_is_accepted(instance):
    ada = instance()

    result = ada.sh("printf 'true\\n\\n' > banned; echo rc=$?")

    assert result.stdout == "rc=0\n", result.stderr
    assert ada.user()["banned"] is True
    assert ada.writes() == {BAN_ROUTE: 1}
    assert ada.read("banned") == "true\n"


def test_a_second_write_of_white_space_sends_nothing(instance):
    ada = instance()

    ada.sh("exec 3>banned; printf 'true' >&3; printf '\\n \\n' >&3",
           check=True)

    assert ada.user()["banned"] is True
    assert ada.writes() == {BAN_ROUTE: 1}


def test_echo_maybe_to_banned_fails_in_the_shell(instance):
    ada = instance()

    result = ada.sh("echo maybe > banned; echo rc=$?")

    assert "Invalid argument" in result.stderr
    assert result.stdout != "rc=0\n"
    assert ada.writes() == {}
    assert ada.user()["banned"] is False
    assert ada.read("banned") == "false\n"


def test_a_metadata_edit_in_profile_json_is_one_put_of_that_field(instance):
    ada = instance()
    doc = json.loads(ada.read("profile.json"))
    doc["private_metadata"]["crm"] = "X-2"

    code = python_save(ada.home / "profile.json",
                       json.dumps(doc, indent=2, ensure_ascii=False))

    assert code == 0
    assert ada.writes() == {METADATA_ROUTE: 1}
    assert ada.bodies(METADATA_ROUTE) == [{"private_metadata": {"crm":
                                                                "X-2"}}]
    assert ada.user()["private_metadata"] == {"crm": "X-2"}
    assert ada.user()["public_metadata"] == {"plan": "free"}
    assert ada.read("private_metadata.json") == canonical({"crm": "X-2"})


def test_a_save_changing_a_name_and_the_id_sends_nothing(instance):
    ada = instance()
    before = ada.read("profile.json")
    doc = json.loads(before)
    doc["first_name"] = "Adaline"
    doc["id"] = "user_2TstOther0001"

    code = python_save(ada.home / "profile.json",
                       json.dumps(doc, indent=2, ensure_ascii=False))

    assert code == errno.EPERM
    assert ada.writes() == {}
    assert ada.user()["first_name"] == "Ada"
    assert ada.read("profile.json") == before
    assert "'id'" in ada.errors()


def test_a_field_changed_remotely_after_the_open_is_not_sent(instance):
    ada = instance()

    with open(ada.home / "profile.json", "r+") as f:
        doc = json.loads(f.read())
        ada.server.patch("users", ada.uid, {"last_name": "Byron"})
        doc["first_name"] = "Adaline"
        f.seek(0)
        f.truncate()
        f.write(json.dumps(doc, indent=2, ensure_ascii=False))

    assert ada.writes() == {PATCH_ROUTE: 1}
    assert ada.bodies(PATCH_ROUTE) == [{"first_name": "Adaline"}]
    user = ada.user()
    assert (user["first_name"], user["last_name"]) == ("Adaline", "Byron")
    shown = json.loads(ada.read("profile.json"))
    assert (shown["first_name"], shown["last_name"]) == ("Adaline", "Byron")


# ---- banned and locked, both ways ----------------------------------------

FLAG_ROUTES = {(flag, value): f"POST /v1/users/{{user_id}}/{action}"
               for flag, value, action in [
                   ("banned", True, "ban"), ("banned", False, "unban"),
                   ("locked", True, "lock"), ("locked", False, "unlock")]}


def flag_command(flag, value, how):
    """Sets a flag by writing its file or by editing profile.json."""
    new, old = ("true", "false") if value else ("false", "true")
    if how == "file":
        return f"echo {new} > {flag}"
    return f"sed -i 's/\"{flag}\": {old}/\"{flag}\": {new}/' profile.json"


@pytest.mark.parametrize("flag, value", list(FLAG_ROUTES),
                         ids=[f"{f}={v}" for f, v in FLAG_ROUTES])
@pytest.mark.parametrize("how", ["file", "profile.json"])
def test_each_flag_change_is_one_call_on_its_route(instance, flag, value,
                                                   how):
    ada = instance(user=dict(ADA, **{flag: not value}))

    result = ada.sh(flag_command(flag, value, how) + "; echo rc=$?")

    assert result.stdout == "rc=0\n", result.stderr
    assert ada.writes() == {FLAG_ROUTES[flag, value]: 1}
    assert ada.user()[flag] is value
    assert ada.read(flag) == ("true\n" if value else "false\n")
    assert json.loads(ada.read("profile.json"))[flag] is value


@pytest.mark.parametrize("flag", ["banned", "locked"])
def test_a_flag_with_trailing_white_space_is_accepted(instance, flag):
    ada = instance()

    result = ada.sh(f"printf 'true  \\t\\n' > {flag}; echo rc=$?")

    assert result.stdout == "rc=0\n", result.stderr
    assert ada.writes() == {FLAG_ROUTES[flag, True]: 1}
    assert ada.user()[flag] is True


# ---- refused saves -------------------------------------------------------

def test_invalid_json_fails_the_close_and_sends_nothing(instance):
    ada = instance()
    before = ada.read("public_metadata.json")

    shell = ada.sh("""/usr/bin/printf '{"broken": ' > public_metadata.json;
        echo rc=$?""")
    python = python_save(ada.home / "public_metadata.json", '{"plan": pro}')

    assert "Invalid argument" in shell.stderr
    assert shell.stdout != "rc=0\n"
    assert python == errno.EINVAL
    assert ada.writes() == {}
    assert ada.user()["public_metadata"] == {"plan": "free"}
    assert ada.read("public_metadata.json") == before
    errors = ada.errors().splitlines()
    assert len(errors) == 2, errors             # one line per refusal
    for line in errors:
        assert f"users/{ada.uid}/public_metadata.json" in line
        assert re.search(r"line \d+, column \d+", line), line
        assert "EINVAL" in line
    logged = [line for line in ada.mount.log().splitlines()
              if "public_metadata.json" in line]
    assert len(logged) == 2, logged


@pytest.mark.parametrize("field, value", [("id", "user_2TstOther0001"),
                                          ("updated_at", 1)])
def test_changing_a_read_only_field_is_eperm(instance, field, value):
    ada = instance()
    before = ada.read("profile.json")
    doc = json.loads(before)
    doc[field] = value
    edited = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

    code = python_save(ada.home / "profile.json", edited)

    assert code == errno.EPERM
    assert ada.writes() == {}
    assert ada.read("profile.json") == before
    assert field in ada.errors()
    assert field in ada.mount.log()


def test_server_422_fails_the_close_with_clerks_message(instance):
    ada = instance()
    big = json.dumps({"blob": "x" * 9000})

    code = python_save(ada.home / "public_metadata.json", big)

    assert code == errno.EINVAL
    assert ada.writes() == {METADATA_ROUTE: 1}      # no retry on a 4xx
    assert ada.user()["public_metadata"] == {"plan": "free"}
    refusals = [line for line in ada.mount.log().splitlines()
                if f"users/{ada.uid}/public_metadata.json" in line]
    assert len(refusals) == 1, refusals         # logged once
    assert "metadata may be at most 8192 bytes" in refusals[0]
    assert "EINVAL" in refusals[0]
    assert re.search(r"trace \w+", refusals[0]), refusals[0]
    assert len(ada.errors().splitlines()) == 1
    assert "8192 bytes" in ada.errors()
    assert re.search(r"trace \w+", ada.errors())
    assert ada.mount.log().count("8192 bytes") == 1     # one line in all
    assert ada.read("public_metadata.json") == canonical({"plan": "free"})


@pytest.mark.parametrize("fault", [{"status": 503}, {"reset": True}],
                         ids=["503", "reset"])
def test_failed_metadata_save_is_eio_and_changes_nothing(instance, fault):
    ada = instance(timeout=10)
    ada.server.faults(route=METADATA_ROUTE, count=-1, **fault)

    code = python_save(ada.home / "public_metadata.json", '{"plan": "pro"}')
    ada.server.clear_faults()

    assert code == errno.EIO
    assert ada.user()["public_metadata"] == {"plan": "free"}
    assert ada.read("public_metadata.json") == canonical({"plan": "free"})
    assert f"users/{ada.uid}/public_metadata.json" in ada.errors()
    assert len(ada.errors().splitlines()) == 1
    failures = [line for line in ada.mount.log().splitlines()
                if "/metadata" in line and "debug" not in line]
    assert len(failures) == 1, failures     # the refusal, logged once


def test_several_call_save_reports_what_was_applied(instance):
    ada = instance(timeout=10)
    doc = json.loads(ada.read("profile.json"))
    doc["first_name"] = "Adaline"
    doc["public_metadata"] = {"plan": "pro"}
    doc["banned"] = True
    ada.server.faults(route=METADATA_ROUTE, status=503, count=-1)

    code = python_save(ada.home / "profile.json",
                       json.dumps(doc, indent=2, ensure_ascii=False))
    ada.server.clear_faults()

    assert code == errno.EIO
    user = ada.user()
    assert user["first_name"] == "Adaline"          # applied first
    assert user["public_metadata"] == {"plan": "free"}
    assert user["banned"] is False                  # never sent
    sent = [r["route"] for r in ada.server.requests()
            if r["method"] != "GET"]
    assert sent[0] == PATCH_ROUTE and sent[1:] == [METADATA_ROUTE] * (
        len(sent) - 1), sent                    # PUT retried, then given up
    assert ada.bodies(PATCH_ROUTE) == [{"first_name": "Adaline"}]
    parts = "; applied: first_name; failed: public_metadata; not sent: banned"
    assert parts in ada.errors()
    assert parts in ada.mount.log()
    shown = json.loads(ada.read("profile.json"))
    assert shown["first_name"] == "Adaline"
    assert shown["public_metadata"] == {"plan": "free"}
    assert shown["banned"] is False
    assert ada.read("banned") == "false\n"


# ---- what is kept --------------------------------------------------------

def test_a_64_bit_number_survives_an_edit_of_another_key(instance):
    ada = instance(public={"crm_id": BIG_INT, "plan": "free"})
    assert f'"crm_id": {BIG_INT}' in ada.read("public_metadata.json")

    ada.sh("sed -i 's/free/pro/' public_metadata.json")

    raw = ada.server.requests(METADATA_ROUTE)[0]["raw"]
    assert f'"crm_id":{BIG_INT}' in raw.replace(" ", "")
    assert ada.user()["public_metadata"] == {"crm_id": BIG_INT,
                                             "plan": "pro"}
    assert f'"crm_id": {BIG_INT}' in ada.read("public_metadata.json")
    assert f'"crm_id": {BIG_INT}' in ada.read("profile.json")


def test_after_a_save_every_path_shows_the_apis_object(instance):
    ada = instance()
    ada.sh("sed -i 's/free/pro/' public_metadata.json")
    remote = ada.user()
    stamp = remote["updated_at"]

    for name in (ada.uid, "ada@example.com", "COUNTESS@example.org",
                 "ada_l", "+15550100"):
        home = ada.root / "users" / name
        profile = (home / "profile.json").read_text()
        assert json.loads(profile) == remote, name
        assert (home / "public_metadata.json").read_text() == \
            canonical({"plan": "pro"}), name
        mtime = os.stat(home / "public_metadata.json").st_mtime_ns
        assert mtime == stamp * 1_000_000, name


def test_o_trunc_alone_sends_nothing(instance):
    ada = instance()

    ada.sh(": > public_metadata.json")

    assert ada.writes() == {}
    assert ada.read("public_metadata.json") == canonical({"plan": "free"})
    assert ada.user()["public_metadata"] == {"plan": "free"}


def test_open_for_write_and_close_sends_nothing(instance):
    ada = instance()
    path = ada.home / "public_metadata.json"

    open(path, "r+").close()
    os.close(os.open(path, os.O_WRONLY))
    fd = os.open(path, os.O_RDWR)
    os.fsync(fd)
    os.close(fd)

    assert ada.writes() == {}
    assert ada.read("public_metadata.json") == canonical({"plan": "free"})


def test_saving_unchanged_content_sends_nothing(instance):
    ada = instance()

    ada.sh("cp public_metadata.json /tmp/same-$$ && "
           "cp /tmp/same-$$ public_metadata.json; rm -f /tmp/same-$$")
    ada.sh("""echo '{"plan":"free"}' > public_metadata.json""")
    ada.sh("cat profile.json > /tmp/p-$$ && cat /tmp/p-$$ > profile.json; "
           "rm -f /tmp/p-$$")
    ada.sh("sed -i 's/nothing-matches//' profile.json")

    assert ada.writes() == {}
    assert ada.user()["public_metadata"] == {"plan": "free"}


def test_writes_at_an_offset_work(instance):
    ada = instance()
    path = ada.home / "public_metadata.json"
    text = path.read_text()

    with open(path, "r+") as f:
        f.seek(text.index("free"))
        f.write("team")

    assert ada.user()["public_metadata"] == {"plan": "team"}
    assert ada.writes() == {METADATA_ROUTE: 1}
    assert path.read_text() == canonical({"plan": "team"})


def test_read_only_mount_makes_every_write_erofs(instance):
    ada = instance(ro=True)
    commands = [
        "echo '{}' > public_metadata.json",
        "sed -i 's/free/pro/' public_metadata.json",
        "echo true > banned",
        "echo false > locked",
        "cp profile.json profile.copy",
        "touch .public_metadata.json.swp",
        "mv public_metadata.json public_metadata.json~",
        "truncate -s 0 public_metadata.json",
        "chmod 600 profile.json",
        f"echo org:member > ../../members/{ORG['id']}/{ada.uid}",
    ]

    for command in commands:
        result = ada.sh(command, check=False)
        assert result.returncode != 0, command
        assert "Read-only file system" in result.stderr, command
    code = python_save(ada.home / "public_metadata.json", '{"plan": "pro"}')
    vim = run_vim(ada.home, "public_metadata.json", "%s/free/pro/", "wq")

    assert code == errno.EROFS
    assert vim.returncode != 0
    assert ada.writes() == {}
    assert ada.read("public_metadata.json") == canonical({"plan": "free"})


# ---- organizations -------------------------------------------------------

def test_org_metadata_and_name_saves(instance):
    ada = instance()
    org = ada.root / "orgs" / ORG["id"]

    sh("sed -i 's/free/team/' public_metadata.json", cwd=org)
    sh("""sed -i 's/"name": "Acme, Inc."/"name": "Acme Ltd"/' \
        organization.json""", cwd=org)

    remote = ada.server.get("organizations", ORG["id"])
    assert remote["public_metadata"] == {"tier": "team"}
    assert remote["private_metadata"] == {"billing": "inv-7"}
    assert remote["name"] == "Acme Ltd"
    assert ada.writes() == {
        ORG_METADATA_ROUTE: 1,
        "PATCH /v1/organizations/{organization_id}": 1}
    assert ada.bodies("PATCH /v1/organizations/{organization_id}") == [
        {"name": "Acme Ltd"}]
    by_slug = (ada.root / "orgs" / "acme" / "organization.json").read_text()
    assert json.loads(by_slug)["name"] == "Acme Ltd"


def test_deleting_a_key_in_org_metadata_deletes_it_remotely(instance):
    ada = instance()
    ada.server.patch("organizations", ORG["id"], {"public_metadata": {
        "tier": "free", "beta": True}})
    org = ada.root / "orgs" / ORG["id"]
    assert json.loads((org / "public_metadata.json").read_text()) == {
        "tier": "free", "beta": True}
    ada.server.reset()

    sh("jq 'del(.beta)' public_metadata.json > edit.json && "
       "mv edit.json public_metadata.json", cwd=org)

    remote = ada.server.get("organizations", ORG["id"])
    assert remote["public_metadata"] == {"tier": "free"}
    assert ada.writes() == {ORG_METADATA_ROUTE: 1}
    assert ada.bodies(ORG_METADATA_ROUTE) == [
        {"public_metadata": {"tier": "free"}}]
    assert (org / "public_metadata.json").read_text() == \
        canonical({"tier": "free"})


def test_org_private_metadata_edit_saves_that_field(instance):
    ada = instance()
    org = ada.root / "orgs" / ORG["id"]

    sh("sed -i 's/inv-7/inv-8/' private_metadata.json", cwd=org)

    remote = ada.server.get("organizations", ORG["id"])
    assert remote["private_metadata"] == {"billing": "inv-8"}
    assert remote["public_metadata"] == {"tier": "free"}
    assert ada.writes() == {ORG_METADATA_ROUTE: 1}
    assert ada.bodies(ORG_METADATA_ROUTE) == [
        {"private_metadata": {"billing": "inv-8"}}]


def test_changing_the_id_in_organization_json_is_eperm(instance):
    ada = instance()
    path = ada.root / "orgs" / ORG["id"] / "organization.json"
    before = path.read_text()
    doc = json.loads(before)
    doc["id"] = "org_2TstOther0001"

    code = python_save(path, json.dumps(doc, indent=2, ensure_ascii=False))

    assert code == errno.EPERM
    assert ada.writes() == {}
    assert path.read_text() == before
    assert f"orgs/{ORG['id']}/organization.json" in ada.errors()
    assert "'id'" in ada.errors()


# ---- retries that succeed ------------------------------------------------

def test_a_503_on_the_user_get_is_retried_and_cat_succeeds(instance):
    ada = instance()
    ada.server.faults(route="GET /v1/users/{user_id}", status=503)

    profile = json.loads(ada.read("profile.json"))

    assert profile["id"] == ada.uid
    assert routes(ada.server)["GET /v1/users/{user_id}"] == 2
    assert [r["status"] for r in ada.server.requests(
        "GET /v1/users/{user_id}")] == [503, 200]


@pytest.mark.parametrize("fault", ["reset", "reset_after_apply"])
def test_a_reset_metadata_put_is_sent_again_and_the_save_succeeds(instance,
                                                                  fault):
    ada = instance()
    ada.server.faults(route=METADATA_ROUTE, **{fault: True})

    code = python_save(ada.home / "public_metadata.json", '{"plan": "pro"}')

    assert code == 0
    assert ada.writes() == {METADATA_ROUTE: 2}      # PUT is idempotent
    assert ada.bodies(METADATA_ROUTE) == 2 * [{"public_metadata": {"plan":
                                                                   "pro"}}]
    assert ada.user()["public_metadata"] == {"plan": "pro"}
    assert ada.read("public_metadata.json") == canonical({"plan": "pro"})
    assert ada.errors() == ""


# ---- a refused commit at a rename ----------------------------------------

@pytest.mark.parametrize("content, puts, why", [
    ('{"plan": pro}', 0, r"line \d+, column \d+"),
    (json.dumps({"blob": "x" * 9000}), 1, "metadata may be at most 8192"),
], ids=["invalid JSON", "refused by the server"])
def test_mv_of_a_refused_document_over_the_file_is_eio(instance, content,
                                                       puts, why):
    ada = instance()
    (ada.home / "new.json").write_text(content)

    mv = ada.sh("mv new.json public_metadata.json", check=False)

    assert mv.returncode != 0
    assert "Input/output error" in mv.stderr, mv.stderr
    assert ada.writes() == ({METADATA_ROUTE: 1} if puts else {})
    assert ada.user()["public_metadata"] == {"plan": "free"}
    assert ada.read("public_metadata.json") == canonical({"plan": "free"})
    errors = ada.errors().splitlines()
    assert len(errors) == 1, errors
    assert f"users/{ada.uid}/public_metadata.json" in errors[0]
    assert re.search(why, errors[0]), errors[0]
    assert ada.read("new.json") == content      # the edit is not lost


def test_sed_i_making_invalid_json_fails_and_nothing_reaches_the_api(
        instance):
    ada = instance()

    sed = ada.sh("sed -i 's/}/,/' public_metadata.json", check=False)

    assert sed.returncode != 0
    assert "Input/output error" in sed.stderr, sed.stderr
    assert ada.writes() == {}
    assert ada.user()["public_metadata"] == {"plan": "free"}
    assert ada.read("public_metadata.json") == canonical({"plan": "free"})
    assert "public_metadata.json" in ada.errors()
    for path in ada.paths():
        assert "sed" not in path, path
    assert not [n for n in os.listdir(ada.home) if n.startswith("sed")]


# ---- scratch files -------------------------------------------------------

SCRATCH_BUDGET = 64 << 20       # fs/scratch.h


def test_ln_of_an_attribute_makes_a_scratch_copy(instance):
    ada = instance()
    ada.read("public_metadata.json")
    ada.server.reset()

    ada.sh("ln public_metadata.json x.bak")

    assert ada.read("x.bak") == canonical({"plan": "free"})
    assert routes(ada.server) == {}
    assert "x.bak" in os.listdir(ada.home)
    ada.sh("echo '{}' > x.bak")                 # a copy, not the file
    assert ada.read("public_metadata.json") == canonical({"plan": "free"})
    assert ada.writes() == {}


def test_scratch_files_past_the_budget_are_enospc(instance):
    ada = instance()
    chunk = b"x" * (1 << 20)

    with open(ada.home / "big.tmp", "wb", buffering=0) as f:
        for _ in range(SCRATCH_BUDGET // len(chunk)):
            f.write(chunk)
        with pytest.raises(OSError) as raised:
            f.write(b"one byte too many")
    os.unlink(ada.home / "big.tmp")
    (ada.home / "small.tmp").write_text("room again\n")

    assert raised.value.errno == errno.ENOSPC
    assert ada.read("small.tmp") == "room again\n"
    assert ada.writes() == {}


def test_df_shows_what_the_scratch_budget_has_left(instance):
    ada = instance()
    before = os.statvfs(ada.home)

    (ada.home / "big.tmp").write_bytes(b"x" * (16 << 20))
    during = os.statvfs(ada.home)
    df = ada.sh("df -P -B1 . | tail -1").stdout.split()
    os.unlink(ada.home / "big.tmp")
    after = os.statvfs(ada.home)

    assert before.f_bavail * before.f_frsize == SCRATCH_BUDGET
    assert during.f_bavail * during.f_frsize == SCRATCH_BUDGET - (16 << 20)
    assert int(df[3]) == SCRATCH_BUDGET - (16 << 20)
    assert after.f_bavail == before.f_bavail


def test_df_i_does_not_look_full(instance):
    ada = instance()

    vfs = os.statvfs(ada.home)
    df = ada.sh("df -P -i . | tail -1").stdout.split()

    assert vfs.f_ffree > 0 and vfs.f_favail == vfs.f_ffree
    assert vfs.f_files >= vfs.f_ffree
    assert df[4] != "100%", df


# ---- unsaved content -----------------------------------------------------

HOLDER = """
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
for chunk in sys.argv[2:]:
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, chunk.encode())
    print("written", flush=True)
    sys.stdin.readline()
os.close(fd)
"""


def test_stat_reports_the_size_of_unsaved_content(instance):
    ada = instance()
    path = ada.home / "public_metadata.json"
    longer = json.dumps({"plan": "pro", "note": "n" * 500})
    holder = subprocess.Popen(
        ["/usr/bin/python3", "-c", HOLDER, str(path), '{"plan":"pro"}',
         longer], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    sizes = []
    for _ in range(2):                  # a person runs ls -l meanwhile
        assert holder.stdout.readline() == "written\n"
        sizes.append(int(ada.sh("stat -c %s public_metadata.json").stdout))
        sizes.append(os.stat(path).st_size)
        assert ada.writes() == {}
        holder.stdin.write("\n")
        holder.stdin.flush()
    holder.communicate(timeout=30)

    assert holder.returncode == 0
    assert sizes == [14, 14, len(longer), len(longer)]
    assert ada.user()["public_metadata"] == json.loads(longer)
    assert os.stat(path).st_size == len(canonical(json.loads(longer)))


def test_a_later_flush_commits_what_a_transient_failure_kept(instance):
    ada = instance(timeout=10)
    path = ada.home / "public_metadata.json"
    ada.server.faults(route=METADATA_ROUTE, status=503, count=-1)

    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    other = os.dup(fd)                  # a second process sharing it
    os.write(fd, b'{"plan": "pro"}\n')
    with pytest.raises(OSError) as first:
        os.close(fd)
    failed = ada.user()["public_metadata"]
    ada.server.clear_faults()
    os.fsync(other)
    os.close(other)

    assert first.value.errno == errno.EIO
    assert failed == {"plan": "free"}
    assert ada.user()["public_metadata"] == {"plan": "pro"}
    statuses = [r["status"] for r in ada.server.requests(METADATA_ROUTE)]
    assert statuses[-1] == 200 and set(statuses[:-1]) == {503}
    assert path.read_text() == canonical({"plan": "pro"})


# ---- role files in members/ ----------------------------------------------

@pytest.mark.parametrize("setup", list(VIM_SETUPS))
def test_vim_saves_a_role_file_in_members(instance, setup):
    ada = instance()
    members = ada.root / "members" / ORG["id"]
    setup_line = "|".join(filter(None, [NO_SKIP, VIM_SETUPS[setup]]))

    vim = run_vim(members, ada.uid, "s/admin/member/", "wq",
                  setup=setup_line)

    assert vim.returncode == 0, vim.stdout
    assert not re.search(r"E\d{2,3}:", vim.stdout), vim.stdout
    assert ada.writes() == {MEMBER_ROUTE: 1}
    assert ada.bodies(MEMBER_ROUTE) == [{"role": "org:member"}]
    assert (members / ada.uid).read_text() == "org:member\n"
    backup = ada.uid + "~"
    if "set backup" in (VIM_SETUPS[setup] or ""):
        assert sorted(os.listdir(members)) == [ada.uid, backup]
        assert (members / backup).read_text() == "org:admin\n"
    else:
        assert os.listdir(members) == [ada.uid]


@pytest.mark.parametrize("command", [
    "sed -i 's/admin/member/' {uid}",
    "perl -pi -e 's/admin/member/' {uid}",
    "echo org:member > new && mv new {uid}",
], ids=["sed -i", "perl -pi", "mv"])
def test_a_rename_over_a_role_file_changes_the_role_once(instance,
                                                        command):
    ada = instance()
    members = ada.root / "members" / ORG["id"]

    result = sh(command.format(uid=ada.uid), cwd=members, check=False)

    assert result.returncode == 0, result.stderr
    assert ada.writes() == {MEMBER_ROUTE: 1}
    assert ada.bodies(MEMBER_ROUTE) == [{"role": "org:member"}]
    assert (members / ada.uid).read_text() == "org:member\n"
    assert os.listdir(members) == [ada.uid]


def test_a_rename_to_a_new_user_id_in_members_adds_the_member(instance):
    ada = instance()
    bo = ada.server.put("users", {"id": "user_2TstBo0002",
                                  "first_name": "Bo"})
    members = ada.root / "members" / ORG["id"]
    ada.server.reset()

    sh(f"echo admin > new && mv new {bo['id']}", cwd=members)

    route = "POST /v1/organizations/{organization_id}/memberships"
    assert ada.writes() == {route: 1}
    assert ada.bodies(route) == [{"user_id": bo["id"], "role": "org:admin"}]
    assert sorted(os.listdir(members)) == sorted([ada.uid, bo["id"]])
    assert (members / bo["id"]).read_text() == "org:admin\n"


def test_ln_of_a_role_file_copies_it_but_never_to_a_user_id(instance):
    ada = instance()
    members = ada.root / "members" / ORG["id"]

    sh(f"ln {ada.uid} role.bak", cwd=members)
    refused = sh("ln role.bak user_2TstBo0002", cwd=members, check=False)

    assert (members / "role.bak").read_text() == "org:admin\n"
    assert "Operation not permitted" in refused.stderr
    assert sorted(os.listdir(members)) == ["role.bak", ada.uid]
    assert ada.writes() == {}


# ---- more stories of saving ----------------------------------------------

def test_a_save_applied_but_never_answered_is_eio_and_reads_the_truth(
        instance):
    ada = instance(timeout=6)
    path = ada.home / "public_metadata.json"
    assert ada.read("public_metadata.json") == canonical({"plan": "free"})
    ada.server.faults(route=METADATA_ROUTE, reset_after_apply=True,
                      count=-1)

    code = python_save(path, '{"plan": "pro"}')
    ada.server.clear_faults()

    # Each PUT took effect and then lost its answer: the save is EIO, the
    # remote value wholly changed, and the file shows the remote truth.
    assert code == errno.EIO
    assert set(ada.writes()) == {METADATA_ROUTE}
    assert ada.bodies(METADATA_ROUTE)[0] == {"public_metadata": {"plan":
                                                                 "pro"}}
    remote = ada.user()
    assert remote["public_metadata"] == {"plan": "pro"}
    assert ada.read("public_metadata.json") == canonical({"plan": "pro"})
    assert json.loads(ada.read("profile.json")) == remote
    assert os.stat(path).st_mtime_ns == remote["updated_at"] * 1_000_000
    errors = ada.errors().splitlines()
    assert len(errors) == 1, errors
    assert f"users/{ada.uid}/public_metadata.json" in errors[0]
    assert "EIO" in errors[0]


@pytest.mark.parametrize("command, route, server_args, fault, message", [
    ("echo true > locked", "POST /v1/users/{user_id}/lock",
     ["--lockout-seconds", "0"], None, "Operation not supported"),
    ("echo true > banned", BAN_ROUTE, [], {"status": 503, "count": -1},
     "Input/output error"),
], ids=["lockout disabled", "503"])
def test_a_flag_refused_by_the_server_fails_the_echo(instance, command,
                                                     route, server_args,
                                                     fault, message):
    ada = instance(server_args=server_args, timeout=6)
    if fault:
        ada.server.faults(route=route, **fault)

    result = ada.sh(command + "; echo rc=$?")
    ada.server.clear_faults()

    assert message in result.stderr, result.stderr
    assert result.stdout != "rc=0\n"
    assert set(ada.writes()) == {route}
    flag = command.split()[-1]
    assert ada.user()[flag] is False
    assert ada.read(flag) == "false\n"
    errors = ada.errors().splitlines()
    assert len(errors) == 1, errors
    assert f"users/{ada.uid}/{flag}" in errors[0]


def test_deleting_a_metadata_key_in_profile_json_puts_the_whole_value(
        instance):
    ada = instance(public={"plan": "free", "beta": True})

    ada.sh("jq 'del(.public_metadata.beta)' profile.json > p.tmp && "
           "mv p.tmp profile.json")

    assert ada.writes() == {METADATA_ROUTE: 1}
    assert ada.bodies(METADATA_ROUTE) == [{"public_metadata": {"plan":
                                                               "free"}}]
    assert ada.user()["public_metadata"] == {"plan": "free"}
    assert ada.read("public_metadata.json") == canonical({"plan": "free"})
    assert "p.tmp" not in os.listdir(ada.home)


def test_organization_json_saves_its_metadata_as_the_whole_value(instance):
    ada = instance()
    ada.server.patch("organizations", ORG["id"], {"public_metadata": {
        "tier": "free", "beta": True}})
    org = ada.root / "orgs" / "acme"
    ada.server.reset()
    route = "PATCH /v1/organizations/{organization_id}"

    sh("jq 'del(.public_metadata.beta) | .name = \"Acme Ltd\"' "
       "organization.json > o.tmp && mv o.tmp organization.json", cwd=org)

    assert ada.writes() == {route: 1, ORG_METADATA_ROUTE: 1}
    assert ada.bodies(route) == [{"name": "Acme Ltd"}]
    assert ada.bodies(ORG_METADATA_ROUTE) == [
        {"public_metadata": {"tier": "free"}}]
    remote = ada.server.get("organizations", ORG["id"])
    assert remote["public_metadata"] == {"tier": "free"}
    assert remote["private_metadata"] == {"billing": "inv-7"}
    by_id = ada.root / "orgs" / ORG["id"]
    assert json.loads((by_id / "organization.json").read_text()) == remote
    assert os.stat(by_id / "organization.json").st_mtime_ns == \
        remote["updated_at"] * 1_000_000
    assert (by_id / "public_metadata.json").read_text() == \
        canonical({"tier": "free"})


@pytest.mark.parametrize("setup", ["plain", "backupcopy=yes",
                                   "backupcopy=no"])
def test_vim_fixes_a_first_name_with_one_patch(instance, setup):
    ada = instance(user=dict(ADA, first_name="Adda"))
    setup_line = "|".join(filter(None, [NO_SKIP, VIM_SETUPS[setup]]))

    vim = run_vim(ada.home, "profile.json",
                  '%s/"first_name": "Adda"/"first_name": "Ada"/', "wq",
                  setup=setup_line)

    assert vim.returncode == 0, vim.stdout
    assert not re.search(r"E\d{2,3}:", vim.stdout), vim.stdout
    assert ada.writes() == {PATCH_ROUTE: 1}
    assert ada.bodies(PATCH_ROUTE) == [{"first_name": "Ada"}]
    assert ada.user()["first_name"] == "Ada"
    assert json.loads(ada.read("profile.json")) == ada.user()
    names = set(os.listdir(ada.home))
    assert "4913" not in names and ".profile.json.swp" not in names
    assert ("profile.json~" in names) == (setup != "plain")


def test_jq_in_a_shell_loop_updates_a_batch_of_users(instance):
    ada = instance()
    others = [ada.server.put("users", {
        "id": f"user_2TstBatch{i:04d}", "first_name": f"B{i}",
        "public_metadata": {"plan": "free", "n": i}}) for i in range(4)]
    ids = [ada.uid] + [u["id"] for u in others]
    ada.server.reset()
    users = ada.root / "users"

    sh("for u in " + " ".join(ids) + "; do "
       "jq '.plan = \"pro\"' $u/public_metadata.json > $u/new.json && "
       "mv $u/new.json $u/public_metadata.json || exit 1; done", cwd=users)

    assert ada.writes() == {METADATA_ROUTE: len(ids)}
    sent = [r["path"].split("/")[3] for r in
            ada.server.requests(METADATA_ROUTE)]
    assert sorted(sent) == sorted(ids)              # one each
    for uid, i in zip(ids[1:], range(4)):
        assert ada.server.get("users", uid)["public_metadata"] == {
            "plan": "pro", "n": i}
        assert "new.json" not in os.listdir(users / uid)
    assert ada.user()["public_metadata"] == {"plan": "pro"}


def test_mv_of_an_attribute_to_a_new_name_keeps_it_and_sends_nothing(
        instance):
    ada = instance()
    ada.read("public_metadata.json")

    mv = ada.sh("mv public_metadata.json keep.json", check=False)

    assert mv.returncode == 0, mv.stderr
    assert ada.read("keep.json") == canonical({"plan": "free"})
    assert ada.read("public_metadata.json") == canonical({"plan": "free"})
    assert ada.writes() == {}
    ada.sh("echo '{}' > keep.json && rm keep.json")
    assert ada.writes() == {}
    assert ada.user()["public_metadata"] == {"plan": "free"}
    assert "keep.json" not in os.listdir(ada.home)


def test_a_several_call_save_whose_failed_call_took_effect_reads_it(
        instance):
    ada = instance(timeout=6)
    doc = json.loads(ada.read("profile.json"))
    doc["first_name"] = "Adaline"
    doc["public_metadata"] = {"plan": "pro"}
    doc["banned"] = True
    ada.server.faults(route=METADATA_ROUTE, reset_after_apply=True,
                      count=-1)

    code = python_save(ada.home / "profile.json",
                       json.dumps(doc, indent=2, ensure_ascii=False))
    ada.server.clear_faults()

    assert code == errno.EIO
    remote = ada.user()
    assert remote["first_name"] == "Adaline"
    assert remote["public_metadata"] == {"plan": "pro"}   # lost its answer
    assert remote["banned"] is False
    assert BAN_ROUTE not in ada.writes()
    parts = "; applied: first_name; failed: public_metadata; not sent: banned"
    assert parts in ada.errors()
    assert json.loads(ada.read("profile.json")) == remote
    assert ada.read("public_metadata.json") == canonical({"plan": "pro"})
    assert ada.read("banned") == "false\n"


# ---- interrupted saves ---------------------------------------------------

def test_an_interrupted_save_is_eintr_and_the_file_then_reads_the_truth(
        instance):
    ada = instance(cache_ttl=5)
    path = ada.home / "unsafe_metadata.json"
    ada.server.faults(route=METADATA_ROUTE, latency_ms=3000)
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b'{"intr":1}')

    code = interrupted_after(1, lambda: os.close(fd))
    ada.read("unsafe_metadata.json")         # before the server applied it

    assert code == errno.EINTR
    assert wait_for(lambda: ada.user()["unsafe_metadata"] == {"intr": 1})
    assert json.loads(ada.read("unsafe_metadata.json")) == {"intr": 1}
    assert "may have been applied" in ada.errors()
