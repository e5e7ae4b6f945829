"""B15: other local users cannot reach the instance through the mount.

clerkfs acts with the instance's secret key, so whoever can use the mount
can read and change every user.  A default mount is the mounting user's
alone (the kernel turns others away); with allow_other, clerkfs turns on
default_permissions and its modes (0600, 0700, owned by the mounting user)
keep others out.  Either way another user's attempts reach no API.
"""

import os
import subprocess

import pytest

from helpers import routes

OTHER_UID = 1002
USER = {"id": "user_2TstPrm0015", "first_name": "Prim",
        "email_addresses": ["prim@example.com"],
        "public_metadata": {"plan": "pro"}}

ATTEMPTS = {
    "ls": "ls users",
    "cat": f"cat users/{USER['id']}/public_metadata.json",
    "rm -r": f"rm -rf users/{USER['id']}",
    "echo": f"echo true > users/{USER['id']}/banned",
}


def as_other_user(command, cwd):
    """Runs command as a user that is neither the mounter nor root."""
    return subprocess.run(
        ["setpriv", f"--reuid={OTHER_UID}", f"--regid={OTHER_UID}",
         "--clear-groups", "bash", "-c", f"cd {cwd} && {command}"],
        text=True, capture_output=True, timeout=60)


@pytest.fixture
def instance(make_server):
    server = make_server(users=3)
    server.put("users", USER)
    return server


@pytest.mark.parametrize("options", [{}, {"allow_other": True}],
                         ids=["default", "allow_other"])
def test_b15_another_user_is_refused_and_reaches_no_api(
        instance, make_mount, options):
    mount = make_mount(instance, **options)
    instance.reset()

    results = {name: as_other_user(command, mount.path)
               for name, command in ATTEMPTS.items()}

    for name, result in results.items():
        assert result.returncode != 0, name
        assert "Permission denied" in result.stderr, (name, result.stderr)
    assert routes(instance) == {}
    assert instance.get("users", USER["id"])["banned"] is False
    own = (mount.path / "users" / USER["id"] / "public_metadata.json")
    assert '"plan": "pro"' in own.read_text()
    st = os.stat(own)
    assert (st.st_uid, st.st_mode & 0o777) == (os.getuid(), 0o600)
