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


def interrupted_after(seconds, call):
    """Runs call() with a SIGALRM (whose handler does nothing) after
    seconds; returns the errno it failed with, or 0."""
    import signal
    previous = signal.signal(signal.SIGALRM, lambda *_: None)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        call()
        return 0
    except OSError as error:
        return error.errno
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def wait_for(predicate, timeout=15):
    """Polls predicate until it is true; returns whether it became so."""
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False
