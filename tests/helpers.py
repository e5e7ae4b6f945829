"""Small helpers for the integration tests."""

import subprocess


def sh(command, cwd=None, check=True, timeout=120, input=None):
    """Runs a shell command as a person would; returns CompletedProcess."""
    result = subprocess.run(["bash", "-c", command], cwd=cwd, text=True,
                            capture_output=True, timeout=timeout,
                            input=input)
    if check and result.returncode != 0:
        raise AssertionError(f"{command!r} failed ({result.returncode}): "
                             f"{result.stderr}")
    return result


def routes(server):
    """Requests per route since the last reset."""
    return server.stats()["routes"]
