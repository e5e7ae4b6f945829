"""The README's first command: scripts/demo mounts the sample instance.

It is run as a person runs it on a fresh clone (a copy of the files git
tracks, nothing built), installing what is missing, building, starting
the local server with 1,234 users and 40 organizations, and mounting;
then used with ls and cat, then stopped with `scripts/demo stop`, which
must leave no mount and no server behind.
"""

import json
import os
import pathlib
import shutil
import socket
import subprocess

import pytest

from helpers import sh
from mountctl import is_mounted

TOP = pathlib.Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    os.environ.get("CLERKFS_SANITIZED") == "1",
    reason="the demo builds its own plain binary; the plain pass ran it")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_is_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def fresh_clone(where):
    """The files a clone holds (tracked ones, as in the working tree)."""
    listed = subprocess.run(["git", "-C", str(TOP), "ls-files", "-z"],
                            capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = TOP / name
        if source.is_file():
            target = where / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return where


@pytest.fixture
def demo(tmp_path):
    clone = fresh_clone(tmp_path / "clerkfs")
    env = dict(os.environ, CLERKFS_DEMO_PORT=str(free_port()))
    for name in ("CLERK_SECRET_KEY", "CLERKFS_DEMO_DIR", "CLERKFS_BIN"):
        env.pop(name, None)
    yield clone, env
    subprocess.run([str(clone / "scripts/demo"), "stop"], env=env,
                   capture_output=True, timeout=60)


def test_demo_mounts_the_sample_instance_and_stops_cleanly(demo):
    clone, env = demo
    state = clone / "demo"
    mnt = state / "mnt"
    assert not (clone / "build").exists()

    started = subprocess.run(["scripts/demo"], cwd=clone, env=env,
                             text=True, capture_output=True, timeout=600)

    assert started.returncode == 0, started.stderr
    assert f"clerkfs is mounted on {mnt}" in started.stdout
    assert is_mounted(mnt)
    users = sh("ls users", cwd=mnt).stdout.split()
    assert len(users) == 1234
    profile = json.loads(sh(f"cat users/{users[0]}/profile.json",
                            cwd=mnt).stdout)
    assert profile["id"] == users[0]
    assert len(sh("ls orgs", cwd=mnt).stdout.split()) == 40
    server_pid = int((state / "server.pid").read_text())

    stopped = subprocess.run(["scripts/demo", "stop"], cwd=clone, env=env,
                             text=True, capture_output=True, timeout=60)

    assert stopped.returncode == 0, stopped.stderr
    assert not is_mounted(mnt)
    assert not (state / "server.pid").exists()
    for _ in range(100):
        if not pid_is_alive(server_pid):
            break
        subprocess.run(["sleep", "0.1"])
    assert not pid_is_alive(server_pid)


def test_demo_on_a_busy_port_says_why_and_leaves_no_pid_file(demo):
    clone, env = demo
    state = clone / "demo"

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(env["CLERKFS_DEMO_PORT"])))
        taken.listen()
        started = subprocess.run(["scripts/demo"], cwd=clone, env=env,
                                 text=True, capture_output=True,
                                 timeout=600)

    assert started.returncode != 0
    assert "Address already in use" in started.stderr, started.stderr
    assert "refused" not in started.stderr
    assert not (state / "server.pid").exists()
    assert not is_mounted(state / "mnt")
