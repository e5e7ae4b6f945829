"""Installing clerkfs: `meson install` puts the binary and its man page in
place (issue 2: "meson install installs it and its man page").

A packager runs `meson install --destdir DIR` on a build; the test does
that with the build the suite runs ($CLERKFS_BIN's directory, already
compiled, so nothing is built again), or with a fresh one when the binary
comes from elsewhere, and checks what lands under DIR.
"""

import json
import os
import subprocess

from mountctl import BINARY, REPO


def meson(*args, cwd=None):
    result = subprocess.run(["meson", *args], cwd=cwd, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, f"meson {args}: {result.stderr}"
    return result.stdout


def build_dir(tmp_path):
    """The meson build the binary comes from, or a new one."""
    here = BINARY.resolve().parent
    if (here / "meson-info").is_dir():
        return here, ["--no-rebuild"]
    fresh = tmp_path / "build"
    meson("setup", str(fresh), str(REPO))
    meson("compile", "-C", str(fresh))
    return fresh, []


def installed_dirs(build):
    options = {o["name"]: o["value"] for o in json.loads(
        meson("introspect", str(build), "--buildoptions"))}
    prefix = options["prefix"].lstrip("/")
    return prefix, options["bindir"], options["mandir"]


def test_meson_install_puts_binary_and_man_page_in_place(tmp_path):
    build, extra = build_dir(tmp_path)
    root = tmp_path / "root"

    meson("install", "-C", str(build), "--destdir", str(root), "--quiet",
          *extra)

    prefix, bindir, mandir = installed_dirs(build)
    binary = root / prefix / bindir / "clerkfs"
    page = root / prefix / mandir / "man1" / "clerkfs.1"
    assert binary.is_file() and os.access(binary, os.X_OK)
    version = subprocess.run([str(binary), "--version"], capture_output=True,
                             text=True, timeout=10)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("clerkfs ")
    assert page.read_bytes() == (REPO / "man" / "clerkfs.1").read_bytes()
    assert page.read_text().startswith(".TH CLERKFS 1")
