"""Mount and unmount clerkfs for tests and benchmarks.

    from mountctl import mount_clerkfs

    with mount_clerkfs(server, cache_ttl=5) as fs:
        os.listdir(fs.path / "users")
        assert "refused" not in fs.log()

mount_clerkfs() runs the clerkfs binary in the foreground (-f) on a new
temporary directory, against the given local server, and waits until the
mount is live. The binary is $CLERKFS_BIN, or build/clerkfs in the
repository. Options are passed as -o key=value (True for a bare flag).
unmount() asks fusermount3 to unmount, then waits for that process (by its
own pid) to exit.
"""

import os
import pathlib
import subprocess
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
BINARY = pathlib.Path(os.environ.get("CLERKFS_BIN",
                                     REPO / "build" / "clerkfs"))
MOUNT_TIMEOUT_S = 30
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:")


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        return any(line.split()[1] == path for line in mounts)


def option_string(options):
    parts = []
    for key, value in options.items():
        if value is True:
            parts.append(key)
        elif value not in (None, False):
            parts.append(f"{key}={value}")
    return ",".join(parts)


class Mount:
    """A live clerkfs mount: its path, process and log."""

    def __init__(self, proc, path, log_path):
        self.proc = proc
        self.path = pathlib.Path(path)
        self.pid = proc.pid
        self.log_path = log_path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.unmount()

    def log(self):
        return pathlib.Path(self.log_path).read_text(errors="replace")

    def unmount(self):
        if is_mounted(self.path):
            subprocess.run(["fusermount3", "-u", str(self.path)],
                           check=False, capture_output=True)
            if is_mounted(self.path):
                subprocess.run(["fusermount3", "-uz", str(self.path)],
                               check=False, capture_output=True)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        try:
            os.rmdir(self.path)
        except OSError:
            pass
        self.check_sanitizers()

    def check_sanitizers(self):
        """Fails when a sanitizer reported anything in the daemon's log."""
        text = self.log()
        for mark in SANITIZER_MARKS:
            if mark in text:
                raise AssertionError(f"clerkfs sanitizer report: {text}")


def run_clerkfs(server, mountpoint, key=None, env=None, extra_args=(),
                **options):
    """Start clerkfs in the foreground; returns the Popen (not waited)."""
    opts = {"api_url": server.url}
    opts.update(options)
    environment = dict(os.environ)
    environment.pop("CLERK_SECRET_KEY", None)
    if key is not False:
        environment["CLERK_SECRET_KEY"] = key or server.key
    environment.update(env or {})
    args = [str(BINARY), "-f", "-o", option_string(opts), *extra_args,
            str(mountpoint)]
    log = tempfile.NamedTemporaryFile(prefix="clerkfs-", suffix=".log",
                                      delete=False)
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=environment)
    log.close()
    proc.log_path = log.name
    return proc


def mount_clerkfs(server, key=None, env=None, extra_args=(), **options):
    """Mount clerkfs on a new directory and wait until it is live."""
    path = tempfile.mkdtemp(prefix="clerkfs-mnt-")
    proc = run_clerkfs(server, path, key=key, env=env,
                       extra_args=extra_args, **options)
    deadline = time.monotonic() + MOUNT_TIMEOUT_S
    while not is_mounted(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
            text = pathlib.Path(proc.log_path).read_text(errors="replace")
            os.rmdir(path)
            raise RuntimeError(f"clerkfs did not mount: {text}")
        time.sleep(0.02)
    return Mount(proc, path, proc.log_path)
