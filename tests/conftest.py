"""Shared fixtures: a local Clerk server and clerkfs mounted on it.

Tests read as stories of use: mount, act as a person would (with real
tools: ls, cat, grep, vim, sed), and check both what the files show and
what the server received (its /__stats and /__requests).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from mountctl import mount_clerkfs  # noqa: E402
from serverctl import start_server  # noqa: E402


@pytest.fixture
def make_server():
    """A factory of local servers, each stopped after the test."""
    servers = []

    def make(**kwargs):
        server = start_server(**kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def make_mount():
    """A factory of clerkfs mounts, each unmounted after the test."""
    mounts = []

    def make(server, **options):
        mount = mount_clerkfs(server, **options)
        mounts.append(mount)
        return mount

    yield make
    for mount in mounts:
        mount.unmount()


@pytest.fixture(scope="module")
def big_server():
    """1,234 users and 40 organizations, shared by a module's tests."""
    server = start_server(users=1234, orgs=40)
    yield server
    server.stop()


@pytest.fixture
def big(big_server):
    """clerkfs on the big server, with its counters reset."""
    mount = mount_clerkfs(big_server)
    big_server.reset()
    yield big_server, mount
    mount.unmount()


@pytest.fixture
def small(make_server, make_mount):
    """A fresh small instance (30 users, 6 organizations) and its mount."""
    server = make_server(users=30, orgs=6)
    mount = make_mount(server)
    server.reset()
    return server, mount

